"""Dossier export values, ordinary and hostile, and how to compare two ways of reading them: shared by the tests
of the columnar paths (CSV chunks, XLSX sheets) against the row path."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from auditbot.sources.dossiers.exports import DossierSpec
from auditbot.sources.tabular.rows import Counts
from auditbot.store.dossiers import COLUMNS

UNITS = """
[[units]]
code = "XA_AH"
name = "Xã An Hòa"
kind = "xa"
valid_to = 2025-06-30
successors = ["XA_HB"]
emails = ["anhoa@example.gov.vn"]

[[units]]
code = "XA_HB"
name = "Xã Hòa Bình"
kind = "xa"
valid_from = 2025-07-01
emails = ["hoabinh@example.gov.vn"]
"""

HEADER = ["STT", "Mã hồ sơ", "Mã TTHC", "Tên thủ tục hành chính", "Chủ hồ sơ", "Đơn vị tiếp nhận", "Hình thức nộp",
          "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả", "Trạng thái", "Phí, lệ phí", "Thanh toán trực tuyến",
          "Đã số hóa kết quả", "Ký hiệu kết quả", "Đơn vị kế thừa"]
# what real and hostile exports put in each column; the first value of each is an ordinary one
VALUES = {
    "code": ["000.00.01.H56-260802-{n}", "", " H56-{n} ", "H56\x01{n}", "Mã-{n}", "{n}", "dup-1", "٣{n}"],
    "procedure_code": ["1.009972", "1.001193.000.00.00.H31", "", "x"],
    "procedure_name": ["Cấp giấy phép xây dựng, sửa chữa", "Chứng thực\x07 chữ ký", "", "Ca\u0301p phe\u0301p"],
    "citizen": ["Nguyễn Văn An", "", 'Trần "Bình"', "Lê, Cường"],
    "unit": ["Sở Tư pháp", "UBND xã Quảng Phú", " Sở Xây dựng ", "sở tư pháp", "Xã An Hòa", "Xã Hòa Bình",
             "Sở Không Có", ""],
    "channel": ["Trực tuyến", "Trực tiếp", "", "Bưu chính", "Fax"],
    "received_at": ["02/08/2026 12:03", "2026-08-02 12:03:00", "02/08/2026", "2/8/2026 9:05", "31/02/2026 10:00",
                    "02/08/2026 24:00", "2026-08-02T12:03:00", "45000", "02/08/0999 10:00", "", " ",
                    "01/03/2025 08:00", "29/02/2028 23:59", "02/08/2026 12:03:60", "٠٢/08/2026 12:03"],
    "due_at": ["07/08/2026 12:03", "07/08/2026", "", "2026-08-07", "07/08/2026 7:03", "99/99/9999 99:99"],
    "finished_at": ["03/08/2026 03:00", "", "2026-08-03 03:00:00", "03/08/2026", "hôm qua"],
    "status": ["Đã trả kết quả", "Đang xử lý", "Mới đăng ký", "Từ chối", "", "9", "Trạng thái lạ"],
    "fee": ["0", "50000", "50.000 đ", "", "abc", "1,5"],
    "paid_online": ["Có", "", "Không", "x", "có"],
    "digitised": ["Có", "Không", "", "maybe"],
    "result_ref": ["KQ/{n}", "", "không", "-", "C:\\ket qua\\{n}.pdf", "ket-qua-{n}.pdf", "http://x/{n}",
                   "R" * 70, "KQ {n}", "NULL"],
    "heir": ["", "Xã Hòa Bình", "Sở Tư pháp"],
}


@st.composite
def ROW(draw: st.DrawFn) -> dict[str, str]:
    """An ordinary row with up to two of its cells hostile: each rule meets each value on its own."""
    line = {name: values[0] for name, values in VALUES.items()}
    for name in draw(st.lists(st.sampled_from(list(VALUES)), min_size=1, max_size=2)):
        line[name] = draw(st.sampled_from(VALUES[name]))
    return line


def summary_of(counts: Counts) -> tuple:
    return (counts.rows_read, counts.skipped, dict(counts.skipped_because), list(counts.unknown_units.most_common()),
            [(r.row, r.column, r.reason, r.params, r.fields) for r in counts.rejections], counts.preview, counts.report)


def unstaged(image: bytes) -> list[tuple]:
    """A staged batch's records, in COLUMNS order."""
    db = sqlite3.connect(":memory:")
    db.deserialize(image)
    names = [row[1] for row in db.execute("PRAGMA table_info(batch)")]
    assert set(names) <= set(COLUMNS)
    return [tuple(dict(zip(names, row)).get(c) for c in COLUMNS) for row in db.execute("SELECT * FROM batch")]


def sent_in_order(read: Callable[..., Any], path: Path, config: Any, delay: float) -> list[tuple[str, list[int]]]:
    """What a columnar reader sends, in order, its stager slowed down (`delay` seconds a piece) so that a piece
    staged aside is still being written when the reader goes on: (stage or batch, the rows in it, in row
    order; a stage holds them in code order). Call it in a forked child."""
    from auditbot.sources.tabular import staging

    image = staging.Stager.image
    staging.Stager.image = lambda self, frame: (time.sleep(delay), image(self, frame))[1]  # type: ignore[method-assign]
    row = COLUMNS.index("source_row")
    sent: list[tuple[str, list[int]]] = []
    read(path, DossierSpec(), config, 7, lambda *header: None,
         lambda batch: sent.append(("batch", sorted(record[row] for record in batch))),
         lambda image: sent.append(("stage", sorted(record[row] for record in unstaged(image)))), path.parent)
    return sent

"""Invented but real-shaped dossier exports: the demo's data, and the variants tests and benches need.

Every dossier is generated with its true values, so a test can compute the expected figures by hand.
"""

from __future__ import annotations

import csv
import json
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

PROCEDURES = (
    ("1.001193", "Đăng ký khai sinh"),
    ("1.000894", "Đăng ký kết hôn"),
    ("2.001035", "Chứng thực chữ ký"),
    ("2.000908", "Cấp bản sao trích lục hộ tịch"),
    ("1.009972", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ"),
    ("1.001612", "Cấp Phiếu lý lịch tư pháp"),
)
STATUS_WORDS = {
    "finished": ("Đã trả kết quả", "Hoàn thành", "Đã hoàn thành"),
    "processing": ("Đang xử lý", "Đang giải quyết"),
    "received": ("Mới tiếp nhận",),
    "supplement": ("Chờ bổ sung",),
    "rejected": ("Từ chối", "Trả lại hồ sơ"),
    "withdrawn": ("Rút hồ sơ",),
}
CHANNEL_WORDS = {"online": ("Trực tuyến", "Trực tuyến toàn trình", "Trực tuyến một phần"),
                 "direct": ("Trực tiếp",), "post": ("Bưu chính công ích",)}
CITIZENS = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thị Dung", "Hoàng Văn Em", "Vũ Thị Giang")


@dataclass
class Dossier:
    code: str
    procedure_code: str
    procedure_name: str
    unit_name: str
    received_at: datetime
    due_at: datetime
    finished_at: datetime | None
    status: str
    channel: str
    fee: int
    paid_online: bool
    digitised: bool
    result_ref: str | None
    citizen: str
    citizen_id: str
    phone: str


def make_dossiers(count: int, unit_names: Sequence[str], end: date, days: int = 60, seed: int = 7,
                  prefix: str = "H56") -> Iterator[Dossier]:
    rng = random.Random(seed)
    start = datetime.combine(end - timedelta(days=days), datetime.min.time())
    statuses = ("finished",) * 12 + ("processing",) * 3 + ("received", "supplement", "rejected", "withdrawn")
    for n in range(1, count + 1):
        code, name = rng.choice(PROCEDURES)
        received = start + timedelta(minutes=rng.randrange(days * 24 * 60))
        received = received.replace(second=0)
        due = received + timedelta(days=rng.choice((1, 3, 5, 7, 15)))
        age = (end - received.date()).days
        # old dossiers are mostly closed; the open ones are mostly recent, as in a real system
        status = rng.choice(statuses) if age < 12 else rng.choice(("finished",) * 24 + statuses)
        finished = None
        if status in ("finished", "rejected", "withdrawn"):
            window = (due - received).total_seconds()
            late = rng.random() < 0.06
            finished = received + timedelta(seconds=window * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.1, 0.95)))
            finished = finished.replace(second=0, microsecond=0)
            if finished.date() > end:
                finished = datetime.combine(end, datetime.min.time()) + timedelta(hours=8)
        channel = rng.choice(("online",) * 6 + ("direct",) * 3 + ("post",))
        fee = rng.choice((0, 0, 0, 10000, 50000, 100000))
        digitised = status == "finished" and rng.random() < 0.85
        result_ref = f"KQ/{n:07d}" if status == "finished" and rng.random() < 0.97 else None
        if result_ref and rng.random() < 0.01:  # another case's result attached by mistake
            result_ref = f"KQ/{max(1, n - rng.randrange(1, 20)):07d}"
        yield Dossier(
            code=f"000.00.{n % 100:02d}.{prefix}-{received:%y%m%d}-{n:07d}", procedure_code=code, procedure_name=name,
            unit_name=rng.choice(unit_names), received_at=received, due_at=due, finished_at=finished, status=status,
            channel=channel, fee=fee, paid_online=bool(fee) and channel == "online" and rng.random() < 0.6,
            digitised=digitised, result_ref=result_ref, citizen=rng.choice(CITIZENS),
            citizen_id=f"0380{rng.randrange(10**8):08d}", phone=f"09{rng.randrange(10**8):08d}")


def _word(rng: random.Random, words: dict[str, tuple[str, ...]], key: str) -> str:
    return rng.choice(words[key])


def _date_text(moment: datetime | None) -> str:
    return moment.strftime("%d/%m/%Y %H:%M") if moment else ""


TOP = ["STT", "Số hồ sơ", "Thủ tục hành chính", "", "Người nộp", "Số CCCD", "Số điện thoại", "Đơn vị giải quyết",
       "Kênh nộp", "Thời gian", "", "", "Tình trạng", "Lệ phí", "", "Kết quả", ""]
SUB = ["", "", "Mã TTHC", "Tên thủ tục", "", "", "", "", "", "Ngày tiếp nhận", "Hạn giải quyết", "Ngày hoàn thành",
       "", "Số tiền", "Thanh toán trực tuyến", "Số hóa kết quả", "Số kết quả"]
FLAT = ["STT", "Mã hồ sơ", "Mã TTHC", "Tên thủ tục hành chính", "Chủ hồ sơ", "Số CCCD", "Số điện thoại",
        "Đơn vị tiếp nhận", "Hình thức nộp", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả", "Trạng thái",
        "Phí, lệ phí", "Thanh toán trực tuyến", "Đã số hóa kết quả", "Ký hiệu kết quả"]
TITLE_ROWS = ["ỦY BAN NHÂN DÂN TỈNH MẪU", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "",
              "DANH SÁCH HỒ SƠ THỦ TỤC HÀNH CHÍNH", "Từ ngày 01/10/2026 đến ngày 31/10/2026", ""]


def export_row(number: int, dossier: Dossier, rng: random.Random, excel_dates: bool = False) -> list[object]:
    def when(moment: datetime | None) -> object:
        if moment is None:
            return ""
        return moment if excel_dates and rng.random() < 0.5 else _date_text(moment)

    return [number, dossier.code, dossier.procedure_code, dossier.procedure_name, dossier.citizen,
            dossier.citizen_id, dossier.phone, dossier.unit_name, _word(rng, CHANNEL_WORDS, dossier.channel),
            when(dossier.received_at), when(dossier.due_at), when(dossier.finished_at),
            _word(rng, STATUS_WORDS, dossier.status), dossier.fee,
            "Có" if dossier.paid_online else "", "Có" if dossier.digitised else "Không" if dossier.finished_at else "",
            dossier.result_ref or ""]


def write_xlsx(path: Path, dossiers: Sequence[Dossier], two_row_header: bool = True, seed: int = 1) -> None:
    """Title rows, a merged two-row header, Excel date cells mixed with text dates, a footer."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Danh sách hồ sơ"
    for title in TITLE_ROWS:
        sheet.append([title])
    width = len(TOP)
    sheet.merge_cells(start_row=4, start_column=1, end_row=4, end_column=width)
    first = len(TITLE_ROWS) + 1
    if two_row_header:
        sheet.append(TOP)
        sheet.append(SUB)
        for column, label in enumerate(TOP, start=1):
            if label and not SUB[column - 1]:
                sheet.merge_cells(start_row=first, start_column=column, end_row=first + 1, end_column=column)
        for start, end in ((3, 4), (10, 12), (14, 15), (16, 17)):
            sheet.merge_cells(start_row=first, start_column=start, end_row=first, end_column=end)
    else:
        sheet.append(FLAT)
    for number, dossier in enumerate(dossiers, start=1):
        sheet.append(export_row(number, dossier, rng, excel_dates=True))
    sheet.append([])
    sheet.append([f"Tổng cộng: {len(dossiers)} hồ sơ"])
    sheet.append([""] * 12 + ["Người lập biểu"])
    workbook.save(path)


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def windows_1258_form(text: str) -> str:
    """Windows-1258 has letters like ê and ư but no toned ones: tones follow as combining marks."""
    out = []
    for char in text:
        decomposed = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in decomposed if c in TONE_MARKS)
        out.append(unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS)) + tones)
    return "".join(out)


def write_csv(path: Path, dossiers: Sequence[Dossier], encoding: str = "utf-8", delimiter: str = ",",
              title_rows: bool = True, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding=encoding, newline="") as raw:
        handle = _Cp1258Writer(raw) if encoding == "cp1258" else raw
        writer = csv.writer(handle, delimiter=delimiter)
        if title_rows:
            for title in TITLE_ROWS:
                writer.writerow([title])
        writer.writerow(FLAT)
        for number, dossier in enumerate(dossiers, start=1):
            writer.writerow(export_row(number, dossier, rng))
        writer.writerow([f"Tổng cộng: {len(dossiers)} hồ sơ"])


class _Cp1258Writer:
    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    def write(self, text: str) -> int:
        written: int = self.handle.write(windows_1258_form(text))
        return written


SYNC_STATUS = {"received": 2, "processing": 4, "supplement": 5, "finished": 10, "rejected": 3, "withdrawn": 7}
SYNC_CHANNEL = {"direct": 1, "online": 2, "post": 3}


def _documents_submitted(code: str) -> dict[str, Any]:
    """The papers a synced dossier came with, some scanned, some taken from data the state already had;
    drawn from the dossier's code so the rest of the sample stays as it was."""
    rng = random.Random(code)
    papers = [{"TenGiayTo": f"Giấy tờ {i}", "DuocSoHoa": int(rng.random() < 0.8),
               "DuocTaiSuDung": int(rng.random() < 0.3)} for i in range(1, rng.randint(1, 3) + 1)]
    return {"HoSoCoThanhPhanSoHoa": int(any(p["DuocSoHoa"] for p in papers)), "TaiLieuNop": papers}


def write_sync_json(path: Path, dossiers: Sequence[Dossier]) -> None:
    """The national portal's DongBoHoSoMC records, dates as yyyyMMddHHmmss."""
    def stamp(moment: datetime | None) -> str:
        return moment.strftime("%Y%m%d%H%M%S") if moment else ""

    records = [{
        "MaHoSo": d.code, "MaTTHC": d.procedure_code, "TenTTHC": d.procedure_name, "DonViXuLy": d.unit_name,
        "ChuHoSo": d.citizen, "SoDienThoai": d.phone, "Email": "congdan@example.vn",
        "NgayTiepNhan": stamp(d.received_at), "NgayHenTra": stamp(d.due_at),
        "NgayKetThucXuLy": stamp(d.finished_at), "TrangThaiHoSo": SYNC_STATUS[d.status],
        "KenhThucHien": SYNC_CHANNEL[d.channel], "DanhSachLePhi": [{"Gia": d.fee}] if d.fee else [],
        "DuocThanhToanTrucTuyen": 1 if d.paid_online else 0, "MaKetQua": d.result_ref or "",
        "DanhSachGiayToKetQua": [{"MaGiayTo": d.result_ref}] if d.digitised else [],
        **_documents_submitted(d.code),
    } for d in dossiers]
    path.write_text(json.dumps({"data": records}, ensure_ascii=False), encoding="utf-8")

"""The national counting rules the province's figures follow: time waiting for the citizen's papers is
deducted, exempted procedures leave a rate, each figure is cut or rounded as the province prints it,
and the online share is split by service level."""

from __future__ import annotations

import json
from datetime import datetime

from auditbot.config import load_config
from auditbot.engine import run_checks, select_checks
from auditbot.store import Store
from conftest import Province


def stamp(text: str) -> str:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").strftime("%Y%m%d%H%M%S")


def synced(code: str, received: str, due: str, status: str, finished: str = "",
           supplements: tuple[tuple[str, str], ...] = ()) -> dict[str, object]:
    """A dossier as the portal's sync payload carries it, with its supplement requests (asked, back)."""
    return {"MaHoSo": code, "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh", "DonViXuLy": "Sở Tư pháp",
            "NgayTiepNhan": stamp(received), "NgayHenTra": stamp(due), "TrangThaiHoSo": status,
            "NgayKetThucXuLy": stamp(finished) if finished else "",
            "DanhSachHoSoBoSung": [{"NgayBoSung": stamp(asked), "NgayTiepNhanBoSung": stamp(back) if back else ""}
                                   for asked, back in supplements]}


def test_time_waiting_for_papers_is_deducted_and_a_second_request_counts_overdue(province: Province) -> None:
    records = [
        # waited 5 days for papers, finished 3 days after the due date: on time
        synced("D1", "01/03/2026 08:00", "10/03/2026 17:00", "10", "13/03/2026 10:00",
               (("03/03/2026 08:00", "08/03/2026 08:00"),)),
        # two supplement requests, finished well before the due date: overdue all the same
        synced("D2", "01/03/2026 08:00", "20/03/2026 17:00", "10", "05/03/2026 10:00",
               (("02/03/2026 08:00", "02/03/2026 15:00"), ("03/03/2026 08:00", "03/03/2026 15:00"))),
        # no supplement, finished late: late
        synced("D3", "01/03/2026 08:00", "05/03/2026 17:00", "10", "06/03/2026 10:00"),
        # waiting for papers since before its due date: the clock is stopped, not overdue
        synced("D4", "01/03/2026 08:00", "10/03/2026 17:00", "5", supplements=(("05/03/2026 08:00", ""),)),
        # processing, 2 days deducted, still past its due date
        synced("D5", "01/03/2026 08:00", "10/03/2026 17:00", "4",
               supplements=(("02/03/2026 08:00", "04/03/2026 08:00"),)),
        # open with a second request, due date not reached: overdue by the rule
        synced("D6", "20/03/2026 08:00", "20/04/2026 17:00", "4",
               supplements=(("21/03/2026 08:00", "22/03/2026 08:00"), ("23/03/2026 08:00", "24/03/2026 08:00"))),
    ]
    path = province.root / "exports" / "sync.json"
    path.write_text(json.dumps({"data": records}), encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0 and "rejected 0" in result.output, result.output

    [stp] = [r for r in province.json("rates", "--from", "01/03/2026", "--to", "31/03/2026") if r["group"] == "STP"]
    assert (stp["finished"], stp["on_time"], stp["late"]) == (3, 1, 2)           # D1 | D2, D3
    assert (stp["unfinished"], stp["overdue_open"]) == (3, 2)                     # D4, D5, D6 | D5, D6

    config = load_config(province.rules)
    with Store.open(config) as store:
        found = run_checks(config, store, select_checks(config, ["dossier.overdue"]), ["STP"],
                           datetime(2026, 3, 31, 9)).findings
    titles = {f["subject"]: f["title"] for f in found}
    assert set(titles) == {"D5", "D6"}
    assert titles["D5"] == "Hồ sơ D5 quá hạn 19 ngày (hạn trả 12/03/2026, đã trừ 2 ngày chờ bổ sung)"
    assert titles["D6"].startswith("Hồ sơ D6 tính quá hạn: yêu cầu bổ sung giấy tờ 2 lần (hạn trả 22/04/2026")
    d5 = next(f for f in found if f["subject"] == "D5")["details"]
    assert d5["waited_days"] == 2.0 and d5["due_at_exported"] == "2026-03-10 17:00:00"

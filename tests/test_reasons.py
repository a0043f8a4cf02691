"""Why an import left a row out: a stable code the source raises, worded for people in templates/reasons.toml."""

from __future__ import annotations

import ast
import json
import re
import tomllib
import unicodedata
from pathlib import Path

from conftest import Province

ROOT = Path(__file__).parents[1]
SOURCES = ROOT / "auditbot" / "sources"
IMPORT_SOURCES = [SOURCES / "catalogue.py", *(SOURCES / "dossiers").glob("*.py"), *(SOURCES / "tabular").glob("*.py")]
# English words a reason used to carry inside an officer's Vietnamese line
ENGLISH = ("the row has", "cells where", "is not", "unknown", "repeated", "kept", "expected", "found", "empty",
           "amount of money", "listed again", "finish date", "a date like")


def _constants(node: ast.AST | None) -> list[str]:
    """The plain string codes an argument can be (both branches of `a if … else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def raised_codes() -> set[str]:
    """Every reason code the import sources raise: Reason("code", …), Rejection(row, column, "code", …), and the
    families made from values (f"unknown_{self.name}" for each ValueMap, f"expected_{_expected(key)}")."""
    codes: set[str] = set()
    families: set[str] = set()
    value_maps: set[str] = set()
    expected: set[str] = set()
    for path in IMPORT_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name == "_expected":
                expected |= {c for ret in ast.walk(node) if isinstance(ret, ast.Return)
                             for c in _constants(ret.value)}
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name | ast.Attribute):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            argument = node.args[0] if name == "Reason" and node.args else \
                node.args[2] if name == "Rejection" and len(node.args) > 2 else None
            if name == "ValueMap" and node.args:
                value_maps |= set(_constants(node.args[0]))
            if isinstance(argument, ast.JoinedStr):
                families.add(str(_constants(argument.values[0])[0]))
            codes |= set(_constants(argument))
    assert families == {"unknown_", "expected_"}, families  # a new family needs its expansion here
    assert value_maps >= {"status", "channel", "boolean"} and expected >= {"list", "text"}
    return codes | {f"unknown_{name}" for name in value_maps} | {f"expected_{kind}" for kind in expected}


def test_every_reason_the_imports_raise_has_words_in_both_languages() -> None:
    listed = tomllib.loads((ROOT / "templates" / "reasons.toml").read_text(encoding="utf-8"))
    for section, table in listed.items():
        for key, entry in table.items():
            assert set(entry) == {"vi", "en"}, f"{section}.{key}"
            assert unicodedata.is_normalized("NFC", entry["vi"]), f"{section}.{key}"
    codes = raised_codes()
    assert {"cells_count", "unknown_unit", "unit_ended", "not_a_real_date", "dossier_repeated",
            "procedure_repeated", "record_not_object", "unknown_status", "expected_text"} <= codes
    assert codes <= set(listed["imports"]), sorted(codes - set(listed["imports"]))
    # what a sync record held instead ({found}) is worded too
    sync = (SOURCES / "dossiers" / "sync_json.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r':\s*"([a-z]+)"', sync[sync.index("self.found = {"):sync.index("def _take")]))
    assert kinds and kinds | {"other"} <= set(listed["found"]), sorted(kinds - set(listed["found"]))


HEADER = "Mã hồ sơ,Người nộp,Đơn vị,Ngày tiếp nhận,Trạng thái,Ngày kết thúc\n"
ROWS = ("HS-1,Lê Văn Hải,Sở Tư pháp,01/11/2026 08:00,Đang xử lý,\n"
        "HS-2,Trần Thị Bình,Sở Tư pháp,31/02/2026,Đang xử lý,\n"           # no such day
        "HS-3,Phạm Văn Cường,UBND xã Không Có,01/11/2026 08:00,Đang xử lý,\n"  # no such unit
        "HS-4,Đỗ Thị Dung,Sở Tư pháp,01/11/2026 08:00,Hoàn thành,\n"       # finished without a date
        "HS-5,Võ Văn Em,Sở Tư pháp,01/11/2026 08:00,Đang ngủ,\n"           # no such status
        "HS-6,Lê Văn Hải, con,Sở Tư pháp,01/11/2026 08:00,Đang xử lý,\n"   # shifted: one cell too many
        "HS-1,Lê Văn Hải,Sở Tư pháp,01/11/2026 08:00,Đang xử lý,\n")       # HS-1 again


def test_an_import_with_bad_rows_tells_the_officer_in_vietnamese_and_scripts_in_codes(tmp_path: Path) -> None:
    province = Province(tmp_path)
    path = province.root / "exports" / "ho-so.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    table = province.run("import", "dossiers", str(path), "-v", "--dry-run")
    assert table.exit_code == 0, table.output
    lines = [line for line in table.output.splitlines() if line.lstrip().startswith("dòng ")]
    assert len(lines) == 5, table.output
    assert "  dòng 3, cột 'Ngày tiếp nhận': '31/02/2026' không phải ngày có thật" in lines
    assert "  dòng 7: dòng có 7 ô trong khi dòng tiêu đề có 6 ô; giá trị có thể bị lệch cột nên không lấy giá trị nào" \
        in lines
    assert any("hồ sơ đã giải quyết nhưng không có ngày hoàn thành" in line for line in lines)
    for line in lines:
        assert unicodedata.is_normalized("NFC", line)
        assert not [word for word in ENGLISH if word in line], line
    assert "Lê Văn Hải" not in table.output and "Trần Thị Bình" not in table.output
    # the columns the file lacks, by the header an officer would look for (not procedure_code, paid_online, …)
    assert "không có cột cho: 'Mã TTHC', 'Tên TTHC', 'Ngày hẹn trả'," in table.output
    [missing] = [line for line in table.output.splitlines() if "không có cột cho" in line]
    assert "procedure_code" not in missing and "paid_online" not in missing

    result = province.run("import", "dossiers", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    [summary] = json.loads(result.stdout)
    reasons = {(r["row"], r["reason"]): r["params"] for r in summary["rejections"]}
    assert reasons == {(3, "not_a_real_date"): {"value": "31/02/2026"},
                       (4, "unknown_unit"): {"unit": "UBND xã Không Có"},
                       (5, "finished_without_date"): {},
                       (6, "unknown_status"): reasons[(6, "unknown_status")],
                       (7, "cells_count"): {"cells": 7, "width": 6},
                       (2, "dossier_repeated"): {"code": "HS-1", "kept_row": 8}}
    assert reasons[(6, "unknown_status")]["value"] == "Đang ngủ"
    assert "dòng" not in result.stdout and "Lê Văn Hải" not in result.stdout

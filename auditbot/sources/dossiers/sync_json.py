"""The national portal's dossier sync records, in the shapes real systems send them:

- the OpenCPS body `{"service": "DongBoHoSoMC", "isUpdating": …, "data": [records]}`;
- a bare list of `HoSoDongBoDVC` records (or of `{"hoSo": record, "tienTrinhDongBo": […]}`).

Every field is typed: a value of the wrong JSON type (an object where a text belongs) is that record's
rejection, and the value is never kept, turned into text or echoed (such objects carry names and ID
numbers). Only the keys below are ever read out of a record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditbot.errors import InputError
from auditbot.sources.tabular.cell_values import parse_amount, parse_when
from auditbot.sources.tabular.common import Rejection
from auditbot.sources.tabular.header import Cell
from auditbot.sources.tabular.rows import CanonicalRow
from auditbot.words.dossiers import (
    FIELDS,
    KNOWN_CHANNEL,
    KNOWN_DIGITISED,
    KNOWN_DUE,
    KNOWN_PAYMENT,
    KNOWN_RESULT,
    PORTAL_SYSTEM,
    SYNC_ONLY,
)

NAMES = (*FIELDS, *SYNC_ONLY)
LABELS = {"code": "MaHoSo", "procedure_code": "MaTTHC", "procedure_name": "TenTTHC", "unit": "DonViXuLy",
          "received_at": "NgayTiepNhan", "due_at": "NgayHenTra", "finished_at": "NgayKetThucXuLy",
          "status": "TrangThaiHoSo", "channel": "KenhThucHien", "fee": "DanhSachLePhi",
          "paid_online": "DuocThanhToanTrucTuyen", "digitised": "DanhSachGiayToKetQua",
          "result_ref": "DanhSachGiayToKetQua", "sync_flag": "TrangThaiDongBoDVC", "alt_code": "MaHoSoKhac"}
TEXT, CODE, FLAG, LIST = (str,), (str, int), (str, int, bool), (list,)
# HinhThuc where no KenhThucHien is sent: 1/2/3 as KenhThucHien; 0 says only "not by post" (OpenCPS), so the
# channel stays unknown rather than counted as not online
HINH_THUC = {"1": "1", "2": "2", "3": "3"}
PAID_ONLINE = {"1": True}  # DuocThanhToanTrucTuyen: 1 paid online; 0, 2, 3 not (3: no fee arose)


class WrongType(Exception):
    def __init__(self, key: str, found: object) -> None:
        super().__init__(key)
        self.key = key
        self.found = {dict: "object", list: "list", bool: "boolean", int: "number", float: "number",
                      str: "text"}.get(type(found), "other")


def _take(record: dict[str, Any], key: str, kinds: tuple[type, ...]) -> Any:
    value = record.get(key)
    if value is None or (isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)):
        return value
    raise WrongType(key, value)


def _items(record: dict[str, Any], key: str) -> list[dict[str, Any]] | None:
    items = _take(record, key, LIST)
    if items is None:
        return None
    for item in items:
        if not isinstance(item, dict):
            raise WrongType(f"{key}[]", item)
    return list(items)


def _flag(value: Any) -> str:
    return str(int(value)) if isinstance(value, (bool, int)) else str(value).strip()


def _result(record: dict[str, Any]) -> tuple[Cell, bool]:
    """(a reference identifying the result, whether any result document is attached). Document names
    (TenGiayTo) are never read: they carry the citizen's name."""
    reference = _take(record, "MaKetQua", CODE)
    documents = _items(record, "DanhSachGiayToKetQua") or []
    for document in documents:
        for key in ("MaGiayToKetQua", "GiayToId", "DuongDanTepTinKetQua"):
            value = _take(document, key, CODE)
            if value not in (None, ""):
                reference = reference or value
                break
    return reference, bool(documents)


def _supplements(record: dict[str, Any]) -> str | None:
    items = _items(record, "DanhSachHoSoBoSung")
    if items is None:
        return None
    requests = []
    for item in items:
        dates = {}
        for name, key in (("requested_at", "NgayBoSung"), ("received_at", "NgayTiepNhanBoSung"),
                          ("due_before", "NgayHenTraTruoc"), ("due_after", "NgayHenTraMoi")):
            try:
                dates[name] = parse_when(_take(item, key, TEXT))
            except ValueError:
                raise WrongType(f"DanhSachHoSoBoSung[].{key}", "") from None
        requests.append(dates)
    return json.dumps(requests)


def _documents(record: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    items = _items(record, "TaiLieuNop")
    if items is None:
        return None, None, None
    kept = [item for item in items if _flag(_take(item, "IsDeleted", FLAG) or "0") not in ("1", "True", "true")]
    digitised = sum(_flag(_take(item, "DuocSoHoa", FLAG) or "0") == "1" for item in kept)
    reused = sum(_flag(_take(item, "DuocTaiSuDung", FLAG) or "0") == "1" for item in kept)
    return len(kept), digitised, reused


def canonical(record: dict[str, Any]) -> list[Cell]:
    """One record -> the cells of NAMES (raises WrongType)."""
    known = 0
    channel = _take(record, "KenhThucHien", CODE)
    if channel is None and "HinhThuc" in record:
        channel = HINH_THUC.get(_flag(_take(record, "HinhThuc", CODE)))
    if channel not in (None, ""):
        known |= KNOWN_CHANNEL
    if "NgayHenTra" in record:
        known |= KNOWN_DUE
    fees = _items(record, "DanhSachLePhi")
    fee = None
    if fees is not None:
        fee = sum(parse_amount(_take(item, "Gia", (str, int, float))) or 0.0 for item in fees)
    paid = _take(record, "DuocThanhToanTrucTuyen", FLAG)
    if fees is not None and paid is not None:
        known |= KNOWN_PAYMENT
    result_ref, digitised = _result(record)
    if "DanhSachGiayToKetQua" in record:
        known |= KNOWN_DIGITISED | KNOWN_RESULT
    elif "MaKetQua" in record:
        known |= KNOWN_RESULT
    inputs = _take(record, "HoSoCoThanhPhanSoHoa", FLAG)
    documents, documents_digitised, documents_reused = _documents(record)
    finished = _take(record, "NgayKetThucXuLy", TEXT) or _take(record, "NgayTra", TEXT)
    return [_take(record, "MaHoSo", CODE), _take(record, "MaTTHC", CODE), _take(record, "TenTTHC", TEXT),
            _take(record, "DonViXuLy", TEXT), _take(record, "NgayTiepNhan", TEXT), _take(record, "NgayHenTra", TEXT),
            finished, _take(record, "TrangThaiHoSo", CODE), channel, fee,
            PAID_ONLINE.get(_flag(paid), False) if paid is not None else None, digitised, result_ref,
            None, None,  # the supplement columns of tabular exports: the list below says more
            None,  # the successor column of tabular exports
            None if (flag := _take(record, "TrangThaiDongBoDVC", FLAG)) is None else _flag(flag), None, PORTAL_SYSTEM, _take(record, "MaHoSoKhac", CODE),
            None, None, None, None, None,  # submission and apology columns of tabular exports
            None if inputs is None else int(_flag(inputs) == "1"), documents, documents_digitised, documents_reused,
            _supplements(record), known]


def records_of(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not readable as JSON ({type(exc).__name__})") from None
    if isinstance(data, dict):
        lists = [value for value in data.values() if isinstance(value, list)]
        data = data.get("data") if isinstance(data.get("data"), list) else lists[0] if len(lists) == 1 else None
    if not isinstance(data, list):
        raise InputError(f"{path}: expected dossier sync records: a list of HoSoDongBoDVC records, or a"
                         " DongBoHoSoMC body {\"service\": …, \"data\": [records]}")
    return data


def sync_rows(path: Path) -> tuple[Iterator[CanonicalRow], dict[str, str]]:
    records = records_of(path)

    def rows() -> Iterator[CanonicalRow]:
        for number, record in enumerate(records, start=1):
            if isinstance(record, dict) and isinstance(record.get("hoSo"), dict):
                record = record["hoSo"]  # FormatDataDVC: {"hoSo": record, "tienTrinhDongBo": [...]}
            if not isinstance(record, dict):
                yield number, Rejection(number, "", "record_not_object", {}, field="code")
                continue
            try:
                yield number, canonical(record)
            except WrongType as exc:
                yield number, Rejection(number, exc.key, f"expected_{_expected(exc.key)}", {}, field="",
                                        params={"key": exc.key, "found": exc.found})
            except ValueError:
                yield number, Rejection(number, "Gia", "not_an_amount", {}, field="fee", params={"value": "Gia"})

    found = set(LABELS)
    return rows(), {name: LABELS[name] for name in found}


def _expected(key: str) -> str:
    if key.endswith("[]") or key in ("DanhSachLePhi", "DanhSachGiayToKetQua", "TaiLieuNop", "DanhSachHoSoBoSung"):
        return "list"
    if key.startswith("DanhSachHoSoBoSung[]."):
        return "date"
    return "text_or_number" if key in ("MaHoSo", "MaHoSoKhac", "TrangThaiDongBoDVC", "MaTTHC", "TrangThaiHoSo",
                                       "KenhThucHien", "HinhThuc", "MaKetQua", "MaGiayToKetQua", "GiayToId",
                                       "Gia") else "text"

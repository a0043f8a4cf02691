"""Cell values as people write them: dates in five shapes, Vietnamese yes/no, 50.000 đ."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from auditbot.sources.tabular.common import Reason
from auditbot.sources.tabular.header import Cell
from auditbot.words.text import fold_ascii

EXCEL_EPOCH = datetime(1899, 12, 30)
# Excel serials between 1950 and 2100: anything else in a date column is not a date
SERIAL_RANGE = (18264, 73051)

_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?")
_TIME_FIRST = re.compile(r"(\d{1,2})[:hH](\d{2})(?::(\d{2}))?[ ,]+(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?")  # yyyyMMddHHmmss, the portal's sync format
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")


def _stamp(moment: datetime) -> str:
    return moment.isoformat(" ", "seconds")


DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@lru_cache(maxsize=1 << 17)  # an export's moments repeat (a minute's dossiers, a day's appointments)
def _fast_dmy_hm(text: str) -> str | None:
    """The shape nine cells in ten have, 'dd/mm/yyyy HH:MM', without regex or datetime: the import's hot path."""
    if len(text) != 16 or text[2] != "/" or text[5] != "/" or text[10] != " " or text[13] != ":":
        return None
    day, month, year, hour, minute = text[0:2], text[3:5], text[6:10], text[11:13], text[14:16]
    if not (day + month + year + hour + minute).isdigit():
        return None
    m, d = int(month), int(day)
    if not (1 <= m <= 12 and 1 <= d <= DAYS_IN_MONTH[m] and hour < "24" and minute < "60"):
        return None
    if m == 2 and d == 29 and not (int(year) % 4 == 0 and (int(year) % 100 != 0 or int(year) % 400 == 0)):
        return None
    return f"{year}-{month}-{day} {hour}:{minute}:00"


def _from_parts(year: str, month: str, day: str, hour: str | None, minute: str | None, second: str | None,
                end_of_day: bool) -> str:
    if hour is None:
        moment = datetime(int(year), int(month), int(day), *((23, 59, 59) if end_of_day else (0, 0, 0)))
    else:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0))
    return _stamp(moment)


def _from_serial(serial: float, end_of_day: bool) -> str:
    if not SERIAL_RANGE[0] <= serial <= SERIAL_RANGE[1]:
        raise Reason("not_excel_date", value=f"{serial:g}")
    moment = EXCEL_EPOCH + timedelta(days=serial)
    moment = moment.replace(microsecond=0)
    if serial == int(serial) and end_of_day:
        moment = moment.replace(hour=23, minute=59, second=59)
    return _stamp(moment)


@lru_cache(maxsize=1 << 16)
def _parse_text(text: str, end_of_day: bool) -> str:
    if match := _DMY.fullmatch(text):
        day, month, year, hour, minute, second = match.groups()
        return _from_parts(year, month, day, hour, minute, second, end_of_day)
    for pattern in (_ISO, _COMPACT):
        if match := pattern.fullmatch(text):
            year, month, day, hour, minute, second = match.groups()
            return _from_parts(year, month, day, hour, minute, second, end_of_day)
    if match := _TIME_FIRST.fullmatch(text):
        hour, minute, second, day, month, year = match.groups()
        return _from_parts(year, month, day, hour, minute, second, end_of_day)
    if _SERIAL.fullmatch(text):
        return _from_serial(float(text), end_of_day)
    raise Reason("not_a_date", value=text)


def parse_when(value: Cell, end_of_day: bool = False) -> str | None:
    """A cell -> 'YYYY-MM-DD HH:MM:SS' local time; a date without a time is the start (or end) of that day."""
    if value is None:
        return None
    if isinstance(value, str):
        fast = _fast_dmy_hm(value)
        if fast is not None:
            return fast
        text = value.strip()
        if not text:
            return None
        try:
            return _parse_text(text, end_of_day)
        except Reason:
            raise
        except ValueError:  # datetime() rejects 31/02 and friends
            raise Reason("not_a_real_date", value=text) from None
    if isinstance(value, datetime):
        return _stamp(value)
    if isinstance(value, date):
        return _stamp(datetime.combine(value, time(23, 59, 59) if end_of_day else time()))
    if isinstance(value, bool):
        raise Reason("not_a_date", value=str(value))
    if isinstance(value, (int, float)):
        return _from_serial(float(value), end_of_day)
    raise Reason("not_a_date", value=str(value))


_NUMBER_JUNK = re.compile(r"(?i)\s|đ|vnd|vnđ|đồng|dong")


def parse_amount(value: Cell) -> float | None:
    """A fee as written: 50000, 50.000, 50,000, '50.000 đ'. Blank is None."""
    if value is None or value == "":
        return None
    if type(value) is str and value.isdigit():
        return float(value)
    if isinstance(value, bool):
        raise Reason("not_an_amount", value=str(value))
    if isinstance(value, (int, float)):
        return float(value)
    text = _NUMBER_JUNK.sub("", str(value))
    if not text or text in ("-", "0"):
        return 0.0
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):  # thousands separators, either kind
        return float(re.sub(r"[.,]", "", text))
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise Reason("not_an_amount", value=str(value)) from None


def text_key(value: Cell) -> str:
    """How a categorical cell is looked up: numbers as integers ('10', not '10.0'), text folded."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return fold_ascii(str(value))


class ValueMap:
    """Written values -> canonical ones, accent- and case-insensitive; blank maps to `blank`."""

    def __init__(self, name: str, values: Mapping[str, object], overrides: Mapping[str, object] | None = None,
                 blank: object = None, section: str | None = None) -> None:
        self.name = name
        self.section = section or f"dossiers.values.{name}"
        self.blank = blank
        self.mapping = {text_key(k): v for k, v in values.items()}
        self.mapping.update({text_key(k): v for k, v in (overrides or {}).items()})
        self.cache: dict[object, object] = {}
        self.known = sorted({str(k) for k in values if not str(k).isdigit()})

    def __call__(self, value: Cell) -> object:
        try:
            return self.cache[value]
        except (KeyError, TypeError):
            pass
        if value is None or (isinstance(value, str) and not value.strip()):
            result = self.blank
        elif isinstance(value, bool):
            result = value if self.name == "boolean" else self._unknown(value)
        else:
            key = text_key(value)
            result = self.mapping[key] if key in self.mapping else self._unknown(value)
        if not isinstance(value, (list, dict)):
            self.cache[value] = result
        return result

    def _unknown(self, value: Cell) -> object:
        raise Reason(f"unknown_{self.name}", value=str(value), expected=", ".join(self.known[:8]),
                     section=self.section)

"""How people here read numbers and dates: 1.234.567 hồ sơ, 99,65%, 31/10/2026."""

from __future__ import annotations

from datetime import date, datetime


def number(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        whole, _, fraction = f"{value:,.2f}".partition(".")
        return f"{whole.replace(',', '.')},{fraction}"
    return f"{int(value):,}".replace(",", ".")


def percent(value: float | None) -> str:
    """A rate already cut to two decimals -> '99,65%'."""
    if value is None:
        return "—"
    return f"{value:.2f}".replace(".", ",") + "%"


def day(value: str | date | datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def moment(value: str | datetime | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y %H:%M")


def week(key: str) -> str:
    """An ISO week as the letters name it: "2026-W50" -> "50/2026" (anything else as it is)."""
    year, _, number_ = key.partition("-W")
    return f"{int(number_)}/{year}" if year.isdigit() and number_.isdigit() else key

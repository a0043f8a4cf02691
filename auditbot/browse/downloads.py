"""A Datasette plugin, registered by `auditbot serve`: downloads that Excel opens as they are.

CSV downloads start with a UTF-8 byte order mark (without it, Excel on Windows reads UTF-8 as the
ANSI code page and breaks every Vietnamese letter); the views and canned queries people read also
download as XLSX, with their Vietnamese headers, the header row frozen, dates and numbers as Excel's own.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

import xlsxwriter

from auditbot.browse.cells import ISO_MOMENT, KEY_COLUMNS, RATE_PREFIXES, RATE_SUFFIXES, hookimpl
from auditbot.browse.chrome import settings
from auditbot.store.views import VIEWS
from auditbot.words import vietnamese

BOM = b"\xef\xbb\xbf"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WIDEST = 60  # characters: longer cells wrap instead of widening the column past a screen

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def with_bom(app: App) -> App:
    """Prepend the BOM to the first body chunk of every text/csv response (Datasette's CSV with _dl)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        owed = False

        async def sending(message: Message) -> None:
            nonlocal owed
            if message["type"] == "http.response.start":
                headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
                if any(k.lower() == b"content-type" and v.lower().startswith(b"text/csv") for k, v in headers):
                    owed = True
                    headers = [(k, str(int(v) + len(BOM)).encode() if k.lower() == b"content-length" else v)
                               for k, v in headers]
                    message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and owed:
                owed = False
                message = {**message, "body": BOM + bytes(message.get("body", b""))}
            await send(message)

        await app(scope, receive, sending)

    return wrapped


@hookimpl
def asgi_wrapper() -> Callable[[App], App]:
    return with_bom


def can_xlsx(table: str | None, query_name: str | None) -> bool:
    """Only what people read: the Vietnamese views and the canned queries, not raw tables or ad-hoc SQL."""
    return query_name is not None or table in VIEWS


def is_rate(column: str) -> bool:
    return column.startswith(RATE_PREFIXES) or column.endswith(RATE_SUFFIXES)


def workbook(columns: list[str], rows: list[Any], sheet: str, more: str | None) -> bytes:
    buffer = io.BytesIO()
    # cells are data, never formulas or links, whatever a scraped title starts with
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"})
    formats = {"moment": book.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
               "day": book.add_format({"num_format": "dd/mm/yyyy"}),
               "rate": book.add_format({"num_format": '0.00"%"'}),
               "count": book.add_format({"num_format": "#,##0"}),
               "amount": book.add_format({"num_format": "#,##0.00"}),
               "key": book.add_format({"num_format": "0"})}
    worksheet = book.add_worksheet(sheet)
    widths = [len(column) + 2 for column in columns]
    for x, column in enumerate(columns):
        worksheet.write_string(0, x, column, header)
    for y, row in enumerate(rows, start=1):
        for x, column in enumerate(columns):
            value = row[x]
            if value is None:
                continue
            if isinstance(value, (int, float)):
                kind = ("rate" if is_rate(column) else
                        "key" if column in KEY_COLUMNS or column.startswith("Mã") else
                        "count" if isinstance(value, int) or float(value).is_integer() else "amount")
                worksheet.write_number(y, x, value, formats[kind])
                text = f"{value:,.2f}"
            elif isinstance(value, str) and ISO_MOMENT.fullmatch(value):
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    worksheet.write_string(y, x, value)
                else:
                    worksheet.write_datetime(y, x, moment, formats["moment" if " " in value else "day"])
                text = "00/00/0000 00:00" if " " in value else "00/00/0000"
            else:
                text = value if isinstance(value, str) else str(value)
                worksheet.write_string(y, x, text)
            widths[x] = max(widths[x], min(len(text) + 2, WIDEST))
    for x, width in enumerate(widths):
        worksheet.set_column(x, x, width)
    worksheet.freeze_panes(1, 0)
    worksheet.autofilter(0, 0, max(len(rows), 1), max(len(columns) - 1, 0))
    if more:
        worksheet.write_string(len(rows) + 2, 0, more)
    book.close()
    return buffer.getvalue()


def render_xlsx(datasette: Any, columns: list[str], rows: list[Any], database: str, table: str | None,
                query_name: str | None, data: dict[str, Any]) -> dict[str, Any]:
    name = query_name or table or database
    more = None
    if data.get("next") or data.get("truncated"):  # a page, or a query cut at max_returned_rows
        words = settings(datasette).get("xlsx", {})
        more = str(words.get("more_rows", "…")).format(rows=vietnamese.number(len(rows)))
    if query_name:
        queries = datasette.metadata("queries", database=database, fallback=False) or {}
        title = (queries.get(query_name) or {}).get("title")
    else:
        title = datasette.metadata("title", database=database, table=table, fallback=False)
    sheet = "".join(ch for ch in (title or name) if ch not in "[]:*?/\\")[:31] or "Sheet1"
    return {"body": workbook(columns, rows, sheet, more), "content_type": XLSX_TYPE, "status_code": 200,
            "headers": {"content-disposition": f'attachment; filename="{name}.xlsx"'}}


@hookimpl
def register_output_renderer() -> dict[str, Any]:
    return {"extension": "xlsx", "render": render_xlsx, "can_render": can_xlsx}

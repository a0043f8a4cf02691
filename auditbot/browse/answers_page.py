"""The page a unit reaches from its weekly letter (/tra-loi/<token>): its open findings, and a form for each to
say "fixed", "we disagree" or "we need until…". A Datasette plugin, so `auditbot serve` answers it beside
Datasette on one port.

Who may answer is the link's token alone (stored hashed, expiring); each form carries a nonce good once for
that link and that finding, so a forged or replayed post is refused; bodies, reasons and requests per link
are bounded. Plain HTML, no script: it works on any phone.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from auditbot.browse.answer_guards import (
    App,
    KnownLinks,
    RateLimit,
    Receive,
    Scope,
    Send,
    guarded,
)
from auditbot.browse.cells import hookimpl
from auditbot.config.rules import Config
from auditbot.domain.clock import local_now
from auditbot.errors import UserError
from auditbot.report.compose import environment
from auditbot.store import AnswerRefused, Link, Store, is_busy
from auditbot.store.answers import digest
from auditbot.words.text import as_typed

log = logging.getLogger(__name__)

PREFIX = "/tra-loi/"
UNIT_PAGE = re.compile(r"/tra-loi/(?P<token>[^/]{1,200})")
CENTRE_PATH = "/tra-loi/trung-tam"  # the centre's review of what waits; behind its login and Datasette's CSRF token
MIN_REASON_WORDS = 4        # "at least a few words": "sai" alone is no reason the centre can weigh
MAX_LINK_CHARS = 500
MAX_EXTENSION_DAYS = 366
UNKNOWN_PER_MINUTE = 60     # wrong tokens from one client: guessing is told to slow down
HEADERS = {
    "Cache-Control": "no-store",
    # the token is in the address: never handed to another site (no-referrer would make form posts "Origin: null")
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
                               " frame-ancestors 'none'; base-uri 'none'",
}
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


@dataclass
class Answer:
    """A form's fields, checked."""

    finding_id: str
    nonce: str
    kind: str
    reason: str | None
    link: str | None
    until: date | None


class AnswersPlugin:
    """Registered by `auditbot serve` with the config and what re-checks a "fixed" answer at once."""

    def __init__(self, config: Config, recheck: Callable[[int], object] | None = None,
                 centre_login: bool = False) -> None:
        self.config = config
        self.centre_login = centre_login  # a password guards serve: the centre may decide on the web
        self.recheck = recheck
        self.settings = config.answers
        self.per_link = RateLimit(self.settings.requests_per_minute)
        self.guesses = RateLimit(UNKNOWN_PER_MINUTE)  # wrong tokens per client
        self.links = KnownLinks(config.database, config.busy_timeout_seconds)
        self.env = environment(config)
        self.rechecking = threading.Lock()  # one re-check at a time: each takes the writer lock anyway
        self.__name__ = __name__  # Datasette lists plugins by module name

    @property
    def body_limit(self) -> int:
        # a reason of the longest allowed, every character percent-encoded as UTF-8, and the other fields
        return self.settings.max_reason_chars * 9 + 4096

    @hookimpl
    def register_routes(self) -> list[tuple[str, Callable[..., Awaitable[Any]]]]:
        return [(f"^{CENTRE_PATH}$", self.centre)]  # behind Datasette's login and its CSRF token

    @hookimpl
    def asgi_wrapper(self) -> Callable[[App], App]:
        return lambda app: guarded(self._units_first(app), self.body_limit)

    def _units_first(self, app: App) -> App:
        """A unit's page is answered here, before Datasette's router: it needs no login and no CSRF cookie
        (each form's nonce does that work), nor the schema refresh Datasette does on every request, so a
        flood of them costs little."""

        async def routed(scope: Scope, receive: Receive, send: Send) -> None:
            found = UNIT_PAGE.fullmatch(scope["path"]) if scope["type"] == "http" else None
            if found is None or scope["path"] == CENTRE_PATH:
                await app(scope, receive, send)
                return
            from datasette.utils.asgi import Request, Response

            try:
                response = await self.page(Request({**scope, "url_route": {"kwargs": found.groupdict()}}, receive))
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                response = self._busy(Response, status=503)  # another process holds the database: try again
            await response.asgi_send(send)

        return routed

    async def page(self, request: Any) -> Any:
        from datasette.utils.asgi import Response

        token = request.url_vars["token"]
        client = str((request.scope.get("client") or ("?",))[0])
        live = TOKEN.fullmatch(token) is not None and await self.links.is_live(token, local_now(self.config))
        # a live link is never held up by wrong tokens from the same address (a proxy's, many units'), and a
        # flood on one is turned away before the database is read
        if live and not self.per_link.allow(digest(token)):
            return self._busy(Response)
        link = await asyncio.to_thread(self._link, token) if live else None
        if link is None:
            if not self.guesses.allow(client):  # each wrong token counts against whoever sent it
                return self._busy(Response)
            return self._gone(Response)
        if request.method == "POST":
            return await self._post(request, link, token, Response)
        notice = request.args.get("ket-qua")
        html = await asyncio.to_thread(self._show, link, notice if notice in ("sent", *REFUSALS) else None)
        return Response.html(html, headers=HEADERS)

    async def centre(self, request: Any) -> Any:
        """Pending disagreements and extensions, each with accept (mute until a date, or close as a false
        finding) or refuse; only for the centre's login, and only when a password guards serve."""
        from datasette.utils.asgi import Response

        actor = request.actor or {}
        if not self.centre_login or actor.get("id") != self.config.serve.user:
            return Response.html(self._render("answers_centre_login.html", {"configured": self.centre_login}),
                                 status=403, headers=HEADERS)
        if request.method == "POST":
            fields = await request.post_vars()  # Datasette checked its CSRF token before this runs
            outcome = await asyncio.to_thread(self._decide, fields, str(actor["id"]))
            return Response.redirect(f"{CENTRE_PATH}?ket-qua={outcome}", status=303, headers=dict(HEADERS))
        notice = request.args.get("ket-qua")
        with Store(self.config.database, self.config.busy_timeout_seconds) as store:
            pending = [dict(r) for r in store.db.query(
                "SELECT a.*, f.title, u.name AS unit_name FROM answers a JOIN findings f ON f.id = a.finding_id"
                " LEFT JOIN units u ON u.code = a.unit WHERE a.status = 'pending' ORDER BY a.answered_at")]
        return Response.html(self._render("answers_centre.html", {
            "pending": pending, "csrftoken": request.scope["csrftoken"](), "today": local_now(self.config).date().isoformat(),
            "notice": notice if notice in ("decided", "invalid") else None}), headers=HEADERS)

    def _decide(self, fields: dict[str, str], by: str) -> str:
        decision, reason = fields.get("decision", ""), as_typed(fields.get("reason", ""))
        if not re.fullmatch(r"[0-9]{1,9}", fields.get("answer", "")) or decision not in ("mute", "false_finding", "refuse") \
                or not reason or len(reason) > self.settings.max_reason_chars:
            return "invalid"
        until = _day(fields.get("until", "")) if fields.get("until") else None
        if fields.get("until") and until is None:
            return "invalid"  # a date that is none is not the unit's date either
        try:
            with Store(self.config.database, self.config.busy_timeout_seconds) as store:
                store.decide(int(fields["answer"]), decision != "refuse", reason, by, local_now(self.config),
                             until, decision == "false_finding")
        except UserError:
            return "invalid"  # decided already, no date for a mute, or a false finding asked of an extension
        return "decided"

    def _gone(self, response: Any) -> Any:
        # a wrong token and an expired one look alike, and say nothing of any unit
        return response.html(self._render("answers_gone.html", {}), status=404, headers=HEADERS)

    def _link(self, token: str) -> Link | None:
        with Store(self.config.database, self.config.busy_timeout_seconds) as store:
            return store.link_of(token, local_now(self.config))

    def _busy(self, response: Any, status: int = 429) -> Any:
        return response.html(self._render("answers_busy.html", {"database": status == 503}), status=status,
                             headers={**HEADERS, "Retry-After": "60"})

    async def _post(self, request: Any, link: Link, token: str, response: Any) -> Any:
        if not self._same_origin(request):
            return response.html(self._render("answers_gone.html", {}), status=403, headers=HEADERS)
        fields = await request.post_vars()  # UTF-8: guarded() read it first
        checked = self._checked(fields)
        if isinstance(checked, str):
            outcome = checked
        else:
            outcome = await asyncio.to_thread(self._store, link, checked)
        if outcome in RETYPED:  # the unit's own words come back, in the form it used, beside what to change
            html = await asyncio.to_thread(self._show, link, outcome, self._typed(fields))
            return response.html(html, status=400, headers=HEADERS)
        # after a post, a fresh page (a reload never posts twice)
        return response.redirect(f"{PREFIX}{token}?ket-qua={outcome}", status=303, headers=dict(HEADERS))

    def _typed(self, fields: dict[str, str]) -> dict[str, str]:
        """What a refused form held, bounded, to fill the same form again (the page autoescapes it)."""
        return {"finding": fields.get("finding", "")[:12], "kind": fields.get("kind", "")[:10],
                "reason": as_typed(fields.get("reason", ""))[:self.settings.max_reason_chars],
                "link": as_typed(fields.get("link", ""))[:MAX_LINK_CHARS], "until": fields.get("until", "")[:10]}

    def _same_origin(self, request: Any) -> bool:
        """Browsers say where a form was posted from; another site's form is refused."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True  # an old browser says nothing; the form's nonce still ties the post to the link
        allowed = {f"{request.scheme}://{request.host}"}
        if self.settings.base_url:
            parts = urlsplit(self.settings.base_url)
            allowed.add(f"{parts.scheme}://{parts.netloc}")
        return bool(origin in allowed)

    def _checked(self, fields: dict[str, str]) -> Answer | str:
        kind = fields.get("kind", "")
        finding_id, nonce = fields.get("finding", ""), fields.get("nonce", "")
        if kind not in ("fixed", "disagree", "extension") or not re.fullmatch(r"[0-9a-f]{12}", finding_id) \
                or not TOKEN.fullmatch(nonce):
            return "form"
        reason = as_typed(fields.get("reason", ""))
        link = fields.get("link", "").strip() or None
        if link is not None and as_typed(link) != link:
            return "link"  # controls in an address are there to fool whoever reads it
        until = None
        if len(reason) > self.settings.max_reason_chars:
            return "too_long"
        if kind != "fixed" and len(reason.split()) < MIN_REASON_WORDS:
            return "reason"
        if link is not None and (len(link) > MAX_LINK_CHARS or not re.fullmatch(r"https?://\S+", link)):
            return "link"
        if kind == "extension":
            until = _day(fields.get("until", ""))
            today = local_now(self.config).date()
            if until is None or not today < until <= today + timedelta(days=MAX_EXTENSION_DAYS):
                return "until"
        return Answer(finding_id, nonce, kind, reason or None, link if kind == "disagree" else None, until)

    def _store(self, link: Link, answer: Answer) -> str:
        now = local_now(self.config)
        try:
            with Store(self.config.database, self.config.busy_timeout_seconds) as store:
                answer_id = store.answer(link, answer.finding_id, answer.nonce, answer.kind, answer.reason,
                                         answer.link, answer.until, now)
        except AnswerRefused as refused:
            return refused.reason
        if answer.kind == "fixed" and self.recheck is not None:
            threading.Thread(target=self._recheck, args=(answer_id,), daemon=True).start()
        return "sent"

    def _recheck(self, answer_id: int) -> None:
        with self.rechecking:
            try:
                if self.recheck is not None:
                    self.recheck(answer_id)
            except Exception:  # the daemon retries what is still queued; the page says "checking"
                log.exception("re-check of answer %d failed", answer_id)

    def _show(self, link: Link, notice: str | None, typed: dict[str, str] | None = None) -> str:
        now = local_now(self.config)
        with Store(self.config.database, self.config.busy_timeout_seconds) as store:
            findings = store.answerable(link.unit)
            for finding in findings:  # a finding whose answer is still open takes no second one
                answer = finding["answer"]
                finding["nonce"] = (store.issue_form(link, finding["id"], now)
                                    if answer is None or answer["status"] not in ("rechecking", "pending") else None)
            # answers whose finding is no longer open (fixed, or muted on the centre's decision) still show
            since = now - timedelta(days=self.settings.link_days)
            settled = [a for a in store.answers_to_tell(link.unit, f"{since:%Y-%m-%d %H:%M:%S}")
                       if a["finding_status"] != "open"]
            unit = next(iter(store.db.query("SELECT name FROM units WHERE code = ?", [link.unit])), {"name": link.unit})
        return self._render("answers_page.html", {
            "unit_name": unit["name"], "findings": findings, "settled": settled, "notice": notice, "typed": typed,
            "today": now.date().isoformat(),
            "max_reason": self.settings.max_reason_chars, "min_words": MIN_REASON_WORDS})

    def _render(self, template: str, context: dict[str, Any]) -> str:
        return self.env.get_template(template).render(context)


REFUSALS = ("form", "finding", "open", "reason", "too_long", "link", "until", "kind", "recently")
RETYPED = ("reason", "too_long", "link", "until")  # refusals a unit fixes by changing what it typed


def _day(value: str) -> date | None:
    value = value.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    return None

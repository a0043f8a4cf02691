"""Load rules.toml into typed objects, reporting every problem at once with its key path."""

from __future__ import annotations

import difflib
import itertools
import os
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auditbot.config import bundled
from auditbot.config.origins import Origins, site
from auditbot.config.schedules import parse as parse_phrase
from auditbot.config.units_file import UnitsFileError, units_table
from auditbot.errors import ConfigError
from auditbot.words.catalogue import FIELDS as CATALOGUE_FIELDS
from auditbot.words.catalogue import STATUS_VALUES
from auditbot.words.codes import NATIONAL_CODE
from auditbot.words.dossiers import FIELDS as DOSSIER_FIELDS
from auditbot.words.dossiers import PERSONAL, VALUE_KINDS
from auditbot.words.levels import LEVELS, usual_level
from auditbot.words.periods import calendar_span, within_calendar
from auditbot.words.text import fold_ascii, nfc

DEFAULT_CONFIG = "rules.toml"
CONFIG_ENV = "AUDITBOT_CONFIG"

THRESHOLD_KEYS = ("digitisation_min", "online_min", "online_payment_min", "overdue_max", "min_dossiers",
                  "min_period_elapsed", "receipt_hours")
DEFAULT_THRESHOLDS: dict[str, float] = {
    "digitisation_min": 90,
    "online_min": 70,
    "online_payment_min": 30,
    "overdue_max": 5,
    "min_dossiers": 10,
    "min_period_elapsed": 33,  # % of a running period gone before its rates are judged (a week's dossiers are not a quarter)
    "receipt_hours": 8,  # working hours an online dossier may wait between submission and receipt
}
SCHEDULE_JOBS = ("catalogue", "listings", "links", "dossiers", "checks", "weekly_report", "daily_warning")
PERIODS = ("quarter", "month", "year")
SECURITY_MODES = ("starttls", "ssl", "none")
SMTP, OUTBOX = "smtp", "outbox"
DELIVERIES = (SMTP, OUTBOX)  # the weekly letters are sent through the mail server, or only written as .eml files
SEVERITIES = ("low", "medium", "high")
LANGUAGES = ("vi", "en")  # what people read: Vietnamese, or English for a visitor's look
ROLLUP_RULES = ("successor", "named")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    head_emails: tuple[str, ...] = ()
    listing_urls: tuple[str, ...] = ()
    listing_selector: str = ""  # CSS selector of one listed procedure, for sites the default misreads
    render: bool = False        # read the listing through headless Chromium (its rows are built by scripts)
    valid_from: date | None = None  # the first day the unit existed (None: before anything auditbot reads)
    valid_to: date | None = None    # the last day it existed (None: it still does)
    successors: tuple[str, ...] = ()  # who took over on the next day; the first takes what is not split

    def alive(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class ListingSettings:
    timeout_seconds: float = 20.0
    delay_seconds: float = 1.0      # pause between two requests to the same host
    max_pages: int = 50             # pagination cap per listing URL
    concurrency: int = 8            # hosts read at the same time (each host still one request at a time)
    max_page_mb: float = 5          # a page larger than this is cut, and a cut page is no evidence
    collapse_ratio: float = 0.5     # a reading below this share of the last good one is not believed
    render_seconds: float = 20      # the whole budget of one page read through Chromium
    chromium: str = ""              # the browser for pages built by scripts; "" finds chromium on PATH


@dataclass(frozen=True)
class Thresholds:
    digitisation_min: float
    online_min: float
    online_payment_min: float
    overdue_max: float
    min_dossiers: int
    min_period_elapsed: float
    receipt_hours: float = 8


# the rates a procedure may be exempted from, by the rate check's name (rate.<name>)
EXEMPTIBLE = ("digitisation", "online", "online_payment", "overdue")
# how each figure is printed: the province cuts its on-time and processing rates (99,99 / 98,89 / 99,37)
# and rounds the shares of its online-service tables (133.237 of 140.686 is 94,71)
ROUNDING_RULES = ("cut", "round")
DEFAULT_ROUNDING: dict[str, str] = {
    "online_rate": "cut", "on_time_rate": "cut", "digitisation_rate": "cut", "online_payment_rate": "cut",
    "overdue_rate": "cut", "online_full_rate": "round", "online_partial_rate": "round",
}


@dataclass(frozen=True)
class Exemption:
    """Procedures left out of one rate, by national code or by catalogue field, and why (the annex says it)."""

    procedures: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class EmailSettings:
    sender: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "AUDITBOT_SMTP_PASSWORD"
    centre: tuple[str, ...] = ()
    ca_file: Path | None = None     # a private CA for the mail server's certificate (default: the system's)
    timeout_seconds: float = 30
    # addresses on domains no public mail reaches (mail.tinh.local): True for any, or the domains named
    internal_domains: bool | tuple[str, ...] = False
    delivery: str = OUTBOX          # "smtp": letters are sent; "outbox": written as .eml files under `outbox`
    outbox: Path = Path("outbox")   # where "outbox" delivery writes the letters, one folder a week


@dataclass(frozen=True)
class ReportSettings:
    templates: Path                 # Jinja2 templates and annexes.toml: the wording, editable without code
    nothing_open: bool = True       # a unit with nothing open still gets a short confirmation
    escalate_after_weeks: int = 4   # open longer than this: the digest also goes to the unit's head
    top_units: int = 10             # units with most open findings, in the summary
    max_rows_in_body: int = 100     # per table in the email body; the XLSX attachment has every row
    retry_minutes: float = 15       # first wait before a failed email is tried again; doubles each time


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"         # Datasette listens here; any other address needs a password
    port: int = 8001
    user: str = "trungtam"          # the login name datasette-auth-passwords asks for
    password_hash_env: str = "AUDITBOT_SERVE_PASSWORD_HASH"  # made by `auditbot password-hash`
    request_seconds: float = 10.0   # a connection's time to send a whole request (slowloris holds none for ever)


@dataclass(frozen=True)
class AnswerSettings:
    """Units answering their findings from the letter's link (browse/answers_page.py)."""

    base_url: str | None = None     # where units reach `auditbot serve` (its /tra-loi/ page); none: no links in letters
    link_days: int = 14             # a letter's link works this many days; each week's letter brings a new one
    remind_after_days: int = 14     # the summary names units that left findings older than this unanswered
    max_reason_chars: int = 2000    # a longer reason is refused, not cut
    requests_per_minute: int = 30   # per link: more is refused until the minute is over


@dataclass(frozen=True)
class PortalSettings:
    home: str = "https://dichvucong.gov.vn/"  # the canary, and what "the portal" is
    hosts: tuple[str, ...] = ("dichvucong.gov.vn", "thutuc.dichvucong.gov.vn")  # "host" or "host:port"
    procedure_urls: tuple[str, ...] = (
        "/tim-kiem-thu-tuc-hanh-chinh?formalityId={id}",  # the 2026 portal; without formalityId: a search
        "/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc={id}",
        "/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_tthc={id}",
        "/thu-tuc-hanh-chinh/{id}",
    )
    not_found_markers: tuple[str, ...] = ("Không tìm thấy thủ tục",)
    slow_down_markers: tuple[str, ...] = ("Request Rejected",)  # the web firewall's page: back off
    home_paths: tuple[str, ...] = ("/", "/p/home/dvc-trang-chu.html")  # a redirect here means broken
    concurrency: int = 4            # requests at once per portal host
    rate_per_second: float = 5      # requests started per second per portal host
    timeout_seconds: float = 15     # per request, from when it really starts
    retries: int = 3                # for transient failures only (timeouts, 5xx, slow-down answers)
    backoff_seconds: float = 1      # first pause before a retry; doubles each time
    cache_hours: float = 24         # a link checked more recently than this is not asked again
    max_body_kb: int = 256          # procedure pages can exceed 10 MB; markers sit near the top
    breaker_window: int = 20        # the last N answers ...
    breaker_failure_rate: float = 0.5  # ... failing at this rate mean the portal is down: stop
    max_retry_after_seconds: float = 300  # a longer Retry-After means "stop": the breaker trips
    max_links_per_unit: int = 2000  # distinct links asked for one unit in one run (the rest: next runs)
    max_links_per_run: int = 20000  # ... and for the whole province


@dataclass(frozen=True)
class NetworkSettings:
    """How auditbot tells its own outage from a unit's: hosts that answer whenever auditbot's network works."""

    canaries: tuple[str, ...] = ()  # besides [portal] home; http(s) addresses asked only when sites fail alike
    timeout_seconds: float = 10     # the whole of one canary's answer


@dataclass(frozen=True)
class DossierSettings:
    # canonical field -> extra header aliases; value kind -> {written value: canonical value}
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    period: str = "quarter"
    settle_days: int = 10  # after a period ends, late exports for it still count this many days; then final
    # an ended unit's dossiers count for its successor in the periods after its end: "successor" (all to
    # the first successor) or "named" (to the successor the export names, else the first)
    rollup: str = "successor"


@dataclass(frozen=True)
class CatalogueSettings:
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    # a procedure of this level applies to every unit of these kinds (unless the row names its unit)
    levels: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"Cấp tỉnh": ("so",), "Cấp xã": ("xa",), "Cấp huyện": ()})
    # an agency the catalogue names generically -> the unit kinds it stands for ("Công an cấp xã" = [])
    agencies: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class IndexSettings:
    """The Decision 766 index (templates/index766.toml holds its formulas)."""

    holidays: tuple[date, ...] = ()     # days off besides weekends: "working days" in the formulas skip them
    minimum_points: float | None = None  # a unit scoring below this share (%) of the computable points is a
                                         # finding (index.below_minimum); absent: the index only informs


@dataclass(frozen=True)
class LocalSites:
    """The sample province's made-up websites: requests for these domains are answered from a folder
    (one subfolder per host) served on 127.0.0.1, so nothing leaves the machine. Never for a real province."""

    folder: Path
    domains: tuple[str, ...]


@dataclass(frozen=True)
class SyncSettings:
    """Reconciling the province's dossiers with what the national portal holds (checks/sync.py)."""

    max_days: int = 1               # a dossier's latest state not on the portal this many days later: sync.missing
    tolerance: int = 0              # portal counts may differ from auditbot's by this many dossiers per figure
    portal_figures: Path | None = None  # the portal's published counts per unit and month (a folder of JSON/CSV)


@dataclass(frozen=True)
class Route:
    """Who gets one class of finding instead of the unit it is about: a unit's letter, or addresses."""

    unit: str | None = None
    emails: tuple[str, ...] = ()


ROUTED_CLASSES = ("sync",)  # the classes [routing] may name (a check's audience)


@dataclass(frozen=True)
class WarningSettings:
    """The daily warning: each unit's open dossiers that fall due soon ([schedule] daily_warning mails it)."""

    due_within: float = 24  # working hours (the province's calendar) from now to a dossier's due time


@dataclass(frozen=True)
class Config:
    path: Path
    province: str
    timezone: ZoneInfo
    database: Path
    units: tuple[Unit, ...]
    thresholds: Thresholds
    kind_thresholds: dict[str, Thresholds]
    catalogue: Path | None
    dossier_sources: tuple[Path, ...]
    max_file_mb: float          # a bigger export is refused before a byte is read (a runaway or wrong file)
    max_memory_mb: float        # what reading one workbook may take; a file that needs more is refused
    dossiers: DossierSettings
    catalogue_settings: CatalogueSettings
    listings: ListingSettings
    portal: PortalSettings
    email: EmailSettings
    report: ReportSettings
    serve: ServeSettings
    schedule: dict[str, str]
    alert_after_failures: int
    lock_wait_seconds: float
    busy_timeout_seconds: float  # how long one statement waits for another process's write lock
    disabled_checks: tuple[str, ...]
    severities: dict[str, str]
    exemptions: dict[str, Exemption] = field(default_factory=dict)  # rate name -> what it leaves out
    rounding: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_ROUNDING))
    index: IndexSettings = field(default_factory=IndexSettings)
    daily_warning: WarningSettings = field(default_factory=WarningSettings)  # [warnings]
    kind_levels: dict[str, str] = field(default_factory=dict)  # unit kind -> tinh | huyen | xa (words/levels.py)
    units_file: Path | None = None  # the units spreadsheet, when units are kept in one (an input: never written)
    warnings: tuple[str, ...] = ()  # what works but deserves a look (`validate` prints them), with key paths
    network: NetworkSettings = field(default_factory=NetworkSettings)
    language: str = "vi"            # the words people read in the CLI's tables and lines (templates/cli.toml)
    kind_names: dict[str, str] = field(default_factory=dict)  # unit kind -> what people call it ([kinds.<kind>])
    local_sites: LocalSites | None = None
    sync: SyncSettings = field(default_factory=SyncSettings)
    routing: dict[str, Route] = field(default_factory=dict)  # finding class -> who gets it (and the centre)
    answers: AnswerSettings = field(default_factory=AnswerSettings)

    def unit(self, code: str) -> Unit:
        for unit in self.units:
            if unit.code == code:
                return unit
        raise KeyError(code)

    def thresholds_for(self, kind: str) -> Thresholds:
        return self.kind_thresholds.get(kind, self.thresholds)


def config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


class _Reader:
    """Takes typed values out of a TOML table; remembers every problem with its key path."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.keys: dict[str, tuple[str, Any]] = {}  # every key path read (units[] for each unit): type, default
        self.known: dict[str, set[str]] = {}  # table path (units[] for each unit) -> the keys it may hold

    def problem(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(f"{path}: {message}")

    def expect(self, path: str, key: str) -> None:
        """`key` is one the table at `path` may hold: a typo of it is told "did you mean"."""
        self.known.setdefault(_generic(path), set()).add(key)

    def table(self, data: dict[str, Any], path: str, key: str) -> dict[str, Any]:
        self.keys.setdefault(_generic(_join(path, key)), ("a table", None))
        self.expect(path, key)
        value = data.pop(key, {})
        if not isinstance(value, dict):
            self.problem(_join(path, key), f"expected a table, got {_kind(value)}")
            return {}
        return value

    def fields(self, data: dict[str, Any], path: str, defaults: Any,
               expected: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
        """Each key of `expected` taken from the table, its default the same field of `defaults` (a settings
        dataclass): the keyword arguments of that settings class."""
        return {key: self.take(data, path, key, kind, getattr(defaults, key)) for key, kind in expected.items()}

    def take(self, data: dict[str, Any], path: str, key: str, expected: type | tuple[type, ...],
             default: Any = None, required: bool = False) -> Any:
        self.keys.setdefault(_generic(_join(path, key)), (_names(expected), "required" if required else default))
        self.expect(path, key)
        if key not in data:
            if required:
                self.problem(_join(path, key), "is required")
            return default
        value = data.pop(key)
        if isinstance(value, bool) and bool not in _as_tuple(expected):
            self.problem(_join(path, key), f"expected {_names(expected)}, got a boolean")
            return default
        if not isinstance(value, expected):
            self.problem(_join(path, key), f"expected {_names(expected)}, got {_kind(value)}")
            return default
        return value

    def strings(self, data: dict[str, Any], path: str, key: str,
                default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.take(data, path, key, (list, str), default=list(default))
        if isinstance(value, str):
            value = [value]
        if not all(isinstance(item, str) for item in value):
            self.problem(_join(path, key), "expected a list of strings")
            return default
        return tuple(item.strip() for item in value if item.strip())

    def leftovers(self, data: dict[str, Any], path: str) -> None:
        known = sorted(self.known.get(_generic(path), ()))
        for key in data:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            self.problem(_join(path, key), f"unknown key (did you mean {_join(path, close[0])!r}?)" if close
                         else "unknown key")


def _generic(path: str) -> str:
    """units[3].emails -> units[].emails: every unit takes the same keys."""
    return re.sub(r"\[\d+\]", "[]", path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _as_tuple(expected: type | tuple[type, ...]) -> tuple[type, ...]:
    return expected if isinstance(expected, tuple) else (expected,)


def _names(expected: type | tuple[type, ...]) -> str:
    words = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "a table", bool: "true or false"}
    return " or ".join(dict.fromkeys(words.get(t, t.__name__) for t in _as_tuple(expected)))


def _kind(value: Any) -> str:
    return _names(type(value))


def load_config(path: Path, known_checks: Callable[[], set[str]] | None = None) -> Config:
    """Read and validate rules.toml; raise ConfigError listing every problem found."""
    return _load(path, known_checks, _Reader())


def documented_keys(path: Path) -> dict[str, tuple[str, Any]]:
    """Every key reading this rules.toml looks for (those absent too), with its type and default: the
    README's table of keys is generated from the sample province's file."""
    reader = _Reader()
    _load(path, None, reader)
    return dict(sorted(reader.keys.items()))


def _load(path: Path, known_checks: Callable[[], set[str]] | None, reader: _Reader) -> Config:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (use --config or ${CONFIG_ENV})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    base = path.resolve().parent

    province = reader.table(raw, "", "province")
    province_name = reader.take(province, "province", "name", str, "", required=True)
    tz_name = reader.take(province, "province", "timezone", str, "Asia/Ho_Chi_Minh")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        reader.problem("province.timezone", f"unknown time zone {tz_name!r}")
        timezone = ZoneInfo("Asia/Ho_Chi_Minh")
    language = reader.take(province, "province", "language", str, "vi")
    if language not in LANGUAGES:
        reader.problem("province.language", f"expected one of {', '.join(LANGUAGES)}, got {language!r}")
        language = "vi"
    reader.leftovers(province, "province")

    database = reader.table(raw, "", "database")
    db_path = base / reader.take(database, "database", "path", str, "auditbot.db")
    busy_timeout = reader.take(database, "database", "busy_timeout_seconds", (int, float), 30)
    if not 0 < busy_timeout <= 3600:
        reader.problem("database.busy_timeout_seconds", f"expected 0 < seconds ≤ 3600, got {busy_timeout}")
    reader.leftovers(database, "database")

    email = _read_email(reader.table(raw, "", "email"), reader, base)  # before the units: their addresses follow it
    units_file_name = reader.take(raw, "", "units_file", str)
    units_file = base / units_file_name if units_file_name else None
    units = _read_units(raw, reader, units_file, email)

    thresholds_raw = reader.table(raw, "", "thresholds")
    kind_tables = {k: thresholds_raw.pop(k) for k in list(thresholds_raw) if isinstance(thresholds_raw[k], dict)}
    thresholds = _read_thresholds(thresholds_raw, reader, "thresholds", DEFAULT_THRESHOLDS)
    kinds = {unit.kind for unit in units}
    kind_thresholds = {}
    for kind, table in kind_tables.items():
        if kind not in kinds:
            reader.problem(f"thresholds.{kind}", "no unit has this kind")
        kind_thresholds[kind] = _read_thresholds(table, reader, f"thresholds.{kind}", thresholds)

    sources = reader.table(raw, "", "sources")
    catalogue = reader.take(sources, "sources", "catalogue", str)
    dossier_sources = reader.strings(sources, "sources", "dossiers")
    max_file_mb = reader.take(sources, "sources", "max_file_mb", (int, float), 512)
    if max_file_mb <= 0:
        reader.problem("sources.max_file_mb", "must be > 0")
    max_memory_mb = reader.take(sources, "sources", "max_memory_mb", (int, float), 2048)
    if max_memory_mb < 64:
        reader.problem("sources.max_memory_mb", "must be at least 64")
    reader.leftovers(sources, "sources")

    dossiers = _read_dossier_settings(reader.table(raw, "", "dossiers"), reader)
    catalogue_settings = _read_catalogue_settings(reader.table(raw, "", "catalogue"), reader,
                                                  {unit.kind for unit in units})
    portal = _read_portal(reader.table(raw, "", "portal"), reader)
    listings = _read_listings(reader.table(raw, "", "listings"), reader)
    network = _read_network(reader.table(raw, "", "network"), reader)
    report = _read_report(reader.table(raw, "", "report"), reader, base)
    serve = _read_serve(reader.table(raw, "", "serve"), reader)
    answers = _read_answers(reader.table(raw, "", "answers"), reader)

    schedule_raw = reader.table(raw, "", "schedule")
    schedule: dict[str, str] = {}
    for job in SCHEDULE_JOBS:
        phrase = reader.take(schedule_raw, "schedule", job, str)
        if phrase is not None:
            try:
                parse_phrase(phrase)
            except ValueError as exc:
                reader.problem(f"schedule.{job}", str(exc))
            schedule[job] = phrase
    if "weekly_report" in schedule:  # letters from findings nobody refreshes would tell units stale news
        if "checks" not in schedule:
            reader.problem("schedule.weekly_report", "sends letters, but [schedule] never runs `checks`:"
                           " the letters would carry stale findings")
        if not {"dossiers", "listings", "links"} & set(schedule):
            reader.problem("schedule.weekly_report", "sends letters, but [schedule] never imports `dossiers`"
                           " nor reads `listings` or `links`: the findings would never be refreshed")
    alert_after = reader.take(schedule_raw, "schedule", "alert_after_failures", int, 3)
    lock_wait = reader.take(schedule_raw, "schedule", "lock_wait_seconds", (int, float), 600)
    if alert_after < 1:
        reader.problem("schedule.alert_after_failures", "must be ≥ 1")
    reader.leftovers(schedule_raw, "schedule")

    checks_raw = reader.table(raw, "", "checks")
    disabled = reader.strings(checks_raw, "checks", "disabled")
    severities_raw = reader.table(checks_raw, "checks", "severity")
    severities: dict[str, str] = {}
    for check_id, level in severities_raw.items():
        if level not in SEVERITIES:
            reader.problem(f"checks.severity.{check_id}", f"expected one of {', '.join(SEVERITIES)}")
        severities[check_id] = level
    reader.leftovers(checks_raw, "checks")
    if known_checks is not None:
        known = known_checks()
        for check_id in disabled:
            if check_id not in known:
                reader.problem("checks.disabled", f"unknown check id {check_id!r}")
        for check_id in severities:
            if check_id not in known:
                reader.problem(f"checks.severity.{check_id}", "unknown check id")

    exemptions = _read_exemptions(reader.table(raw, "", "exemptions"), reader)
    rounding_raw = reader.table(raw, "", "rounding")
    rounding = dict(DEFAULT_ROUNDING)
    for figure in list(rounding_raw):
        rule = reader.take(rounding_raw, "rounding", figure, str)
        if figure not in DEFAULT_ROUNDING:
            reader.problem(f"rounding.{figure}", f"unknown figure (known: {', '.join(DEFAULT_ROUNDING)})")
        elif rule not in ROUNDING_RULES:
            reader.problem(f"rounding.{figure}", f"expected one of {', '.join(ROUNDING_RULES)}, got {rule!r}")
        else:
            rounding[figure] = rule

    index = _read_index(reader.table(raw, "", "index"), reader)
    kind_levels, kind_names = _read_kinds(reader.table(raw, "", "kinds"), reader, kinds)
    local_sites = _read_local_sites(reader.table(raw, "", "local_sites"), reader, base)
    sync = _read_sync(reader.table(raw, "", "sync"), reader, base)
    routing = _read_routing(reader.table(raw, "", "routing"), reader, {unit.code for unit in units}, email)
    daily_warning = _read_warnings(reader.table(raw, "", "warnings"), reader)

    reader.leftovers(raw, "")
    if reader.problems:
        raise ConfigError(f"{path}: {len(reader.problems)} problem(s)", reader.problems)
    return Config(
        path=path, province=province_name, timezone=timezone, database=db_path, units=tuple(units),
        thresholds=Thresholds(**thresholds), kind_thresholds={k: Thresholds(**v) for k, v in kind_thresholds.items()},
        catalogue=base / catalogue if catalogue else None,
        dossier_sources=tuple(base / item for item in dossier_sources), max_file_mb=max_file_mb,
        max_memory_mb=max_memory_mb,
        dossiers=dossiers, catalogue_settings=catalogue_settings, listings=listings, portal=portal, email=email,
        report=report, serve=serve, schedule=schedule, alert_after_failures=alert_after,
        lock_wait_seconds=lock_wait, busy_timeout_seconds=busy_timeout,
        disabled_checks=disabled, severities=severities, exemptions=exemptions, rounding=rounding, index=index,
        daily_warning=daily_warning,
        kind_levels=kind_levels,
        units_file=units_file, warnings=tuple(reader.warnings), language=language, kind_names=kind_names,
        answers=answers,
        network=network,
        local_sites=local_sites, sync=sync, routing=routing,
    )


def _read_sync(table: dict[str, Any], reader: _Reader, base: Path) -> SyncSettings:
    max_days = reader.take(table, "sync", "max_days", int, SyncSettings.max_days)
    if not 0 <= max_days <= 366:
        reader.problem("sync.max_days", f"expected 0 ≤ days ≤ 366, got {max_days}")
    tolerance = reader.take(table, "sync", "tolerance", int, SyncSettings.tolerance)
    if tolerance < 0:
        reader.problem("sync.tolerance", f"expected a number of dossiers ≥ 0, got {tolerance}")
    figures = reader.take(table, "sync", "portal_figures", str)
    reader.leftovers(table, "sync")
    return SyncSettings(max_days, tolerance, base / figures if figures else None)


def _read_routing(table: dict[str, Any], reader: _Reader, units: set[str], email: EmailSettings) -> dict[str, Route]:
    """`sync = "SKHCN"` (a unit's letter) or `sync = ["it@…"]` (addresses) for each class of finding."""
    routes: dict[str, Route] = {}
    for name in list(table):
        value = reader.take(table, "routing", name, (str, list))
        if name not in ROUTED_CLASSES:
            reader.problem(f"routing.{name}", f"unknown class of finding (known: {', '.join(ROUTED_CLASSES)})")
        elif isinstance(value, str):
            if value not in units:
                reader.problem(f"routing.{name}", f"no unit has the code {value!r}")
            routes[name] = Route(unit=value)
        elif isinstance(value, list):
            if not value or not all(isinstance(item, str) for item in value):
                reader.problem(f"routing.{name}", "expected a unit code or a non-empty list of email addresses")
                continue
            routes[name] = Route(emails=_addresses(reader, f"routing.{name}", tuple(value),
                                                   email.internal_domains))
    return routes


def _read_kinds(table: dict[str, Any], reader: _Reader, kinds: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """[kinds.<kind>] level = "tinh" | "huyen" | "xa": the level of government a unit kind is, for the
    forms' per-level rows; a kind whose word says it (so, huyen, xa, phuong, …) needs no entry.
    name = "Sở, ban, ngành": what people call the kind in tables (else templates/cli.toml's word).
    (levels, names)."""
    levels = {kind: level for kind in kinds if (level := usual_level(kind)) is not None}
    names = {}
    for kind in list(table):
        path = f"kinds.{kind}"
        entry = reader.table(table, "kinds", kind)
        level = reader.take(entry, path, "level", str)
        name = reader.take(entry, path, "name", str)
        if kind not in kinds:
            reader.problem(path, "no unit has this kind")
        if level is not None and level not in LEVELS:
            reader.problem(f"{path}.level", f"expected one of {', '.join(LEVELS)}, got {level!r}")
        elif level is not None:
            levels[kind] = level
        if name is not None and name.strip():
            names[kind] = nfc(name.strip())
        reader.leftovers(entry, path)
    return levels, names


def _read_index(table: dict[str, Any], reader: _Reader) -> IndexSettings:
    path = "index"
    holidays = []
    for text in reader.strings(table, path, "holidays"):
        try:
            holiday = datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            reader.problem("index.holidays", f"{text!r} is not a date written dd/mm/yyyy")
            continue
        if within_calendar(holiday):
            holidays.append(holiday)
        else:
            reader.problem("index.holidays", f"{text} is outside the days auditbot reasons about ({calendar_span()})")
    minimum = reader.take(table, path, "minimum_points", (int, float))
    if minimum is not None and not 0 < minimum <= 100:
        reader.problem("index.minimum_points", f"a percentage of the computable points in (0, 100], got {minimum}")
    reader.leftovers(table, path)
    return IndexSettings(tuple(sorted(set(holidays))), float(minimum) if minimum is not None else None)


def _read_local_sites(table: dict[str, Any], reader: _Reader, base: Path) -> LocalSites | None:
    path = "local_sites"
    folder = reader.take(table, path, "folder", str)
    domains = reader.strings(table, path, "domains")
    reader.leftovers(table, path)
    if folder is None:
        if domains:
            reader.problem(f"{path}.folder", "is required: the folder the domains are served from")
        return None
    if not (base / folder).is_dir():
        reader.problem(f"{path}.folder", f"no such folder: {base / folder}")
    if not domains:
        reader.problem(f"{path}.domains", "name the domains served from the folder (e.g. \"example.gov.vn\")")
    return LocalSites(base / folder, domains)


def _read_warnings(table: dict[str, Any], reader: _Reader) -> WarningSettings:
    due_within = reader.take(table, "warnings", "due_within", (int, float), WarningSettings.due_within)
    if not 0 < due_within <= 1000:
        reader.problem("warnings.due_within", f"expected working hours in (0, 1000], got {due_within!r}")
    reader.leftovers(table, "warnings")
    return WarningSettings(float(due_within))


def _read_exemptions(table: dict[str, Any], reader: _Reader) -> dict[str, Exemption]:
    exemptions = {}
    for rate in list(table):
        path = f"exemptions.{rate}"
        entry = reader.table(table, "exemptions", rate)
        if rate not in EXEMPTIBLE:
            reader.problem(path, f"unknown rate (known: {', '.join(EXEMPTIBLE)})")
            continue
        procedures = reader.strings(entry, path, "procedures")
        for code in procedures:
            if not NATIONAL_CODE.fullmatch(code):
                reader.problem(f"{path}.procedures", f"{code!r} is not a national procedure code (1.001234)")
        fields = tuple(nfc(item) for item in reader.strings(entry, path, "fields"))
        reason = reader.take(entry, path, "reason", str, "")
        if not (procedures or fields):
            reader.problem(path, "names no procedures and no fields")
        elif not reason.strip():
            reader.problem(f"{path}.reason", "say why (the annex's footnote tells the units)")
        reader.leftovers(entry, path)
        exemptions[rate] = Exemption(tuple(procedures), fields, nfc(reason.strip()))
    return exemptions


def _read_thresholds(table: dict[str, Any], reader: _Reader, path: str,
                     defaults: dict[str, Any]) -> dict[str, Any]:
    values = dict(defaults)
    for key in THRESHOLD_KEYS:
        value = reader.take(table, path, key, (int, float))
        if value is None:
            continue
        if key == "receipt_hours":
            if not 0 < value <= 1000:
                reader.problem(f"{path}.{key}", f"expected working hours in (0, 1000], got {value!r}")
                continue
        elif key == "min_dossiers":
            if not isinstance(value, int) or value < 0:
                reader.problem(f"{path}.{key}", f"expected a whole number ≥ 0, got {value!r}")
                continue
        elif not 0 <= value <= 100:
            reader.problem(f"{path}.{key}", f"expected a percentage between 0 and 100, got {value!r}")
            continue
        values[key] = value
    reader.leftovers(table, path)
    return values


SPREADSHEET_BOOLEANS = {"true": True, "yes": True, "có": True, "x": True, "1": True,
                        "false": False, "no": False, "không": False, "0": False}
UNIT_LIST_FIELDS = ("aliases", "emails", "head_emails", "listing_urls", "successors")
UNIT_DATES = ("valid_from", "valid_to")


def _read_units(raw: dict[str, Any], reader: _Reader, units_file: Path | None, email: EmailSettings) -> list[Unit]:
    entries: list[tuple[str, dict[str, Any]]] = []
    reader.expect("", "units")
    tables = raw.pop("units", [])
    if not isinstance(tables, list):
        reader.problem("units", "expected an array of tables ([[units]])")
        tables = []
    entries += [(f"units[{i}]", dict(t)) for i, t in enumerate(tables)]
    if units_file is not None:
        entries += _units_from_csv(units_file, reader)
    units: list[tuple[str, Unit]] = []
    dates_refused = False
    for path, table in entries:
        if not isinstance(table, dict):
            reader.problem(path, "expected a table")
            continue
        code = reader.take(table, path, "code", str, "", required=True).strip()
        name = reader.take(table, path, "name", str, "", required=True).strip()
        kind = reader.take(table, path, "kind", str, "", required=True).strip()
        lists = {key: reader.strings(table, path, key) for key in UNIT_LIST_FIELDS}
        for key in ("emails", "head_emails"):
            lists[key] = _addresses(reader, f"{path}.{key}", lists[key], email.internal_domains)
        if code and not UNIT_CODE.match(code):
            reader.problem(f"{path}.code", f"{code!r}: letters, digits, _ - and . only, starting with a letter or"
                                           " digit (it names files and folders)")
        selector = reader.take(table, path, "listing_selector", str, "")
        render = reader.take(table, path, "render", bool, False)
        if selector and not _valid_selector(selector):
            reader.problem(f"{path}.listing_selector", f"not a CSS selector: {selector!r}")
        given = [key in table for key in UNIT_DATES]
        valid_from, valid_to = (_unit_date(reader, table, path, key) for key in UNIT_DATES)
        dates_refused |= any(was and day is None for was, day in zip(given, (valid_from, valid_to)))
        reader.leftovers(table, path)
        if not lists["emails"] and valid_to is None:  # a unit that ended gets no letters
            reader.warn(f"{path}.emails", f"unit {code or name!r} has no email address: " + (
                f"its weekly letter goes to [email] centre ({', '.join(email.centre)}) to pass on" if email.centre
                else "and [email] centre is empty, so nobody gets its weekly letter"))
        for url in lists["listing_urls"]:
            if not url.startswith(("http://", "https://")):
                reader.problem(f"{path}.listing_urls", f"not an http(s) URL: {url!r}")
        units.append((path, Unit(code=code, name=name, kind=kind, listing_selector=selector, render=render,
                                 valid_from=valid_from, valid_to=valid_to, **lists)))
    if not units:
        reader.problem("units", "no units defined ([[units]] or units_file)")
    merged = _one_per_code(units, reader)
    if not dates_refused:  # a refused date would only come back as a succession that cannot be followed
        for problem in lineage_problems(merged):
            reader.problem("units", problem)
    return merged


def _unit_date(reader: _Reader, table: dict[str, Any], path: str, key: str) -> date | None:
    """A TOML date (2025-07-01) or one written as in a spreadsheet (01/07/2025 or 2025-07-01)."""
    value = reader.take(table, path, key, (date, str))
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value if isinstance(value, date) else _written_day(value)
    if day is None:
        reader.problem(f"{path}.{key}", f"{value!r} is not a date (write 2025-07-01 or 01/07/2025)")
    elif not within_calendar(day):  # 9999-12-31 for "forever": the day after it is no date at all
        hint = "a unit that still exists has no valid_to" if key == "valid_to" else "leave it out if unknown"
        written = f"{day.day:02d}/{day.month:02d}/{day.year:04d}"  # strftime drops the zeros of year 1
        reader.problem(f"{path}.{key}", f"{written} is outside the days auditbot reasons about ({calendar_span()});"
                                        f" {hint}")
        return None
    return day


def _written_day(text: str) -> date | None:
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    return None


def _one_per_code(entries: list[tuple[str, Unit]], reader: _Reader) -> list[Unit]:
    """A code given twice is one office renamed: its lifetimes must not overlap, and they make one unit
    with the latest name, the earlier names kept as aliases (exports from before still name it so)."""
    by_code: dict[str, list[tuple[str, Unit]]] = {}
    for path, unit in entries:
        by_code.setdefault(unit.code, []).append((path, unit))
    merged: list[Unit] = []
    for code, lives in by_code.items():
        lives.sort(key=lambda life: life[1].valid_from or date.min)
        for (path, earlier), (later_path, later) in itertools.pairwise(lives):
            if earlier.valid_to is None and later.valid_from is None:
                reader.problem(f"{later_path}.code", f"duplicate unit code {code!r} (also at {path})")
            elif earlier.valid_to is None or later.valid_from is None or earlier.valid_to >= later.valid_from:
                reader.problem(f"{later_path}.code", f"unit code {code!r} is also at {path} and their lifetimes"
                               f" overlap ({_span(earlier)} and {_span(later)}); give one valid_to before the"
                               " other's valid_from, or use another code")
        latest = lives[-1][1]
        former = [name for _, unit in lives[:-1] for name in (unit.name, *unit.aliases)]
        merged.append(Unit(**{**latest.__dict__, "aliases": tuple(dict.fromkeys((*latest.aliases, *former))),
                              "valid_from": lives[0][1].valid_from}))
    return merged


def _loop(by_code: dict[str, Unit], start: str) -> list[str] | None:
    """A chain of successors leading from `start` back to it, if there is one."""
    stack = [[start]]
    while stack:
        chain = stack.pop()
        for code in by_code[chain[-1]].successors if chain[-1] in by_code else ():
            if code == start:
                return [*chain, code]
            if code not in chain:
                stack.append([*chain, code])
    return None


def _span(unit: Unit) -> str:
    start = unit.valid_from.strftime("%d/%m/%Y") if unit.valid_from else "always"
    return f"{start} – {unit.valid_to.strftime('%d/%m/%Y') if unit.valid_to else 'now'}"


def lineage_problems(units: list[Unit]) -> list[str]:
    """What makes the units' succession impossible to follow: a successor nobody configured, a unit that
    succeeds itself (directly or round a loop), a successor that did not exist the day after, a life that
    ends before it starts."""
    by_code = {unit.code: unit for unit in units}
    problems = []
    for unit in units:
        if unit.valid_from and unit.valid_to and unit.valid_to < unit.valid_from:
            problems.append(f"{unit.code}: valid_to {_span(unit)} ends before it starts")
        if unit.successors and unit.valid_to is None:
            problems.append(f"{unit.code}: has successors but no valid_to (the last day it existed)")
        for successor in unit.successors:
            heir = by_code.get(successor)
            if heir is None:
                problems.append(f"{unit.code}: successor {successor!r} is no configured unit")
            elif successor == unit.code:
                problems.append(f"{unit.code}: a unit cannot succeed itself")
            elif unit.valid_to is not None and not heir.alive(unit.valid_to + timedelta(days=1)):
                problems.append(f"{unit.code}: successor {successor} did not exist on"
                                f" {(unit.valid_to + timedelta(days=1)).strftime('%d/%m/%Y')}, the day after"
                                f" {unit.code} ended ({successor}: {_span(heir)})")
        loop = _loop(by_code, unit.code)
        if loop and len(loop) > 2:
            problems.append(f"{unit.code}: succeeds itself through {' → '.join(loop)}")
    return problems


UNIT_CODE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.))*")


def _addresses(reader: _Reader, path: str, addresses: tuple[str, ...],
               internal: bool | tuple[str, ...] = False) -> tuple[str, ...]:
    """Addresses as the SMTP server will take them: checked by email-validator, Vietnamese domain names
    IDNA-encoded (an address an officer types with diacritics in its domain is kept, not refused). A domain
    [email] allow_internal_domains names may be one no public mail reaches (the province's own server)."""
    # imported here, not with the module: a reading child unpickles a Config and never validates one, and
    # compiling email-validator's patterns is a good part of its start-up
    from email_validator import EmailNotValidError, validate_email

    accepted: list[str] = []
    for address in addresses:
        domain = address.rpartition("@")[2].strip().rstrip(".").lower()
        try:
            if _internal(domain, internal):
                with _special_use_allowed(domain, internal):
                    valid = validate_email(address, check_deliverability=False, allow_smtputf8=False,
                                           globally_deliverable=False)
            else:
                valid = validate_email(address, check_deliverability=False, allow_smtputf8=False)
            accepted.append(valid.ascii_email or valid.normalized)  # ascii_email is set: SMTPUTF8 is not allowed
        except EmailNotValidError as exc:
            reader.problem(path, f"not an email address: {address!r} ({exc})")
    return tuple(accepted)


# the special-use name a province's own mail server may use (RFC 6762); localhost, invalid, test, onion and
# arpa stay refused unless a domain under them is named outright
INTERNAL_SPECIAL_USE = ("local",)


def _internal(domain: str, internal: bool | tuple[str, ...]) -> bool:
    if isinstance(internal, bool):
        return internal
    return any(domain == name or domain.endswith("." + name) for name in internal)


@contextmanager
def _special_use_allowed(domain: str, internal: bool | tuple[str, ...]) -> Iterator[None]:
    """email-validator refuses special-use domains (.local) from its module-level list; its documented way
    to accept one is to take it off that list. Taken off for this one validation, then put back."""
    import email_validator

    names = email_validator.SPECIAL_USE_DOMAIN_NAMES
    saved = list(names)
    lifted = [name for name in saved if (domain == name or domain.endswith("." + name))
              and ((internal is True and name in INTERNAL_SPECIAL_USE) or isinstance(internal, tuple))]
    names[:] = [name for name in saved if name not in lifted]
    try:
        yield
    finally:
        names[:] = saved


def _valid_selector(selector: str) -> bool:
    from cssselect import SelectorError  # only a config that names selectors needs them (see _addresses)
    from lxml.cssselect import CSSSelector

    try:
        CSSSelector(selector)
    except (SelectorError, ValueError):
        return False
    return True


def _units_from_csv(path: Path, reader: _Reader) -> list[tuple[str, dict[str, Any]]]:
    """Units kept in a spreadsheet (CSV in any encoding Excel writes, or a workbook): same columns as
    [[units]], lists separated by ';'. A header may carry a note for the people filling it in after its
    key ("emails (Email nhận thư)"), as `init` writes it."""
    try:
        header, rows = units_table(path)
    except UnitsFileError as exc:
        reader.problem("units_file", f"{path}: {exc}")
        return []
    keys = [label.split("(", 1)[0].strip() for label in header]
    entries = []
    for number, cells in rows:
        table: dict[str, Any] = {}
        if len(cells) > len(keys) and any(cell.strip() for cell in cells[len(keys):]):
            reader.problem(f"units_file:{path.name}:row {number}", "more cells than header columns")
        for key, value in zip(keys, cells):
            value = value.strip()
            if key in UNIT_LIST_FIELDS:
                table[key] = [part.strip() for part in value.split(";") if part.strip()]
            elif key == "render" and value:  # a spreadsheet writes yes/no as words; others stay a type error
                table[key] = SPREADSHEET_BOOLEANS.get(value.casefold(), value)
            elif value:
                table[key] = value
        entries.append((f"units_file:{path.name}:row {number}", table))
    return entries


def _read_dossier_settings(table: dict[str, Any], reader: _Reader) -> DossierSettings:
    personal = {fold_ascii(name) for name in PERSONAL}

    columns_raw = reader.table(table, "dossiers", "columns")
    columns: dict[str, tuple[str, ...]] = {}
    for name in list(columns_raw):
        if name not in DOSSIER_FIELDS:
            reader.problem(f"dossiers.columns.{name}", f"unknown dossier field (known: {', '.join(DOSSIER_FIELDS)})")
            columns_raw.pop(name)
            continue
        columns[name] = reader.strings(columns_raw, "dossiers.columns", name)
        for header in columns[name]:
            if fold_ascii(header) in personal:
                reader.problem(f"dossiers.columns.{name}", f"{header!r} holds citizens' personal data; it is never read")
    values_raw = reader.table(table, "dossiers", "values")
    values: dict[str, dict[str, str]] = {}
    for kind in list(values_raw):
        mapping = reader.table(values_raw, "dossiers.values", kind)
        allowed = VALUE_KINDS.get(kind)
        if allowed is None:
            reader.problem(f"dossiers.values.{kind}", f"unknown value kind (known: {', '.join(VALUE_KINDS)})")
            continue
        for written, canonical in mapping.items():
            if canonical not in allowed:
                reader.problem(f"dossiers.values.{kind}.{written}",
                               f"expected one of {', '.join(map(str, allowed))}, got {canonical!r}")
        values[kind] = {str(k): v for k, v in mapping.items()}
    period = reader.take(table, "dossiers", "period", str, "quarter")
    if period not in PERIODS:
        reader.problem("dossiers.period", f"expected one of {', '.join(PERIODS)}, got {period!r}")
    settle_days = reader.take(table, "dossiers", "settle_days", int, 10)
    if not 0 <= settle_days <= 90:
        reader.problem("dossiers.settle_days", f"expected 0 to 90 days, got {settle_days}")
    rollup = reader.take(table, "dossiers", "rollup", str, "successor")
    if rollup not in ROLLUP_RULES:
        reader.problem("dossiers.rollup", f"expected one of {', '.join(ROLLUP_RULES)}, got {rollup!r}")
    reader.leftovers(table, "dossiers")
    return DossierSettings(columns=columns, values=values, period=period, settle_days=settle_days, rollup=rollup)


def _read_catalogue_settings(table: dict[str, Any], reader: _Reader, kinds: set[str]) -> CatalogueSettings:
    path = "catalogue"
    columns_raw = reader.table(table, path, "columns")
    columns: dict[str, tuple[str, ...]] = {}
    for name in list(columns_raw):
        if name not in CATALOGUE_FIELDS:
            reader.problem(f"{path}.columns.{name}", f"unknown catalogue field (known: {', '.join(CATALOGUE_FIELDS)})")
            columns_raw.pop(name)
            continue
        columns[name] = reader.strings(columns_raw, f"{path}.columns", name)
    statuses = reader.table(table, path, "statuses")
    allowed = sorted(set(STATUS_VALUES.values()))
    for written, canonical in statuses.items():
        if canonical not in allowed:
            reader.problem(f"{path}.statuses.{written}", f"expected one of {', '.join(allowed)}, got {canonical!r}")
    levels = dict(CatalogueSettings().levels)
    levels_raw = reader.table(table, path, "levels")
    for level in list(levels_raw):
        levels[level] = reader.strings(levels_raw, f"{path}.levels", level)
        for kind in levels[level]:
            if kind not in kinds:
                reader.problem(f"{path}.levels.{level}", f"no unit has kind {kind!r}")
    agencies_raw = reader.table(table, path, "agencies")
    agencies: dict[str, tuple[str, ...]] = {}
    for agency in list(agencies_raw):
        agencies[agency] = reader.strings(agencies_raw, f"{path}.agencies", agency)
        for kind in agencies[agency]:
            if kind not in kinds:
                reader.problem(f"{path}.agencies.{agency}", f"no unit has kind {kind!r}")
    reader.leftovers(table, path)
    return CatalogueSettings(columns=columns, statuses={str(k): str(v) for k, v in statuses.items()}, levels=levels,
                             agencies=agencies)


def _read_listings(table: dict[str, Any], reader: _Reader) -> ListingSettings:
    defaults = ListingSettings()
    settings = ListingSettings(
        timeout_seconds=reader.take(table, "listings", "timeout_seconds", (int, float), defaults.timeout_seconds),
        delay_seconds=reader.take(table, "listings", "delay_seconds", (int, float), defaults.delay_seconds),
        max_pages=reader.take(table, "listings", "max_pages", int, defaults.max_pages),
        concurrency=reader.take(table, "listings", "concurrency", int, defaults.concurrency),
        max_page_mb=reader.take(table, "listings", "max_page_mb", (int, float), defaults.max_page_mb),
        collapse_ratio=reader.take(table, "listings", "collapse_ratio", (int, float), defaults.collapse_ratio),
        render_seconds=reader.take(table, "listings", "render_seconds", (int, float), defaults.render_seconds),
        chromium=reader.take(table, "listings", "chromium", str, defaults.chromium),
    )
    if settings.timeout_seconds <= 0 or settings.delay_seconds < 0 or min(settings.max_pages, settings.concurrency) < 1:
        reader.problem("listings", "timeout_seconds must be > 0, delay_seconds ≥ 0, max_pages and concurrency ≥ 1")
    if settings.max_page_mb <= 0 or settings.render_seconds <= 0 or not 0 <= settings.collapse_ratio <= 1:
        reader.problem("listings", "max_page_mb and render_seconds must be > 0, collapse_ratio between 0 and 1")
    reader.leftovers(table, "listings")
    return settings


def _read_network(table: dict[str, Any], reader: _Reader) -> NetworkSettings:
    defaults = NetworkSettings()
    settings = NetworkSettings(
        canaries=reader.strings(table, "network", "canaries", defaults.canaries),
        timeout_seconds=reader.take(table, "network", "timeout_seconds", (int, float), defaults.timeout_seconds),
    )
    for url in settings.canaries:
        if site(url) is None:
            reader.problem("network.canaries", f"{url!r} is not an http(s) address")
    if not 0 < settings.timeout_seconds <= 600:
        reader.problem("network.timeout_seconds", f"expected 0 < seconds ≤ 600, got {settings.timeout_seconds}")
    reader.leftovers(table, "network")
    return settings


PORTAL_NUMBERS = ("concurrency", "rate_per_second", "timeout_seconds", "retries", "backoff_seconds", "cache_hours",
                  "max_body_kb", "breaker_window", "breaker_failure_rate", "max_retry_after_seconds",
                  "max_links_per_unit", "max_links_per_run")
PORTAL_INTS = ("concurrency", "retries", "max_body_kb", "breaker_window", "max_links_per_unit", "max_links_per_run")


def _read_portal(table: dict[str, Any], reader: _Reader) -> PortalSettings:
    defaults = PortalSettings()
    portal = PortalSettings(
        home=reader.take(table, "portal", "home", str, defaults.home),
        hosts=reader.strings(table, "portal", "hosts", defaults.hosts),
        procedure_urls=reader.strings(table, "portal", "procedure_urls", defaults.procedure_urls),
        not_found_markers=reader.strings(table, "portal", "not_found_markers", defaults.not_found_markers),
        slow_down_markers=reader.strings(table, "portal", "slow_down_markers", defaults.slow_down_markers),
        home_paths=reader.strings(table, "portal", "home_paths", defaults.home_paths),
        **{key: reader.take(table, "portal", key, int if key in PORTAL_INTS else (int, float), getattr(defaults, key))
           for key in PORTAL_NUMBERS},
    )
    for pattern in portal.procedure_urls:
        if "{id}" not in pattern or not pattern.startswith("/"):
            reader.problem("portal.procedure_urls", f"pattern {pattern!r} must start with / and hold {{id}}")
    for key in PORTAL_NUMBERS:
        value, zero_ok = getattr(portal, key), key in ("retries", "backoff_seconds", "cache_hours")
        if value < 0 or (value == 0 and not zero_ok):
            reader.problem(f"portal.{key}", "must be ≥ 0" if zero_ok else "must be > 0")
    if portal.breaker_failure_rate > 1:
        reader.problem("portal.breaker_failure_rate", "a rate between 0 and 1")
    if not Origins.of(hosts=portal.hosts).allows(portal.home):
        reader.problem("portal.home", f"{portal.home!r} must be an http(s) address on one of [portal] hosts"
                                      f" ({', '.join(portal.hosts)})")
    reader.leftovers(table, "portal")
    return portal


def _read_email(table: dict[str, Any], reader: _Reader, base: Path) -> EmailSettings:
    path = "email"
    ca_file = reader.take(table, path, "ca_file", str)
    sender = reader.take(table, path, "sender", str, "").strip()
    internal = _internal_domains(reader, table)
    email = EmailSettings(
        sender=next(iter(_addresses(reader, "email.sender", (sender,) if sender else (), internal)), ""),
        smtp_host=reader.take(table, path, "smtp_host", str, ""),
        smtp_port=reader.take(table, path, "smtp_port", int, 587),
        security=reader.take(table, path, "security", str, "starttls"),
        username=reader.take(table, path, "username", str, ""),
        password_env=reader.take(table, path, "password_env", str, "AUDITBOT_SMTP_PASSWORD"),
        centre=_addresses(reader, "email.centre", reader.strings(table, path, "centre"), internal),
        ca_file=base / ca_file if ca_file else None,
        timeout_seconds=reader.take(table, path, "timeout_seconds", (int, float), 30),
        internal_domains=internal,
        delivery=reader.take(table, path, "delivery", str, ""),
        outbox=base / reader.take(table, path, "outbox", str, "outbox"),
    )
    if not email.delivery:  # a config written before the key: a mail server named means letters are sent
        email = replace(email, delivery=SMTP if email.smtp_host else OUTBOX)
    elif email.delivery not in DELIVERIES:
        reader.problem("email.delivery", f"expected one of {', '.join(DELIVERIES)}, got {email.delivery!r}")
    elif email.delivery == SMTP and not email.smtp_host:
        reader.problem("email.smtp_host", 'is required when delivery = "smtp" (or write the letters only:'
                       ' delivery = "outbox")')
    if email.ca_file is not None and not email.ca_file.is_file():
        reader.problem("email.ca_file", f"file not found: {email.ca_file}")
    if email.security not in SECURITY_MODES:
        reader.problem("email.security", f"expected one of {', '.join(SECURITY_MODES)}, got {email.security!r}")
    if not 0 < email.smtp_port < 65536:
        reader.problem("email.smtp_port", f"expected a port number, got {email.smtp_port}")
    reader.leftovers(table, path)
    return email




def _internal_domains(reader: _Reader, table: dict[str, Any]) -> bool | tuple[str, ...]:
    """`allow_internal_domains = true` (any domain, .local included) or a list of the province's own domains."""
    value = reader.take(table, "email", "allow_internal_domains", (bool, list), False)
    if isinstance(value, bool):
        return value
    if not all(isinstance(item, str) and item.strip(" .") for item in value):
        reader.problem("email.allow_internal_domains", "expected true, false or a list of domain names")
        return False
    return tuple(item.strip(" .").lower() for item in value)


def _read_report(table: dict[str, Any], reader: _Reader, base: Path) -> ReportSettings:
    path = "report"
    folder = reader.take(table, path, "templates", str)
    templates = base / folder if folder else base / "templates"
    if not (templates / "annexes.toml").is_file():
        if folder:
            reader.problem("report.templates", f"no annexes.toml in {templates}")
        templates = bundled.templates()  # the shipped wording
    defaults = ReportSettings(templates)
    settings = ReportSettings(
        templates=templates,
        nothing_open=reader.take(table, path, "nothing_open", bool, defaults.nothing_open),
        escalate_after_weeks=reader.take(table, path, "escalate_after_weeks", int, defaults.escalate_after_weeks),
        top_units=reader.take(table, path, "top_units", int, defaults.top_units),
        max_rows_in_body=reader.take(table, path, "max_rows_in_body", int, defaults.max_rows_in_body),
        retry_minutes=reader.take(table, path, "retry_minutes", (int, float), defaults.retry_minutes),
    )
    if min(settings.escalate_after_weeks, settings.top_units, settings.max_rows_in_body) < 1:
        reader.problem(path, "escalate_after_weeks, top_units and max_rows_in_body must be ≥ 1")
    if settings.retry_minutes < 0:
        reader.problem("report.retry_minutes", "must be ≥ 0")
    reader.leftovers(table, path)
    return settings


def _read_serve(table: dict[str, Any], reader: _Reader) -> ServeSettings:
    path, defaults = "serve", ServeSettings()
    settings = ServeSettings(**reader.fields(table, path, defaults, {
        "host": str, "port": int, "user": str, "password_hash_env": str, "request_seconds": (int, float)}))
    if not 0 < settings.port < 65536:
        reader.problem("serve.port", f"expected a port number, got {settings.port}")
    if not 1 <= settings.request_seconds <= 300:
        reader.problem("serve.request_seconds", f"expected 1 to 300 seconds, got {settings.request_seconds}")
    if not settings.user.isidentifier():
        reader.problem("serve.user", f"letters, digits and _ only, got {settings.user!r}")
    reader.leftovers(table, path)
    return settings


def _read_answers(table: dict[str, Any], reader: _Reader) -> AnswerSettings:
    path, defaults = "answers", AnswerSettings()
    settings = AnswerSettings(**reader.fields(table, path, defaults, {
        "base_url": str, "link_days": int, "remind_after_days": int, "max_reason_chars": int,
        "requests_per_minute": int}))
    if settings.base_url is not None and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", settings.base_url):
        reader.problem("answers.base_url", "expected an http:// or https:// address without ? or #")
    for key, low, high in (("link_days", 1, 90), ("remind_after_days", 1, 365), ("max_reason_chars", 100, 20000),
                           ("requests_per_minute", 1, 600)):
        if not low <= getattr(settings, key) <= high:
            reader.problem(f"answers.{key}", f"expected {low}-{high}, got {getattr(settings, key)}")
    reader.leftovers(table, path)
    return settings

"""Settings: declared once as data, read from a TOML file and overridden by the environment.

Precedence, lowest first: the defaults below, the settings file (``FANPULSE_CONFIG`` or
``--config``; ``fanpulse.toml`` in the working directory when it exists), ``FANPULSE_<KEY>``
environment variables, then explicit keyword overrides (tests, the demo).

Secrets (the access token, the app secret) are read only from the environment, or from a file
the environment names (``FANPULSE_ACCESS_TOKEN_FILE``); a settings file that contains one is
refused, because settings files get committed and shared.

Every value is checked when the settings are loaded (:func:`validate`), not when a command
first uses it: a wrong value stops every command at once, with the key and where it came from
(the settings file's path, the environment variable's name, or the command line).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_CONFIG_FILE = "fanpulse.toml"

# The newest Graph API version in November 2026 (docs/graph-api.md §0, §1: v27.0 released
# 2026-11-04).
DEFAULT_GRAPH_VERSION = "v27.0"

# Metrics valid on v25/v26 in late 2026 (docs/graph-api.md §4, observed valid in the
# September 2026 live probe). The list is data: edit it in the settings file when Meta
# retires or adds one.
DEFAULT_PAGE_METRICS = (
    "page_follows",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_post_engagements",
    "page_views_total",
    "page_video_views",
    "page_media_view",  # views of the Page's content, successor of page_impressions
)
DEFAULT_POST_METRICS = ("post_reactions_by_type_total", "post_clicks", "post_media_view")


class SettingsError(ValueError):
    """A settings file or environment variable holds something fanpulse cannot use."""


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its key (TOML key; ``FANPULSE_<KEY>`` in the environment) and its help."""

    key: str
    kind: str  # str, int, float, bool, list
    default: Any
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return "FANPULSE_" + self.key.upper()


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "database_url", "str", "sqlite:///fanpulse.db",
        "SQLAlchemy URL of the store. Default: the SQLite file fanpulse.db in the working "
        "directory. PostgreSQL: postgresql+psycopg://user@host:5432/dbname (postgres:// and "
        "postgresql:// are read as that; needs pip install 'fanpulse[postgres]').",
    ),
    SettingSpec(
        "graph_url", "str", "https://graph.facebook.com",
        "Base URL of the Graph API. Point it at the sandbox (http://127.0.0.1:PORT) to test.",
    ),
    SettingSpec(
        "graph_version", "str", DEFAULT_GRAPH_VERSION,
        "Graph API version the collector asks for (vNN.N).",
    ),
    SettingSpec(
        "access_token", "str", "",
        "Graph API access token: a system-user token (recommended), a long-lived user token or "
        "one Page's token, with pages_show_list, pages_read_engagement and read_insights. "
        "Environment only: FANPULSE_ACCESS_TOKEN, or FANPULSE_ACCESS_TOKEN_FILE "
        "naming a file that holds it.",
        secret=True,
    ),
    SettingSpec(
        "app_secret", "str", "",
        "Optional app secret; when set every call carries appsecret_proof. Environment only: "
        "FANPULSE_APP_SECRET or FANPULSE_APP_SECRET_FILE.",
        secret=True,
    ),
    SettingSpec(
        "app_id", "str", "",
        "Optional id of the Meta app (not a secret). With FANPULSE_APP_SECRET it lets fanpulse "
        "ask debug_token for the token's type, permissions and expiry.",
    ),
    SettingSpec(
        "units_file", "str", "",
        "Units CSV (code,name,level,parent_code,page) imported before each scheduled run when "
        "set. Empty: use the units already in the store.",
    ),
    SettingSpec(
        "campaigns_file", "str", "config/campaigns.toml",
        "Campaigns file (TOML: name, dates, hashtags, keywords, links, directive posts; "
        "docs/campaigns.md). A file that does not exist means no campaigns.",
    ),
    SettingSpec(
        "timezone", "str", "Asia/Ho_Chi_Minh",
        "Time zone used to show times and to decide which local day a snapshot belongs to. "
        "Times are always stored in UTC.",
    ),
    SettingSpec(
        "schedule_cron", "str", "0 2 * * *",
        "When the nightly collection runs (crontab fields: minute hour day month weekday), in "
        "the time zone above. Write weekdays by name (mon-fri): APScheduler counts 0 as Monday.",
    ),
    SettingSpec(
        "misfire_grace_seconds", "int", 3600,
        "How late a scheduled run may start (machine asleep, process busy) and still run; "
        "seconds, at least 1.",
    ),
    SettingSpec(
        "lookback_days", "int", 7,
        "Posts younger than this get their engagement refreshed every night (1 to 90 days).",
    ),
    # 8: the knee of the curve measured with benchmarks/bench_collect.py (sandbox in its own
    # process, SQLite, median of 3 runs, 2-core machine). Latency-bound (400 ms a request,
    # 482 Pages): 2 -> 10.4 s, 4 -> 7.9 s, 8 -> 6.6 s, 16 -> 6.2 s (fetch-only floor 5.8 s).
    # At 100 ms and 5,000 Pages the night is CPU-bound from 4 up: 37.5 / 23.4 / 24.4 /
    # 22.7 s for 2 / 4 / 8 / 16, peak RSS 91 / 98 / 107 / 121 MB. Past 8 the gain is within
    # the noise while memory (the pipeline's window grows with concurrency) keeps growing.
    SettingSpec(
        "concurrency", "int", 8,
        "How many Graph batch requests the collector keeps in flight (1 to 32).",
    ),
    SettingSpec("request_timeout", "float", 30.0,
                "Seconds before one Graph request times out (more than 0)."),
    SettingSpec(
        "max_retries", "int", 4,
        "Retries of one Graph request on transient errors (5xx, timeouts, throttling); 0 to "
        "20.",
    ),
    SettingSpec(
        "max_wait_seconds", "float", 120.0,
        "Longest pause the collector takes when Meta asks it to slow down; a Page that must "
        "wait longer is left for the next run and reported. Seconds, 0 or more.",
    ),
    SettingSpec(
        "insights_recheck_days", "int", 7,
        "A Page whose insights Facebook refused or left empty, or whose posts were not "
        "readable, is asked again after this many days (at least 1).",
    ),
    SettingSpec(
        "page_metrics", "list", list(DEFAULT_PAGE_METRICS),
        "Page insights metrics collected each night (comma-separated in the environment).",
    ),
    SettingSpec(
        "post_metrics", "list", list(DEFAULT_POST_METRICS),
        "Post insights metrics collected for recent posts.",
    ),
    SettingSpec("report_dir", "str", "fanpulse-reports", "Folder the HTML reports are written to."),
    SettingSpec(
        "report_after_collect", "bool", False,
        "Re-render the reports after every scheduled collection.",
    ),
    SettingSpec("log_level", "str", "INFO", "DEBUG, INFO, WARNING or ERROR."),
    SettingSpec(
        "query_timeout_seconds", "float", 60.0,
        "fanpulse query stops a statement that runs longer than this (seconds; 0: no limit), "
        "so one slow question cannot hold the store. --timeout overrides it.",
    ),
    # -- the morning brief (alerts/, docs/alerts.md) ----------------------------------------------
    SettingSpec(
        "alert_run_failed", "bool", True,
        "Brief: a collection run that failed, stopped early or left Pages uncollected, with "
        "the Pages and the reasons.",
    ),
    SettingSpec(
        "alert_token_expiry_days", "int", 14,
        "Brief: the access token expires within this many days (needs app_id and "
        "FANPULSE_APP_SECRET to be known), or lost one of the permissions fanpulse needs. "
        "0: off.",
    ),
    SettingSpec(
        "alert_page_access", "bool", True,
        "Brief: a Page lost its role (no Page token any more: audience only) or cannot be "
        "read at all.",
    ),
    SettingSpec(
        "alert_silent_days", "int", 14,
        "Brief: an active Page has published nothing for this many days. 0: off.",
    ),
    SettingSpec(
        "alert_followers_drop_percent", "float", 5.0,
        "Brief: a Page lost more than this share of its followers (percent) in a day or in a "
        "week. 0: off.",
    ),
    SettingSpec(
        "alert_followers_drop_count", "int", 1000,
        "Brief: a Page lost more than this many followers in a day or in a week. 0: off.",
    ),
    SettingSpec(
        "alert_campaign_percent", "int", 50,
        "Brief: a campaign's directive post that fewer than this share (percent) of the "
        "units with a Page below it have carried, alert_campaign_hours after it. 0: off.",
    ),
    SettingSpec(
        "alert_campaign_hours", "int", 48,
        "How long after a directive post the campaign rule judges its carries (hours); it "
        "stops looking once the carry window has ended.",
    ),
    SettingSpec(
        "alert_renotify_days", "int", 7,
        "A condition already reported is reported again after this many days if it still "
        "holds (0: every morning).",
    ),
    SettingSpec(
        "alert_all_well", "str", "weekly",
        "When nothing new happened: 'never' send anything, or send a short 'all well' "
        "message 'weekly' (Monday mornings) or 'daily'.",
    ),
    SettingSpec(
        "alert_language", "str", "vi",
        "Language of the brief: vi (Vietnamese) or en (English).",
    ),
    SettingSpec(
        "report_url", "str", "",
        "Address where the HTML reports are published (https://... or a shared folder's "
        "file:// address); the brief links into them. Empty: no links.",
    ),
    SettingSpec(
        "smtp_host", "str", "",
        "Mail server that sends the brief (empty: no email).",
    ),
    SettingSpec(
        "smtp_port", "int", 587,
        "Its port: 587 with starttls, 465 with ssl, 25 without.",
    ),
    SettingSpec(
        "smtp_security", "str", "starttls",
        "starttls, ssl, or none (only for a server on the same machine or network).",
    ),
    SettingSpec(
        "smtp_user", "str", "",
        "User name on the mail server (empty: no login). The password: environment only, "
        "FANPULSE_SMTP_PASSWORD or FANPULSE_SMTP_PASSWORD_FILE.",
    ),
    SettingSpec(
        "smtp_password", "str", "",
        "Password on the mail server. Environment only: FANPULSE_SMTP_PASSWORD or "
        "FANPULSE_SMTP_PASSWORD_FILE.",
        secret=True,
    ),
    SettingSpec(
        "alert_email_from", "str", "",
        "Sender address of the brief (e.g. fanpulse@mattran.nghean.gov.vn).",
    ),
    SettingSpec(
        "alert_email_to", "list", [],
        "Recipients of the brief, e.g. [\"a@example.vn\", \"b@example.vn\"].",
    ),
    SettingSpec(
        "alert_webhook_url", "str", "",
        "Address the brief is POSTed to as JSON (a chat bot gateway, e.g. Zalo or "
        "Telegram). Environment only, as such addresses carry a key: FANPULSE_ALERT_WEBHOOK_URL "
        "or FANPULSE_ALERT_WEBHOOK_URL_FILE.",
        secret=True,
    ),
    SettingSpec(
        "alert_webhook_template", "str", "",
        "Jinja2 template of the JSON body for the webhook (empty: fanpulse's own JSON; "
        "config/webhook-telegram.json.j2 and config/webhook-zalo.json.j2 are examples).",
    ),
    SettingSpec(
        "alert_retries", "int", 3,
        "Tries per delivery (email, webhook) before it is recorded as failed.",
    ),
    SettingSpec(
        "alert_retry_wait_seconds", "float", 30.0,
        "Wait between tries of a delivery (doubled each time).",
    ),
)

SPECS = {spec.key: spec for spec in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Effective settings. ``repr`` never shows the secrets."""

    database_url: str = "sqlite:///fanpulse.db"
    graph_url: str = "https://graph.facebook.com"
    graph_version: str = DEFAULT_GRAPH_VERSION
    access_token: str = field(default="", repr=False)
    app_secret: str = field(default="", repr=False)
    app_id: str = ""
    units_file: str = ""
    campaigns_file: str = "config/campaigns.toml"
    timezone: str = "Asia/Ho_Chi_Minh"
    schedule_cron: str = "0 2 * * *"
    misfire_grace_seconds: int = 3600
    lookback_days: int = 7
    concurrency: int = 8  # see SETTINGS: the knee of the measured curve
    request_timeout: float = 30.0
    max_retries: int = 4
    max_wait_seconds: float = 120.0
    insights_recheck_days: int = 7
    page_metrics: tuple[str, ...] = DEFAULT_PAGE_METRICS
    post_metrics: tuple[str, ...] = DEFAULT_POST_METRICS
    report_dir: str = "fanpulse-reports"
    report_after_collect: bool = False
    log_level: str = "INFO"
    query_timeout_seconds: float = 60.0
    alert_run_failed: bool = True
    alert_token_expiry_days: int = 14
    alert_page_access: bool = True
    alert_silent_days: int = 14
    alert_followers_drop_percent: float = 5.0
    alert_followers_drop_count: int = 1000
    alert_campaign_percent: int = 50
    alert_campaign_hours: int = 48
    alert_renotify_days: int = 7
    alert_all_well: str = "weekly"
    alert_language: str = "vi"
    report_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    alert_email_from: str = ""
    alert_email_to: tuple[str, ...] = ()
    alert_webhook_url: str = field(default="", repr=False)
    alert_webhook_template: str = ""
    alert_retries: int = 3
    alert_retry_wait_seconds: float = 30.0
    config_file: str = ""  # where the settings came from, for `fanpulse settings`

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def secret_values(self) -> list[str]:
        """The secrets that are set (the logs redact them): token, app secret, SMTP
        password, webhook address."""
        values = [value for spec in SETTINGS if spec.secret and (value := getattr(self, spec.key))]
        if self.alert_webhook_url:  # its path and query hold the key, whatever else is logged
            parts = urlsplit(self.alert_webhook_url)
            values += [piece for piece in re.split(r"[/?&=]", f"{parts.path}?{parts.query}")
                       if len(piece) >= 6]
        return values

    def public_items(self) -> list[tuple[str, str]]:
        """(key, value) pairs safe to print: secrets say only whether they are set."""
        items = []
        for spec in SETTINGS:
            value = getattr(self, spec.key)
            if spec.secret:
                shown = "(set)" if value else "(not set)"
            elif spec.key == "database_url":
                shown = masked_url(value)
            elif isinstance(value, tuple):
                shown = ", ".join(value)
            else:
                shown = str(value)
            items.append((spec.key, shown))
        return items


def _convert(spec: SettingSpec, raw: Any, where: str) -> Any:
    """``raw`` (from TOML, the environment or a keyword) as the setting's type. Nothing is
    cut or guessed: 2.7 is not a whole number, true is not a number, 30 is not a list."""
    try:
        if spec.kind == "list":
            if isinstance(raw, str):
                return tuple(part.strip() for part in raw.split(",") if part.strip())
            if isinstance(raw, list | tuple) and all(isinstance(x, str) for x in raw):
                return tuple(x.strip() for x in raw)
            raise ValueError("expected a list of strings")
        if spec.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError("expected true or false")
        if spec.kind == "int":
            return _whole_number(raw)
        if spec.kind == "float":
            return _number(raw)
        if isinstance(raw, bool) or not isinstance(raw, str | int):
            raise ValueError("expected text (in quotes)")
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: setting '{spec.key}': {exc} (got {raw!r})") from None


def _whole_number(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if raw.is_integer():
            return int(raw)
        raise ValueError("expected a whole number, not a fraction")
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?\d+\s*", raw):
        return int(raw)
    raise ValueError("expected a whole number")


def _number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError("expected a number")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return value


def _read_secret(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    file_name = env.get(name + "_FILE", "")
    if value:
        return value.strip()
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(
                f"{name}_FILE names {file_name!r}, which cannot be read: {exc.strerror}"
            ) from None
    return ""


def read_settings_file(path: Path) -> dict[str, Any]:
    """Read a TOML settings file: its values as written (converted and checked by
    :func:`load_settings`). Unknown keys and secrets are refused here, naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except IsADirectoryError:
        raise SettingsError(f"settings file {path} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise SettingsError(f"settings file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None
    for key in data:
        spec = SPECS.get(key)
        if spec is None:
            known = ", ".join(sorted(SPECS))
            raise SettingsError(f"{path}: unknown setting '{key}' (known settings: {known})")
        if spec.secret:
            raise SettingsError(
                f"{path}: '{key}' is a secret and is never read from a settings file; "
                f"set {spec.env} (or {spec.env}_FILE) in the environment instead"
            )
    return data


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the effective settings (see the module docstring for precedence) and check them
    whole; :class:`SettingsError` lists every problem, each with its key and its source."""
    env = os.environ if env is None else env
    path_text = str(config_file) if config_file else env.get("FANPULSE_CONFIG", "")
    if path_text:
        path: Path | None = Path(path_text)
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    else:
        path = None
    # key -> (value as given, where it was given); later layers win.
    given: dict[str, tuple[Any, str]] = {}
    if path is not None:
        given.update((key, (raw, str(path))) for key, raw in read_settings_file(path).items())
    for spec in SETTINGS:
        where = f"environment variable {spec.env}"
        if spec.secret:
            secret = _read_secret(env, spec.env)
            if secret:
                given[spec.key] = (secret, where)
        elif spec.env in env:
            given[spec.key] = (env[spec.env], where)
    for key, value in overrides.items():
        if key not in SPECS and key != "config_file":
            raise SettingsError(f"unknown setting '{key}'")
        given[key] = (value, "command line")

    values: dict[str, Any] = {"config_file": str(path)} if path is not None else {}
    sources: dict[str, str] = {}
    problems: list[str] = []
    for key, (raw, where) in given.items():
        if key not in SPECS:
            values[key] = raw
            continue
        try:
            values[key] = _convert(SPECS[key], raw, where)
            sources[key] = where
        except SettingsError as exc:
            problems.append(str(exc))  # the key keeps its default, which checks fine
    if "database_url" in values:
        values["database_url"] = normalise_database_url(values["database_url"])
    settings = Settings(**values)
    problems.extend(find_problems(settings, sources))
    if problems:
        raise SettingsError(_problem_text(problems))
    return settings


def _problem_text(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} settings are wrong:\n  " + "\n  ".join(problems)


# -- checks ------------------------------------------------------------------------------------

# Ranges: (lowest, highest or None). misfire_grace_seconds starts at 1: APScheduler refuses a
# grace of 0 ("must be either None or a positive integer") when `fanpulse schedule` starts.
RANGES: dict[str, tuple[float, float | None]] = {
    "misfire_grace_seconds": (1, None),
    "lookback_days": (1, 90),  # the posts listing window; 90 days is what a night catches up
    "concurrency": (1, 32),  # batches in flight; Meta throttles an app long before 32
    "request_timeout": (0.001, None),
    "max_retries": (0, 20),
    "max_wait_seconds": (0, None),
    "insights_recheck_days": (1, None),
    "query_timeout_seconds": (0, None),  # 0: no limit
    "alert_token_expiry_days": (0, 365),
    "alert_silent_days": (0, 3650),
    "alert_followers_drop_percent": (0, 100),
    "alert_followers_drop_count": (0, None),
    "alert_campaign_percent": (0, 100),
    "alert_campaign_hours": (1, 24 * 60),
    "alert_renotify_days": (0, 365),
    "smtp_port": (1, 65535),
    "alert_retries": (1, 10),
    "alert_retry_wait_seconds": (0, 3600),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ALL_WELL = ("never", "weekly", "daily")
LANGUAGES = ("vi", "en")
SMTP_SECURITY = ("starttls", "ssl", "none")
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")
_METRIC = re.compile(r"[A-Za-z0-9_]+")
_GRAPH_VERSION = re.compile(r"v\d+\.\d+")
POSTGRES_EXTRA = "pip install 'fanpulse[postgres]'"


def masked_url(url: str) -> str:
    """A database URL fit to print: its password (if any) shown as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def normalise_database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` (what hosting services print) name the driver
    fanpulse installs, psycopg 3; SQLAlchemy's bare default would be psycopg2."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def _check_database_url(url: str) -> str | None:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return (f"{url!r} is not a SQLAlchemy URL (e.g. sqlite:///fanpulse.db or "
                "postgresql+psycopg://user@host/db)")
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    supported = "sqlite:///PATH or postgresql+psycopg://user@host:5432/dbname"
    if backend not in ("sqlite", "postgresql"):
        return (f"{backend}:// is not supported: fanpulse stores into SQLite or PostgreSQL "
                f"({supported})")
    if backend == "sqlite" and driver != "pysqlite":
        return f"the SQLite driver {driver} is not supported: write sqlite:///PATH"
    if backend == "postgresql" and driver != "psycopg":
        return (f"the PostgreSQL driver {driver} is not supported: fanpulse uses psycopg 3, "
                "write postgresql+psycopg://user@host:5432/dbname")
    if backend == "postgresql" and not _psycopg_installed():
        return f"PostgreSQL needs the psycopg driver, which is not installed: {POSTGRES_EXTRA}"
    return None


def _psycopg_installed() -> bool:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return False
    return True


def _check_timezone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (use an IANA name such as Asia/Ho_Chi_Minh)"
    return None


def _check_cron(expression: str, timezone: str) -> str | None:
    """The schedule as APScheduler 3 will read it, refused now rather than at 02:00."""
    fields = expression.split()
    if len(fields) != 5:
        return (f"{expression!r} needs five fields (minute hour day month weekday), "
                "e.g. '0 2 * * *'")
    if any(c.isdigit() for c in fields[4]):
        # APScheduler 3 counts weekdays from Monday = 0, cron from Sunday = 0: a number would
        # silently run on the wrong day.
        return (f"{expression!r}: write the weekday as a name (mon, tue, ..., sun; e.g. "
                "'0 2 * * mon-fri'), not a number: APScheduler counts 0 as Monday, cron as Sunday")
    from apscheduler.triggers.cron import CronTrigger

    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        tz = ZoneInfo("UTC")  # the time zone has its own message
    try:
        trigger = CronTrigger.from_crontab(expression, timezone=tz)
    except ValueError as exc:
        return f"{expression!r} is not a valid schedule: {exc}"
    if trigger.get_next_fire_time(None, dt.datetime.now(tz)) is None:
        return f"{expression!r} never runs (no such day)"
    return None


def _check_range(key: str, value: float) -> str | None:
    low, high = RANGES[key]
    if value >= low and (high is None or value <= high):
        return None
    if key == "request_timeout":
        return f"must be more than 0 (got {value:g})"
    bound = f"must be at least {low:g}" + (f" and at most {high:g}" if high is not None else "")
    return f"{bound} (got {value:g})"


def _check_metrics(metrics: tuple[str, ...]) -> str | None:
    bad = [m for m in metrics if not _METRIC.fullmatch(m)]
    if bad:
        return f"{', '.join(map(repr, bad))} is not an insights metric name (letters, digits, _)"
    return None


def _check_graph_url(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http(s) URL"
    return None


def _checks(settings: Settings) -> list[tuple[str, Callable[[], str | None]]]:
    """(key, check) for every setting with something to check; a check returns the problem."""
    checks: list[tuple[str, Callable[[], str | None]]] = [
        ("database_url", lambda: _check_database_url(settings.database_url)),
        ("graph_url", lambda: _check_graph_url(settings.graph_url)),
        ("graph_version", lambda: None if _GRAPH_VERSION.fullmatch(settings.graph_version)
         else f"{settings.graph_version!r} is not a Graph API version like v27.0"),
        ("app_id", lambda: None if not settings.app_id or settings.app_id.isdigit()
         else f"{settings.app_id!r} is not a Meta app id (digits only)"),
        ("timezone", lambda: _check_timezone(settings.timezone)),
        ("schedule_cron", lambda: _check_cron(settings.schedule_cron, settings.timezone)),
        ("page_metrics", lambda: _check_metrics(settings.page_metrics)),
        ("post_metrics", lambda: _check_metrics(settings.post_metrics)),
        ("report_dir", lambda: None if settings.report_dir.strip() else "must not be empty"),
        ("log_level", lambda: None if settings.log_level.upper() in LOG_LEVELS
         else f"{settings.log_level!r} is not a log level ({', '.join(LOG_LEVELS)})"),
        ("alert_all_well", partial(_check_choice, settings.alert_all_well, ALL_WELL)),
        ("alert_language", partial(_check_choice, settings.alert_language, LANGUAGES)),
        ("smtp_security", partial(_check_choice, settings.smtp_security, SMTP_SECURITY)),
        ("alert_email_to", lambda: _check_addresses(settings.alert_email_to)),
        ("alert_email_from", lambda: _check_addresses(
            (settings.alert_email_from,) if settings.alert_email_from else ())),
        ("alert_email_to", lambda: "must name at least one recipient when smtp_host is set"
         if settings.smtp_host and not settings.alert_email_to else None),
        ("alert_email_from", lambda: "must be set when smtp_host is set"
         if settings.smtp_host and not settings.alert_email_from else None),
        ("alert_webhook_url", lambda: _check_webhook(settings.alert_webhook_url)),
        ("report_url", lambda: None if not settings.report_url or re.match(
            r"^(https?|file)://", settings.report_url) else
         f"{settings.report_url!r} must start with https://, http:// or file://"),
    ]
    for key in RANGES:
        checks.append((key, partial(_check_range, key, getattr(settings, key))))
    return checks


def _check_choice(value: str, choices: tuple[str, ...]) -> str | None:
    return None if value in choices else f"{value!r} is not one of {', '.join(choices)}"


def _check_addresses(addresses: tuple[str, ...]) -> str | None:
    wrong = [a for a in addresses if not _ADDRESS.match(a)]
    return f"{', '.join(map(repr, wrong))} is not an email address" if wrong else None


def _check_webhook(url: str) -> str | None:
    """The webhook is a secret: its problem never repeats it, only its start."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) address"
    return None


def find_problems(settings: Settings, sources: Mapping[str, str] | None = None) -> list[str]:
    """Every problem of ``settings``, checked without the network; each names the key and
    where its value came from (``sources``: key -> file path, variable, command line)."""
    sources = sources or {}
    problems = []
    for key, check in _checks(settings):
        problem = check()
        if problem is not None:
            where = sources.get(key, "default")
            problems.append(f"{where}: setting '{key}'{_joined(problem)}")
    return problems


def validate(settings: Settings, sources: Mapping[str, str] | None = None) -> None:
    """Raise :class:`SettingsError` listing every problem of ``settings``, if any."""
    problems = find_problems(settings, sources)
    if problems:
        raise SettingsError(_problem_text(problems))


def _joined(problem: str) -> str:
    """"must be ..." reads after the key; any other message after a colon."""
    return f" {problem}" if problem.startswith("must ") else f": {problem}"

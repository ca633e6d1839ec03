"""Settings: declared once as data, read from a TOML file and overridden by the environment.

Precedence, lowest first: the defaults below, the settings file (``FANPULSE_CONFIG`` or
``--config``; ``fanpulse.toml`` in the working directory when it exists), ``FANPULSE_<KEY>``
environment variables, then explicit keyword overrides (tests, the demo).

Secrets (the access token, the app secret) are read only from the environment, or from a file
the environment names (``FANPULSE_ACCESS_TOKEN_FILE``); a settings file that contains one is
refused, because settings files get committed and shared.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
)
DEFAULT_POST_METRICS = ("post_reactions_by_type_total", "post_clicks")


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
        "directory. PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
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
        "timezone", "str", "Asia/Ho_Chi_Minh",
        "Time zone used to show times and to decide which local day a snapshot belongs to. "
        "Times are always stored in UTC.",
    ),
    SettingSpec(
        "schedule_cron", "str", "0 2 * * *",
        "When the nightly collection runs (crontab fields: minute hour day month weekday), in "
        "the time zone above.",
    ),
    SettingSpec(
        "misfire_grace_seconds", "int", 3600,
        "How late a scheduled run may start (machine asleep, process busy) and still run.",
    ),
    SettingSpec(
        "lookback_days", "int", 7,
        "Posts younger than this get their engagement refreshed every night.",
    ),
    SettingSpec(
        "concurrency", "int", 4, "How many Graph requests the collector keeps in flight.",
    ),
    SettingSpec("request_timeout", "float", 30.0, "Seconds before one Graph request times out."),
    SettingSpec(
        "max_retries", "int", 4,
        "Retries of one Graph request on transient errors (5xx, timeouts, throttling).",
    ),
    SettingSpec(
        "max_wait_seconds", "float", 120.0,
        "Longest pause the collector takes when Meta asks it to slow down; a Page that must "
        "wait longer is left for the next run and reported.",
    ),
    SettingSpec(
        "insights_recheck_days", "int", 7,
        "A Page whose insights Facebook refused or left empty, or whose posts were not "
        "readable, is asked again after this many days.",
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
    timezone: str = "Asia/Ho_Chi_Minh"
    schedule_cron: str = "0 2 * * *"
    misfire_grace_seconds: int = 3600
    lookback_days: int = 7
    concurrency: int = 4
    request_timeout: float = 30.0
    max_retries: int = 4
    max_wait_seconds: float = 120.0
    insights_recheck_days: int = 7
    page_metrics: tuple[str, ...] = DEFAULT_PAGE_METRICS
    post_metrics: tuple[str, ...] = DEFAULT_POST_METRICS
    report_dir: str = "fanpulse-reports"
    report_after_collect: bool = False
    log_level: str = "INFO"
    config_file: str = ""  # where the settings came from, for `fanpulse settings`

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def public_items(self) -> list[tuple[str, str]]:
        """(key, value) pairs safe to print: secrets say only whether they are set."""
        items = []
        for spec in SETTINGS:
            value = getattr(self, spec.key)
            if spec.secret:
                shown = "(set)" if value else "(not set)"
            elif isinstance(value, tuple):
                shown = ", ".join(value)
            else:
                shown = str(value)
            items.append((spec.key, shown))
        return items


def _convert(spec: SettingSpec, raw: Any, where: str) -> Any:
    try:
        if spec.kind == "list":
            if isinstance(raw, str):
                return tuple(part.strip() for part in raw.split(",") if part.strip())
            if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
                return tuple(raw)
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
            if isinstance(raw, bool):
                raise ValueError("expected a whole number")
            return int(raw)
        if spec.kind == "float":
            return float(raw)
        if not isinstance(raw, str | int | float):
            raise ValueError("expected text")
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: setting '{spec.key}': {exc} (got {raw!r})") from None


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
    """Read and check a TOML settings file; every problem names the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except UnicodeDecodeError:
        raise SettingsError(f"settings file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None
    values: dict[str, Any] = {}
    for key, raw in data.items():
        spec = SPECS.get(key)
        if spec is None:
            known = ", ".join(sorted(SPECS))
            raise SettingsError(f"{path}: unknown setting '{key}' (known settings: {known})")
        if spec.secret:
            raise SettingsError(
                f"{path}: '{key}' is a secret and is never read from a settings file; "
                f"set {spec.env} (or {spec.env}_FILE) in the environment instead"
            )
        values[key] = _convert(spec, raw, str(path))
    return values


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the effective settings (see the module docstring for precedence)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    path_text = str(config_file) if config_file else env.get("FANPULSE_CONFIG", "")
    if path_text:
        path: Path | None = Path(path_text)
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    else:
        path = None
    if path is not None:
        values.update(read_settings_file(path))
        values["config_file"] = str(path)
    for spec in SETTINGS:
        if spec.secret:
            secret = _read_secret(env, spec.env)
            if secret:
                values[spec.key] = secret
        elif spec.env in env:
            values[spec.key] = _convert(spec, env[spec.env], f"environment {spec.env}")
    for key, value in overrides.items():
        if key not in SPECS and key != "config_file":
            raise SettingsError(f"unknown setting '{key}'")
        values[key] = _convert(SPECS[key], value, "override") if key in SPECS else value
    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Checks that do not need the network; each message says which setting is wrong."""
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"setting 'timezone': unknown time zone {settings.timezone!r} "
            "(use an IANA name such as Asia/Ho_Chi_Minh)"
        ) from None
    version = settings.graph_version
    if not (version.startswith("v") and version[1:].replace(".", "", 1).isdigit()):
        raise SettingsError(
            f"setting 'graph_version': {version!r} is not a Graph API version like v26.0"
        )
    if not settings.graph_url.startswith(("http://", "https://")):
        raise SettingsError(f"setting 'graph_url': {settings.graph_url!r} is not an http(s) URL")
    if len(settings.schedule_cron.split()) != 5:
        raise SettingsError(
            f"setting 'schedule_cron': {settings.schedule_cron!r} needs five fields "
            "(minute hour day month weekday), e.g. '0 2 * * *'"
        )
    for key in ("concurrency", "lookback_days", "insights_recheck_days"):
        if getattr(settings, key) < 1:
            raise SettingsError(f"setting '{key}' must be at least 1")
    if settings.max_retries < 0 or settings.request_timeout <= 0:
        raise SettingsError("settings 'max_retries' must be >= 0 and 'request_timeout' > 0")
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"setting 'log_level': {settings.log_level!r} is not a log level")

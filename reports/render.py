"""Figures + Jinja2 templates → HTML text.

Templates live in ``reports/templates`` and are rendered with autoescaping on, so every text
that came from Facebook (post messages, Page names) is shown as text, never run as markup.
Charts are embedded as ``<div>`` + ``Plotly.newPlot`` snippets; Plotly's JavaScript itself is
one ``plotly.min.js`` file beside the reports, linked relatively, so the folder works offline
from ``file://`` and when copied elsewhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from fanpulse.reports.campaigns import duration
from fanpulse.reports.figures import CONFIG, Chart
from fanpulse.reports.i18n import Lang, sort_key
from fanpulse.reports.metrics import access_key, action_key, insights_key, posts_key
from fanpulse.reports.queries import LOCAL_TZ, UnitInfo

TEMPLATES = Path(__file__).resolve().parent / "templates"
PLOTLY_FILE = "plotly.min.js"
EXCERPT_CHARS = 180
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")
_FACEBOOK_HOSTS = ("facebook.com", "fb.com", "fb.watch")
# Secrets that Graph URLs carry in their query strings (style.md 9). The collector redacts
# before storing; reports redact again, as a second lock on the same door.
_SECRET = re.compile(r"(access_token|appsecret_proof|client_secret|fb_exchange_token)=[^&\s\"']*",
                     re.IGNORECASE)


@functools.cache
def environment(lang: Lang) -> Environment:
    """The Jinja2 environment for one language: autoescape on, formatting filters.

    One per language and process: the templates are compiled once (about half a second), not
    once per build, and never checked again for changes on disk (``auto_reload`` off: the
    templates ship with the package), so a year of monthly builds compiles them once."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.update(t=lang.t, lang=lang, access_key=access_key, action_key=action_key,
                       insights_key=insights_key, posts_key=posts_key)
    env.filters.update(
        num=lang.integer,
        signed=lang.signed,
        pct=lambda v, signed=False: lang.percent(v, signed=signed),
        rate=lambda v: lang.decimal_number(v, 2),  # ‰: per post per 1,000 followers
        decimal_signed=lambda v: ("+" if v > 0 else "−" if v < 0 else "")
        + lang.decimal_number(abs(v), 2),
        date=lang.date,
        when=lambda m: lang.datetime(m, LOCAL_TZ),
        when_day=lambda m: lang.date(m.astimezone(LOCAL_TZ).date()),
        level=lang.level,
        unit_type=lambda unit: lang.unit_type(unit.name, unit.level),
        unit_type_of=lang.unit_type,
        duration=lambda seconds: duration(lang, seconds),
        collate=lambda name: " ".join(sort_key(name)),
        error_kind=lang.error_kind,
        run_status=lang.run_status,
        excerpt=excerpt,
        redact=redact,
        fb_url=facebook_url,
    )
    return env


def chart_html(chart: Chart, div_id: str) -> Markup:
    """One chart as a ``<div>`` and its ``Plotly.newPlot`` call (no library, no full page).

    The same snippet ``plotly.io.to_html(full_html=False, include_plotlyjs=False,
    default_width="100%", config=CONFIG)`` writes, serialised straight from the chart's dicts
    (no ``go.Figure``, no validation: the tests validate every figure kind)."""
    height = chart.layout_spec.get("height") or 320
    if _SAFE_DIV_ID.fullmatch(div_id) is None:
        raise ValueError(f"chart div id {div_id!r}: letters, digits, '-' and '_' only")
    return Markup(  # noqa: S704 (every value below is JSON made safe for a <script>)
        f'<div style="height:{height}px; width:100%;">'
        f'<div id="{div_id}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
        f"<script>window.PLOTLYENV=window.PLOTLYENV || {{}};"
        f'if (document.getElementById("{div_id}")) {{Plotly.newPlot("{div_id}",'
        f"{_script_json(chart.traces)},{_script_json(chart.layout_spec)},{_CONFIG_JSON})}};"
        f"</script></div>")


_SAFE_DIV_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Inside <script>, "</script>" or "<!--" in a string would end or derail the element: like
# Plotly's own serialiser, write <, > and / as JSON escapes (the same strings to JavaScript),
# and U+2028/U+2029 too (line terminators to older JavaScript parsers). Other characters stay
# UTF-8 (the pages are), which keeps Vietnamese text a third of its \uXXXX size.
_SCRIPT_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("/", "\\u002f"),
                   ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _script_json(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                          default=_json_default)
    except ValueError:  # NaN or ±Infinity: not JSON; Plotly writes them as null (a gap)
        text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False, default=_json_default)
    for char, escaped in _SCRIPT_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _json_default(value: Any) -> Any:
    """The non-JSON values Plotly's encoder accepts that a figure could hold."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):  # e.g. a PostgreSQL SUM
        return float(value)
    raise TypeError(f"not JSON serialisable in a chart: {type(value).__name__}")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


_CONFIG_JSON = _script_json(CONFIG)


def unit_filename(unit: UnitInfo, taken: set[str]) -> str:
    """``u-<code>.html``, made safe for every file system and unique within ``taken``."""
    base = "u-" + (_SAFE_NAME.sub("-", unit.code).strip("-") or str(unit.id))
    name = f"{base}.html"
    if name.lower() in taken:
        name = f"{base}-{unit.id}.html"
    taken.add(name.lower())
    return name


def excerpt(message: str | None, limit: int = EXCERPT_CHARS) -> str:
    """The start of a post's text on one line, cut at a word boundary."""
    if not message:
        return ""
    text = " ".join(message.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def redact(text: str | None) -> str:
    """``text`` without any secret a Graph URL may have left in it."""
    return _SECRET.sub("[…]", text or "")


def facebook_url(url: str | None) -> str | None:
    """``url`` if it is an https link to Facebook, else None (never a ``javascript:`` link)."""
    if not url:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http"):
        return None
    if not any(host == h or host.endswith("." + h) for h in _FACEBOOK_HOSTS):
        return None
    return url


def render(env: Environment, template: str, **context: Any) -> str:
    return env.get_template(template).render(**context)


def generated_text(lang: Lang, now: dt.datetime) -> str:
    return lang.datetime(now, LOCAL_TZ)

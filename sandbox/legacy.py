"""Legacy protocol features and who may still use them (docs/graph-api.md §0).

From 4 Nov 2026 a *new* app cannot use multi-ID requests (``GET /?ids=``), date/time
formatting (``date_format``), HTTP method override (``method``), field aliases (``.as()``),
JSONP callbacks (``callback``) or asynchronous batch requests, on any version; and since v26.0
``?ids=`` on the root node fails for every app. A world is a new app unless
``world.legacy_app``; for a legacy app the sandbox still serves ids (below v26.0), aliases,
``date_format``, ``method`` and ``callback``. Synchronous batch and ordinary field expansion
are not affected.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from . import errors
from .errors import GraphError
from .fields import FieldSpec, parse_fields
from .versions import version_key

MULTI_ID_GONE = (26, 0)  # root ?ids= fails for every app from this version (§0, S51)
ASYNC_BATCH_EDGES = frozenset({"async_batch_requests", "async_batch", "async_requests"})
_CALLBACK_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$")
_FB_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000$")
_OVERRIDABLE = ("GET", "POST", "DELETE")
_ALIAS_HINT = re.compile(r"\.\s*as\(")


def aliases(specs: list[FieldSpec]) -> list[str]:
    """Every ``.as(name)`` in a parsed ``fields=``, nested expansions included, in order."""
    found: list[str] = []
    for spec in specs:
        if "as" in spec.modifiers:
            found.append(",".join(spec.modifiers["as"]))
        if spec.subfields:
            found += aliases(spec.subfields)
    return found


def check_request(
    legacy_app: bool, version: str, segments: list[str], params: dict[str, str], method: str
) -> str:
    """Refuse what this app may not use; return the HTTP method the call is served with.

    Runs after the token and the app quota, before the object lookup.
    """
    if segments and segments[-1] in ASYNC_BATCH_EDGES and not legacy_app:
        raise errors.async_batch_refused()
    if not segments and "ids" in params:
        if not legacy_app:
            raise errors.multi_id_refused()
        if version_key(version) >= MULTI_ID_GONE:
            raise errors.multi_id_refused(version_wide=True)
    text = params.get("fields")
    if text and not legacy_app and _ALIAS_HINT.search(text):
        try:
            found = aliases(parse_fields(text))
        except GraphError:
            found = []  # a syntax error is reported where fields are read, as before
        if found:
            raise errors.aliases_refused(found)
    if "date_format" in params and not legacy_app:
        raise errors.legacy_param_refused("date_format", "Date/time formatting")
    if "callback" in params:
        if not legacy_app:
            raise errors.legacy_param_refused("callback", "JSONP callback")
        if not valid_callback(params["callback"]):
            raise errors.bad_param("Invalid callback name")
    if "method" in params:
        if not legacy_app:
            raise errors.legacy_param_refused("method", "HTTP method override")
        wanted = params["method"].upper()
        if wanted not in _OVERRIDABLE:
            raise errors.bad_param(f"Unsupported method override: {params['method']}")
        return wanted
    return method


def valid_callback(name: str | None) -> bool:
    """A JSONP callback name Facebook would echo (an identifier path, nothing else)."""
    return name is not None and bool(_CALLBACK_RE.match(name))


# -- date_format (legacy apps) ------------------------------------------------------------------

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _php_letter(letter: str, t: datetime) -> str:
    """One letter of PHP's ``date()`` format for a UTC time (the ones worth supporting)."""
    hour12 = t.hour % 12 or 12
    table = {
        "d": f"{t.day:02d}", "j": str(t.day), "D": _DAYS[t.weekday()][:3], "l": _DAYS[t.weekday()],
        "N": str(t.isoweekday()), "w": str(t.isoweekday() % 7), "z": str(t.timetuple().tm_yday - 1),
        "W": f"{t.isocalendar()[1]:02d}", "F": _MONTHS[t.month - 1], "M": _MONTHS[t.month - 1][:3],
        "m": f"{t.month:02d}", "n": str(t.month), "Y": str(t.year), "y": f"{t.year % 100:02d}",
        "o": str(t.isocalendar()[0]), "a": "am" if t.hour < 12 else "pm",
        "A": "AM" if t.hour < 12 else "PM", "g": str(hour12), "h": f"{hour12:02d}",
        "G": str(t.hour), "H": f"{t.hour:02d}", "i": f"{t.minute:02d}", "s": f"{t.second:02d}",
        "u": "000000", "v": "000", "e": "UTC", "T": "UTC", "I": "0", "O": "+0000", "P": "+00:00",
        "p": "Z", "Z": "0", "U": str(int(t.timestamp())),
        "c": t.strftime("%Y-%m-%dT%H:%M:%S+00:00"), "r": t.strftime("%a, %d %b %Y %H:%M:%S +0000"),
        "t": str(((t.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day),
        "L": "1" if t.year % 4 == 0 and (t.year % 100 != 0 or t.year % 400 == 0) else "0",
    }  # fmt: skip
    return table.get(letter, letter)


def php_date(fmt: str, t: datetime) -> str:
    out, escaped = [], False
    for ch in fmt:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        else:
            out.append(_php_letter(ch, t))
    return "".join(out)


def format_dates(body: Any, fmt: str) -> Any:
    """Rewrite every Graph timestamp in a response with a PHP ``date()`` format; ``U`` alone
    gives integers (Unix time), as Facebook did."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, str) and _FB_TIME_RE.match(value):
            t = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
            return int(t.timestamp()) if fmt == "U" else php_date(fmt, t)
        return value

    return convert(body)

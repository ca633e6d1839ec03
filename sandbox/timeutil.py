"""Time helpers shared by the sandbox.

Facebook reports Page Insights per US/Pacific day: a day's value carries the ``end_time`` of
the Pacific midnight that closes it (07:00 UTC in summer, 08:00 UTC in winter;
docs/graph-api.md §4).
Everything else in the Graph API is UTC with the ``+0000`` suffix.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
DAY = timedelta(days=1)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def as_utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def pacific_date(t: datetime) -> date:
    """The US/Pacific calendar date that contains the instant ``t``."""
    return as_utc(t).astimezone(PACIFIC).date()


@lru_cache(maxsize=8192)
def day_start(d: date) -> datetime:
    """The instant (aware UTC) at which Pacific day ``d`` begins."""
    return datetime.combine(d, time(0), PACIFIC).astimezone(UTC)


def day_end(d: date) -> datetime:
    """The instant at which Pacific day ``d`` ends: the ``end_time`` Insights reports for it."""
    return day_start(d + DAY)


def fb_time(dt: datetime) -> str:
    """Format like the Graph API: ``2026-04-06T17:50:09+0000``."""
    return as_utc(dt).strftime("%Y-%m-%dT%H:%M:%S+0000")


def to_ts(dt: datetime) -> int:
    return int(as_utc(dt).timestamp())


def from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def parse_time_param(value: str) -> datetime:
    """Parse a ``since``/``until`` value: a Unix timestamp, or an ISO date or datetime.

    A bare date means Pacific midnight of that date (the boundary Insights uses); a datetime
    without an offset is taken as UTC. Raises ``ValueError`` for anything else.
    """
    text = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return from_ts(float(text))
    if _DATE_RE.match(text):
        return day_start(date.fromisoformat(text))
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def fb_expiry_text(dt: datetime) -> str:
    """Render an instant the way Facebook's token errors do: ``Tuesday, 24-Nov-26 04:00:00 PST``."""
    local = as_utc(dt).astimezone(PACIFIC)
    return local.strftime("%A, %d-%b-%y %H:%M:%S ") + (local.tzname() or "PST")

"""Graph timestamps and the windows the collector asks for."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def parse_graph_time(text: str) -> dt.datetime:
    """'2026-04-06T17:50:09+0000' (Graph's format) -> aware UTC datetime."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(dt.UTC)


# Facebook's insights days end at midnight US/Pacific (docs/graph-api.md §4); a window of
# N such days is N x 24 h give or take the hour of a DST switch inside it.
PACIFIC = ZoneInfo("America/Los_Angeles")
MAX_WINDOW_SECONDS = 90 * 86400  # "only 90 days of insights can be viewed at one time"


def window_seconds(since: dt.date, until: dt.date) -> float:
    """How long Facebook measures the window [since, until): Pacific midnight to midnight."""
    # Subtracting two datetimes of the same tzinfo ignores the offsets: compare in UTC.
    start = dt.datetime.combine(since, dt.time(), PACIFIC).astimezone(dt.UTC)
    end = dt.datetime.combine(until, dt.time(), PACIFIC).astimezone(dt.UTC)
    return (end - start).total_seconds()


def day_windows(start: dt.date, end: dt.date, max_days: int = 90) -> list[tuple[dt.date, dt.date]]:
    """Split [start, end) into windows of at most ``max_days`` that Facebook accepts: never
    more than 90 x 24 h in Pacific time, so a window across the autumn DST switch (one hour
    longer) gets a day less."""
    windows = []
    current = start
    while current < end:
        stop = min(current + dt.timedelta(days=max_days), end)
        while stop > current + dt.timedelta(days=1) and \
                window_seconds(current, stop) > MAX_WINDOW_SECONDS:
            stop -= dt.timedelta(days=1)
        windows.append((current, stop))
        current = stop
    return windows

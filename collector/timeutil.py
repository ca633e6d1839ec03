"""Graph timestamps and the windows the collector asks for."""

from __future__ import annotations

import datetime as dt


def parse_graph_time(text: str) -> dt.datetime:
    """'2026-04-06T17:50:09+0000' (Graph's format) -> aware UTC datetime."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(dt.UTC)


def day_windows(start: dt.date, end: dt.date, max_days: int = 90) -> list[tuple[dt.date, dt.date]]:
    """Split [start, end) into windows of at most ``max_days`` (insights allow 90 at a time)."""
    windows = []
    current = start
    while current < end:
        stop = min(current + dt.timedelta(days=max_days), end)
        windows.append((current, stop))
        current = stop
    return windows

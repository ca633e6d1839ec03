"""Page insights: daily metrics in windows of at most 90 days (docs/graph-api.md §4).

Whether a Page has insights is what Meta answers (data, empty data, or an error), never
inferred from its likes: the "100 likes" rule is not a safe pre-check (§0)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Sequence
from typing import Any

from fanpulse.collector.timeutil import parse_graph_time

log = logging.getLogger(__name__)

MAX_WINDOW_DAYS = 90
MAX_HISTORY_DAYS = 730  # insights keep two years


def insights_params(metrics: Sequence[str], since: dt.date, until: dt.date) -> dict[str, str]:
    return {"metric": ",".join(metrics), "period": "day",
            "since": since.isoformat(), "until": until.isoformat()}


def insight_values(body: Any) -> list[dict[str, Any]]:
    """Insights answer -> rows of metric, period, end_time (UTC), value / value_json."""
    rows = []
    data = body.get("data", []) if isinstance(body, dict) else []
    for metric in data:
        if not isinstance(metric, dict):
            continue
        for point in metric.get("values") or []:
            if not isinstance(point, dict) or "end_time" not in point:
                continue
            rows.append({
                "metric": str(metric.get("name")),
                "period": str(metric.get("period", "day")),
                "end_time": parse_graph_time(point["end_time"]),
                **value_columns(point.get("value")),
            })
    return rows


def value_columns(value: Any) -> dict[str, Any]:
    """An insight value as stored: a number in ``value``, an object (by type) in ``value_json``.
    A number no float holds (or NaN) is unknown (None), never a failed run."""
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = None
        if number is not None and not math.isfinite(number):
            number = None
    return {"value": number, "value_json": value if isinstance(value, dict) else None}


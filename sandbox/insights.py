"""``/{page}/insights`` and ``/{post}/insights`` (docs/graph-api.md §4).

* One unknown or retired metric fails the whole request with the recorded #100 error.
* Days are US/Pacific; a day's value carries the ``end_time`` of the midnight that ends it; the
  ``since`` day is included; only complete days are returned.
* Without ``since``/``until`` the window is the last two complete days, with ``previous`` and
  ``next`` links shifted by the window length, as recorded.
* ``since``/``until`` more than 90 days apart is refused; data older than two years is omitted.
* Only the Page's own token with ``read_insights`` and the ANALYZE task reads them
  (``access.require_insights``); tiny Pages (fewer than 30 followers) get ``{"data": []}``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from . import access
from .context import Ctx
from .errors import bad_param, invalid_metric, invalid_period, no_metric, range_too_long
from .history import PostSpec
from .metrics import ALL_PERIODS, METRICS, PERIOD_DAYS, page_value, post_value
from .timeutil import DAY, day_end, day_start, fb_time, pacific_date, parse_time_param, to_ts
from .units import PageSpec

MAX_RANGE = timedelta(days=90)
HISTORY_LIMIT = timedelta(days=730)
_PRESETS = (
    "today",
    "yesterday",
    "last_3d",
    "last_7d",
    "last_14d",
    "last_28d",
    "last_30d",
    "last_90d",
    "this_month",
    "last_month",
)


def metric_names(params: dict[str, str], path_metric: str | None) -> list[str]:
    raw = path_metric if path_metric else params.get("metric", "")
    # Accept both "a,b" and the JSON-array spelling some SDKs send.
    cleaned = raw.strip().lstrip("[").rstrip("]").replace('"', "")
    names = [m.strip() for m in cleaned.split(",") if m.strip()]
    if not names:
        raise no_metric()
    return names


def _check_metrics(names: list[str], level: str) -> None:
    for name in names:
        metric = METRICS.get(name)
        if metric is None or metric.level != level:
            raise invalid_metric()


def _period(params: dict[str, str]) -> str | None:
    period = params.get("period") or None
    if period is not None and period not in ALL_PERIODS:
        raise invalid_period()
    return period


def _preset_window(preset: str, today: date) -> tuple[datetime, datetime]:
    if preset == "today":
        return day_start(today), day_start(today + DAY)
    if preset == "yesterday":
        return day_start(today - DAY), day_start(today)
    if preset.startswith("last_") and preset.endswith("d"):
        n = int(preset[5:-1])
        return day_start(today - DAY * n), day_start(today)
    first = today.replace(day=1)
    if preset == "this_month":
        return day_start(first), day_start(today + DAY)
    prev = (first - DAY).replace(day=1)
    return day_start(prev), day_start(first)


def window(now: datetime, params: dict[str, str]) -> tuple[datetime, datetime]:
    """The (since, until) instants a page-insights request covers at simulated time ``now``."""
    today = pacific_date(now)
    preset = params.get("date_preset")
    if preset and not (params.get("since") or params.get("until")):
        if preset not in _PRESETS:
            raise bad_param(
                "date_preset must be one of the following values: " + ", ".join(_PRESETS)
            )
        return _preset_window(preset, today)
    try:
        since = parse_time_param(params["since"]) if params.get("since") else None
        until = parse_time_param(params["until"]) if params.get("until") else None
    except ValueError:
        raise bad_param("The parameters since and until must be Unix timestamps or dates") from None
    if since is None:
        if until is None:
            return day_start(today - DAY * 2), day_start(today)
        return until - timedelta(days=2), until
    if until is None:
        midnight = day_start(today)
        return since, midnight if since < midnight else since + timedelta(days=2)
    return since, until


def page_insights(
    ctx: Ctx,
    spec: PageSpec,
    params: dict[str, str],
    path_metric: str | None,
    link_base: str | None = None,
) -> dict[str, Any]:
    """Body of a page insights request (``link_base`` set when nested in a node read)."""
    access.require_insights(ctx, spec.id)
    names = metric_names(params, path_metric)
    _check_metrics(names, "page")
    period = _period(params)
    since, until = window(ctx.now, params)
    if until - since > MAX_RANGE:
        raise range_too_long(MAX_RANGE.days)
    if ctx.world.tiny(spec.id, ctx.now):
        return {"data": []}
    oldest = pacific_date(ctx.now - HISTORY_LIMIT)
    days = []
    d = max(pacific_date(since), oldest)
    while day_end(d) <= until and day_end(d) <= ctx.now:
        days.append(d)
        d += DAY
    data = []
    for name in names:
        metric = METRICS[name]
        periods = [period] if period else list(metric.periods)
        for p in periods:
            if p == "total_over_range" and metric.periods != ("day",) and days:
                total = sum(page_value(ctx.world, spec.id, name, day, "day") for day in days)
                values = [{"value": total, "end_time": fb_time(day_end(days[-1]))}]
            elif p in metric.periods and p in PERIOD_DAYS:
                values = [
                    {
                        "value": page_value(ctx.world, spec.id, name, day, p),
                        "end_time": fb_time(day_end(day)),
                    }
                    for day in days
                ]
            else:
                continue  # a period the metric does not have: Facebook leaves the metric out
            data.append(
                {
                    "name": name,
                    "period": p,
                    "values": values,
                    "title": metric.title_for(p),
                    "description": metric.description_for(p),
                    "id": f"{spec.id}/insights/{name}/{p}",
                }
            )
    span = until - since

    def link(a: datetime, b: datetime) -> str:
        shifted = {"since": str(to_ts(a)), "until": str(to_ts(b))}
        if link_base is None:
            return ctx.self_link(shifted, drop=("date_preset",))
        base = {"metric": ",".join(names)}
        if period:
            base["period"] = period
        return ctx.edge_link(link_base, {**base, **shifted})

    return {
        "data": data,
        "paging": {
            "previous": link(since - span, until - span),
            "next": link(since + span, until + span),
        },
    }


def post_insights(
    ctx: Ctx, post: PostSpec, params: dict[str, str], path_metric: str | None
) -> dict[str, Any]:
    """Lifetime post metrics: ``values: [{"value": N}]`` with no ``end_time`` (§4)."""
    access.require_insights(ctx, post.page_id)
    names = metric_names(params, path_metric)
    _check_metrics(names, "post")
    period = _period(params) or "lifetime"
    if post.visitor or ctx.world.tiny(post.page_id, ctx.now):
        return {"data": []}
    data = []
    for name in names:
        metric = METRICS[name]
        if period not in metric.periods:
            continue
        data.append(
            {
                "name": name,
                "period": period,
                "values": [{"value": post_value(ctx.world, post, name, ctx.now)}],
                "title": metric.title_for(period),
                "description": metric.description_for(period),
                "id": f"{post.id}/insights/{name}/{period}",
            }
        )
    return {"data": data}

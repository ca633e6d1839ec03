"""Views of the Pages' content and of their posts, where Facebook gives insights (issue 11).

Two figures, each only where the store holds insights, never a 0 standing for "not known":

* **Page views** — ``page_media_view`` (``period = day``): "the number of times your content
  was played or displayed", the successor of ``page_impressions`` (docs/graph-api.md §4,
  retired metrics). A unit's figure is the sum, over its Pages that have at least one daily
  value in the period, of their daily values in ``[date_from, date_to]``; it says how many of
  its Pages that is. A Page without insights (none from Meta, refused, no Page token, or not
  collected) adds nothing; when no Page of the set has a value the figure is absent (None).
* **Post views** — ``post_media_view`` (``period = lifetime``): how many times a post was
  played or displayed since it was published. The collector stores it in ``post_insights``
  once per local day it reads the post (``day`` = local day of the collection); a post's
  figure is its latest row on or before ``date_to``. A unit's figure is the sum over the
  period's posts (published in ``[date_from, date_to]``, local days, as ``StoreData.posts``)
  that have a value; None when none has.

The day of a daily Page value (docs/graph-api.md §4): Insights days are US-Pacific days, and a
day's value carries the ``end_time`` of the Pacific midnight that ends it (07:00 UTC in summer,
08:00 UTC in winter); "the ``since`` day is included: the first value's ``end_time`` is since +
1 day". So the value with ``end_time`` E is Facebook's value for the day before E. fanpulse
files it under **the Asia/Ho_Chi_Minh date of E, minus one day**. E (a Pacific midnight) is
always 14:00 or 15:00 in Vietnam, on the next calendar date, so this day is exactly the
calendar date Facebook gives the value (``since=D&until=D+1`` returns the value of day D), and
a report for ``[date_from, date_to]`` adds up the values an analyst gets from Insights with
``since=date_from`` and ``until=date_to + 1``. (The Pacific day D runs from 14:00/15:00 on D to
14:00/15:00 on D + 1, Vietnam time: no Insights day lines up with a Vietnamese day.)

Reading is two bulk queries for the whole store (not a query per Page); the figures are pure
and cheap, so they can be asked for every unit of a report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Date, Text, bindparam, text
from sqlalchemy.engine import Connection, Engine

from fanpulse.reports.queries import LOCAL_TZ, PageInfo, end_of_local_day
from fanpulse.storage.models import UTCDateTime

PAGE_METRIC = "page_media_view"
POST_METRIC = "post_media_view"
DAY = dt.timedelta(days=1)

# English definitions, for the printed definitions of the reports.
DEFINITIONS = {
    "page_views": (
        "Views: the number of times the Pages' content was played or displayed "
        "(Facebook Insights page_media_view, daily values added up over the period). Only "
        "Pages with insights count; the figure says how many of the Pages that is."
    ),
    "post_views": (
        "Post views: the number of times the period's posts were played or displayed since "
        "they were published (Facebook Insights post_media_view, lifetime, latest reading). "
        "Only posts with insights count."
    ),
}


@dataclass(frozen=True)
class ViewsData:
    """The views the store holds for a period, read once for every unit."""

    date_from: dt.date
    date_to: dt.date
    page_views: dict[int, dict[dt.date, int]]  # page id -> {local day: page_media_view}
    post_views: dict[int, int]  # post id -> latest lifetime post_media_view (on or before date_to)


@dataclass(frozen=True)
class ViewFigures:
    """Views of a set of Pages and posts; None where none of them has a value (never 0)."""

    page_views: int | None
    pages_with_views: int
    pages_total: int
    post_views: int | None
    posts_with_views: int
    posts_total: int


def insight_day(end_time: dt.datetime) -> dt.date:
    """The local day of a daily Page insights value with this ``end_time`` (module docstring)."""
    return end_time.astimezone(LOCAL_TZ).date() - DAY


def load_views(bind: Engine | Connection, date_from: dt.date, date_to: dt.date) -> ViewsData:
    """Daily ``page_media_view`` of every Page for ``[date_from, date_to]`` (local days, see the
    module docstring), and the latest lifetime ``post_media_view`` on or before ``date_to`` of
    every post published in ``[date_from, date_to]``."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return load_views(conn, date_from, date_to)
    conn = bind
    # Local day D holds the value whose end_time falls on local day D + 1.
    start, stop = end_of_local_day(date_from), end_of_local_day(date_to + DAY)
    rows = conn.execute(text(
        "SELECT page_id, end_time, value FROM page_insights "
        "WHERE metric = :metric AND period = 'day' AND end_time >= :start AND end_time < :stop "
        "AND value IS NOT NULL ORDER BY end_time"
    ).bindparams(bindparam("metric", type_=Text), bindparam("start", type_=UTCDateTime),
                 bindparam("stop", type_=UTCDateTime)),
        {"metric": PAGE_METRIC, "start": start, "stop": stop}).all()
    # end_time comes back raw (text on SQLite, timestamptz on PostgreSQL) and is converted once
    # per distinct value: a year of 482 Pages shares about 365 of them.
    processor, dialect = UTCDateTime().process_result_value, conn.dialect
    days: dict[object, dt.date] = {}
    for raw_end in {row[1] for row in rows}:
        moment = processor(raw_end, dialect)
        assert moment is not None  # end_time is NOT NULL
        days[raw_end] = insight_day(moment)
    page_views: dict[int, dict[dt.date, int]] = {}
    for page_id, raw_end, value in rows:
        by_day = page_views.get(page_id)
        if by_day is None:
            by_day = page_views[page_id] = {}
        by_day[days[raw_end]] = round(value)  # a later end_time on the same day (never seen) wins

    # One index seek per post of the period (the post_insights key starts with post_id).
    post_views = {
        post_id: round(value) for post_id, value in conn.execute(text(
            "SELECT p.id, (SELECT i.value FROM post_insights i WHERE i.post_id = p.id "
            "  AND i.metric = :metric AND i.period = 'lifetime' AND i.day <= :date_to "
            "  AND i.value IS NOT NULL ORDER BY i.day DESC LIMIT 1) AS value "
            "FROM posts p WHERE p.created_time >= :start AND p.created_time < :stop"
        ).bindparams(bindparam("metric", type_=Text), bindparam("date_to", type_=Date),
                     bindparam("start", type_=UTCDateTime), bindparam("stop", type_=UTCDateTime)),
            {"metric": POST_METRIC, "date_to": date_to,
             "start": end_of_local_day(date_from - DAY), "stop": end_of_local_day(date_to)})
        if value is not None
    }
    return ViewsData(date_from, date_to, page_views, post_views)


def view_figures(data: ViewsData, pages: list[PageInfo], post_ids: list[int],
                 date_from: dt.date, date_to: dt.date) -> ViewFigures:
    """Views of ``pages`` over ``[date_from, date_to]`` and of the posts ``post_ids``.

    The days asked for should lie within those ``data`` was loaded for; days outside it have no
    values here."""
    whole = date_from <= data.date_from and date_to >= data.date_to
    page_total = pages_with = pages_total = 0
    for page in pages:
        pages_total += 1
        by_day = data.page_views.get(page.id)
        if not by_day:
            continue
        if whole:
            page_total += sum(by_day.values())
            pages_with += 1
            continue
        values = [v for day, v in by_day.items() if date_from <= day <= date_to]
        if values:
            page_total += sum(values)
            pages_with += 1
    post_total = posts_with = posts_total = 0
    post_views = data.post_views
    for post_id in post_ids:
        posts_total += 1
        value = post_views.get(post_id)
        if value is not None:
            post_total += value
            posts_with += 1
    return ViewFigures(
        page_views=page_total if pages_with else None, pages_with_views=pages_with,
        pages_total=pages_total,
        post_views=post_total if posts_with else None, posts_with_views=posts_with,
        posts_total=posts_total,
    )

"""``ranking.html``: the province-wide commune ranking (thi đua) and the weekly posting check.

* **Ranking.** Every active commune with a Page of its own, across all districts, ranked by
  the engagement rate of its own Page(s) over the report period (per post per 1,000
  followers, reports/metrics.py), with the same rules as the index's leaderboards: a Page
  under ``MIN_FOLLOWERS_FOR_RANKING`` followers or with fewer than ``MIN_POSTS_FOR_RANKING``
  posts, or whose posts cannot be read, is listed without a rank and with the reason. Ties go
  by Vietnamese name order. The follower change beside it is the period's like-for-like one.
* **Weekly posting check** ("xã chưa đăng bài tuần này"): every active unit whose own Pages'
  posts are readable and that published nothing in the last 7 days of the period (the day
  the report ends and the 6 before), with its last post or, if none was ever collected, the
  day collection began.

Both tables are also written to ``ranking.xlsx``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment

from fanpulse.reports import export
from fanpulse.reports.i18n import MIN_FOLLOWERS_FOR_RANKING, MIN_POSTS_FOR_RANKING, Lang, sort_key
from fanpulse.reports.metrics import Calculator, Headline, local_day, readable
from fanpulse.reports.queries import UnitInfo

RANKING_FILE = "ranking.html"
RANKED_LEVEL = "commune"
WEEK_DAYS = 7


@dataclass(frozen=True)
class RankRow:
    rank: int | None  # None: not ranked (reason says why)
    unit: UnitInfo
    parent: UnitInfo | None
    headline: Headline
    reason: str | None  # a label key of reports.i18n


@dataclass(frozen=True)
class QuietRow:
    unit: UnitInfo
    parent: UnitInfo | None
    last_post: dt.datetime | None
    since: dt.date | None  # the first day fanpulse collected its Page(s)


def commune_ranking(calc: Calculator, scope: list[UnitInfo]) -> list[RankRow]:
    """Ranked communes first (best rate first), then the unranked ones by name."""
    units = calc.data.units
    ranked: list[tuple[float, UnitInfo, Headline]] = []
    unranked: list[tuple[UnitInfo, Headline, str]] = []
    for unit in scope:
        pages = [p for p in calc.pages_of_unit.get(unit.id, []) if p.active]
        if unit.level != RANKED_LEVEL or not unit.active or not pages:
            continue
        h = calc.headline(pages)
        rate = h.engagement_rate
        if not h.has_data:
            unranked.append((unit, h, "rank_no_data"))
        elif not h.posts_known:
            unranked.append((unit, h, "posts_unreadable"))
        elif (h.followers or 0) < MIN_FOLLOWERS_FOR_RANKING:
            unranked.append((unit, h, "rank_too_small"))
        elif h.posts < MIN_POSTS_FOR_RANKING or rate is None:
            unranked.append((unit, h, "rank_too_few_posts"))
        else:
            ranked.append((rate, unit, h))
    ranked.sort(key=lambda item: (-item[0], sort_key(item[1].name)))
    unranked.sort(key=lambda item: sort_key(item[0].name))

    def parent(unit: UnitInfo) -> UnitInfo | None:
        return units.get(unit.parent_id) if unit.parent_id is not None else None

    rows = [RankRow(k, unit, parent(unit), h, None)
            for k, (_rate, unit, h) in enumerate(ranked, 1)]
    rows += [RankRow(None, unit, parent(unit), h, why) for unit, h, why in unranked]
    return rows


def quiet_this_week(calc: Calculator, scope: list[UnitInfo]) -> list[QuietRow]:
    """Units whose own readable Pages published nothing in the period's last 7 days."""
    units = calc.data.units
    first_day = calc.data.date_to - dt.timedelta(days=WEEK_DAYS - 1)
    rows = []
    for unit in scope:
        pages = readable([p for p in calc.pages_of_unit.get(unit.id, []) if p.active])
        if not unit.active or not pages:
            continue
        last = calc.last_post(pages)
        if last is not None and local_day(last) >= first_day:
            continue
        rows.append(QuietRow(unit, units.get(unit.parent_id) if unit.parent_id else None,
                             last, calc.first_seen(pages)))
    rows.sort(key=lambda r: (r.unit.depth, sort_key(r.parent.name) if r.parent else ("", ""),
                             sort_key(r.unit.name)))
    return rows


def write(out: Path, env: Environment, calc: Calculator, scope: list[UnitInfo], lang: Lang,
          common: dict[str, Any], now: dt.datetime) -> None:
    """``ranking.html`` and ``ranking.xlsx`` into the report folder ``out``."""
    rows = commune_ranking(calc, scope)
    quiet = quiet_this_week(calc, scope)
    week_from = calc.data.date_to - dt.timedelta(days=WEEK_DAYS - 1)
    text = env.get_template("ranking.html").render(
        rows=rows, quiet=quiet, week_from=week_from, uses_charts=False,
        min_followers=MIN_FOLLOWERS_FOR_RANKING, min_posts=MIN_POSTS_FOR_RANKING,
        xlsx_file="ranking.xlsx", last_collected=None, **common)
    (out / RANKING_FILE).write_text(text, encoding="utf-8")
    export.ranking_workbook(rows, quiet, lang, out / "ranking.xlsx", now)

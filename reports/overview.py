"""What index.html (and index.xlsx) is made of: the roots' figures, the leaderboards, the unit
tree, the latest collection; and the merge marks of a unit's charts. reports/build.py renders
it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fanpulse.reports import figures
from fanpulse.reports.i18n import MIN_FOLLOWERS_FOR_RANKING, MIN_POSTS_FOR_RANKING, Lang, sort_key
from fanpulse.reports.metrics import ACCESS_KEYS, Calculator, Headline, access_key, readable
from fanpulse.reports.queries import UnitInfo
from fanpulse.reports.render import chart_html

LEADERBOARD_SIZE = 10


@dataclass
class TreeNode:
    unit: UnitInfo
    headline: Headline
    has_page: bool
    failed: bool
    silent_days: int | None
    open: bool
    access: list[str] = field(default_factory=list)  # own active Pages' levels, if not full
    posts_unreadable: bool = False  # it has a Page, and no Page of its own has readable posts
    children: list[TreeNode] = field(default_factory=list)


def merge_events(calc: Calculator, unit_id: int, lang: Lang) -> list[tuple[dt.date, str]]:
    """The merges that formed the unit or units below it, one mark per day."""
    days: dict[dt.date, int] = {}
    for uid in calc.data.descendants.get(unit_id, [unit_id]):
        for day, _name in calc.data.merges.get(uid, []):
            days[day] = days.get(day, 0) + 1
    return [(day, lang.t("merge_mark", n=n)) for day, n in sorted(days.items())]


def index_context(calc: Calculator, roots: list[UnitInfo], scope: list[UnitInfo],
                   lang: Lang) -> dict[str, Any]:
    """What index.html (and index.xlsx) is made of."""
    data = calc.data
    nodes: dict[int, TreeNode] = {}
    for unit in scope:  # parents come first
        own = calc.pages_of_unit.get(unit.id, [])
        active = [p for p in own if p.active]
        nodes[unit.id] = TreeNode(
            unit=unit, headline=calc.headline(calc.subtree_pages(unit.id)),
            has_page=bool(active), failed=any(p.id in data.errors for p in active),
            silent_days=calc.silent_days(calc.last_post(active)) if readable(active) else None,
            open=unit.depth == 0 or unit in roots,
            access=[k for k in ACCESS_KEYS[1:] if any(access_key(p) == k for p in active)],
            posts_unreadable=bool(active) and not readable(active),
        )
        parent = nodes.get(unit.parent_id) if unit.parent_id is not None else None
        if parent is not None and unit not in roots:
            parent.children.append(nodes[unit.id])
    for node in nodes.values():  # by proper name, the Vietnamese way; retired units last
        node.children.sort(key=lambda n: (not n.unit.active, sort_key(n.unit.name)))
    root_blocks = []
    for root in roots:
        pages = calc.subtree_pages(root.id)
        root_blocks.append({
            "unit": root, "rollup": calc.headline(pages), "access": calc.access_list(pages),
            "chart": chart_html(figures.followers_figure(calc.series(pages), lang,
                                                         merge_events(calc, root.id, lang)),
                                f"c-{root.id}"),
            "cmp": None, "summary": None,  # filled for a calendar period's report
        })
    return {
        "roots": root_blocks, "tree": [nodes[r.id] for r in roots],
        "boards": leaderboards(calc, scope),
        "min_followers": MIN_FOLLOWERS_FOR_RANKING, "min_posts": MIN_POSTS_FOR_RANKING,
        "uses_charts": True, "last_collected": last_collected(calc, scope),
    }


def leaderboards(calc: Calculator, scope: list[UnitInfo]) -> dict[str, list[Any]]:
    """Rankings of each unit's own active Page(s): growth, engagement rate, silence (the last
    two only for Pages whose posts can be read)."""
    growth: list[tuple[float, UnitInfo, Any]] = []
    engaging: list[tuple[float, UnitInfo, Any]] = []
    silent: list[tuple[float, UnitInfo, Any]] = []
    for unit in scope:
        pages = [p for p in calc.pages_of_unit.get(unit.id, []) if p.active]
        if not pages or not unit.active:
            continue
        h = calc.headline(pages)
        big_enough = (h.followers or 0) >= MIN_FOLLOWERS_FOR_RANKING
        fraction = h.change(30).fraction
        if big_enough and fraction is not None:
            growth.append((fraction, unit, h))
        rate = h.engagement_rate
        if big_enough and rate is not None and h.posts >= MIN_POSTS_FOR_RANKING:
            engaging.append((rate, unit, h))
        if not readable(pages):
            continue  # posts unknown: neither silent nor engaging, only growing or not
        days = calc.silent_days(calc.last_post(pages))
        silent.append((days if days is not None else 10**6, unit,
                       (days, calc.first_seen(readable(pages)))))
    def ranked(items: list[tuple[float, UnitInfo, Any]]) -> list[tuple[UnitInfo, Any]]:
        items.sort(key=lambda item: (-item[0], sort_key(item[1].name)))
        return [(unit, value) for _, unit, value in items[:LEADERBOARD_SIZE]]

    return {"growth": ranked(growth), "engaging": ranked(engaging), "silent": ranked(silent)}


def last_collected(calc: Calculator, scope: list[UnitInfo]) -> dt.datetime | None:
    moments = [calc.data.last_snapshot[p.id][1] for unit in scope
               for p in calc.pages_of_unit.get(unit.id, []) if p.id in calc.data.last_snapshot]
    return max(moments) if moments else None

"""Campaign pages (issue 14): how far each directive post travelled down the unit tree.

Every figure comes from the two views of migration 0010, so a page and an analyst's SQL agree:

* ``cascade_coverage``: one row per (campaign, collected seed, active unit under the seed's
  unit) with the unit's status (``carried``, ``not_carried``, ``silent``, ``no_page``), the
  delay of its first carry and its Pages' last post;
* ``campaign_posts``: the seeds and carries with their engagement at the latest snapshot (and
  the posts that only meet the campaign's rules, counted).

The ``campaigns`` table gives only each campaign's name and dates. Reading
(:func:`load_campaigns`) returns plain dataclasses; :func:`measure` works out every figure from
those rows and nothing else (no SQL), so it is tested on rows as well as on a store.

A unit's share is over the units *with a Page* (``pages > 0``): a unit without a Page cannot
carry anything and is listed, not counted against the cascade. Delays are the first carry's
``delay_seconds``; their median and 90th percentile interpolate between the two nearest values,
as PostgreSQL's ``percentile_cont`` does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Date, bindparam, text
from sqlalchemy.engine import Engine

from fanpulse.reports.i18n import Lang, sort_key
from fanpulse.storage.models import UTCDateTime

STATUSES = ("carried", "not_carried", "silent", "no_page")
MISSED = ("not_carried", "silent", "no_page")
LEVELS = ("province", "district", "commune", "residential_area")
TOP_CARRIES = 10
FASTEST = 5
_SAFE_KEY = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class CampaignInfo:
    """A campaign of the campaigns file, as detected into the store."""

    id: int
    key: str
    name: str
    starts: dt.date
    ends: dt.date
    carry_days: int

    def active(self, today: dt.date) -> bool:
        """Under way: between its first day and its last day plus the carry window."""
        return self.starts <= today <= self.ends + dt.timedelta(days=self.carry_days)


@dataclass(frozen=True)
class CoverageRow:
    """One row of ``cascade_coverage``."""

    campaign: str
    campaign_id: int
    seed_post_id: int
    seed_time: dt.datetime
    window_ends: dt.datetime | None
    seed_unit_id: int
    unit_id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    pages: int
    carries: int
    delay_seconds: int | None
    method: str | None
    carry_post_id: int | None
    posts_in_window: int
    last_post_time: dt.datetime | None
    status: str


@dataclass(frozen=True)
class CampaignPost:
    """A seed or a carry, from ``campaign_posts``."""

    campaign: str
    role: str  # seed, carry
    post_id: int
    seed_post_id: int | None
    method: str | None
    delay_seconds: int | None
    unit_id: int | None
    unit_code: str | None
    unit_name: str | None
    level: str | None
    created_time: dt.datetime
    permalink_url: str | None
    message: str | None
    reactions: int
    comments: int
    shares: int
    engagement: int
    deleted: bool


@dataclass(frozen=True)
class CampaignData:
    """What the store holds for the campaigns of a report's period."""

    campaigns: list[CampaignInfo]
    coverage: list[CoverageRow]
    posts: list[CampaignPost]  # seeds and carries
    rule_posts: dict[str, int]  # campaign key -> posts that only meet its rules
    # campaign key -> the directive posts its file names that the store does not hold yet
    waiting: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Figures:
    """Counts by status over some coverage rows, and the carries' delays (seconds)."""

    label: str  # a level, a unit's name, or "" for all
    units: int
    with_page: int
    carried: int
    not_carried: int
    silent: int
    no_page: int
    median_delay: float | None
    p90_delay: float | None

    @property
    def share(self) -> float | None:
        """Carried over the units with a Page; None without any."""
        return self.carried / self.with_page if self.with_page else None

    def count(self, status: str) -> int:
        return int(getattr(self, status))


@dataclass
class TreeNode:
    """A unit under the seed's unit, with its own row and the figures of its subtree."""

    row: CoverageRow
    children: list[TreeNode] = field(default_factory=list)
    subtree: Figures | None = None  # itself and every unit below it


@dataclass(frozen=True)
class SeedMeasures:
    """One seed of a campaign: how far it went."""

    seed: CampaignPost
    seed_unit_name: str
    rows: list[CoverageRow]  # the units under the seed's unit, in tree order
    total: Figures
    by_level: list[Figures]
    branches: list[TreeNode]  # the seed's unit's children, each with its subtree's figures
    fastest: list[CoverageRow]
    slowest: list[CoverageRow]
    carries: list[CampaignPost]  # by engagement, largest first
    carries_engagement: int
    missed: list[CoverageRow]  # not carried, silent, no Page: by status then name
    timeline: dict[str, list[tuple[float, int]]]  # level -> (hours since seed, units carried)
    carry_posts: dict[int, CampaignPost]  # post id -> carry, for the units' links


@dataclass(frozen=True)
class CampaignMeasures:
    campaign: CampaignInfo
    seeds: list[SeedMeasures]
    total: Figures  # every (seed, unit) row of the campaign
    rule_posts: int
    file: str  # c-<key>.html
    waiting: list[str] = field(default_factory=list)  # directives named, not collected yet


def campaign_filename(key: str) -> str:
    """``c-<key>.html`` (keys are lower-case letters, digits and '-'; anything else goes)."""
    return "c-" + (_SAFE_KEY.sub("-", key.lower()).strip("-") or "x") + ".html"


def load_campaigns(engine: Engine, date_from: dt.date, date_to: dt.date) -> CampaignData:
    """The campaigns whose days (plus their carry window) meet ``[date_from, date_to]``, with
    their ``cascade_coverage`` rows and their seeds and carries from ``campaign_posts``."""
    with engine.connect() as conn:
        campaigns = [
            CampaignInfo(row.id, row.key, row.name, row.starts, row.ends, row.carry_days)
            for row in conn.execute(text(
                "SELECT id, key, name, starts, ends, carry_days FROM campaigns "
                "WHERE starts <= :date_to ORDER BY starts DESC, key"
            ).bindparams(bindparam("date_to", type_=Date)).columns(starts=Date, ends=Date),
                {"date_to": date_to})
            if row.ends + dt.timedelta(days=row.carry_days) >= date_from
        ]
        if not campaigns:
            return CampaignData([], [], [], {})
        waiting: dict[str, list[str]] = defaultdict(list)
        for key, ref in conn.execute(text(
                "SELECT c.key, s.ref FROM campaign_seeds s JOIN campaigns c "
                "ON c.id = s.campaign_id WHERE s.post_id IS NULL ORDER BY c.key, s.ref")):
            waiting[key].append(ref)
        keys = [c.key for c in campaigns]
        ids = [c.id for c in campaigns]
        coverage = [CoverageRow(**row._asdict()) for row in conn.execute(text(
            "SELECT campaign, campaign_id, seed_post_id, seed_time, window_ends, seed_unit_id, "
            "unit_id, code, name, level, parent_id, pages, carries, delay_seconds, method, "
            "carry_post_id, posts_in_window, last_post_time, status FROM cascade_coverage "
            "WHERE campaign_id IN :ids ORDER BY campaign, seed_time, seed_post_id, code"
        ).bindparams(bindparam("ids", expanding=True)).columns(
            seed_time=UTCDateTime, window_ends=UTCDateTime, last_post_time=UTCDateTime),
            {"ids": ids})]
        posts = [CampaignPost(
            campaign=row.campaign, role=row.role, post_id=row.post_id,
            seed_post_id=row.seed_post_id, method=row.method, delay_seconds=row.delay_seconds,
            unit_id=row.unit_id, unit_code=row.unit_code, unit_name=row.unit_name,
            level=row.level, created_time=row.created_time, permalink_url=row.permalink_url,
            message=row.message, reactions=row.reactions or 0, comments=row.comments or 0,
            shares=row.shares or 0, engagement=row.engagement or 0,
            deleted=row.deleted_at is not None,
        ) for row in conn.execute(text(
            "SELECT campaign, role, post_id, seed_post_id, method, delay_seconds, unit_id, "
            "unit_code, unit_name, level, created_time, permalink_url, message, reactions, "
            "comments, shares, engagement, deleted_at FROM campaign_posts "
            "WHERE campaign IN :keys AND role IN ('seed', 'carry') "
            "ORDER BY campaign, created_time, post_id"
        ).bindparams(bindparam("keys", expanding=True)).columns(
            created_time=UTCDateTime, deleted_at=UTCDateTime), {"keys": keys})]
        rule_posts = {row.campaign: int(row.n) for row in conn.execute(text(
            "SELECT campaign, COUNT(*) AS n FROM campaign_posts "
            "WHERE campaign IN :keys AND role = 'rules' GROUP BY campaign"
        ).bindparams(bindparam("keys", expanding=True)), {"keys": keys})}
    return CampaignData(campaigns, coverage, posts, rule_posts, dict(waiting))


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """``percentile_cont(fraction)``: linear between the two nearest of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figures(rows: Iterable[CoverageRow], label: str = "") -> Figures:
    """Counts by status and the delays' median and 90th percentile over ``rows``."""
    rows = list(rows)
    counts = {status: 0 for status in STATUSES}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    delays = [float(r.delay_seconds) for r in rows
              if r.status == "carried" and r.delay_seconds is not None]
    return Figures(label, len(rows), sum(1 for r in rows if r.pages > 0), counts["carried"],
                   counts["not_carried"], counts["silent"], counts["no_page"],
                   percentile(delays, 0.5), percentile(delays, 0.9))


def _tree(rows: list[CoverageRow]) -> list[TreeNode]:
    """The units under a seed's unit as a tree. Every row is under the seed's unit; a row whose
    parent is not among them (the seed's unit itself, or a retired unit between) is a root."""
    nodes = {row.unit_id: TreeNode(row) for row in rows}
    roots: list[TreeNode] = []
    for row in rows:
        parent = nodes.get(row.parent_id) if row.parent_id is not None else None
        (parent.children if parent is not None else roots).append(nodes[row.unit_id])

    def fill(node: TreeNode) -> list[CoverageRow]:
        node.children.sort(key=lambda n: sort_key(n.row.name))
        below = [node.row]
        for child in node.children:
            below += fill(child)
        node.subtree = figures(below, node.row.name)
        return below

    roots.sort(key=lambda n: sort_key(n.row.name))
    for root in roots:
        fill(root)
    return roots


def _tree_order(nodes: list[TreeNode]) -> list[CoverageRow]:
    out: list[CoverageRow] = []
    for node in nodes:
        out.append(node.row)
        out += _tree_order(node.children)
    return out


def _timeline(rows: list[CoverageRow]) -> dict[str, list[tuple[float, int]]]:
    """Per level with a Page: (hours since the seed, units carried by then), from (0, 0) to
    the last carry of any level (every line ends there: they compare)."""
    delays: dict[str, list[int]] = {}
    for row in rows:
        if row.pages > 0:
            delays.setdefault(row.level, [])
        if row.status == "carried" and row.delay_seconds is not None:
            delays.setdefault(row.level, []).append(row.delay_seconds)
    end = max((s for seconds in delays.values() for s in seconds), default=0) / 3600
    out = {}
    for level in sorted(delays, key=lambda lv: (LEVELS.index(lv) if lv in LEVELS else 9, lv)):
        points = [(0.0, 0)] + [(seconds / 3600, n)
                               for n, seconds in enumerate(sorted(delays[level]), 1)]
        if points[-1][0] < end:
            points.append((end, points[-1][1]))
        out[level] = points
    return out


def measure_seed(seed: CampaignPost, rows: list[CoverageRow],
                 carries: list[CampaignPost]) -> SeedMeasures:
    """Every figure of one seed from its coverage rows and its carries (pure)."""
    tree = _tree(rows)
    ordered = _tree_order(tree)
    carried = sorted((r for r in rows if r.status == "carried" and r.delay_seconds is not None),
                     key=lambda r: (r.delay_seconds or 0, sort_key(r.name)))
    missed = sorted((r for r in rows if r.status in MISSED),
                    key=lambda r: (MISSED.index(r.status), sort_key(r.name)))
    by_engagement = sorted(carries, key=lambda p: (-p.engagement, p.created_time, p.post_id))
    present = [level for level in LEVELS if any(r.level == level for r in rows)]
    present += sorted({r.level for r in rows} - set(present))
    return SeedMeasures(
        seed=seed, seed_unit_name=seed.unit_name or "–", rows=ordered,
        total=figures(rows), by_level=[figures((r for r in rows if r.level == level), level)
                                       for level in present],
        branches=tree, fastest=carried[:FASTEST], slowest=carried[::-1][:FASTEST],
        carries=by_engagement, carries_engagement=sum(p.engagement for p in carries),
        missed=missed, timeline=_timeline(rows),
        carry_posts={p.post_id: p for p in carries},
    )


def measure(data: CampaignData) -> list[CampaignMeasures]:
    """Every campaign's figures (pure: from the rows of :func:`load_campaigns` alone)."""
    coverage: dict[tuple[str, int], list[CoverageRow]] = defaultdict(list)
    for row in data.coverage:
        coverage[row.campaign, row.seed_post_id].append(row)
    seeds: dict[str, list[CampaignPost]] = defaultdict(list)
    carries: dict[tuple[str, int | None], list[CampaignPost]] = defaultdict(list)
    for post in data.posts:
        if post.role == "seed":
            seeds[post.campaign].append(post)
        elif post.role == "carry":
            carries[post.campaign, post.seed_post_id].append(post)
    out = []
    for campaign in data.campaigns:
        own = sorted(seeds[campaign.key], key=lambda p: (p.created_time, p.post_id))
        measured = [measure_seed(seed, coverage[campaign.key, seed.post_id],
                                 carries[campaign.key, seed.post_id]) for seed in own]
        out.append(CampaignMeasures(
            campaign, measured,
            figures(r for r in data.coverage if r.campaign == campaign.key),
            data.rule_posts.get(campaign.key, 0), campaign_filename(campaign.key),
            data.waiting.get(campaign.key, [])))
    return out


@dataclass(frozen=True)
class UnitCampaign:
    """A unit's row of one seed of a campaign, for its own page."""

    measures: CampaignMeasures
    number: int  # the seed's number on the campaign page (#seed-<number>)
    seed: SeedMeasures
    row: CoverageRow


def unit_campaigns(measured: list[CampaignMeasures]) -> dict[int, list[UnitCampaign]]:
    """Unit id -> the seeds it was expected to carry, carried or missed, latest first."""
    out: dict[int, list[UnitCampaign]] = defaultdict(list)
    for m in measured:
        for number, seed in enumerate(m.seeds, 1):
            for row in seed.rows:
                out[row.unit_id].append(UnitCampaign(m, number, seed, row))
    for rows in out.values():
        rows.sort(key=lambda u: u.seed.seed.created_time, reverse=True)
    return dict(out)


def duration(lang: Lang, seconds: float | None) -> str:
    """A delay as people say it: minutes under an hour, hours under two days, then days."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return lang.t("minutes", n=lang.integer(seconds / 60))
    if seconds < 48 * 3600:
        return lang.t("hours", n=lang.decimal_number(seconds / 3600, 1))
    return lang.t("days", n=lang.decimal_number(seconds / 86400, 1))

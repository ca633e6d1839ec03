"""The store's tables (SQLAlchemy 2.x declarative models).

Conventions, also written in docs/schema.md:
- every timestamp column is UTC (``UTCDateTime``); ``day`` columns are calendar dates in the
  reporting time zone (Asia/Ho_Chi_Minh by default), the day a snapshot describes;
- snapshots keep history: one row per (page, day) or (post, day), upserted, never deleted;
- natural keys carry unique constraints so re-running a night changes nothing.
The schema changes only through the Alembic migrations in ``storage/migrations``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# UTCDateTime is re-exported: the migrations import it from here.
from fanpulse.storage.types import UTCDateTime as UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Unit(Base):
    """A node of the hierarchy (province, district, commune, residential area)."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UnitChange(Base):
    """What a units import changed, so a unit's history survives renames, moves and mergers."""

    __tablename__ = "unit_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    change: Mapped[str] = mapped_column(String(32))  # added, renamed, moved, level, page, ...
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    # The day the change took effect in the official tree, when the units file says so (its
    # effective column, e.g. 2025-07-01 for the reform); "as-was" undoes such changes (0008).
    effective: Mapped[dt.date | None] = mapped_column(Date)


class UnitMerge(Base):
    """A unit formed from another (the units file's formed_from): whole or in part (0008)."""

    __tablename__ = "unit_merges"
    __table_args__ = (UniqueConstraint("unit_id", "predecessor_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    effective: Mapped[dt.date] = mapped_column(Date)
    whole: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PageMove(Base):
    """A Page attached to another unit (a merge, or the units file giving it to another unit):
    its snapshots stay with the Page; "as-was" puts it back where it was (0008)."""

    __tablename__ = "page_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), index=True)
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    effective: Mapped[dt.date] = mapped_column(Date)
    moved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Page(Base):
    """A Facebook Page, identified by what the units file gives (``ref``)."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(255), unique=True)
    # Facebook sets these (and their length): unbounded text, migration 0006.
    graph_id: Mapped[str | None] = mapped_column(Text, unique=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # The unit whose Page this was before a merge gave it to unit_id (0008): a former unit's
    # Page, still collected, shown as such, never taken for the unit's own new Page.
    former_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    name: Mapped[str | None] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_published: Mapped[bool | None] = mapped_column(Boolean)
    has_insights: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Incremental state lives next to the data (style.md 11).
    posts_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    insights_until: Mapped[dt.date | None] = mapped_column(Date)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the configured token can read of this Page (collector/access.py): full (audience,
    # posts, insights), partial (audience and posts), audience, unreachable. NULL: not yet tried.
    access: Mapped[str | None] = mapped_column(String(16))
    access_reason: Mapped[str | None] = mapped_column(Text)
    access_action: Mapped[str | None] = mapped_column(Text)
    access_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    tasks: Mapped[str | None] = mapped_column(Text)  # the Page's tasks, comma-separated
    posts_readable: Mapped[bool | None] = mapped_column(Boolean)
    posts_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # available, none (Meta answered with no data), refused (an error); asked again after a while
    insights_state: Mapped[str | None] = mapped_column(String(16))
    insights_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PageSnapshot(Base):
    """A Page's audience on one local day (the last collection of that day wins)."""

    __tablename__ = "page_snapshots"
    __table_args__ = (UniqueConstraint("page_id", "day"), Index(None, "day"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    fan_count: Mapped[int | None] = mapped_column(BigInteger)
    followers_count: Mapped[int | None] = mapped_column(BigInteger)
    talking_about_count: Mapped[int | None] = mapped_column(BigInteger)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id"))
    # "page": read from the Page node; "insights": a past day's followers from the page_follows
    # insight (backfill or a missed night), likes unknown. A "page" reading always wins.
    source: Mapped[str] = mapped_column(String(16), default="page", server_default="page")


class Post(Base):
    __tablename__ = "posts"
    # (id, created_time): the rollup_changes trigger of post_snapshots finds a post's day from
    # this small index instead of the wide rows (migration 0009).
    __table_args__ = (Index(None, "page_id", "created_time"), Index(None, "created_time"),
                      Index(None, "id", "created_time"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Facebook sets these (and their length): unbounded text, migration 0006.
    graph_id: Mapped[str] = mapped_column(Text, unique=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    created_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    message: Mapped[str | None] = mapped_column(Text)
    permalink_url: Mapped[str | None] = mapped_column(Text)
    status_type: Mapped[str | None] = mapped_column(Text)
    # A share's shared post (Graph ``parent_id``) and the addresses and ids its attachments
    # name, one per line: what says which post it carries (collector/cascade.py; 0010).
    parent_id: Mapped[str | None] = mapped_column(Text)
    attachment_links: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PostSnapshot(Base):
    """A post's engagement totals as collected on one local day."""

    __tablename__ = "post_snapshots"
    __table_args__ = (UniqueConstraint("post_id", "day"), Index(None, "day"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reactions: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    reactions_like: Mapped[int | None] = mapped_column(BigInteger)
    reactions_love: Mapped[int | None] = mapped_column(BigInteger)
    reactions_care: Mapped[int | None] = mapped_column(BigInteger)
    reactions_haha: Mapped[int | None] = mapped_column(BigInteger)
    reactions_wow: Mapped[int | None] = mapped_column(BigInteger)
    reactions_sad: Mapped[int | None] = mapped_column(BigInteger)
    reactions_angry: Mapped[int | None] = mapped_column(BigInteger)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("collection_runs.id"))


class PageInsight(Base):
    """One value of one Page insights metric, as Meta reports it (end_time in UTC)."""

    __tablename__ = "page_insights"
    __table_args__ = (
        UniqueConstraint("page_id", "metric", "period", "end_time"),
        Index(None, "metric", "end_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    metric: Mapped[str] = mapped_column(Text)  # as Facebook names it (0006)
    period: Mapped[str] = mapped_column(Text)
    end_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    value: Mapped[float | None] = mapped_column(Float)
    value_json: Mapped[Any | None] = mapped_column(JSON)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PostInsight(Base):
    """A post's lifetime insights metric as collected on one local day."""

    __tablename__ = "post_insights"
    __table_args__ = (UniqueConstraint("post_id", "metric", "period", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    metric: Mapped[str] = mapped_column(Text)  # as Facebook names it (0006)
    period: Mapped[str] = mapped_column(Text)
    day: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[float | None] = mapped_column(Float)
    value_json: Mapped[Any | None] = mapped_column(JSON)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class InsightsBacklog(Base):
    """A Page insights window that failed: asked again on later nights until it succeeds or
    falls outside the two years Facebook keeps, so no failure leaves a permanent gap."""

    __tablename__ = "insights_backlog"
    __table_args__ = (UniqueConstraint("page_id", "since", "until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"))
    since: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    first_failed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_tried_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class CollectionRun(Base):
    """One run of the collector: what it did and how it ended."""

    __tablename__ = "collection_runs"
    __table_args__ = (Index(None, "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # running, ok, partial (some Pages failed), failed, interrupted
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16), default="manual")
    day: Mapped[dt.date | None] = mapped_column(Date)
    pages_total: Mapped[int] = mapped_column(Integer, default=0)
    pages_ok: Mapped[int] = mapped_column(Integer, default=0)
    pages_failed: Mapped[int] = mapped_column(Integer, default=0)
    graph_calls: Mapped[int] = mapped_column(Integer, default=0)
    api_version: Mapped[str | None] = mapped_column(Text)  # as Facebook serves it (0006)
    message: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    # What the run learned of the configured token (0011): its expiry (known with app_id and
    # the app secret) and its granted permissions, comma-separated. Never the token itself.
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    token_permissions: Mapped[str | None] = mapped_column(Text)


class PageError(Base):
    """Why one Page failed in one run, in words a person understands."""

    __tablename__ = "page_errors"
    __table_args__ = (Index(None, "run_id"), Index(None, "page_id", "occurred_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("collection_runs.id"))
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # token, permission, throttled, unpublished, not_found, transient, metric, other
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[int | None] = mapped_column(Integer)
    subcode: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    retry_after_minutes: Mapped[int | None] = mapped_column(Integer)
    # failed: the Page was not collected; gap: collected, but something is missing (insights)
    severity: Mapped[str] = mapped_column(String(8), default="failed", server_default="failed")


class Lock(Base):
    """Named locks shared by every process using the store (one collection at a time)."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UnitDayTotal(Base):
    """A unit's roll-up on one day, as the ``unit_rollup`` saved query gives it, kept for the
    units that have units under it (storage/rollups.py; migration 0009). Up to date for the
    days before the earliest day in ``rollup_changes``."""

    __tablename__ = "unit_day_totals"
    __table_args__ = (UniqueConstraint("unit_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    pages_reporting: Mapped[int] = mapped_column(Integer)
    followers: Mapped[int | None] = mapped_column(BigInteger)
    followers_change: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    likes_change: Mapped[int | None] = mapped_column(BigInteger)
    posts: Mapped[int] = mapped_column(BigInteger)
    reactions: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)
    shares: Mapped[int] = mapped_column(BigInteger)
    engagement: Mapped[int] = mapped_column(BigInteger)


class RollupChange(Base):
    """A write that ``unit_day_totals`` does not reflect yet, appended by a trigger (0009):
    ``snapshot`` (a Page snapshot of ``day``), ``post`` (a post of local day ``day``) or
    ``tree`` (a Page's unit or active flag, or the units' tree: every day). ``day_start`` is
    the UTC instant where that local day starts."""

    __tablename__ = "rollup_changes"
    __table_args__ = (Index(None, "kind", "day"), Index(None, "day"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    day: Mapped[dt.date | None] = mapped_column(Date)
    day_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Campaign(Base):
    """A campaign (đợt tuyên truyền) of the campaigns file, as last detected
    (storage/campaigns.py; 0010). ``rules`` is the file's hashtags, keywords, links and seeds
    as JSON; ``detected_at`` when its posts and carries were last worked out."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    starts: Mapped[dt.date] = mapped_column(Date)
    ends: Mapped[dt.date] = mapped_column(Date)
    carry_days: Mapped[int] = mapped_column(Integer)
    rules: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class CampaignSeed(Base):
    """A seed the campaigns file names (``ref``, as written) and the stored post it is, once
    collected (``post_id`` NULL until then). ``window_ends`` is the seed's time plus the
    campaign's ``carry_days``: a carry is published before it."""

    __tablename__ = "campaign_seeds"
    __table_args__ = (UniqueConstraint("campaign_id", "ref"), Index(None, "post_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    ref: Mapped[str] = mapped_column(Text)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    window_ends: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CampaignMatch(Base):
    """A post published during a campaign that meets its hashtag, keyword or link rules
    (``rules``: which, one per line, e.g. ``hashtag:#VìNgườiNghèo``)."""

    __tablename__ = "campaign_matches"
    __table_args__ = (UniqueConstraint("campaign_id", "post_id"), Index(None, "post_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    rules: Mapped[str] = mapped_column(Text)


class CampaignCarry(Base):
    """A post that carries a campaign's seed post: ``method`` share, link or text, ``score``
    1.0 or the text containment, ``delay_seconds`` from the seed's publication to the carry's."""

    __tablename__ = "campaign_carries"
    __table_args__ = (UniqueConstraint("campaign_id", "post_id"),
                      Index(None, "seed_post_id"), Index(None, "post_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    seed_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    method: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    delay_seconds: Mapped[int] = mapped_column(Integer)


class Alert(Base):
    """A condition the morning brief reports (alerts/rules.py; 0011), once per ``key`` (e.g.
    ``page_silent:page=12``): when it was first and last found, when last sent, and when it
    stopped holding (``resolved_at``). A condition is sent again only after the
    ``alert_renotify_days`` setting."""

    __tablename__ = "alerts"
    __table_args__ = (Index(None, "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    rule: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))  # critical, warning, info
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    first_found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    times_sent: Mapped[int] = mapped_column(Integer, default=0)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AlertBrief(Base):
    """A message composed for delivery: the morning brief, an immediate message about a failed
    run, an 'all well', or a test. ``status``: sending (written before the first try: left so,
    the process was cut short), sent (every channel delivered), partly_sent, failed (none did),
    no_channel (no email or webhook configured)."""

    __tablename__ = "alert_briefs"
    __table_args__ = (Index(None, "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(16))  # morning, failure, all_well, test
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the plain-text message
    status: Mapped[str] = mapped_column(String(16))


class AlertBriefItem(Base):
    """Which alerts a brief carried."""

    __tablename__ = "alert_brief_items"
    __table_args__ = (UniqueConstraint("brief_id", "alert_id"), Index(None, "alert_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("alert_briefs.id"))
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))


class AlertDelivery(Base):
    """One attempt to deliver a brief on one channel: ``email`` (``target``: the recipients)
    or ``webhook`` (``target``: the host only; the address is a secret). ``error`` is the
    reason in words, with no secret in it."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index(None, "brief_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    brief_id: Mapped[int] = mapped_column(ForeignKey("alert_briefs.id"))
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)


class AlertPageAccess(Base):
    """What the token could read of each Page when the brief last looked (alerts/rules.py), so
    that a Page that *lost* its role is told apart from one that never had one."""

    __tablename__ = "alert_page_access"

    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id"), primary_key=True)
    access: Mapped[str | None] = mapped_column(String(16))
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

"""Campaigns in the store: each campaign's seeds, rule matches and carries, worked out from the
posts already stored (docs/campaigns.md).

:func:`detect_campaigns` is the whole job and is idempotent: for each campaign of the campaigns
file it replaces, in one transaction, the campaign's row and its ``campaign_seeds``,
``campaign_matches`` and ``campaign_carries`` with what the stored posts say now; a campaign no
longer in the file loses its rows. So a campaign added after the fact applies to every post
already stored, and a night that collected more posts (or a units import that moved a Page)
needs nothing but the next detection. It runs after each collection (collector/run.py) and
with ``fanpulse campaigns detect``.

Reading is bounded by the campaigns' dates, never the whole history:

* a seed is looked for among the posts published from ``carry_days`` before the campaign's
  first day to the end of its last day (a directive may be posted just before the campaign
  opens);
* a rule match among the posts published on the campaign's days (local time);
* a carry among the posts published within ``carry_days`` after one of its seeds.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from fanpulse.collector.cascade import Candidate, Seed, detect_carries, id_keys
from fanpulse.collector.posts import LINKS_SEPARATOR
from fanpulse.config.campaigns import (
    Campaign,
    match_rules,
    plain_url,
    read_campaigns_file,
    seed_post_keys,
)
from fanpulse.storage.models import (
    Campaign as CampaignRow,
)
from fanpulse.storage.models import CampaignCarry, CampaignMatch, CampaignSeed, Post

log = logging.getLogger(__name__)

_ROWS_PER_INSERT = 2_000
WORDS_CACHED = 50_000  # posts whose folded text a detection keeps (a few KB each)
_GRAPH_ID = re.compile(r"^\d+_\d+$")


@dataclass
class Detected:
    """What one campaign's detection found."""

    key: str
    seeds_named: int = 0
    seeds_found: int = 0
    unresolved: list[str] = field(default_factory=list)  # seed refs not (yet) collected
    matches: int = 0
    carries: dict[str, int] = field(default_factory=dict)  # method -> count
    seconds: float = 0.0

    @property
    def carried(self) -> int:
        return sum(self.carries.values())


def local_span(starts: dt.date, ends: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants where local day ``starts`` begins and the day after ``ends`` begins."""
    first = dt.datetime.combine(starts, dt.time(), tz).astimezone(dt.UTC)
    after = dt.datetime.combine(ends + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return first, after


def links_of(stored: str | None) -> tuple[str, ...]:
    return tuple(stored.split(LINKS_SEPARATOR)) if stored else ()


def resolve_seeds(conn: Connection, campaign: Campaign, tz: ZoneInfo
                  ) -> dict[str, Seed | None]:
    """Each seed reference of the campaign -> the stored post it names (None: not collected,
    or not published in the campaign's span). A Graph id names its post; an address names
    the post whose address is the same, or whose Graph id the address holds.

    The database finds the posts by id (exactly, or by the post number at its end, which the
    ``(page_id, created_time)`` span narrows); only a reference that holds no number at all
    (a ``pfbid...`` address) makes this read the span's addresses."""
    refs = list(dict.fromkeys(campaign.seeds))
    if not refs:
        return {}
    first, after = local_span(campaign.starts, campaign.ends, tz)
    first -= dt.timedelta(days=campaign.carry_days)
    wanted = {ref: seed_post_keys(ref) for ref in refs}
    ids = {key for keys in wanted.values() for key in keys if _GRAPH_ID.match(key)}
    numbers = {key[1:] for keys in wanted.values() for key in keys
               if key.startswith("_") and key[1:].isdigit()}
    by_address = any(not any(k in ids or k[1:] in numbers for k in keys)
                     for keys in wanted.values())
    named = [Post.graph_id.in_(ids)] if ids else []
    named += [Post.graph_id.like(f"%\\_{number}", escape="\\") for number in numbers]
    query = (select(Post.id, Post.graph_id, Post.page_id, Post.created_time, Post.message,
                    Post.permalink_url)
             .where(Post.created_time >= first, Post.created_time < after)
             .order_by(Post.created_time, Post.id))
    if not by_address:
        if not named:
            return dict.fromkeys(refs)
        query = query.where(or_(*named))
    found: dict[str, Seed | None] = dict.fromkeys(refs)
    for post_id, graph_id, page_id, created, message, permalink in conn.execute(query):
        keys = id_keys(graph_id)
        if permalink and (plain := plain_url(permalink)):
            keys.add(plain)
        for ref, ref_keys in wanted.items():
            if found[ref] is None and keys & ref_keys:
                found[ref] = Seed.make(post_id, graph_id, page_id, created, message, permalink)
    return found


def candidates(conn: Connection, windows: Sequence[tuple[dt.datetime, dt.datetime]]
               ) -> list[Candidate]:
    """The posts published within any of the (after, until] windows, as detection reads them."""
    if not windows:
        return []
    merged: list[list[dt.datetime]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    found: list[Candidate] = []
    for start, end in merged:
        rows = conn.execute(
            select(Post.id, Post.page_id, Post.created_time, Post.message, Post.parent_id,
                   Post.attachment_links)
            .where(Post.created_time > start, Post.created_time <= end))
        found.extend(Candidate(post_id, page_id, created, message, parent, links_of(links))
                     for post_id, page_id, created, message, parent, links in rows)
    return found


def rule_matches(conn: Connection, campaign: Campaign, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The posts published on the campaign's days that meet a hashtag, keyword or link rule."""
    if not (campaign.hashtags or campaign.keywords or campaign.links):
        return []
    first, after = local_span(campaign.starts, campaign.ends, tz)
    rows = conn.execute(
        select(Post.id, Post.message, Post.attachment_links)
        .where(Post.created_time >= first, Post.created_time < after))
    matched = []
    for post_id, message, links in rows:
        rules = match_rules(campaign, message, links_of(links))
        if rules:
            matched.append({"post_id": post_id, "rules": "\n".join(rules)})
    return matched


def _insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        conn.execute(insert(table), rows[start:start + _ROWS_PER_INSERT])


def detect_campaign(conn: Connection, campaign: Campaign, tz: ZoneInfo,
                    now: dt.datetime, words_cache: dict[int, list[str]] | None = None
                    ) -> Detected:
    """Replace one campaign's rows with what the stored posts say (in the caller's
    transaction). ``words_cache``: the folded texts of posts, shared by the campaigns of one
    detection."""
    started = time.perf_counter()
    result = Detected(campaign.key, seeds_named=len(set(campaign.seeds)))
    rules = json.dumps(campaign.rules(), ensure_ascii=False)
    campaign_id = conn.scalar(select(CampaignRow.id).where(CampaignRow.key == campaign.key))
    values = {"name": campaign.name, "starts": campaign.starts, "ends": campaign.ends,
              "carry_days": campaign.carry_days, "rules": rules, "detected_at": now}
    if campaign_id is None:
        campaign_id = conn.execute(insert(CampaignRow).values(key=campaign.key, **values)
                                   .returning(CampaignRow.id)).scalar_one()
    else:
        conn.execute(update(CampaignRow).where(CampaignRow.id == campaign_id).values(**values))
        for table in (CampaignCarry, CampaignMatch, CampaignSeed):
            conn.execute(delete(table).where(table.campaign_id == campaign_id))

    window = dt.timedelta(days=campaign.carry_days)
    seeds = resolve_seeds(conn, campaign, tz)
    found = {seed.post_id: seed for seed in seeds.values() if seed is not None}
    result.seeds_found = len(found)
    result.unresolved = [ref for ref, seed in seeds.items() if seed is None]
    _insert(conn, CampaignSeed, [
        {"campaign_id": campaign_id, "ref": ref,
         "post_id": seed.post_id if seed else None,
         "window_ends": seed.created + window if seed else None}
        for ref, seed in seeds.items()])

    matches = rule_matches(conn, campaign, tz)
    result.matches = len(matches)
    _insert(conn, CampaignMatch, [{"campaign_id": campaign_id, **m} for m in matches])

    posts = candidates(conn, [(s.created, s.created + window) for s in found.values()])
    created = {post.post_id: post.created for post in posts}
    carries = detect_carries(found.values(), posts, campaign.carry_days,
                             words_cache=words_cache)
    rows = []
    for carry in sorted(carries, key=lambda c: c.post_id):
        delay = created[carry.post_id] - found[carry.seed_post_id].created
        rows.append({"campaign_id": campaign_id, "seed_post_id": carry.seed_post_id,
                     "post_id": carry.post_id, "method": carry.method, "score": carry.score,
                     "delay_seconds": int(delay.total_seconds())})
        result.carries[carry.method] = result.carries.get(carry.method, 0) + 1
    _insert(conn, CampaignCarry, rows)
    result.seconds = time.perf_counter() - started
    return result


def detect_campaigns(engine: Engine, campaigns: Iterable[Campaign], tz: ZoneInfo,
                     now: dt.datetime | None = None, *,
                     touched_since: dt.datetime | None = None) -> list[Detected]:
    """Work out every campaign's seeds, matches and carries from the stored posts, one
    transaction per campaign, and drop the campaigns no longer given.

    ``touched_since`` (after a night: where its earliest posts listing started) skips a campaign the
    store already holds as the file gives it and whose carry window ended before then: no
    post it reads has changed. Without it every campaign is worked out again."""
    now = now or dt.datetime.now(dt.UTC)
    campaigns = list(campaigns)
    results = []
    words_cache: dict[int, list[str]] = {}
    with engine.connect() as conn:
        stored = {row.key: row for row in conn.execute(
            select(CampaignRow.key, CampaignRow.name, CampaignRow.starts, CampaignRow.ends,
                   CampaignRow.carry_days, CampaignRow.rules))}
    # In time order, so that the texts folded for one campaign serve the next ones that
    # overlap it; the cache is emptied when it holds more than WORDS_CACHED posts.
    for campaign in sorted(campaigns, key=lambda c: (c.starts, c.ends, c.key)):
        if touched_since is not None and _unchanged(stored.get(campaign.key), campaign) \
                and local_span(campaign.starts, campaign.ends, tz)[1] \
                + dt.timedelta(days=campaign.carry_days) < touched_since:
            continue
        if len(words_cache) > WORDS_CACHED:
            words_cache.clear()
        with engine.begin() as conn:
            results.append(detect_campaign(conn, campaign, tz, now, words_cache))
    order = {c.key: n for n, c in enumerate(campaigns)}
    results.sort(key=lambda r: order[r.key])  # as the file lists them
    keep = [c.key for c in campaigns]
    with engine.begin() as conn:
        gone = list(conn.scalars(select(CampaignRow.id).where(CampaignRow.key.not_in(keep))))
        for table in (CampaignCarry, CampaignMatch, CampaignSeed):
            conn.execute(delete(table).where(table.campaign_id.in_(gone)))
        conn.execute(delete(CampaignRow).where(CampaignRow.id.in_(gone)))
    return results


def _unchanged(row: Any, campaign: Campaign) -> bool:
    """The store holds the campaign as the file gives it now."""
    return row is not None and (row.name, row.starts, row.ends, row.carry_days, row.rules) == (
        campaign.name, campaign.starts, campaign.ends, campaign.carry_days,
        json.dumps(campaign.rules(), ensure_ascii=False))


def detect_from_file(engine: Engine, path: str | Path, tz: ZoneInfo,
                     now: dt.datetime | None = None, *,
                     touched_since: dt.datetime | None = None) -> list[Detected]:
    """:func:`detect_campaigns` for the campaigns of a file (none when it does not exist).
    A refused file raises ``CampaignsFileError`` before anything is written."""
    return detect_campaigns(engine, read_campaigns_file(path), tz, now,
                            touched_since=touched_since)


def describe(result: Detected) -> str:
    """One line for the log and the commands: what a campaign's detection found."""
    methods = ", ".join(f"{count} by {method}" for method, count in sorted(result.carries.items()))
    text = (f"{result.key}: {result.seeds_found} of {result.seeds_named} seed post(s) found, "
            f"{result.carried} carr{'y' if result.carried == 1 else 'ies'}"
            f"{f' ({methods})' if methods else ''}, {result.matches} post(s) meeting its rules")
    if result.unresolved:
        text += f"; not collected (yet): {', '.join(result.unresolved)}"
    return text

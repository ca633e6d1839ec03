"""Posts and their engagement, read through field expansion in one listing call per Page.

Only field expansion a new app may use (docs/graph-api.md §0): totals come from
``reactions.summary(total_count).limit(0)`` and ``comments.summary(true).limit(0)``, reactions
by type from the lifetime post insight ``post_reactions_by_type_total``, nested in the same
listing when the Page's insights are readable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fanpulse.collector.timeutil import parse_graph_time
from fanpulse.storage.save import storable_count, storable_row

# The edge: only the Page's own posts (docs/graph-api.md §3); /feed would add visitors' posts.
POSTS_EDGE = "published_posts"
PAGE_LIMIT = 100  # the maximum Graph allows on post edges
REACTION_TYPES = ("like", "love", "care", "haha", "wow", "sad", "angry")
REACTIONS_BY_TYPE = "post_reactions_by_type_total"
# Keys of post_reactions_by_type_total -> our columns (older captures say sorry/anger; §4).
_TYPE_KEYS = {"like": "like", "love": "love", "care": "care", "haha": "haha", "wow": "wow",
              "sad": "sad", "sorry": "sad", "angry": "angry", "anger": "angry"}
BASE_FIELDS = (
    "id", "created_time", "message", "permalink_url", "status_type", "shares",
    "reactions.summary(total_count).limit(0)", "comments.summary(true).limit(0)",
    # What says which post a post carries (collector/cascade.py, docs/campaigns.md): the shared
    # post of a share, and the addresses and targets its attachments name, by nested field
    # expansion in this Page's own listing (docs/graph-api.md §3).
    "parent_id", "attachments{url,target{id,url}}",
)
LINKS_SEPARATOR = "\n"  # posts.attachment_links: one address or id per line


def post_fields(post_metrics: Sequence[str]) -> str:
    """The fields= value: counts by field expansion, and the lifetime post insights nested in
    the same call when metrics are given (reactions by type among them)."""
    fields = list(BASE_FIELDS)
    if post_metrics:
        fields.append(f"insights.metric({','.join(post_metrics)})")
    return ",".join(fields)


def _summary_total(item: dict[str, Any], key: str) -> int | None:
    block = item.get(key)
    if not isinstance(block, dict):
        return None
    summary = block.get("summary")
    return storable_count(summary.get("total_count")) if isinstance(summary, dict) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def post_row(item: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Graph post -> posts row (without page_id and bookkeeping columns), with its texts made
    storable (``storage.save.storable_text``), and how many of them had to be escaped."""
    return storable_row({
        "graph_id": str(item["id"]),
        "created_time": parse_graph_time(item["created_time"]),
        "message": _text(item.get("message")),
        "permalink_url": _text(item.get("permalink_url")),
        "status_type": _text(item.get("status_type")),
        "parent_id": _text(item.get("parent_id")),
        "attachment_links": LINKS_SEPARATOR.join(attachment_links(item)) or None,
    })


def attachment_links(item: dict[str, Any]) -> list[str]:
    """The addresses and target posts a post's attachments name (``url``, ``target.url``,
    ``target.id``, subattachments included), each once, in the order Graph gave them."""
    found: dict[str, None] = {}

    def visit(block: Any) -> None:
        data = block.get("data") if isinstance(block, dict) else None
        for attachment in data if isinstance(data, list) else []:
            if not isinstance(attachment, dict):
                continue
            target = attachment.get("target")
            values = [attachment.get("url")]
            if isinstance(target, dict):
                values += [target.get("url"), target.get("id")]
            for value in values:
                if isinstance(value, str | int) and str(value).strip():
                    found[str(value).strip()] = None
            visit(attachment.get("subattachments"))

    visit(item.get("attachments"))
    return list(found)


def engagement_row(item: dict[str, Any]) -> dict[str, Any]:
    """Graph post -> engagement counts. ``shares`` is omitted by Graph when there are none;
    a count that is not a number a store keeps is unknown (None), never a guess."""
    shares = item.get("shares")
    row: dict[str, Any] = {
        "reactions": _summary_total(item, "reactions"),
        "comments": _summary_total(item, "comments"),
        "shares": storable_count(shares.get("count", 0)) if isinstance(shares, dict) else 0,
    }
    by_type = _reactions_by_type(item)
    for kind in REACTION_TYPES:
        row[f"reactions_{kind}"] = None if by_type is None else by_type.get(kind, 0)
    return row


def _reactions_by_type(item: dict[str, Any]) -> dict[str, int] | None:
    """Counts per reaction type from the nested ``post_reactions_by_type_total`` insight;
    None when it was not asked for or not answered (unknown, never zero)."""
    for metric, _period, value in post_insight_values(item):
        if metric == REACTIONS_BY_TYPE and isinstance(value, dict):
            counts: dict[str, int] = {}
            for key, count in value.items():
                column = _TYPE_KEYS.get(str(key).lower())
                number = storable_count(count)
                if column and number is not None:
                    counts[column] = counts.get(column, 0) + number
            return counts
    return None


def post_insight_values(item: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(metric, period, value) of the lifetime insights nested in a post."""
    block = item.get("insights")
    data = block.get("data", []) if isinstance(block, dict) else []
    found = []
    for metric in data:
        if not isinstance(metric, dict):
            continue
        values = metric.get("values") or []
        if values and isinstance(values[-1], dict):
            found.append((str(metric.get("name")), str(metric.get("period", "lifetime")),
                          values[-1].get("value")))
    return found


def listing_params(since: dt.datetime, until: dt.datetime | None,
                   fields: str) -> dict[str, str]:
    params = {"fields": fields, "limit": str(PAGE_LIMIT), "since": str(int(since.timestamp()))}
    if until is not None:
        params["until"] = str(int(until.timestamp()))
    return params

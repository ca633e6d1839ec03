"""Page audience: the Page node's counts, read for up to 50 Pages per ``?ids=`` call."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from collector.errors import GraphError, NotFound
from collector.graph import GraphClient

log = logging.getLogger(__name__)

# What we ask of every Page node; all cheap counters (graph-api.md section 2).
PAGE_FIELDS = "id,name,username,link,fan_count,followers_count,talking_about_count,is_published"
IDS_PER_CALL = 50  # Graph refuses more (graph-api.md section 6)
COUNT_FIELDS = ("fan_count", "followers_count", "talking_about_count")


def fetch_page_nodes(client: GraphClient, refs: Sequence[str]) -> dict[str, Any]:
    """Read the Page nodes for ``refs`` (ids or usernames).

    Returns ref -> node dict, or ref -> GraphError for the refs that failed. One unknown alias
    fails a whole ``ids=`` call (code 803), so a failing chunk is split in halves until the
    bad references are isolated; the good ones still get read.
    """
    results: dict[str, Any] = {}
    for start in range(0, len(refs), IDS_PER_CALL):
        _fetch_chunk(client, list(refs[start:start + IDS_PER_CALL]), results)
    return results


def _fetch_chunk(client: GraphClient, refs: list[str], results: dict[str, Any]) -> None:
    try:
        body = client.get("", {"ids": ",".join(refs), "fields": PAGE_FIELDS})
    except NotFound as exc:
        if len(refs) == 1:
            results[refs[0]] = exc
            return
        middle = len(refs) // 2
        log.info("ids= call failed (%s); splitting %d references to find the bad one",
                 exc.message, len(refs))
        _fetch_chunk(client, refs[:middle], results)
        _fetch_chunk(client, refs[middle:], results)
        return
    except GraphError as exc:
        for ref in refs:
            results[ref] = exc
        return
    by_key = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    for ref in refs:
        node = by_key.get(ref.lower())
        if node is None:  # Graph may key by the numeric id even when asked by username
            node = next((v for v in by_key.values() if isinstance(v, dict)
                         and str(v.get("username", "")).lower() == ref.lower()), None)
        results[ref] = node if isinstance(node, dict) else NotFound(
            f"Page {ref} missing from the ids= answer", code=100, subcode=33)


def audience_counts(node: dict[str, Any]) -> dict[str, int | None]:
    """Page node -> the snapshot's counts (absent fields stay None, never 0)."""
    counts: dict[str, int | None] = {}
    for name in COUNT_FIELDS:
        value = node.get(name)
        counts[name] = int(value) if isinstance(value, int | float) else None
    return counts

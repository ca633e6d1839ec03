"""Page audience: the Page node's public counters (docs/graph-api.md §0, §2).

Pages the token has a role on get their audience from the ``/me/accounts`` listing
(``collector/access.py``); every other configured Page is read one node per batch operation,
one Page per request, as a new app must (docs/graph-api.md §0).
"""

from __future__ import annotations

from typing import Any

from fanpulse.collector.graph import BatchItem
from fanpulse.storage.save import storable_count

# What we ask of every Page node: cheap public counters, readable with any valid user or
# system-user token on a New Page Experience Page (§0, §2).
PAGE_FIELDS = "id,name,username,link,fan_count,followers_count,talking_about_count,is_published"
COUNT_FIELDS = ("fan_count", "followers_count", "talking_about_count")


def node_item(ref: str, token: str | None = None) -> BatchItem:
    """A batch operation reading one Page node by id or username."""
    return BatchItem(ref, {"fields": PAGE_FIELDS}, ref if ref.isdigit() else None, token)


def audience_counts(node: dict[str, Any]) -> dict[str, int | None]:
    """Page node -> the snapshot's counts (absent fields stay None, never 0; so does a value
    no BIGINT column keeps, such as a text, NaN or 1e400, rather than failing the Page)."""
    return {name: storable_count(node.get(name)) for name in COUNT_FIELDS}

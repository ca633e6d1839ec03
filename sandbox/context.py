"""Per-call context shared by the handlers, plus cursor paging helpers (docs/graph-api.md §5)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from .errors import GraphError, bad_param, limit_too_high
from .tokens import Token
from .world import World

MAX_LIMIT = 100
DEFAULT_LIMIT = 25


@dataclass
class Ctx:
    """What one Graph call knows: the world, the served version, the caller and its query."""

    world: World
    base_url: str
    version: str
    token: Token
    now: datetime
    path: str  # after the version, no leading slash: "123/posts"
    params: dict[str, str]
    query_items: list[tuple[str, str]]
    token_in_query: bool = True
    notes: dict[str, Any] = field(default_factory=dict)

    def link(self, path: str, items: list[tuple[str, str]]) -> str:
        return f"{self.base_url}/{self.version}/{path}?{urlencode(items)}"

    def self_link(self, replace: dict[str, str], drop: tuple[str, ...] = ()) -> str:
        """This call's URL with some parameters replaced: Facebook's ``paging`` links keep the
        whole original query, ``access_token`` included (facebook-sdk relies on that)."""
        items = [(k, v) for k, v in self.query_items if k not in replace and k not in drop]
        items += list(replace.items())
        return self.link(self.path, items)

    def edge_link(self, path: str, params: dict[str, str]) -> str:
        """Link for a nested edge (``posts.limit(5)`` inside a node read)."""
        items = list(params.items())
        if self.token_in_query:
            items.insert(0, ("access_token", self.token.value))
        return self.link(path, items)


def encode_cursor(key: str) -> str:
    return base64.b64encode(("sbx1:" + key).encode()).decode()


def decode_cursor(cursor: str) -> str:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_param("Invalid cursor") from None
    if not text.startswith("sbx1:"):
        raise bad_param("Invalid cursor")
    return text[5:]


def parse_limit(
    value: str | None, default: int = DEFAULT_LIMIT, maximum: int | None = MAX_LIMIT
) -> int:
    if value is None or value == "":
        return default
    try:
        limit = int(value)
    except ValueError:
        raise bad_param("Param limit must be a non-negative integer") from None
    if limit < 0:
        raise bad_param("Param limit must be a non-negative integer")
    if maximum is not None and limit > maximum:
        raise limit_too_high(maximum)
    return limit


def paginate(
    keys: list[str], descending: bool, limit: int, after: str | None, before: str | None
) -> tuple[int, int]:
    """Slice bounds for a cursor page over items whose sort keys are ``keys`` (in list order).

    Cursors hold the key of an item, so they keep working when that item has been deleted.
    """

    def precedes(a: str, b: str) -> bool:
        return a > b if descending else a < b

    if after is not None:
        key = decode_cursor(after)
        start = next((i for i, k in enumerate(keys) if precedes(key, k)), len(keys))
        return start, min(len(keys), start + limit)
    if before is not None:
        key = decode_cursor(before)
        end = next((i for i, k in enumerate(keys) if not precedes(k, key)), len(keys))
        return max(0, end - limit), end
    return 0, min(len(keys), limit)


def paging_block(
    ctx: Ctx,
    keys: list[str],
    start: int,
    end: int,
    link: Any,
) -> dict[str, Any] | None:
    """The ``paging`` object: cursors always, ``next``/``previous`` only when more exists.

    ``link`` is called with ``{"after": c}`` or ``{"before": c}`` and returns a URL.
    """
    if start >= end:
        return None
    before, after = encode_cursor(keys[start]), encode_cursor(keys[end - 1])
    block: dict[str, Any] = {"cursors": {"before": before, "after": after}}
    if start > 0:
        block["previous"] = link({"before": before})
    if end < len(keys):
        block["next"] = link({"after": after})
    return block


def require(condition: bool, error: GraphError) -> None:
    if not condition:
        raise error

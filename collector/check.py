"""The access check: before a real deployment, what the pasted token will collect, per unit.

It says what the token is (``debug_token`` when the app id and secret are set, else ``/me``
and ``/me/permissions``), then for every unit's Page: its resolved id and name, the tasks the
Business Manager has on it, what will be collected (full, audience and posts, audience only,
unreachable) and, short of full, what to do. It reads, it never writes the store. The same
``/me/accounts`` listing drafts a units file (``draft_units``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fanpulse.collector.access import (
    FULL,
    UNREACHABLE,
    Access,
    Account,
    TokenInfo,
    check_token,
    classify,
    list_accounts,
    match_account,
)
from fanpulse.collector.audience import node_item
from fanpulse.collector.errors import GraphError, NotFound, PermissionDenied
from fanpulse.collector.graph import BatchItem, GraphClient
from fanpulse.collector.posts import POSTS_EDGE
from fanpulse.config.matching import Matches, UnitName, match_pages

BATCH_SIZE = 50


@dataclass(frozen=True)
class UnitPage:
    """A unit and the Page reference the units file gives it (None: no Page yet)."""

    code: str
    name: str
    level: str
    ref: str | None


@dataclass
class PageAccess:
    unit: UnitPage
    page_id: str | None = None
    page_name: str | None = None
    followers: int | None = None
    tasks: tuple[str, ...] = ()
    access: Access = field(default_factory=lambda: Access(UNREACHABLE))


@dataclass
class AccessReport:
    token: TokenInfo
    pages: list[PageAccess]
    without_page: list[UnitPage]
    not_configured: list[Account]  # Pages the token reaches that no unit names
    graph_calls: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for page in self.pages:
            out[page.access.level] = out.get(page.access.level, 0) + 1
        return out


def check_access(client: GraphClient, units: Sequence[UnitPage], *, app_id: str = "",
                 app_secret: str = "", now: dt.datetime | None = None) -> AccessReport:
    """Check every unit's Page. Raises collector.access.UnusableToken when the token cannot
    work at all."""
    calls_before = client.calls
    info = check_token(client, app_id, app_secret, now)
    accounts = list_accounts(client, info)
    results: list[PageAccess] = []
    probes: list[tuple[PageAccess, BatchItem, BatchItem]] = []
    used: set[str] = set()
    for unit in units:
        if unit.ref is None:
            continue
        result = PageAccess(unit)
        results.append(result)
        account = match_account(accounts, unit.ref if unit.ref.isdigit() else None, unit.ref)
        if account is not None and (account.token or info.kind == "page"):
            used.add(account.id)
            result.page_id, result.page_name = account.id, account.node.get("name")
            result.followers = _int(account.node.get("followers_count"))
            result.tasks = account.tasks
            analyze = not account.tasks or "ANALYZE" in account.tasks
            result.access = classify(found=True, has_token=True, tasks=account.tasks,
                                     posts_readable=True,
                                     insights_state=None if analyze else "refused",
                                     read_insights=info.read_insights)
            if info.kind == "page" and "followers_count" not in account.node:
                probes.append((result, node_item(unit.ref), _posts_probe(unit.ref)))
        else:
            probes.append((result, node_item(unit.ref), _posts_probe(unit.ref)))
    _probe(client, probes, info)
    return AccessReport(info, results, [u for u in units if u.ref is None],
                        [a for key, a in accounts.items() if key not in used and a.token],
                        client.calls - calls_before)


def _posts_probe(ref: str) -> BatchItem:
    return BatchItem(f"{ref}/{POSTS_EDGE}", {"fields": "id", "limit": "1"},
                     ref if ref.isdigit() else None)


def _probe(client: GraphClient, probes: list[tuple[PageAccess, BatchItem, BatchItem]],
           info: TokenInfo) -> None:
    """Pages without a Page token: their node (public audience) and one try at their posts."""
    items = [item for _r, node, posts in probes for item in (node, posts)]
    answers: list[Any] = []
    for start in range(0, len(items), BATCH_SIZE):
        try:
            answers.extend(client.batch(items[start:start + BATCH_SIZE]))
        except GraphError as exc:
            answers.extend([exc] * len(items[start:start + BATCH_SIZE]))
    for index, (result, _node, _posts) in enumerate(probes):
        node, posts = answers[2 * index], answers[2 * index + 1]
        if result.access.level == FULL or result.tasks:
            if isinstance(node, dict):
                result.followers = _int(node.get("followers_count"))
            continue
        if isinstance(node, NotFound):
            result.access = classify(found=False, has_token=False, tasks=(),
                                     posts_readable=None, insights_state=None,
                                     read_insights=info.read_insights)
            continue
        if isinstance(node, GraphError):
            result.access = Access(UNREACHABLE, f"could not be read: {node.reason()}",
                                   "run the check again later; if it persists, see the reason")
            continue
        result.page_id = str(node.get("id") or "") or None
        result.page_name = node.get("name")
        result.followers = _int(node.get("followers_count"))
        readable = None if isinstance(posts, GraphError) and not isinstance(
            posts, PermissionDenied) else not isinstance(posts, GraphError)
        result.access = classify(found=True, has_token=False, tasks=(),
                                 posts_readable=readable, insights_state=None,
                                 read_insights=info.read_insights)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def draft_units(accounts: dict[str, Account], units: Sequence[UnitPage]) -> tuple[
        list[UnitPage], Matches]:
    """The units with their ``page`` filled from the Pages the token reaches, matched by name.

    A unit that already names a Page keeps it; a Page that no unit fits is listed."""
    configured = {u.ref for u in units if u.ref}
    candidates = [(a.id, str(a.node.get("name") or "")) for a in accounts.values()
                  if a.id not in configured
                  and str(a.node.get("username") or "").lower() not in configured]
    open_units = [UnitName(u.code, u.name, u.level) for u in units if not u.ref]
    matches = match_pages(candidates, open_units)
    by_code = {code: page_id for page_id, code in matches.matched.items()}
    drafted = [UnitPage(u.code, u.name, u.level, u.ref or by_code.get(u.code)) for u in units]
    return drafted, matches

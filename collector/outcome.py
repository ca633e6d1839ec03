"""What one night produces: per Page an Outcome (raw Graph dicts, problems, access), and for
the run a RunResult. Plain data, shared by the night (collector/night.py) and saving
(collector/persist.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from fanpulse.collector.access import LEVELS, Access, Account, TokenInfo
from fanpulse.collector.errors import GraphAPIError, GraphError
from fanpulse.collector.plan import PageState

FAILED, GAP = "failed", "gap"


@dataclass
class Target:
    """An active Page as the store knows it before the run."""

    page_id: int
    ref: str
    unit_code: str | None
    state: PageState
    graph_id: str | None = None

    @property
    def key(self) -> str:
        return self.state.key


class Deferred(GraphError):
    """A call not sent: Meta's usage headers say the Page's budget is (nearly) spent, and
    calling now would only be refused and extend the penalty (docs/graph-api.md §9)."""

    def __init__(self, percent: float, regain_minutes: int, what: str) -> None:
        wait = f" (regain in {regain_minutes} min)" if regain_minutes else ""
        super().__init__(f"quota (Page): Meta reports {percent:.0f}% of this Page's call budget "
                         f"used{wait}; {what} left for the next run")
        self.regain_minutes = regain_minutes or None


@dataclass
class Problem:
    kind: str
    message: str
    code: int | None = None
    subcode: int | None = None
    retry_after: int | None = None
    severity: str = FAILED

    @classmethod
    def from_error(cls, exc: GraphError) -> Problem:
        if isinstance(exc, Deferred):
            return cls("throttled", exc.reason(), retry_after=exc.regain_minutes)
        if isinstance(exc, GraphAPIError):
            return cls(exc.kind, exc.reason(), exc.code, exc.subcode, exc.retry_after_minutes)
        return cls("transient", exc.reason())


@dataclass
class Outcome:
    """What one Page yielded this run (raw Graph dicts; transformed when saved)."""

    target: Target
    account: Account | None = None
    node: dict[str, Any] | None = None
    found: bool = True
    posts: list[dict[str, Any]] = field(default_factory=list)
    posts_complete: bool = False
    posts_since: dt.datetime | None = None
    posts_checked: bool = False
    posts_readable: bool | None = None
    insights: list[dict[str, Any]] = field(default_factory=list)
    insights_until: dt.date | None = None
    insights_checked: bool = False
    insights_state: str | None = None
    windows_ok: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    windows_failed: list[tuple[dt.date, dt.date, str]] = field(default_factory=list)
    latest_until: dt.date | None = None  # the nightly window: covered by insights_until
    access: Access | None = None
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.posts_readable = self.target.state.posts_readable
        self.insights_state = self.target.state.insights_state

    @property
    def token(self) -> str | None:
        return self.account.token if self.account else None

    @property
    def failed(self) -> bool:
        return any(p.severity == FAILED for p in self.problems)


@dataclass
class RunResult:
    run_id: int
    status: str
    pages_total: int
    pages_ok: int
    pages_failed: int
    graph_calls: int
    api_version: str | None
    message: str | None
    failures: list[tuple[str, str]]  # (page ref, reason)
    access: dict[str, int] = field(default_factory=dict)  # level -> Pages
    token: TokenInfo | None = None
    stopped: bool = False  # the calls stopped early (token refused, app throttled)

    @property
    def calls_per_page(self) -> float:
        return self.graph_calls / self.pages_total if self.pages_total else 0.0


def access_summary(levels: dict[str, int]) -> str:
    words = {"full": "full", "partial": "no insights",
             "audience": "audience only", "unreachable": "unreachable"}
    return ", ".join(f"{levels[k]} {words[k]}" for k in LEVELS if levels.get(k))

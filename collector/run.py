"""One collection run: every active Page, gently, each Page saved in its own transaction.

Per Page and night the collector makes about two Graph calls: the audience comes from
``?ids=`` calls of 50 Pages, then one batch item lists the recent posts with their engagement
and lifetime insights through field expansion, and one batch item reads the Page insights.
Longer listings follow ``paging.next``. A failing Page is recorded with its reason and the
run carries on; a refused token or an app-wide throttle stops the calls, since every further
call would fail the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from collector.audience import audience_counts, fetch_page_nodes
from collector.errors import (
    GraphAPIError,
    GraphError,
    InvalidRequest,
    NotFound,
    ThrottledError,
    TokenError,
)
from collector.graph import BatchItem, GraphClient
from collector.insights import (
    MAX_HISTORY_DAYS,
    MAX_WINDOW_DAYS,
    MIN_FANS_FOR_INSIGHTS,
    insight_values,
    insights_params,
    value_columns,
)
from collector.posts import (
    POSTS_EDGE,
    engagement_row,
    listing_params,
    post_fields,
    post_insight_values,
    post_row,
)
from collector.timeutil import day_windows
from config.settings import Settings
from storage.db import transaction
from storage.models import Page, Unit
from storage.runs import (
    acquire_lock,
    close_abandoned_runs,
    finish_run,
    record_page_error,
    refresh_lock,
    release_lock,
    start_run,
)
from storage.save import (
    mark_posts_deleted,
    save_follower_history,
    save_page_insights,
    save_page_node,
    save_page_snapshot,
    save_post_insights,
    save_post_snapshots,
    save_posts,
)

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
BATCH_SIZE = 50
PAGES_PER_SLICE = 200
PAGE_USAGE_STOP = 95.0  # % of a Page's budget (usage headers) at which we leave it for later
APP_USAGE_SLOW = 90.0  # % of the app's budget at which we pause between batches


@dataclass
class Target:
    """An active Page as the store knows it before the run."""

    page_id: int
    ref: str
    graph_id: str | None
    unit_code: str | None
    last_success_at: dt.datetime | None
    insights_until: dt.date | None

    @property
    def key(self) -> str:
        return self.graph_id or self.ref


@dataclass
class Problem:
    kind: str
    message: str
    code: int | None = None
    subcode: int | None = None
    retry_after: int | None = None

    @classmethod
    def from_error(cls, exc: GraphError) -> Problem:
        if isinstance(exc, GraphAPIError):
            return cls(exc.kind, exc.reason(), exc.code, exc.subcode, exc.retry_after_minutes)
        return cls("transient", exc.reason())


@dataclass
class Outcome:
    """What one Page yielded this run (raw Graph dicts; transformed when saved)."""

    target: Target
    node: dict[str, Any] | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    posts_complete: bool = False
    posts_since: dt.datetime | None = None
    insights: list[dict[str, Any]] = field(default_factory=list)
    insights_until: dt.date | None = None
    has_insights: bool | None = None
    problems: list[Problem] = field(default_factory=list)


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

    @property
    def calls_per_page(self) -> float:
        return self.graph_calls / self.pages_total if self.pages_total else 0.0


def make_client(settings: Settings) -> GraphClient:
    """The Graph client the settings describe (sandbox or graph.facebook.com alike)."""
    return GraphClient(settings.graph_url, settings.graph_version, settings.access_token,
                       app_secret=settings.app_secret, timeout=settings.request_timeout,
                       max_retries=settings.max_retries, max_wait=settings.max_wait_seconds,
                       pool_size=settings.concurrency * 2)


def load_targets(engine: Engine) -> list[Target]:
    with transaction(engine) as session:
        rows = session.execute(
            select(Page, Unit.code).outerjoin(Unit, Unit.id == Page.unit_id)
            .where(Page.active).order_by(Unit.code, Page.ref))
        return [Target(p.id, p.ref, p.graph_id, code, p.last_success_at, p.insights_until)
                for p, code in rows]


def collect_once(settings: Settings, engine: Engine, client: GraphClient | None = None, *,
                 clock: Clock | None = None, since: dt.date | None = None,
                 trigger: str = "manual") -> RunResult:
    """Collect every active Page once. Refuses (LockBusy) while another collection runs."""
    if not settings.access_token:
        raise ValueError("no access token: set FANPULSE_ACCESS_TOKEN (see README)")
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    client = client or make_client(settings)
    owner = acquire_lock(engine)
    try:
        now = clock()
        close_abandoned_runs(engine, now)
        day = now.astimezone(settings.tz).date()
        run_id = start_run(engine, now, trigger, day)
        night = Night(settings, engine, client, run_id, now, day, since,
                      heartbeat=lambda: refresh_lock(engine, owner))
        try:
            return night.run(load_targets(engine))
        except BaseException as exc:
            # Whatever is saved stays saved; the run says it did not finish.
            finish_run(engine, run_id, clock(), status="failed", pages_total=0, pages_ok=0,
                       pages_failed=0, graph_calls=client.calls,
                       api_version=client.served_version,
                       message=client.redact(f"stopped by {type(exc).__name__}: {exc}"))
            raise
    finally:
        release_lock(engine, owner)


class Night:
    """The work of one run. Graph calls run in a thread pool; saving happens in the caller's
    thread, one transaction per Page."""

    def __init__(self, settings: Settings, engine: Engine, client: GraphClient, run_id: int,
                 now: dt.datetime, day: dt.date, since: dt.date | None,
                 heartbeat: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.run_id = run_id
        self.now = now
        self.day = day
        self.backfill_since = since
        self.heartbeat = heartbeat
        self.page_metrics = list(settings.page_metrics)
        self.post_metrics = list(settings.post_metrics)
        self.notes: list[str] = []
        self.stop_reason: Problem | None = None
        self._stop_lock = threading.Lock()
        self._calls_at_start = client.calls
        self._started = time.monotonic()
        self.failures: list[tuple[str, str]] = []

    # -- the run --------------------------------------------------------------------------------

    def run(self, targets: list[Target]) -> RunResult:
        pages_ok = pages_failed = 0
        probed = False
        # Pages go through in slices so memory stays flat however many Pages there are.
        for start in range(0, len(targets), PAGES_PER_SLICE):
            outcomes = {t.page_id: Outcome(t) for t in targets[start:start + PAGES_PER_SLICE]}
            self._read_audience(outcomes)
            ready = [o for o in outcomes.values() if o.node is not None and not o.problems]
            if not probed:
                self._probe_metrics(ready)
                probed = any(o.has_insights for o in ready)
            plans = {o.target.page_id: self._plan(o) for o in ready}
            firsts = self._run_batches(plans)
            with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
                jobs = [(o, plans.get(o.target.page_id, []), firsts) for o in outcomes.values()]
                for outcome in pool.map(lambda job: self._finish_page(*job), jobs):
                    self._save(outcome)
                    if outcome.problems:
                        pages_failed += 1
                        self.failures.extend((outcome.target.ref, p.message)
                                             for p in outcome.problems)
                    else:
                        pages_ok += 1
            self.heartbeat()
        return self._finish(len(targets), pages_ok, pages_failed)

    def _stop(self, problem: Problem) -> None:
        with self._stop_lock:
            if self.stop_reason is None:
                log.error("stopping Graph calls for this run: %s", problem.message)
                self.stop_reason = problem

    def _note_error(self, outcome: Outcome, exc: GraphError) -> None:
        problem = Problem.from_error(exc)
        last = outcome.target.last_success_at
        if isinstance(exc, NotFound) and outcome.node is None:
            problem.message = (
                "Page not found: unpublished, deleted, or no longer shared with this token"
                + (f" (last collected {last.astimezone(self.settings.tz):%d/%m/%Y})"
                   if last else " (never collected: check the id or username)"))
        if isinstance(exc, TokenError) or (isinstance(exc, ThrottledError) and exc.app_wide):
            self._stop(problem)
        outcome.problems.append(problem)

    # -- audience -------------------------------------------------------------------------------

    def _read_audience(self, outcomes: dict[int, Outcome]) -> None:
        by_key = {o.target.key: o for o in outcomes.values()}
        keys = list(by_key)
        chunks = [keys[i:i + BATCH_SIZE] for i in range(0, len(keys), BATCH_SIZE)]

        def read(chunk: list[str]) -> dict[str, Any]:
            if self.stop_reason:
                return {}
            return fetch_page_nodes(self.client, chunk)

        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            for answer in pool.map(read, chunks):
                for key, node in answer.items():
                    outcome = by_key[key]
                    if isinstance(node, GraphError):
                        self._note_error(outcome, node)
                    else:
                        outcome.node = node
                        if node.get("is_published") is False:
                            outcome.problems.append(Problem(
                                "unpublished", "Page unpublished (hidden from the public); "
                                "its audience was still recorded"))
        for outcome in outcomes.values():
            if outcome.node is None and not outcome.problems and self.stop_reason:
                outcome.problems.append(self.stop_reason)
        for outcome in outcomes.values():
            node = outcome.node
            if node is not None:
                fans = node.get("fan_count")
                outcome.has_insights = isinstance(fans, int) and fans >= MIN_FANS_FOR_INSIGHTS
                outcome.target.graph_id = str(node.get("id") or outcome.target.key)

    # -- metric lists -----------------------------------------------------------------------------

    def _probe_metrics(self, ready: list[Outcome]) -> None:
        """One cheap call per list finds out whether Meta retired a metric; only then is each
        metric asked alone. A retired metric is dropped with a warning, never failing others."""
        sample = next((o for o in ready if o.has_insights and self.client.usage.page(
            o.target.graph_id or o.target.key).percent < PAGE_USAGE_STOP), None)
        if sample is None or self.stop_reason:
            return
        graph_id = sample.target.graph_id or sample.target.key
        until = self.day + dt.timedelta(days=1)
        window = insights_params(self.page_metrics, self.day - dt.timedelta(days=2), until)
        self.page_metrics = self._checked(
            "page", self.page_metrics, f"{graph_id}/insights", window,
            lambda ms: {**window, "metric": ",".join(ms)})
        if self.post_metrics:
            listing = {"fields": f"id,insights.metric({','.join(self.post_metrics)})",
                       "limit": "1"}
            self.post_metrics = self._checked(
                "post", self.post_metrics, f"{graph_id}/{POSTS_EDGE}", listing,
                lambda ms: {"fields": f"id,insights.metric({','.join(ms)})", "limit": "1"})

    def _checked(self, what: str, metrics: list[str], path: str, params: dict[str, str],
                 params_for: Callable[[list[str]], dict[str, str]]) -> list[str]:
        if not metrics:
            return metrics
        try:
            self.client.get(path, params)
            return metrics
        except InvalidRequest as exc:
            if not exc.bad_metric:
                return metrics
        except GraphError:
            return metrics  # not a metric problem; the Page's own calls will say more
        valid: list[str] = []
        retired: list[str] = []
        for metric in metrics:
            try:
                self.client.get(path, params_for([metric]))
                valid.append(metric)
            except InvalidRequest as exc:
                (retired if exc.bad_metric else valid).append(metric)
            except GraphError:
                valid.append(metric)
        if retired:
            note = (f"{what} metric(s) {', '.join(retired)} refused by Graph as not valid "
                    "(retired by Meta?); collected the others. Remove them from the settings.")
            log.warning(note)
            self.notes.append(note)
        return valid

    # -- planning and batching ---------------------------------------------------------------

    def _posts_since(self, target: Target) -> dt.datetime:
        if self.backfill_since is not None:
            start = dt.datetime.combine(self.backfill_since, dt.time(), self.settings.tz)
            return max(start.astimezone(dt.UTC), self.now - dt.timedelta(days=MAX_HISTORY_DAYS))
        since = self.now - dt.timedelta(days=self.settings.lookback_days)
        if target.last_success_at is not None:
            # Pages missed on earlier nights catch up on the posts published meanwhile.
            since = min(since, target.last_success_at - dt.timedelta(days=1))
        return max(since, self.now - dt.timedelta(days=MAX_WINDOW_DAYS))

    def _insight_windows(self, target: Target) -> list[tuple[dt.date, dt.date]]:
        until = self.day + dt.timedelta(days=1)
        if self.backfill_since is not None:
            start = max(self.backfill_since, self.day - dt.timedelta(days=MAX_HISTORY_DAYS))
        elif target.insights_until is not None:
            start = max(target.insights_until - dt.timedelta(days=1),
                        self.day - dt.timedelta(days=MAX_WINDOW_DAYS))
        else:
            start = self.day - dt.timedelta(days=3)
        return day_windows(start, until, MAX_WINDOW_DAYS)

    def _plan(self, outcome: Outcome) -> list[tuple[str, BatchItem]]:
        target = outcome.target
        graph_id = target.graph_id or target.key
        usage = self.client.usage.page(graph_id)
        if usage.percent >= PAGE_USAGE_STOP:
            # Meta's headers say this Page's budget is (nearly) spent: calling now would only
            # extend the penalty. Its audience is in; the rest waits for the next run.
            wait = f" (regain in {usage.regain_minutes} min)" if usage.regain_minutes else ""
            outcome.problems.append(Problem(
                "throttled", f"quota (Page): Meta reports {usage.percent:.0f}% of this Page's "
                f"call budget used{wait}; posts and insights left for the next run",
                retry_after=usage.regain_minutes or None))
            return []
        since = self._posts_since(target)
        outcome.posts_since = since
        metrics = self.post_metrics if outcome.has_insights else []
        plan = [("posts", BatchItem(f"{graph_id}/{POSTS_EDGE}",
                                    listing_params(since, None, post_fields(metrics)),
                                    graph_id))]
        if outcome.has_insights and self.page_metrics:
            for start, stop in self._insight_windows(target):
                plan.append(("insights", BatchItem(
                    f"{graph_id}/insights", insights_params(self.page_metrics, start, stop),
                    graph_id)))
        return plan

    def _run_batches(self, plans: dict[int, list[tuple[str, BatchItem]]]
                     ) -> dict[int, Any]:
        """Send every first request in batches of 50; returns id(item) -> body or error."""
        items = [item for plan in plans.values() for _, item in plan]
        groups = [items[i:i + BATCH_SIZE] for i in range(0, len(items), BATCH_SIZE)]
        answers: dict[int, Any] = {}

        def send(group: list[BatchItem]) -> list[tuple[BatchItem, Any]]:
            if self.stop_reason:
                return []
            self._slow_down_for_app_usage()
            try:
                return list(zip(group, self.client.batch(group), strict=True))
            except GraphError as exc:  # the whole batch failed even after retries
                if isinstance(exc, TokenError) or (isinstance(exc, ThrottledError)
                                                   and exc.app_wide):
                    self._stop(Problem.from_error(exc))
                return [(item, exc) for item in group]

        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            for pairs in pool.map(send, groups):
                for item, answer in pairs:
                    answers[id(item)] = answer
                    if isinstance(answer, TokenError) or (
                            isinstance(answer, ThrottledError) and answer.app_wide):
                        self._stop(Problem.from_error(answer))
        return answers

    def _slow_down_for_app_usage(self) -> None:
        """As the app's usage nears Meta's limit, pause before the next batch (bounded)."""
        percent = self.client.usage.app_percent
        if percent < APP_USAGE_SLOW:
            return
        pause = min(self.settings.max_wait_seconds, 5.0 * (percent - APP_USAGE_SLOW + 1))
        log.warning("app usage at %.0f%% of Meta's limit: pausing %.0f s", percent, pause)
        self.client.sleep(pause)

    # -- per Page follow-up ---------------------------------------------------------------------

    def _retry_single(self, item: BatchItem, answer: Any) -> Any:
        """A batch item that failed transiently or was throttled gets its own retried call,
        unless Meta wants this Page left alone longer than we may wait."""
        if not isinstance(answer, GraphError):
            return answer
        if not answer.retryable or self.stop_reason:
            return answer
        if isinstance(answer, ThrottledError):
            usage = self.client.usage.page(item.page_id or "")
            wait = (answer.retry_after_minutes or usage.regain_minutes) * 60
            if wait > self.settings.max_wait_seconds:
                return answer
        try:
            return self.client.get(item.path, item.params)
        except GraphError as exc:
            return exc

    def _finish_page(self, outcome: Outcome, plan: list[tuple[str, BatchItem]],
                     answers: dict[int, Any]) -> Outcome:
        if outcome.problems and outcome.node is None:
            return outcome
        if self.stop_reason is not None and not plan:
            return outcome
        for kind, item in plan:
            if self.stop_reason is not None and id(item) not in answers:
                outcome.problems.append(self.stop_reason)
                break
            answer = self._retry_single(item, answers.get(id(item)))
            if isinstance(answer, GraphError):
                self._note_error(outcome, answer)
                continue
            try:
                if kind == "posts":
                    outcome.posts = list(self.client.paginate(item.path, item.params, answer))
                    outcome.posts_complete = True
                else:
                    outcome.insights.extend(insight_values(answer))
                    outcome.insights_until = dt.date.fromisoformat(item.params["until"])
            except GraphError as exc:
                self._note_error(outcome, exc)
        return outcome

    # -- saving -------------------------------------------------------------------------------

    def _save(self, outcome: Outcome) -> None:
        target = outcome.target
        now = self.now
        with transaction(self.engine) as session:
            page = session.get(Page, target.page_id)
            assert page is not None
            if outcome.node is not None:
                save_page_node(session, page, outcome.node)
                save_page_snapshot(session, page.id, self.day, now,
                                   audience_counts(outcome.node), self.run_id)
            if outcome.posts:
                rows = [post_row(p) for p in outcome.posts]
                ids = save_posts(session, page.id, rows, now)
                save_post_snapshots(session, [
                    {"post_id": ids[str(p["id"])], "day": self.day, "collected_at": now,
                     "run_id": self.run_id, **engagement_row(p)} for p in outcome.posts])
                save_post_insights(session, [
                    {"post_id": ids[str(p["id"])], "metric": metric, "period": period,
                     "day": self.day, "collected_at": now,
                     **value_columns(v)}
                    for p in outcome.posts for metric, period, v in post_insight_values(p)])
            if outcome.posts_complete and outcome.posts_since is not None:
                mark_posts_deleted(session, page.id, {str(p["id"]) for p in outcome.posts},
                                   outcome.posts_since, now, now)
            if outcome.insights:
                save_page_insights(session, [
                    {"page_id": page.id, "collected_at": now, **row}
                    for row in outcome.insights])
                save_follower_history(session, page.id, [
                    (row["end_time"].astimezone(self.settings.tz).date(), row["end_time"],
                     int(row["value"])) for row in outcome.insights
                    if row["metric"] == "page_follows" and row["period"] == "day"
                    and row["value"] is not None], self.run_id)
            values: dict[str, Any] = {}
            if outcome.has_insights is not None:
                values["has_insights"] = outcome.has_insights
            if outcome.insights_until is not None:
                values["insights_until"] = outcome.insights_until
            if not outcome.problems and outcome.node is not None:
                values["last_success_at"] = now
            if values:
                session.execute(update(Page).where(Page.id == page.id).values(**values))
        for problem in outcome.problems:
            record_page_error(self.engine, self.run_id, target.page_id, problem.kind,
                              problem.message, now, problem.code, problem.subcode,
                              problem.retry_after)

    def _finish(self, total: int, ok: int, failed: int) -> RunResult:
        if failed == 0:
            status = "ok"
        elif ok == 0 and total > 0:
            status = "failed"
        else:
            status = "partial"
        notes = list(self.notes)
        if self.stop_reason is not None:
            notes.insert(0, f"stopped calling Graph: {self.stop_reason.message}")
        message = "; ".join(notes) or None
        calls = self.client.calls - self._calls_at_start
        # The run's clock may be simulated (demo, tests): finish = start + real duration.
        finished = self.now + dt.timedelta(seconds=time.monotonic() - self._started)
        finish_run(self.engine, self.run_id, finished, status=status, pages_total=total,
                   pages_ok=ok, pages_failed=failed, graph_calls=calls,
                   api_version=self.client.served_version, message=message)
        return RunResult(self.run_id, status, total, ok, failed, calls,
                         self.client.served_version, message, self.failures)


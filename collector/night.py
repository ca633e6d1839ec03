"""The work of one run: send the planned batches, follow up per Page, hand each Page to saving.

Which failures stop the night and which fail one Page is decided here, from the error class
(``collector/errors.py``):

* the configured token refused (on ``/me``, ``/me/accounts``, a batch's top-level token, or an
  operation that runs with it): the calls stop, since every further call would fail alike;
  the Pages not yet collected are saved as failed with that reason;
* an app-wide throttle (4, 17): the calls stop, likewise;
* everything else belongs to one Page: a Page token refused, 190/2069032, code 10, not found,
  a Page's quota. "Posts not readable" and "insights refused" are *gaps*: the Page still
  counts as collected, with what was missing recorded (docs/schema.md, ``page_errors``).

**The listing overlaps the Pages.** ``/me/accounts`` gives 100 Pages a call, one call after
another (500 calls, a minute of waiting at 50,000 Pages). It is paged in a thread of its own
(``_Listing``): as each page of it arrives, the Pages it names are *ready* (their Page token,
tasks and audience are known) and are planned and sent at once; the Pages it never names are
ready when it ends, matched against the whole listing as before (no role: their public node is
read). The metric lists are checked on a Page of the first page of the listing. A token
refused by the listing before any Page is tried ends the run as before (``token unusable``,
every Page failed); refused later, it stops the calls like any refusal of the configured
token, and the Pages left are saved as failed with that reason.

**The pipeline.** Pages flow through the night without a barrier between fetching and saving:

* ``concurrency`` fetch threads keep that many batches in flight. Each takes a batch of up to
  50 ready items (each with its Page's own token, docs/graph-api.md on batch requests),
  sends it and files the answers. A Page's requests go out one at a time, its next only once
  the answer to the one before is in, so a Page whose budget the usage headers say is spent
  is left for the next run instead of being refused. New Pages (ready ones, in the order the
  listing made them ready) are let in only while the ready items fall short of a batch and
  fewer than ``window`` Pages are open (let in but not yet saved): the memory a night holds is
  bounded by that window, whatever the number of Pages. A thread whose batch completed
  Pages finishes them (follow-up pages of listings, single retries: ``_finish_page``) and
  puts them on a bounded queue (``QUEUE_PAGES``); when the queue is full it waits, and so
  fetching waits for saving rather than piling up Pages.
* the *caller's* thread is the one writer: it takes what is finished, up to ``SAVE_GROUP``
  Pages at a time, and saves them with ``persist.save_outcomes`` (each Page whole).

Why the writer is the caller's thread rather than a thread of its own: a Ctrl-C (and a
``KeyboardInterrupt`` raised inside saving) arrives in the main thread, where it must stop the
night and reach ``collect_once`` unchanged (run ``interrupted``, exit 130); an exception of the
database reaches the caller as itself, with no hand-over between threads; and the store is
only ever written from the thread that started the run. When the writer stops for any reason
it tells the fetch threads to stop, waits for them (a request in flight is let finish), and
the exception goes on. An unexpected error in a fetch thread stops the others and is raised
in the caller's thread, as the same exception. Since a Page is saved whole or not at all, a
killed or interrupted night leaves whole Pages only.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from fanpulse.collector.access import (
    LEVELS,
    Account,
    TokenInfo,
    UnusableToken,
    accounts_told_to,
    by_username,
    check_token,
    classify,
    list_accounts,
    match_account,
)
from fanpulse.collector.errors import (
    GraphAPIError,
    GraphError,
    InvalidRequest,
    NoInsights,
    NotFound,
    PermissionDenied,
    ThrottledError,
    TokenError,
    TransientError,
)
from fanpulse.collector.graph import BatchItem, GraphClient
from fanpulse.collector.insights import insight_values, insights_params
from fanpulse.collector.outcome import (
    FAILED,
    GAP,
    Deferred,
    Outcome,
    Problem,
    RunResult,
    Target,
    access_summary,
)
from fanpulse.collector.persist import save_outcomes
from fanpulse.collector.plan import INSIGHTS, NODE, POSTS, NightPlan, plan_page
from fanpulse.collector.posts import POSTS_EDGE, listing_params, post_fields
from fanpulse.config.settings import Settings
from fanpulse.storage.runs import finish_run

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # items per Graph batch request, Meta's limit (docs/graph-api.md)
PROBE_PAGES = 200  # the metric lists are checked on the first of these Pages with a token
SAVE_GROUP = 50  # Pages per call of save_outcomes, at most
QUEUE_PAGES = 100  # finished Pages waiting for the writer, at most
PROGRESS_EVERY = 200  # Pages saved between two progress reports
PAGE_USAGE_STOP = 95.0  # % of a Page's budget (usage headers) at which we leave it for later
APP_USAGE_SLOW = 90.0  # % of the app's budget at which we pause between batches
RETRY_BUDGET = 100  # retries per run, plus one per Page
# Told every PROGRESS_EVERY Pages saved and at the end: (Pages done, Pages in all,
# Graph calls so far).
Progress = Callable[[int, int, int], None]


def window(concurrency: int) -> int:
    """How many Pages may be open (let in, not yet saved) at once: enough for ``concurrency``
    full batches in flight and as many ready behind them, plus the queue and a group being
    saved."""
    return concurrency * BATCH_SIZE * 2 + QUEUE_PAGES + SAVE_GROUP


@dataclass
class PipelineStats:
    """What the pipeline did, for tests and benchmarks (not stored)."""

    batches: int = 0  # batch requests sent
    in_flight: int = 0  # batches being sent right now
    max_in_flight: int = 0
    groups: int = 0  # calls of save_outcomes
    groups_while_fetching: int = 0  # ... begun while a batch was in flight
    handed: int = 0  # Pages put on the queue for the writer
    saved: int = 0  # Pages the writer saved
    max_unsaved: int = 0  # most Pages finished and not yet saved at once
    max_open: int = 0  # most Pages let in and not yet saved at once


class Night:
    """The work of one run."""

    def __init__(self, settings: Settings, engine: Engine, client: GraphClient, run_id: int,
                 now: dt.datetime, day: dt.date, since: dt.date | None,
                 progress: Progress | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.client = client
        self.run_id = run_id
        self.now = now
        self.day = day
        self.progress = progress
        self.plan = NightPlan(now=now, day=day, tz=settings.tz,
                              lookback_days=settings.lookback_days,
                              recheck=dt.timedelta(days=settings.insights_recheck_days),
                              page_metrics=list(settings.page_metrics),
                              post_metrics=list(settings.post_metrics), backfill_since=since)
        self.info: TokenInfo | None = None
        self.accounts: dict[str, Account] = {}
        self.notes: list[str] = []
        self.stop_reason: Problem | None = None
        self._stop_lock = threading.Lock()
        self._calls_at_start = client.calls
        self._started = time.monotonic()
        self.failures: list[tuple[str, str]] = []
        self.levels: dict[str, int] = dict.fromkeys(LEVELS, 0)
        self.escaped = 0  # values with characters no database stores, kept escaped
        self.stats = PipelineStats()

    # -- the run --------------------------------------------------------------------------------

    def run(self, targets: list[Target]) -> RunResult:
        try:
            self.info = check_token(self.client, self.settings.app_id, self.settings.app_secret,
                                    self.now)
        except UnusableToken as exc:
            return self._unusable(len(targets), exc)
        except GraphError as exc:  # Facebook unreachable or refusing the app: try tomorrow
            return self._unreachable(len(targets), exc)
        lock = threading.Condition()
        listing = _Listing(self, self.info, targets, lock)
        try:
            # The Pages of the listing's first page are ready (or it ended): check the metric
            # lists on one of them while the listing goes on, then collect.
            with lock:
                while not (listing.ready or listing.ended):
                    lock.wait()
                first = list(listing.ready)[:PROBE_PAGES]
            self.plan.read_insights = self.info.read_insights
            self.notes.extend(self.info.warnings)
            self._probe_metrics(first)
            with lock:
                failure = listing.failure
                listing.collecting = failure is None  # later failures stop the calls
            if listing.crash is not None:
                raise listing.crash
            if failure is not None:  # the token failed before any Page was tried
                listing.join()
                if isinstance(failure, UnusableToken):
                    return self._unusable(len(targets), failure)
                return self._unreachable(len(targets), failure)
            # One retry budget for the run: a bad night ends with its failures recorded.
            self.client.retry_budget = RETRY_BUDGET + len(targets)
            ok, failed = _Pipeline(self, listing, lock).run()
        finally:
            listing.stop()
        if listing.crash is not None:
            raise listing.crash
        message = (self._unusable_message(listing.failure)
                   if isinstance(listing.failure, UnusableToken) else None)
        return self._finish(len(targets), ok, failed, message=message)

    def _unusable_message(self, exc: UnusableToken) -> str:
        when = self.now.astimezone(self.settings.tz).strftime("%d/%m/%Y %H:%M")
        return self.client.redact(f"token unusable ({when}): {exc}")

    def _unusable(self, total: int, exc: UnusableToken) -> RunResult:
        """The token cannot work: the run ends before any Page is tried, each failed."""
        message = self._unusable_message(exc)
        log.error(message)
        return self._finish(total, 0, total, message=message)

    def _unreachable(self, total: int, exc: GraphError) -> RunResult:
        message = self.client.redact(f"stopped calling Graph: {exc.reason()}")
        log.error(message)
        return self._finish(total, 0, total, message=message)

    def _count(self, outcome: Outcome) -> bool:
        """Tally a saved Page; True when it counts as collected."""
        if outcome.access is not None:
            self.levels[outcome.access.level] += 1
        if outcome.failed:
            self.failures.extend((outcome.target.ref, p.message)
                                 for p in outcome.problems if p.severity == FAILED)
            return False
        return True

    def _outcome(self, target: Target, account: Account | None) -> Outcome:
        """A Page's starting point: its audience and Page token from /me/accounts, if listed."""
        outcome = Outcome(target, account)
        if account is not None:
            target.state.key = account.id or target.key
            if "followers_count" in account.node or "fan_count" in account.node:
                self._take_node(outcome, account.node)
        return outcome

    def _take_node(self, outcome: Outcome, node: dict[str, Any]) -> None:
        outcome.node = node
        outcome.found = True
        outcome.target.state.key = str(node.get("id") or outcome.target.key)
        if node.get("is_published") is False:
            outcome.problems.append(Problem(
                "unpublished", "Page unpublished (hidden from the public); its audience was "
                "still recorded"))

    def _stop(self, problem: Problem) -> None:
        with self._stop_lock:
            if self.stop_reason is None:
                log.error("stopping Graph calls for this run: %s", problem.message)
                self.stop_reason = problem

    def _main_token(self, item: BatchItem) -> bool:
        """Whether ``item`` ran with the configured token (whose refusal stops the night)
        rather than a Page's own token (whose refusal fails that Page)."""
        return item.token in (None, self.client.token_value())

    def _note_error(self, outcome: Outcome, exc: GraphError, item: BatchItem | None) -> None:
        problem = Problem.from_error(exc)
        if isinstance(exc, Deferred):
            outcome.problems.append(problem)
            return
        own_token = item is not None and not self._main_token(item)
        if isinstance(exc, TokenError) and own_token:
            # A Page's own token refused: that Page's problem, asked for anew next night.
            problem.message = (f"the Page's own access token was refused ({exc.reason()}); "
                               "fanpulse asks /me/accounts for a new one next night")
        elif isinstance(exc, TokenError) or (isinstance(exc, ThrottledError) and exc.app_wide):
            self._stop(problem)
        outcome.problems.append(problem)

    # -- metric lists -----------------------------------------------------------------------------

    def _probe_metrics(self, ready: list[tuple[Target, Account | None]]) -> None:
        """One cheap call per list finds out whether Meta retired a metric; only then is each
        metric asked alone. A retired metric is dropped with a warning, never failing others.
        The sample is the first ready Page with a Page token and insights not refused."""
        if not self.plan.read_insights or self.stop_reason:
            return
        sample = next((a for t, a in ready if a is not None and a.token
                       and t.state.insights_state != "refused"
                       and self.client.usage.page(a.id).percent < PAGE_USAGE_STOP), None)
        if sample is None:
            return
        key, token = sample.id, sample.token
        window = insights_params(self.plan.page_metrics, self.day - dt.timedelta(days=2),
                                 self.day + dt.timedelta(days=1))
        self.plan.page_metrics = self._checked(
            "page", list(self.plan.page_metrics), f"{key}/insights", token,
            lambda ms: {**window, "metric": ",".join(ms)})
        if self.plan.post_metrics:
            self.plan.post_metrics = self._checked(
                "post", list(self.plan.post_metrics), f"{key}/{POSTS_EDGE}", token,
                lambda ms: {"fields": f"id,insights.metric({','.join(ms)})", "limit": "1"})

    def _checked(self, what: str, metrics: list[str], path: str, token: str | None,
                 params_for: Callable[[list[str]], dict[str, str]]) -> list[str]:
        page_id = path.split("/", 1)[0]
        if not metrics or self.client.usage.page(page_id).percent >= PAGE_USAGE_STOP:
            return metrics  # nothing to check, or the sample Page's budget is spent
        try:
            self.client.get(path, params_for(metrics), token=token)
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
                self.client.get(path, params_for([metric]), token=token)
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

    def _plan(self, outcome: Outcome) -> list[tuple[str, BatchItem]]:
        plan = plan_page(outcome.target.state, self.plan, page_token=outcome.token,
                         need_node=outcome.node is None)
        for kind, item in plan:
            if kind == POSTS:
                outcome.posts_since = dt.datetime.fromtimestamp(int(item.params["since"]),
                                                                dt.UTC)
        return plan

    def _deferred(self, item: BatchItem, what: str) -> Deferred | None:
        """Leave ``item`` for the next run when the Page's budget is (nearly) spent."""
        usage = self.client.usage.page(item.page_id or "")
        if item.page_id is None or usage.percent < PAGE_USAGE_STOP:
            return None
        return Deferred(usage.percent, usage.regain_minutes, what)

    def _send(self, group: list[BatchItem]) -> list[tuple[BatchItem, Any]]:
        """Send one batch (up to 50 items, each with its Page's token); each item with its
        body or error. Nothing is sent once the night has stopped calling."""
        if self.stop_reason:
            return []
        self._slow_down_for_app_usage()
        try:
            pairs = list(zip(group, self.client.batch(group), strict=True))
        except GraphError as exc:  # the whole batch failed even after retries
            if isinstance(exc, TokenError) or (isinstance(exc, ThrottledError)
                                               and exc.app_wide):
                self._stop(Problem.from_error(exc))
            return [(item, exc) for item in group]
        for item, answer in pairs:
            if (isinstance(answer, TokenError) and self._main_token(item)) or (
                    isinstance(answer, ThrottledError) and answer.app_wide):
                self._stop(Problem.from_error(answer))
        return pairs

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
        return self._get(item)

    def _get(self, item: BatchItem) -> Any:
        deferred = self._deferred(item, "the rest of this Page")
        if deferred is not None:
            return deferred
        try:
            return self.client.get(item.path, item.params, token=item.token)
        except GraphError as exc:
            return exc

    def _finish_page(self, outcome: Outcome, plan: list[tuple[str, BatchItem]],
                     answers: dict[int, Any]) -> Outcome:
        outcome.latest_until = max((dt.date.fromisoformat(i.params["until"])
                                    for k, i in plan if k == INSIGHTS), default=None)
        for index, (kind, item) in enumerate(plan):
            if self.stop_reason is not None and id(item) not in answers:
                outcome.problems.append(self.stop_reason)
                for later_kind, later in plan[index:]:
                    if later_kind == INSIGHTS:
                        self._window_failed(outcome, later, "not sent: the run stopped early")
                break
            answer = self._retry_single(item, answers.get(id(item)))
            if kind == NODE:
                self._node_answer(outcome, item, answer)
            elif not outcome.found:
                continue  # the Page itself could not be read; its edges say nothing more
            elif kind == POSTS:
                self._posts_answer(outcome, item, answer)
            elif kind == INSIGHTS:
                self._insights_answer(outcome, item, answer)
        if outcome.node is None and not outcome.problems and self.stop_reason:
            outcome.problems.append(self.stop_reason)
        if self.info is not None and (outcome.node is not None or not outcome.found):
            outcome.access = classify(
                found=outcome.found, has_token=outcome.token is not None,
                tasks=outcome.account.tasks if outcome.account else (),
                posts_readable=outcome.posts_readable, insights_state=outcome.insights_state,
                read_insights=self.info.read_insights)
        return outcome

    def _node_answer(self, outcome: Outcome, item: BatchItem, answer: Any) -> None:
        if isinstance(answer, NotFound):
            outcome.found = False
            last = outcome.target.state.last_success_at
            problem = Problem.from_error(answer)
            problem.kind = "not_found"
            problem.message = (
                "Page not found: unpublished, deleted, or hidden from this token"
                + (f" (last collected {last.astimezone(self.settings.tz):%d/%m/%Y})"
                   if last else " (never collected: check the id or username)"))
            outcome.problems.append(problem)
        elif isinstance(answer, GraphError):
            self._note_error(outcome, answer, item)
        elif isinstance(answer, dict):
            self._take_node(outcome, answer)

    def _posts_answer(self, outcome: Outcome, item: BatchItem, answer: Any) -> None:
        if isinstance(answer, PermissionDenied) and "insights.metric(" in item.params["fields"]:
            # Post insights refused (no Analyze task, no read_insights): read the posts
            # without them rather than lose posts and engagement too.
            self._insights_refused(outcome, answer)
            item = BatchItem(item.path, listing_params(
                dt.datetime.fromtimestamp(int(item.params["since"]), dt.UTC), None,
                post_fields(())), item.page_id, item.token)
            answer = self._get(item)
        if isinstance(answer, PermissionDenied):
            outcome.posts_readable = False
            outcome.posts_checked = True
            outcome.problems.append(Problem(
                "posts_unreadable", "posts not readable: " + answer.reason(), answer.code,
                answer.subcode, severity=GAP))
            return
        if isinstance(answer, GraphError):
            self._note_error(outcome, answer, item)
            return
        outcome.posts_readable = True
        outcome.posts_checked = True
        try:
            for post in self.client.paginate(item.path, item.params, answer, token=item.token,
                                             before_next=lambda: self._raise_if_spent(item)):
                outcome.posts.append(post)
            outcome.posts_complete = True
        except GraphError as exc:  # the posts read so far are kept; the rest next night
            self._note_error(outcome, exc, item)

    def _raise_if_spent(self, item: BatchItem) -> None:
        deferred = self._deferred(item, "older posts")
        if deferred is not None:
            raise deferred

    def _window_failed(self, outcome: Outcome, item: BatchItem, why: str) -> None:
        """Remember a failed window (storage/backlog), unless it is the nightly one, which
        the next night asks for anyway (insights_until moves only on success)."""
        since = dt.date.fromisoformat(item.params["since"])
        until = dt.date.fromisoformat(item.params["until"])
        if outcome.latest_until is None or until < outcome.latest_until:
            outcome.windows_failed.append((since, until, self.client.redact(why)[:500]))

    def _insights_in_parts(self, item: BatchItem, depth: int) -> Any:
        """The window of ``item`` asked in two halves (and halves of those, three levels at
        most); the answers joined as one, or the first error."""
        since = dt.date.fromisoformat(item.params["since"])
        until = dt.date.fromisoformat(item.params["until"])
        if depth >= 3 or (until - since).days < 2:
            return TransientError("Facebook asked for less data even for a short window",
                                  code=1)
        middle = since + (until - since) // 2
        data: list[Any] = []
        for start, stop in ((since, middle), (middle, until)):
            part = BatchItem(item.path, {**item.params, "since": start.isoformat(),
                                         "until": stop.isoformat()}, item.page_id, item.token)
            answer = self._get(part)
            if isinstance(answer, TransientError) and answer.code == 1:
                answer = self._insights_in_parts(part, depth + 1)
            if isinstance(answer, GraphError):
                return answer
            data.extend(answer.get("data", []) if isinstance(answer, dict) else [])
        return {"data": data}

    def _insights_refused(self, outcome: Outcome, exc: GraphAPIError) -> None:
        outcome.insights_checked = True
        if outcome.insights_state == "refused":
            return
        outcome.insights_state = "refused"
        outcome.problems.append(Problem(
            "insights_refused", "insights not available: " + exc.reason(), exc.code,
            exc.subcode, severity=GAP))

    def _insights_answer(self, outcome: Outcome, item: BatchItem, answer: Any) -> None:
        if isinstance(answer, TransientError) and answer.code == 1:
            # "Please reduce the amount of data": ask for the window in halves.
            answer = self._insights_in_parts(item, depth=0)
        if isinstance(answer, NoInsights):
            outcome.insights_checked = True
            outcome.insights_state = "available" if outcome.insights else "none"
            return  # 2874008: Meta says it keeps none for this Page
        if isinstance(answer, PermissionDenied):
            self._insights_refused(outcome, answer)
            return
        if isinstance(answer, GraphError):
            self._note_error(outcome, answer, item)
            self._window_failed(outcome, item, answer.reason())
            return
        outcome.insights.extend(insight_values(answer))
        until = dt.date.fromisoformat(item.params["until"])
        outcome.windows_ok.append((dt.date.fromisoformat(item.params["since"]), until))
        outcome.insights_until = max(until, outcome.insights_until or until)
        outcome.insights_checked = True
        # Meta answered with nothing for a Page that never had insights: it has none (a small
        # Page); asked again after insights_recheck_days, never inferred from its likes. An
        # empty short window of a Page known to have them (days not complete yet) says nothing.
        if outcome.insights:
            outcome.insights_state = "available"
        elif outcome.insights_state != "available":
            outcome.insights_state = "none"

    # -- the end --------------------------------------------------------------------------------

    def _finish(self, total: int, ok: int, failed: int, message: str | None = None
                ) -> RunResult:
        if failed == 0:
            status = "ok"
        elif ok == 0 and total > 0:
            status = "failed"
        else:
            status = "partial"
        notes = [message] if message else []
        if self.stop_reason is not None:
            notes.append(f"stopped calling Graph: {self.stop_reason.message}")
        notes.extend(self.notes)
        if self.escaped:
            notes.append(f"{self.escaped} value(s) from Facebook held characters a database "
                         "cannot store (NUL, lone surrogates); they were kept escaped")
        if any(self.levels.values()):
            notes.append("access: " + access_summary(self.levels))
        text = "; ".join(notes) or None
        calls = self.client.calls - self._calls_at_start
        # The run's clock may be simulated (demo, tests): finish = start + real duration.
        finished = self.now + dt.timedelta(seconds=time.monotonic() - self._started)
        finish_run(self.engine, self.run_id, finished, status=status, pages_total=total,
                   pages_ok=ok, pages_failed=failed, graph_calls=calls,
                   api_version=self.client.served_version, message=text)
        return RunResult(self.run_id, status, total, ok, failed, calls,
                         self.client.served_version, text, self.failures,
                         {k: v for k, v in self.levels.items() if v}, self.info,
                         self.stop_reason is not None or (failed == total and total > 0))


@dataclass(eq=False)
class _Open:
    """A Page let into the pipeline: what it yielded so far, its plan, the answers to the
    requests sent, and the step of the plan it is at."""

    outcome: Outcome
    plan: list[tuple[str, BatchItem]]
    answers: dict[int, Any] = field(default_factory=dict)
    step: int = 0


_DONE = object()  # put on the queue by the last fetch thread to end


class _ListingStopped(Exception):
    """Raised inside the listing to end it early (the night is over)."""


class _Listing:
    """``/me/accounts`` paged in a thread of its own while the night collects.

    Each page of accounts that arrives makes the Pages it names *ready*: matched by their Graph
    id, or, for a Page the store knows no id of, by its reference as id or username, the same
    account ``match_account`` would pick from the whole listing. When the listing ends every
    other Page is ready too, matched against the whole listing as before (not listed: no role,
    its public node is read). ``ready`` and ``ended`` are guarded by the pipeline's lock,
    which is notified as Pages become ready.

    A listing that fails (the token refused: ``UnusableToken``; Graph unreachable) before any
    Page is collected ends the run as before (``Night.run``); once collecting, it stops the
    calls and the Pages left fail with that reason, so every Page is still recorded."""

    def __init__(self, night: Night, info: TokenInfo, targets: list[Target],
                 lock: threading.Condition) -> None:
        self.night = night
        self.info = info
        self.targets = targets
        self.lock = lock
        self.ready: deque[tuple[Target, Account | None]] = deque()
        self.ended = False
        self.collecting = False  # set once the pipeline runs: failures then stop the calls
        self.failure: UnusableToken | GraphError | None = None
        self.crash: BaseException | None = None
        self._matched = [False] * len(targets)
        # Where an arriving account finds its Pages: by Graph id, else by the reference used
        # as id or, unless it is digits (an id), as username.
        self._by_id: dict[str, list[int]] = {}
        self._by_username: dict[str, list[int]] = {}
        for index, target in enumerate(targets):
            self._by_id.setdefault(target.graph_id or target.ref, []).append(index)
            if not target.graph_id and not target.ref.isdigit():
                self._by_username.setdefault(target.ref.lower(), []).append(index)
        self._seen: dict[str, Account] = {}  # what arrived, for a listing that fails
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._list, name="fanpulse-listing",
                                        daemon=True)
        self._thread.start()

    def _list(self) -> None:
        accounts: dict[str, Account] | None = None
        try:
            with accounts_told_to(self._arrived):
                accounts = list_accounts(self.night.client, self.info)
        except _ListingStopped:
            pass
        except (UnusableToken, GraphError) as exc:
            self._failed(exc)
        except BaseException as exc:  # a fault of ours: raised again by Night.run
            self.crash = exc
            self.night._stop(Problem("listing", f"the Page listing failed: {exc!r}"))
        finally:
            self._end(accounts if accounts is not None else self._seen)

    def _arrived(self, accounts: list[Account]) -> None:
        if self._stopping.is_set():
            raise _ListingStopped
        with self.lock:
            for account in accounts:
                self._seen.setdefault(account.id, account)
                username = str(account.node.get("username") or "").lower()
                for index in [*self._by_id.get(account.id, ()),
                              *self._by_username.get(username, ())]:
                    if not self._matched[index]:
                        self._matched[index] = True
                        self.ready.append((self.targets[index], account))
            self.lock.notify_all()

    def _failed(self, exc: UnusableToken | GraphError) -> None:
        with self.lock:
            self.failure = exc
            collecting = self.collecting
        if collecting:
            if isinstance(exc, UnusableToken):
                self.night._stop(Problem("token", str(exc)))
            else:
                self.night._stop(Problem.from_error(exc))

    def _end(self, accounts: dict[str, Account]) -> None:
        """Every Page not yet ready, matched against the whole listing, in the store's order."""
        usernames = by_username(accounts)
        with self.lock:
            self.night.accounts = accounts
            for index, target in enumerate(self.targets):
                if not self._matched[index]:
                    self._matched[index] = True
                    self.ready.append((target, match_account(
                        accounts, target.graph_id, target.ref, usernames)))
            self.ended = True
            self.lock.notify_all()

    def stop(self) -> None:
        """End the listing (if still paging) and wait for its thread."""
        self._stopping.set()
        self.join()

    def join(self) -> None:
        self._thread.join()


class _Pipeline:
    """One night's Pages from planning to saving; see the module docstring."""

    def __init__(self, night: Night, listing: _Listing, lock: threading.Condition) -> None:
        self.night = night
        self.listing = listing  # where the Pages come from, as they are ready
        self.total = len(listing.targets)
        self.window = window(night.settings.concurrency)
        self.lock = lock
        self.follow: deque[tuple[_Open, BatchItem]] = deque()  # later requests of open Pages
        self.fresh: deque[tuple[_Open, BatchItem]] = deque()  # first requests of new Pages
        self.open = 0
        self.finished: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_PAGES)
        self.abort = threading.Event()  # the fetch threads are to stop
        self.writer_gone = threading.Event()  # the writer takes nothing more
        self.error: BaseException | None = None
        self.threads_left = 0

    # -- the writer (the caller's thread) --------------------------------------------------------

    def run(self) -> tuple[int, int]:
        """Fetch and save every Page; returns (Pages collected, Pages failed)."""
        night, stats = self.night, self.night.stats
        ok = failed = reported = 0
        if self.total == 0:
            return 0, 0
        threads = [threading.Thread(target=self._fetch, name=f"fanpulse-fetch-{i}",
                                    daemon=True)
                   for i in range(night.settings.concurrency)]
        self.threads_left = len(threads)
        for thread in threads:
            thread.start()
        try:
            ended = False
            while not ended:
                group: list[Outcome] = []
                item = self.finished.get()
                while item is not _DONE:
                    group.append(item)
                    if len(group) >= SAVE_GROUP:
                        break
                    try:
                        item = self.finished.get_nowait()
                    except queue.Empty:
                        break
                ended = item is _DONE
                if self.error is not None:
                    raise self.error
                if not group:
                    continue
                with self.lock:
                    stats.groups += 1
                    stats.groups_while_fetching += stats.in_flight > 0
                night.escaped += save_outcomes(night.engine, group, night.run_id, night.now,
                                               night.day, night.settings.tz,
                                               night.client.redact)
                for outcome in group:
                    if night._count(outcome):
                        ok += 1
                    else:
                        failed += 1
                with self.lock:
                    self.open -= len(group)
                    stats.saved += len(group)
                    self.lock.notify_all()
                del group
                if night.progress is not None and (
                        ok + failed - reported >= PROGRESS_EVERY or ok + failed == self.total):
                    reported = ok + failed
                    night.progress(reported, self.total, night.client.calls
                                   - night._calls_at_start)
            if self.error is not None:
                raise self.error
        finally:
            self.writer_gone.set()
            self.abort.set()
            with self.lock:
                self.lock.notify_all()
            for thread in threads:
                thread.join()
        return ok, failed

    # -- the fetch threads ---------------------------------------------------------------------

    def _fetch(self) -> None:
        try:
            while not self.abort.is_set():
                work = self._next_batch()
                if work is None:
                    return
                batch, done = work
                if batch:
                    try:
                        pairs = self.night._send([item for _page, item in batch])
                    except BaseException:
                        with self.lock:
                            self.night.stats.in_flight -= 1
                        raise
                    done += self._file(batch, pairs)
                for page in done:
                    outcome = self.night._finish_page(page.outcome, page.plan, page.answers)
                    page.answers.clear()
                    self._hand_over(outcome)
        except BaseException as exc:  # raised again in the writer's thread
            with self.lock:
                if self.error is None:
                    self.error = exc
            self.abort.set()
        finally:
            with self.lock:
                self.threads_left -= 1
                last = self.threads_left == 0
                self.lock.notify_all()
            if last:
                self._put(_DONE)

    def _next_batch(self) -> tuple[list[tuple[_Open, BatchItem]], list[_Open]] | None:
        """Up to BATCH_SIZE ready items, and the Pages that need no request (any more);
        None when nothing is left to send."""
        stats = self.night.stats
        with self.lock:
            while not self.abort.is_set():
                done: list[_Open] = []
                while (len(self.follow) + len(self.fresh) < BATCH_SIZE
                       and self.listing.ready and self.open < self.window):
                    page = self._let_in()
                    item = self._next_item(page)
                    if item is None:
                        done.append(page)
                    else:
                        self.fresh.append((page, item))
                batch: list[tuple[_Open, BatchItem]] = []
                for ready in (self.follow, self.fresh):
                    while ready and len(batch) < BATCH_SIZE:
                        batch.append(ready.popleft())
                if batch:
                    stats.batches += 1
                    stats.in_flight += 1
                    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
                if batch or done:
                    return batch, done
                if (self.listing.ended and not self.listing.ready
                        and stats.in_flight == 0):
                    return None  # every Page let in and nothing left to send
                self.lock.wait()
        return None

    def _let_in(self) -> _Open:
        """The next ready Page, planned (called with the lock held)."""
        outcome = self.night._outcome(*self.listing.ready.popleft())
        self.open += 1
        self.night.stats.max_open = max(self.night.stats.max_open, self.open)
        return _Open(outcome, self.night._plan(outcome))

    def _next_item(self, page: _Open) -> BatchItem | None:
        """The Page's next request to send, or None when it has none left (called with the
        lock held). A request whose Page's budget is spent is answered "deferred" here; once
        the night has stopped calling, nothing more is sent."""
        night = self.night
        while page.step < len(page.plan):
            kind, item = page.plan[page.step]
            deferred = night._deferred(item, f"{kind} and what follows")
            if deferred is not None:
                page.answers[id(item)] = deferred
            elif night.stop_reason is None:
                return item
            page.step += 1
        return None

    def _file(self, batch: list[tuple[_Open, BatchItem]],
              pairs: list[tuple[BatchItem, Any]]) -> list[_Open]:
        """File a batch's answers; queue each Page's next request. Returns the Pages with
        nothing left to send."""
        answered = {id(item): answer for item, answer in pairs}
        done: list[_Open] = []
        with self.lock:
            self.night.stats.in_flight -= 1  # with its follow-ups queued in the same breath
            for page, item in batch:
                if id(item) in answered:
                    page.answers[id(item)] = answered[id(item)]
                page.step += 1
                following = self._next_item(page)
                if following is None:
                    done.append(page)
                else:
                    self.follow.append((page, following))
            self.lock.notify_all()
        return done

    def _hand_over(self, outcome: Outcome) -> None:
        self._put(outcome)
        stats = self.night.stats
        with self.lock:
            stats.handed += 1
            stats.max_unsaved = max(stats.max_unsaved, stats.handed - stats.saved)

    def _put(self, item: Any) -> None:
        """Put on the writer's queue, waiting while it is full. Once the night is stopping a
        finished Page is dropped (it is not saved: the night ends with an error); the end
        mark is dropped only when the writer has gone."""
        while True:
            try:
                self.finished.put(item, timeout=0.1)
                return
            except queue.Full:
                if self.writer_gone.is_set() or (self.abort.is_set() and item is not _DONE):
                    return

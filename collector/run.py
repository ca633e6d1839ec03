"""One collection run: check the token, list the Pages it reaches, collect each Page, save.

The night reads as four steps, each a module you can name:

1. **access** (``collector/access.py``): what the configured token is, and one paged
   ``/me/accounts`` listing, in a thread of its own, that gives every Page with a role its
   audience, its own Page token and its tasks. A token that cannot work at all ends the run
   before any Page is tried; refused later in the listing, it stops the calls like any
   refusal of the configured token.
2. **plan** (``collector/plan.py``): per Page the batch operations for the night, each with
   that Page's own token (posts with engagement and post insights; Page insights); Pages
   without a role get their public node read.
3. **send** (``collector/night.py``): batches of 50 with ``concurrency`` in flight, one
   retry policy, follow-up pages of long listings; what each Page yielded is an ``Outcome``
   (``collector/outcome.py``). Pages are sent as soon as the listing has named them; the
   Pages it never names once it ends. Sending never waits for saving: finished Pages go on
   a bounded queue that the caller's thread empties.
4. **save** (``collector/persist.py``): a group of finished Pages per transaction, one
   upsert statement per table for all the group's rows, each Page whole (a refused Page is
   saved alone and fails alone).

After the night: the roll-up totals are brought up to date (storage/rollups.py) and the
campaigns' carries worked out again from the posts now stored (storage/campaigns.py).

A failing Page is recorded with its reason and the run carries on; only a failure of the
configured token itself, or an app-wide throttle, stops the calls.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from fanpulse.collector.graph import GraphClient
from fanpulse.collector.night import Night, Progress
from fanpulse.collector.outcome import RunResult, Target
from fanpulse.collector.plan import PageState, posts_since
from fanpulse.config.campaigns import CampaignsFileError
from fanpulse.config.settings import Settings
from fanpulse.storage.backlog import pending_windows
from fanpulse.storage.campaigns import describe, detect_from_file
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, Unit
from fanpulse.storage.rollups import refresh_after_writes
from fanpulse.storage.runs import (
    Heartbeat,
    close_abandoned_runs,
    finish_run,
    record_token,
    release_lock,
    start_run,
    take_lock,
)

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

__all__ = ["NothingToCollect", "RunResult", "Target", "collect_once", "load_targets",
           "make_client"]


def make_client(settings: Settings) -> GraphClient:
    """The Graph client the settings describe (sandbox or graph.facebook.com alike)."""
    return GraphClient(settings.graph_url, settings.graph_version, settings.access_token,
                       app_secret=settings.app_secret, timeout=settings.request_timeout,
                       max_retries=settings.max_retries, max_wait=settings.max_wait_seconds,
                       pool_size=settings.concurrency * 2)


def load_targets(engine: Engine) -> list[Target]:
    """Every active Page with the state the store keeps for it."""
    with transaction(engine) as session:
        backlog = pending_windows(session)
        rows = session.execute(
            select(Page, Unit.code).outerjoin(Unit, Unit.id == Page.unit_id)
            .where(Page.active).order_by(Unit.code, Page.ref))
        return [Target(p.id, p.ref, code, PageState(
            key=p.graph_id or p.ref, last_success_at=p.last_success_at,
            insights_until=p.insights_until, posts_readable=p.posts_readable,
            posts_checked_at=p.posts_checked_at, insights_state=p.insights_state,
            insights_checked_at=p.insights_checked_at, backlog=backlog.get(p.id, [])),
            p.graph_id) for p, code in rows]


class NothingToCollect(ValueError):
    """No active Page in the store: the run would succeed while collecting nothing."""


def detect_after_collection(settings: Settings, engine: Engine, now: dt.datetime,
                            touched_since: dt.datetime) -> None:
    """The campaigns' seeds, matches and carries from the posts now stored
    (storage/campaigns.py), for the campaigns the night may have changed (those whose carry
    window reaches ``touched_since``, the start of the night's earliest posts listing, and
    those new or edited in the file). Never fails the collection: a refused campaigns file
    or a database error is logged, and the campaigns keep what the last detection stored."""
    try:
        for found in detect_from_file(engine, settings.campaigns_file, settings.tz, now,
                                      touched_since=touched_since):
            log.info("campaign %s", describe(found))
    except CampaignsFileError as exc:
        log.error("campaigns not updated: the campaigns file was refused (fanpulse campaigns "
                  "check %s): %s", exc.path, "; ".join(exc.problems))
    except (SQLAlchemyError, OSError) as exc:
        log.error("campaigns not updated: %s: %s", type(exc).__name__, exc)


def collect_once(settings: Settings, engine: Engine, client: GraphClient | None = None, *,
                 clock: Clock | None = None, since: dt.date | None = None,
                 trigger: str = "manual", progress: Progress | None = None,
                 notes: list[str] | None = None) -> RunResult:
    """Collect every active Page once. Refuses (LockBusy) while another collection runs,
    (NothingToCollect) when no Page is active, (ValueError) a backfill date in the future."""
    if not settings.access_token:
        raise ValueError("no access token: set FANPULSE_ACCESS_TOKEN (see README)")
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    today = clock().astimezone(settings.tz).date()
    if since is not None and since > today:
        raise ValueError(f"--since {since:%d/%m/%Y} is in the future (today is "
                         f"{today:%d/%m/%Y}); give the first day to backfill from")
    client = client or make_client(settings)
    owner, takeover = take_lock(engine)
    try:
        # Read under the lock, once: the state another collection may just have written.
        targets = load_targets(engine)
        if not targets:
            raise NothingToCollect(
                "no active Page to collect: import a units file whose units name their Pages "
                "(fanpulse units import FILE; `fanpulse units list` shows what is there)")
        now = clock()
        close_abandoned_runs(engine, now)
        day = now.astimezone(settings.tz).date()
        run_id = start_run(engine, now, trigger, day)
        night = Night(settings, engine, client, run_id, now, day, since, progress=progress)
        night.notes.extend(notes or [])
        if takeover:
            night.notes.append(takeover)
        try:
            with Heartbeat(engine, owner, run_id):
                result = night.run(targets)
            if result.token is not None:
                record_token(engine, run_id, result.token.expires_at, result.token.permissions)
            refresh_after_writes(engine)  # the unit_rollup totals (storage/rollups.py)
            # Every post the night wrote was listed from its Page's posts_since on.
            listed_from = min((posts_since(t.state, night.plan) for t in targets), default=now)
            detect_after_collection(settings, engine, clock(), listed_from)
            return result
        except BaseException as exc:
            # Whatever is saved stays saved; the run says it did not finish.
            stopped = isinstance(exc, KeyboardInterrupt)
            message = ("stopped by the operator (Ctrl-C); the next run completes the work"
                       if stopped else client.redact(f"stopped by {type(exc).__name__}: {exc}"))
            finish_run(engine, run_id, clock(), status="interrupted" if stopped else "failed",
                       pages_total=len(targets), pages_ok=0, pages_failed=0,
                       graph_calls=client.calls, api_version=client.served_version,
                       message=message)
            raise
    finally:
        release_lock(engine, owner)

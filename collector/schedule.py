"""The nightly schedule: APScheduler 3 in the foreground, one job, never two at once."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from fanpulse.config.settings import Settings, SettingsError

log = logging.getLogger(__name__)


def make_trigger(settings: Settings) -> Any:
    try:
        return CronTrigger.from_crontab(settings.schedule_cron, timezone=settings.tz)
    except ValueError as exc:
        raise SettingsError(f"setting 'schedule_cron': {settings.schedule_cron!r}: {exc}") from None


def make_scheduler(settings: Settings, job: Callable[[], None]) -> Any:
    """A scheduler holding the nightly job: ``coalesce`` folds missed runs into one,
    ``max_instances=1`` never overlaps two, and the misfire grace lets a late start (machine
    asleep at 02:00) still run instead of silently skipping the night."""
    scheduler = BlockingScheduler(timezone=settings.tz)
    scheduler.add_job(job, make_trigger(settings), id="nightly-collection",
                      name="fanpulse nightly collection", coalesce=True, max_instances=1,
                      misfire_grace_time=settings.misfire_grace_seconds, replace_existing=True)
    return scheduler


def next_run(settings: Settings, now: dt.datetime | None = None) -> dt.datetime | None:
    now = now or dt.datetime.now(settings.tz)
    fire: dt.datetime | None = make_trigger(settings).get_next_fire_time(None, now)
    return fire


def run_forever(settings: Settings, job: Callable[[], None]) -> None:
    scheduler = make_scheduler(settings, job)
    log.info("nightly collection scheduled '%s' (%s); next run %s", settings.schedule_cron,
             settings.timezone, next_run(settings))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("scheduler stopped")

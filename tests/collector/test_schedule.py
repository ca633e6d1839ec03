"""The nightly schedule: cron in Asia/Ho_Chi_Minh, coalesced, never overlapping, late-tolerant."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from fanpulse.cli import cli
from fanpulse.collector.schedule import make_scheduler, next_run
from fanpulse.config.settings import SettingsError, load_settings

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_default_is_two_in_the_morning_in_vietnam() -> None:
    settings = load_settings(None, env={})
    after = dt.datetime(2026, 11, 25, 10, 0, tzinfo=VN)
    fire = next_run(settings, after)
    assert fire == dt.datetime(2026, 11, 26, 2, 0, tzinfo=VN)
    assert fire is not None and fire.astimezone(dt.UTC).hour == 19


def test_job_options() -> None:
    settings = load_settings(None, env={}, misfire_grace_seconds=1800)
    scheduler = make_scheduler(settings, lambda: None)
    job = scheduler.get_jobs()[0]
    assert job.coalesce is True
    assert job.max_instances == 1
    assert job.misfire_grace_time == 1800
    assert str(job.trigger.timezone) == "Asia/Ho_Chi_Minh"


def test_bad_cron_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="schedule_cron"):  # refused when loaded
        next_run(load_settings(None, env={}, schedule_cron="0 25 * * *"))


def test_schedule_command_refuses_without_a_token() -> None:
    result = CliRunner().invoke(cli, ["schedule"])
    assert result.exit_code == 1
    assert "no access token" in result.output

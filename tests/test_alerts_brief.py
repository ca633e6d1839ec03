"""The morning brief end to end (alerts/rules.py, alerts/brief.py, alerts/morning.py,
storage/alerts.py): nights collected from the sandbox with each rule's condition set on
purpose, the brief delivered to a real SMTP server in-process (aiosmtpd) and to a local HTTP
receiver, on SQLite and PostgreSQL. Exactly the expected conditions, each delivered once; a
second night with the same conditions sends nothing again; a delivery failure is retried and
recorded and never touches the collection; no secret in a message, a log or the store."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from fanpulse.alerts.morning import Sent, preview, send_failure, send_morning_brief
from fanpulse.cli import cli
from fanpulse.collector.run import collect_once
from fanpulse.config.settings import Settings
from fanpulse.sandbox import World
from tests.collector.conftest import UNSHARED, Harness, harness, server, store, world

__all__ = ["harness", "server", "store", "world"]  # the collector tests' fixtures

TOKEN = "EAAG-expiring-token-value-7f3a"  # noqa: S105 - a test secret, never to be shown
PASSWORD = "mật-khẩu-SMTP-brief-42"  # noqa: S105
HOOK_SECRET = "/hook/BOTKEY-93ab/send?key=QKEY-5521"
TO = ("van.phong@mattran.nghean.gov.vn", "truyen.thong@mattran.nghean.gov.vn")
SILENT_DAYS = 5


# -- a mail server and a webhook receiver -------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.raw: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                 data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Hook)
        self.bodies: list[Any] = []
        self.raw: list[bytes] = []
        self.paths: list[str] = []
        self.failing = False


class Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.paths.append(self.path)
        if self.server.failing:
            self.send_response(500)
            self.end_headers()
            return
        self.server.raw.append(body)
        self.server.bodies.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def outlets() -> Iterator[tuple[Mailbox, int, Receiver]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port,
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    hook = Receiver()
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    try:
        yield mailbox, port, hook
    finally:
        hook.shutdown()
        hook.server_close()
        controller.stop()


# -- the scenario -------------------------------------------------------------------------------

class Scenario:
    """The test world collected night by night, its brief sent after each night."""

    def __init__(self, harness: Harness, outlets: tuple[Mailbox, int, Receiver]) -> None:
        self.harness = harness
        self.world: World = harness.world
        self.engine: Engine = harness.engine
        self.mailbox, self.smtp_port, self.hook = outlets
        self.token = harness.settings().access_token
        self.renotify = 30  # the nights below span a week: nothing is due again in them

    def settings(self) -> Settings:
        return self.harness.settings(
            access_token=self.token, app_id=self.world.app_id,
            app_secret="sandbox-app-secret",  # noqa: S106 - the sandbox's own app secret
            smtp_host="127.0.0.1", smtp_port=self.smtp_port, smtp_security="none",
            smtp_user="fanpulse", smtp_password=PASSWORD,
            alert_email_from="fanpulse@mattran.nghean.gov.vn", alert_email_to=TO,
            alert_webhook_url=f"http://127.0.0.1:{self.hook.server_address[1]}{HOOK_SECRET}",
            alert_silent_days=SILENT_DAYS, alert_followers_drop_percent=20.0,
            alert_followers_drop_count=0, alert_campaign_percent=0, alert_all_well="never",
            alert_retries=2, alert_retry_wait_seconds=0.0, alert_renotify_days=self.renotify,
            report_url="https://bao-cao.mattran.nghean.gov.vn/fanpulse")

    def night(self, days: float = 1) -> tuple[Any, Sent]:
        if days:
            self.world.advance(days=days)
        settings = self.settings()
        client = self.harness.client(settings)
        result = collect_once(settings, self.engine, client, clock=lambda: self.world.now)
        sent = send_morning_brief(self.engine, settings, clock=lambda: self.world.now,
                                  sleep=lambda _s: None)
        return result, sent

    def page_ids(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {str(g): int(i) for i, g in conn.execute(text(
                "SELECT id, graph_id FROM pages WHERE graph_id IS NOT NULL"))}

    def readable(self) -> set[int]:
        with self.engine.connect() as conn:
            return {int(i) for (i,) in conn.execute(text(
                "SELECT id FROM pages WHERE active AND access IN ('full', 'partial')"))}

    def silent_truth(self) -> set[str]:
        """Keys of the Pages silent for SILENT_DAYS by the sandbox's truth (the readable ones)."""
        ids = self.page_ids()
        readable = self.readable()
        since = self.world.now - dt.timedelta(days=SILENT_DAYS)
        return {f"page_silent:page={ids[page]}" for page in self.world.pages
                if ids.get(page) in readable
                and not [p for p in self.world.truth_posts(page, since=since)
                         if not p.get("deleted")]}


def keys_of(sent: Sent, *severities: str) -> set[str]:
    assert sent.brief is not None
    return {item.key for item in sent.brief.items
            if item.severity in (severities or ("critical", "warning"))}


def all_text(engine: Engine) -> str:
    """Every text value of every table (the store as an attacker would read it)."""
    parts = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(str(v) for v in row if isinstance(v, str))
    return "\n".join(parts)


@pytest.fixture
def scenario(harness: Harness, outlets: tuple[Mailbox, int, Receiver]) -> Scenario:
    harness.collect(since=dt.date(2026, 10, 22))  # a month of history first
    return Scenario(harness, outlets)


def test_each_rule_once_then_nothing_again(scenario: Scenario,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)  # as `fanpulse schedule` logs (urllib3 stays at WARNING)
    world, engine = scenario.world, scenario.engine
    # Night 0: the baseline (Pages naturally quiet for SILENT_DAYS, nothing else).
    _result, first = scenario.night(days=0)
    assert first.status == "sent"
    assert keys_of(first) == scenario.silent_truth()
    assert len(scenario.mailbox.messages) == 1 and len(scenario.hook.bodies) == 1

    # The conditions: a token expiring in 5 days (known through debug_token), a Page
    # unshared from the Business Manager, a Page gone quiet, a Page losing 30 % of its
    # followers.
    ids = scenario.page_ids()
    full = [p for p in world.pages[1:UNSHARED] if ids.get(p) in scenario.readable()]
    unshared, quiet, dropped = full[0], full[1], full[2]
    night1 = world.now + dt.timedelta(days=SILENT_DAYS + 1)
    world.tokens.add(TOKEN, expires_at=night1 + dt.timedelta(days=5, hours=1))
    scenario.token = TOKEN
    world.set_tasks(unshared, ())
    world.silence(quiet, since=world.now)
    world.drop_followers(dropped, 0.3, at=night1 - dt.timedelta(days=2))
    before_silent = keys_of(first)

    # Night 1: exactly those, each once, on both channels.
    result, second = scenario.night(days=SILENT_DAYS + 1)
    assert result.status in ("ok", "partial")
    expiry = (night1 + dt.timedelta(days=5, hours=1)).strftime("%Y-%m-%d")
    injected = {f"token_expires:{expiry}", f"page_lost:page={ids[unshared]}:audience",
                f"followers_drop:page={ids[dropped]}", f"page_silent:page={ids[quiet]}"}
    silent_now = scenario.silent_truth()
    assert f"page_silent:page={ids[quiet]}" in silent_now
    assert keys_of(second) == injected | (silent_now - before_silent)
    assert second.status == "sent"
    assert len(scenario.mailbox.messages) == 2 and len(scenario.hook.bodies) == 2
    message = scenario.mailbox.messages[-1]
    assert sorted(message["To"].addresses[i].addr_spec for i in range(2)) == sorted(TO)
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    body = scenario.hook.bodies[-1]
    assert {item["title"] for item in body["items"]} >= {
        i.title for i in second.brief.items if i.key in injected}  # type: ignore[union-attr]
    for item in second.brief.items:  # type: ignore[union-attr]
        if item.key in injected:
            assert item.title in plain and item.title.split(" (")[0] in html
    assert "NGHIÊM TRỌNG" in plain and "CẢNH BÁO" in plain  # grouped by severity, Vietnamese
    assert "https://bao-cao.mattran.nghean.gov.vn/fanpulse/u-" in plain  # links to the reports
    assert re.search(r"\(\d\d,\d%\) trong 7 ngày: \d\.\d{3} → \d\.\d{3}", plain)  # 29,5%; 2.504

    # Night 2: the same conditions hold: none of them is sent again.
    silent_before = scenario.silent_truth()
    _result, third = scenario.night(days=1)
    new_silent = scenario.silent_truth() - silent_before
    if third.brief is None:
        assert not new_silent
    else:
        assert keys_of(third) == new_silent
        assert not keys_of(third) & injected
    with engine.connect() as conn:
        sent_twice = conn.execute(text(
            "SELECT key, times_sent FROM alerts WHERE times_sent > 1")).all()
    assert sent_twice == []

    # No secret anywhere: the messages, the webhook bodies, the store, the logs.
    secrets = [TOKEN, PASSWORD, "BOTKEY-93ab", "QKEY-5521", "sandbox-app-secret"]
    seen = "\n".join([*(m.decode("utf-8", "replace") for m in scenario.mailbox.raw),
                      *(b.decode() for b in scenario.hook.raw), all_text(engine), caplog.text])
    for secret in secrets:
        assert secret not in seen


def test_a_failed_run_is_told_and_a_failed_delivery_is_retried_and_recorded(
        scenario: Scenario) -> None:
    world, engine = scenario.world, scenario.engine
    scenario.night(days=0)
    world.tokens.add(TOKEN)
    scenario.token = TOKEN
    world.tokens.revoke(TOKEN)  # the token dies: the run fails as a whole
    scenario.hook.failing = True  # and the webhook receiver answers 500
    result, sent = scenario.night(days=1)
    assert result.status == "failed"
    assert sent.status == "partly_sent"  # email went, the webhook did not
    failed = [k for k in keys_of(sent, "critical") if k.startswith("run_failed:")]
    assert len(failed) == 1
    with engine.connect() as conn:
        attempts = conn.execute(text(
            "SELECT channel, attempt, ok, error FROM alert_deliveries "
            "WHERE brief_id = :b ORDER BY channel, attempt"), {"b": sent.brief_id}).all()
        runs = conn.execute(text("SELECT status FROM collection_runs ORDER BY id")).all()
    assert [(c, a, bool(ok)) for c, a, ok, _e in attempts] == [
        ("email", 1, True), ("webhook", 1, False), ("webhook", 2, False)]
    assert all("500" in (e or "") for c, _a, _ok, e in attempts if c == "webhook")
    assert runs[-1][0] == "failed"  # the collection's record is its own, untouched
    # the same failure the next night: not sent again
    scenario.hook.failing = False
    _result, again = scenario.night(days=1)
    assert again.brief is None or not {k for k in keys_of(again) if k in failed}


def test_the_immediate_message_and_the_commands(scenario: Scenario) -> None:
    world, engine = scenario.world, scenario.engine
    settings = scenario.settings()
    sent = send_failure(engine, settings, "OperationalError: the database is not reachable",
                        clock=lambda: world.now, sleep=lambda _s: None)
    assert sent.status == "sent" and sent.brief is not None
    assert "không chạy được" in scenario.mailbox.messages[-1]["Subject"]
    # preview writes nothing; the brief after it still carries everything
    shown = preview(engine, settings, clock=lambda: world.now)
    assert shown.brief is not None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alerts")).scalar_one() == 0
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    previewed = runner.invoke(cli, ["--database-url", url, "alerts", "preview"])
    assert previewed.exit_code == 0, previewed.output
    assert "Bản tin sáng" in previewed.output
    status = runner.invoke(cli, ["--database-url", url, "status"])
    assert "Latest briefs:" in status.output and "failure" in status.output
    assert "email to van.phong@mattran.nghean.gov.vn" in status.output



def test_a_condition_is_sent_again_after_the_renotify_interval(scenario: Scenario) -> None:
    scenario.renotify = 2
    _r, first = scenario.night(days=0)
    kept = keys_of(first)
    assert kept  # the test world has Pages quiet for SILENT_DAYS
    _r, second = scenario.night(days=1)
    assert not (keys_of(second) & kept & scenario.silent_truth())  # 1 day: not yet
    _r, third = scenario.night(days=1)
    still = kept & scenario.silent_truth()
    assert still and still <= keys_of(third)  # 2 days: due again
    with scenario.engine.connect() as conn:
        times = dict(conn.execute(text("SELECT key, times_sent FROM alerts")).all())
    assert all(times[key] == 2 for key in still)


def test_all_well_weekly_on_mondays_only(scenario: Scenario) -> None:
    world, engine = scenario.world, scenario.engine
    quiet = scenario.settings().replace(
        alert_run_failed=False, alert_token_expiry_days=0, alert_page_access=False,
        alert_silent_days=0, alert_followers_drop_percent=0.0, alert_all_well="weekly")
    monday = dt.datetime(2026, 11, 23, 19, 30, tzinfo=dt.UTC)  # 02:30 Tuesday in Vietnam
    tuesday_vn = monday
    sent = send_morning_brief(engine, quiet, clock=lambda: tuesday_vn, sleep=lambda _s: None)
    assert sent.brief is None  # Tuesday morning in Vietnam: nothing
    monday_vn = dt.datetime(2026, 11, 29, 19, 30, tzinfo=dt.UTC)  # 02:30 Monday 30/11
    sent = send_morning_brief(engine, quiet, clock=lambda: monday_vn, sleep=lambda _s: None)
    assert sent.brief is not None and sent.brief.kind == "all_well" and sent.status == "sent"
    assert "mọi việc bình thường" in scenario.mailbox.messages[-1]["Subject"]
    again = send_morning_brief(engine, quiet, clock=lambda: monday_vn + dt.timedelta(hours=1),
                               sleep=lambda _s: None)
    assert again.brief is None  # one a week
    never = quiet.replace(alert_all_well="never")
    assert send_morning_brief(engine, never, clock=lambda: monday_vn + dt.timedelta(days=7),
                              sleep=lambda _s: None).brief is None
    del world


def test_a_directive_few_units_carried_is_told(engine: Engine, tmp_path: Any) -> None:
    """The campaign rule reads cascade_coverage: its figures are the view's."""
    from fanpulse.config.units import read_units_file
    from fanpulse.demo import write_demo_campaigns
    from fanpulse.sandbox import SandboxServer
    from fanpulse.storage.campaigns import detect_from_file
    from fanpulse.storage.db import transaction
    from fanpulse.storage.units import sync_units
    from tests.collector.conftest import NOW, START, write_units_for
    from tests.conftest import make_settings

    world = World.generate(n_pages=80, seed=7, start=START, now=NOW, campaigns=True)
    with transaction(engine) as session:
        sync_units(session, read_units_file(write_units_for(world, tmp_path / "u.csv")), NOW)
    path = tmp_path / "campaigns.toml"
    write_demo_campaigns(world, path, NOW - dt.timedelta(days=40), NOW)
    with SandboxServer(world) as server:
        settings = make_settings(graph_url=server.base_url, access_token=world.default_token,
                                 campaigns_file=str(path))
        collect_once(settings, engine, clock=lambda: world.now, since=dt.date(2026, 10, 5))
    detect_from_file(engine, path, settings.tz)
    with engine.connect() as conn:
        seed_id, seed_time = conn.execute(text(
            "SELECT seed_post_id, MIN(seed_time) FROM cascade_coverage "
            "WHERE campaign = 'dai-doan-ket-2026' GROUP BY seed_post_id "
            "ORDER BY MIN(seed_time) LIMIT 1")).one()
        carried, with_page = conn.execute(text(
            "SELECT SUM(CASE WHEN status = 'carried' THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN pages > 0 THEN 1 ELSE 0 END) FROM cascade_coverage "
            "WHERE seed_post_id = :s"), {"s": seed_id}).one()
    if isinstance(seed_time, str):
        seed_time = dt.datetime.fromisoformat(seed_time).replace(tzinfo=dt.UTC)
    rules_only = settings.replace(alert_run_failed=False, alert_token_expiry_days=0,
                                  alert_page_access=False, alert_silent_days=0,
                                  alert_followers_drop_percent=0.0,
                                  alert_followers_drop_count=0, alert_campaign_percent=100,
                                  alert_campaign_hours=48, report_url="file:///srv/bao-cao")
    at = seed_time + dt.timedelta(hours=49)
    shown = preview(engine, rules_only, clock=lambda: at)
    assert shown.brief is not None
    [item] = [i for i in shown.brief.items if i.key == f"campaign:dai-doan-ket-2026:seed={seed_id}"]
    assert f"{carried}/{with_page} đơn vị có Trang" in item.title
    assert item.link == "file:///srv/bao-cao/c-dai-doan-ket-2026.html"
    # before 48 hours, or once the carry window has ended: nothing
    early = preview(engine, rules_only, clock=lambda: seed_time + dt.timedelta(hours=47))
    late = preview(engine, rules_only, clock=lambda: seed_time + dt.timedelta(days=8))
    for found in (early, late):
        assert found.brief is None or not [i for i in found.brief.items
                                           if i.key.endswith(f"seed={seed_id}")]


def test_the_nightly_job_briefs_and_never_fails_on_a_brief(
        scenario: Scenario, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What `fanpulse schedule` runs after a night: the failure message when the night could
    not run, then the brief; a brief that cannot be made is logged, not raised."""
    from fanpulse.app import AppContext
    from fanpulse.cli import brief_after_night

    url = scenario.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("FANPULSE_ACCESS_TOKEN", TOKEN)
    app = AppContext(None, {"database_url": url})  # no channel configured: recorded only
    brief_after_night(app, failure=f"LockBusy: held by another run ({TOKEN})")
    with scenario.engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind, status, body FROM alert_briefs ORDER BY id")).all()
    assert [(k, s) for k, s, _b in kinds] == [("failure", "no_channel"), ("morning", "no_channel")]
    assert TOKEN not in kinds[0][2] and "LockBusy" in kinds[0][2]
    broken = AppContext(None, {"database_url": "sqlite:////nonexistent/folder/x.db"})
    with caplog.at_level(logging.ERROR):
        brief_after_night(broken)  # no store: logged
    assert "the morning brief could not be made or recorded" in caplog.text
    app.close()

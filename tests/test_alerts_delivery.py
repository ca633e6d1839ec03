"""Delivering the brief (alerts/deliver.py): a real SMTP server in-process (aiosmtpd: plain,
STARTTLS and implicit TLS with a certificate made here, authentication), a local HTTP receiver
for the webhook (fanpulse's JSON, the Telegram and Zalo templates, retries), and the audit in
alert_briefs / alert_deliveries / alert_brief_items on SQLite and PostgreSQL. No secret (the
SMTP password, the webhook's path and query) may reach the store or the logs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import logging
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from fanpulse.alerts.brief import Brief, BriefItem
from fanpulse.alerts.deliver import (
    DeliveryError,
    deliver,
    post_webhook,
    render_template,
    send_email,
)
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Alert, AlertBrief, AlertDelivery
from tests.conftest import ROOT, make_settings

PASSWORD = "mật-khẩu-SMTP-9f8e7d"  # a test secret (not ASCII, as many are), never shown
ASCII_PASSWORD = "Plain-Passw0rd-77"
BOT_SECRET = "7741:AAHsecretBOTkeyZZ"
SECRET_PATH = f"/bot{BOT_SECRET}/sendMessage?key=QSECRETKEY42"
RECIPIENTS = ["van.phong@mattran.nghean.gov.vn", "truyen.thong@mattran.nghean.gov.vn"]
SENDER = "fanpulse@mattran.nghean.gov.vn"
CREATED = dt.datetime(2026, 11, 27, 0, 30, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 27, 0, 31, tzinfo=dt.UTC)


def make_brief() -> Brief:
    items = (
        BriefItem("token", "critical", "Mã truy cập hết hạn sau 5 ngày",
                  "Gia hạn trước 02/12/2026.", None, "token:expiry"),
        BriefItem("page_silent", "warning", "Trang MTTQ xã Nghi Lộc im lặng 15 ngày",
                  "Bài cuối: 12/11/2026", "https://bao-cao.example.vn/u-1.html",
                  "page_silent:page=1"),
    )
    return Brief(
        kind="morning",
        subject="Bản tin sáng 27/11/2026: 2 việc cần xem",
        text="Nghiêm trọng\n- Mã truy cập hết hạn sau 5 ngày\n\nCảnh báo\n"
             "- Trang MTTQ xã Nghi Lộc im lặng 15 ngày",
        html="<h1>Bản tin sáng</h1><ul><li>Mã truy cập hết hạn sau 5 ngày</li>"
             "<li>Trang MTTQ xã Nghi Lộc im lặng 15 ngày</li></ul>",
        items=items,
        created_at=CREATED,
        language="vi",
    )


class Sleeps:
    """The injected sleep: records the waits, never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def stored_text(engine: Engine) -> str:
    """Every value of every column of the brief and delivery tables, as one text."""
    values = []
    for table in ("alert_briefs", "alert_deliveries", "alert_brief_items"):
        for row in rows(engine, f"SELECT * FROM {table}"):
            values.extend(str(v) for v in row)
    return "\n".join(values)


def deliveries(engine: Engine) -> list[Any]:
    columns = (AlertDelivery.channel, AlertDelivery.target, AlertDelivery.attempt,
               AlertDelivery.ok, AlertDelivery.error, AlertDelivery.attempted_at)
    with engine.connect() as conn:
        return list(conn.execute(select(*columns).order_by(AlertDelivery.id)))


def brief_status(engine: Engine, brief_id: int) -> str:
    status: str = rows(engine, f"SELECT status FROM alert_briefs WHERE id = {brief_id}")[0][0]
    return status


# -- an SMTP server in-process -----------------------------------------------------------------

@dataclass
class Mailbox:
    """aiosmtpd handler: keeps every message; refuses the recipients in ``refuse``."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 Không có hộp thư này"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def check_login(server: Any, session: Any, envelope: Any, mechanism: str,
                auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"fanpulse"
          and auth_data.password.decode("utf-8") in (PASSWORD, ASCII_PASSWORD))
    return AuthResult(success=ok, handled=False)  # a refusal answers 535


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert file, key file), made with openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def trusting(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """Start an SMTP server on 127.0.0.1: ``start(**aiosmtpd options)`` -> (mailbox, port)."""
    started: list[Controller] = []

    def start(**options: Any) -> tuple[Mailbox, int]:
        mailbox = Mailbox()
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return mailbox, port

    yield start
    for controller in started:
        controller.stop()


def email_settings(port: int, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
        "alert_email_from": SENDER, "alert_email_to": RECIPIENTS,
        "alert_retries": 3, "alert_retry_wait_seconds": 10,
    }
    values.update(overrides)
    return make_settings(**values)


def read_message(raw: bytes) -> Any:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_email_without_tls_reaches_every_recipient_with_both_parts(
        engine: Engine, smtp_server: Any) -> None:
    mailbox, port = smtp_server()
    brief = make_brief()
    sleeps = Sleeps()
    brief_id = deliver(engine, email_settings(port), brief, sleep=sleeps, now=lambda: NOW)

    assert len(mailbox.messages) == 1
    sender, recipients, raw = mailbox.messages[0]
    assert sender == SENDER and recipients == RECIPIENTS
    message = read_message(raw)
    assert message["Subject"] == brief.subject  # UTF-8, decoded back
    assert message["To"] == ", ".join(RECIPIENTS)
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain.get_content_charset() == "utf-8"
    assert plain.get_content().replace("\r\n", "\n").strip() == brief.text
    assert "Trang MTTQ xã Nghi Lộc im lặng 15 ngày" in html.get_content()
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain", "text/html"]

    assert sleeps.waits == []
    assert brief_status(engine, brief_id) == "sent"
    with engine.connect() as conn:
        stored = list(conn.execute(select(AlertBrief.created_at, AlertBrief.kind,
                                          AlertBrief.subject, AlertBrief.body)))
    assert [tuple(r) for r in stored] == [(CREATED, "morning", brief.subject, brief.text)]
    assert [tuple(r) for r in deliveries(engine)] == [
        ("email", ", ".join(RECIPIENTS), 1, True, None, NOW)]


def test_email_over_starttls_with_a_self_signed_certificate(
        smtp_server: Any, certificate: tuple[Path, Path]) -> None:
    mailbox, port = smtp_server(tls_context=server_context(certificate), require_starttls=True)
    settings = email_settings(port, smtp_security="starttls")
    send_email(settings, make_brief(), ssl_context=trusting(certificate))
    assert len(mailbox.messages) == 1
    assert read_message(mailbox.messages[0][2])["Subject"] == make_brief().subject

    # Not trusted (the system's authorities do not know it): refused, and said so.
    with pytest.raises(DeliveryError, match="certificate of the mail server .* not trusted") \
            as caught:
        send_email(settings, make_brief())
    assert caught.value.retryable is False
    assert len(mailbox.messages) == 1


def test_email_over_implicit_tls(smtp_server: Any, certificate: tuple[Path, Path]) -> None:
    mailbox, port = smtp_server(ssl_context=server_context(certificate))
    send_email(email_settings(port, smtp_security="ssl"), make_brief(),
               ssl_context=trusting(certificate))
    assert [m[1] for m in mailbox.messages] == [RECIPIENTS]


def test_starttls_asked_of_a_server_without_it_is_explained(smtp_server: Any) -> None:
    _, port = smtp_server()
    with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
        send_email(email_settings(port, smtp_security="starttls"), make_brief())


def test_email_login_keeps_the_password_out_of_the_store_and_the_logs(
        engine: Engine, smtp_server: Any, certificate: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fanpulse")
    mailbox, port = smtp_server(tls_context=server_context(certificate),
                                require_starttls=True, authenticator=check_login,
                                auth_required=True)
    # A mail server with the organisation's own authority: SSL_CERT_FILE names it.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    good = email_settings(port, smtp_security="starttls", smtp_user="fanpulse",
                          smtp_password=PASSWORD)
    sleeps = Sleeps()
    first = deliver(engine, good, make_brief(), sleep=sleeps, now=lambda: NOW)
    assert brief_status(engine, first) == "sent"
    assert len(mailbox.messages) == 1

    wrong = good.replace(smtp_password=PASSWORD + "-cũ")
    second = deliver(engine, wrong, make_brief(), sleep=sleeps, now=lambda: NOW)
    assert brief_status(engine, second) == "failed"
    failed = [r for r in deliveries(engine) if not r.ok]
    # Authentication refused is not retried: the password will not fix itself.
    assert len(failed) == 1 and sleeps.waits == []
    assert "authentication failed" in failed[0].error and "fanpulse" in failed[0].error
    assert len(mailbox.messages) == 1

    for shown in (stored_text(engine), caplog.text):
        assert PASSWORD not in shown and "mật-khẩu" not in shown
    assert "authentication failed" in caplog.text


def test_login_over_plain_connection_refused_by_a_server_requiring_tls(
        smtp_server: Any) -> None:
    _, port = smtp_server(authenticator=check_login)  # AUTH only after STARTTLS (default)
    settings = email_settings(port, smtp_user="fanpulse", smtp_password=PASSWORD)
    with pytest.raises(DeliveryError) as caught:
        send_email(settings, make_brief())
    assert "login (AUTH)" in str(caught.value) and PASSWORD not in str(caught.value)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_email_login_without_tls_when_the_server_allows_it(smtp_server: Any) -> None:
    mailbox, port = smtp_server(authenticator=check_login, auth_require_tls=False,
                                auth_required=True)
    for password in (PASSWORD, ASCII_PASSWORD):  # sent as UTF-8 by fanpulse, by smtplib
        send_email(email_settings(port, smtp_user="fanpulse", smtp_password=password),
                   make_brief())
    assert len(mailbox.messages) == 2
    with pytest.raises(DeliveryError, match="authentication failed") as caught:
        send_email(email_settings(port, smtp_user="fanpulse", smtp_password="wrong-" + PASSWORD),
                   make_brief())
    assert PASSWORD not in str(caught.value) and caught.value.retryable is False


def test_a_refused_recipient_is_named_and_not_retried(engine: Engine, smtp_server: Any) -> None:
    mailbox, port = smtp_server()
    mailbox.refuse = {RECIPIENTS[1]}
    sleeps = Sleeps()
    brief_id = deliver(engine, email_settings(port), make_brief(), sleep=sleeps)
    [row] = deliveries(engine)
    assert not row.ok and "recipient refused" in row.error and RECIPIENTS[1] in row.error
    assert "550" in row.error and sleeps.waits == []
    assert brief_status(engine, brief_id) == "failed"


def test_an_unreachable_mail_server_is_retried_and_recorded(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fanpulse")
    sleeps = Sleeps()
    settings = email_settings(free_port(), alert_retries=3, alert_retry_wait_seconds=10)
    brief_id = deliver(engine, settings, make_brief(), sleep=sleeps, now=lambda: NOW)
    assert brief_status(engine, brief_id) == "failed"
    assert sleeps.waits == [10, 20]  # doubling between tries, none after the last
    found = deliveries(engine)
    assert [(r.attempt, r.ok) for r in found] == [(1, False), (2, False), (3, False)]
    assert all("connection refused" in r.error for r in found)
    assert caplog.text.count("failed (attempt") == 3


# -- a webhook receiver ------------------------------------------------------------------------

class Receiver(ThreadingHTTPServer):
    """Keeps every request (path, headers, body); answers with ``statuses`` in turn (the
    last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.statuses = statuses
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((self.path, dict(self.headers), body))
        statuses = self.server.statuses
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        answer = json.dumps({"ok": status < 300, "description": "Lỗi máy chủ tạm thời"}
                            if status >= 300 else {"ok": True}).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the test reads self.server.requests


@pytest.fixture
def receiver() -> Iterator[Any]:
    """Start a receiver: ``start([status, ...])`` -> Receiver."""
    started: list[Receiver] = []

    def start(statuses: list[int] | None = None) -> Receiver:
        server = Receiver(statuses or [200])
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def webhook_settings(port: int, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "alert_webhook_url": f"http://127.0.0.1:{port}{SECRET_PATH}",
        "alert_retries": 3, "alert_retry_wait_seconds": 5,
    }
    values.update(overrides)
    return make_settings(**values)


def assert_no_webhook_secret(*texts: str) -> None:
    for shown in texts:
        for secret in (BOT_SECRET, "QSECRETKEY42", "sendMessage", "secretBOT", "7741"):
            assert secret not in shown, secret


def test_webhook_posts_fanpulses_own_json(engine: Engine, receiver: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fanpulse")
    server = receiver()
    brief = make_brief()
    brief_id = deliver(engine, webhook_settings(server.port), brief, sleep=Sleeps(),
                       now=lambda: NOW)
    [(path, headers, body)] = server.requests
    assert path == SECRET_PATH
    assert headers["Content-Type"].startswith("application/json")
    assert json.loads(body.decode("utf-8")) == {
        "kind": "morning",
        "subject": brief.subject,
        "text": brief.text,
        "html": brief.html,
        "created_at": "2026-11-27T00:30:00Z",
        "language": "vi",
        "items": [
            {"rule": "token", "severity": "critical", "title": "Mã truy cập hết hạn sau 5 ngày",
             "detail": "Gia hạn trước 02/12/2026.", "link": None},
            {"rule": "page_silent", "severity": "warning",
             "title": "Trang MTTQ xã Nghi Lộc im lặng 15 ngày", "detail": "Bài cuối: 12/11/2026",
             "link": "https://bao-cao.example.vn/u-1.html"},
        ],
    }
    assert brief_status(engine, brief_id) == "sent"
    assert [tuple(r)[:5] for r in deliveries(engine)] == [
        ("webhook", f"127.0.0.1:{server.port}", 1, True, None)]
    assert_no_webhook_secret(stored_text(engine), caplog.text)


def test_the_telegram_template_gives_a_sendmessage_body(receiver: Any) -> None:
    server = receiver()
    brief = make_brief()
    template = ROOT / "config" / "webhook-telegram.json.j2"
    post_webhook(webhook_settings(server.port, alert_webhook_template=str(template)), brief)
    body = json.loads(server.requests[0][2].decode("utf-8"))
    assert set(body) >= {"chat_id", "text"}
    assert body["text"] == f"{brief.subject}\n\n{brief.text}"

    # A brief longer than Telegram's 4096 characters is cut below the limit.
    long = Brief("morning", brief.subject, "Trang im lặng “15 ngày”\n" * 1000, "<p></p>")
    cut = render_template(template, long)["text"]
    assert len(cut) <= 4096 and cut.endswith("…") and cut.startswith(brief.subject)


def test_the_zalo_template_gives_recipient_and_message() -> None:
    body = render_template(ROOT / "config" / "webhook-zalo.json.j2", make_brief())
    assert set(body) == {"recipient", "message"}
    assert body["message"]["text"].startswith(make_brief().subject)
    assert len(body["message"]["text"]) <= 2000


def test_a_template_that_does_not_give_json_names_the_file_and_line(
        engine: Engine, receiver: Any, tmp_path: Path) -> None:
    template = tmp_path / "hook.json.j2"
    template.write_text('{\n  "text": {{ text }}\n}\n', encoding="utf-8")  # no |tojson
    server = receiver()
    sleeps = Sleeps()
    settings = webhook_settings(server.port, alert_webhook_template=str(template))
    brief_id = deliver(engine, settings, make_brief(), sleep=sleeps)
    [row] = deliveries(engine)
    assert not row.ok and str(template) in row.error and "line 2" in row.error
    assert "valid JSON" in row.error
    assert server.requests == [] and sleeps.waits == []  # not sent, not retried
    assert brief_status(engine, brief_id) == "failed"

    template.write_text('{"text": {{ text | tojson }}\n{% if %}', encoding="utf-8")
    with pytest.raises(DeliveryError, match=r"hook\.json\.j2, line 2"):
        post_webhook(settings, make_brief())
    template.write_text('{"text": {{ nothing | tojson }}}', encoding="utf-8")
    with pytest.raises(DeliveryError, match=r"hook\.json\.j2, line 1: .*nothing"):
        post_webhook(settings, make_brief())


def test_a_500_then_a_200_is_two_attempts(engine: Engine, receiver: Any,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fanpulse")
    server = receiver([500, 200])
    sleeps = Sleeps()
    brief_id = deliver(engine, webhook_settings(server.port), make_brief(), sleep=sleeps,
                       now=lambda: NOW)
    found = deliveries(engine)
    assert [(r.attempt, r.ok) for r in found] == [(1, False), (2, True)]
    assert "answered 500" in found[0].error and "Lỗi máy chủ tạm thời" in found[0].error
    assert found[1].error is None
    assert sleeps.waits == [5]
    assert brief_status(engine, brief_id) == "sent"
    assert len(server.requests) == 2
    assert_no_webhook_secret(stored_text(engine), caplog.text)


def test_an_always_failing_webhook_is_tried_alert_retries_times(
        engine: Engine, receiver: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="fanpulse")
    server = receiver([503])
    sleeps = Sleeps()
    settings = webhook_settings(server.port, alert_retries=4, alert_retry_wait_seconds=1.5)
    brief_id = deliver(engine, settings, make_brief(), sleep=sleeps)
    found = deliveries(engine)
    assert [(r.attempt, r.ok) for r in found] == [(n, False) for n in (1, 2, 3, 4)]
    assert sleeps.waits == [1.5, 3.0, 6.0]
    assert brief_status(engine, brief_id) == "failed"
    assert len(server.requests) == 4
    assert_no_webhook_secret(stored_text(engine), caplog.text)


def test_a_client_error_is_not_retried(receiver: Any) -> None:
    server = receiver([400])
    with pytest.raises(DeliveryError, match="answered 400") as caught:
        post_webhook(webhook_settings(server.port), make_brief())
    assert caught.value.retryable is False


def test_a_refused_webhook_connection_is_recorded_never_raised(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()
    sleeps = Sleeps()
    brief_id = deliver(engine, webhook_settings(port, alert_retries=2), make_brief(),
                       sleep=sleeps)
    found = deliveries(engine)
    assert [(r.channel, r.target, r.attempt, r.ok) for r in found] == [
        ("webhook", f"127.0.0.1:{port}", 1, False), ("webhook", f"127.0.0.1:{port}", 2, False)]
    assert all(r.error.startswith("connection refused") for r in found)
    assert brief_status(engine, brief_id) == "failed"
    fanpulse_logs = "\n".join(r.getMessage() for r in caplog.records
                              if r.name.startswith("fanpulse"))
    assert_no_webhook_secret(stored_text(engine), fanpulse_logs)
    with pytest.raises(DeliveryError) as caught:
        post_webhook(webhook_settings(port), make_brief())
    assert_no_webhook_secret(str(caught.value))


def test_the_host_alone_names_a_webhook(engine: Engine) -> None:
    """An address no test can reach: what is recorded is its host."""
    settings = make_settings(
        alert_webhook_url=f"https://api.telegram.org{SECRET_PATH}", alert_retries=1)

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        import requests

        raise requests.exceptions.ConnectionError(
            f"HTTPSConnectionPool(host='api.telegram.org'): Max retries exceeded with url: "
            f"{SECRET_PATH} (Caused by NewConnectionError('Name or service not known'))")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("fanpulse.alerts.deliver.requests.post", unreachable)
        deliver(engine, settings, make_brief(), sleep=Sleeps())
    [row] = deliveries(engine)
    assert row.target == "api.telegram.org"
    assert "api.telegram.org" in row.error and "DNS" in row.error
    assert_no_webhook_secret(stored_text(engine))


# -- both channels, none, and the alerts a brief carried ---------------------------------------

def test_email_delivered_and_webhook_failed_is_partly_sent(
        engine: Engine, smtp_server: Any, receiver: Any) -> None:
    mailbox, port = smtp_server()
    server = receiver([500])
    settings = email_settings(port).replace(
        alert_webhook_url=f"http://127.0.0.1:{server.port}{SECRET_PATH}", alert_retries=2)
    brief_id = deliver(engine, settings, make_brief(), sleep=Sleeps())
    assert brief_status(engine, brief_id) == "partly_sent"
    assert [(r.channel, r.attempt, r.ok) for r in deliveries(engine)] == [
        ("email", 1, True), ("webhook", 1, False), ("webhook", 2, False)]
    assert len(mailbox.messages) == 1


def test_no_channel_configured(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fanpulse")
    brief_id = deliver(engine, make_settings(), make_brief(), sleep=Sleeps())
    assert brief_status(engine, brief_id) == "no_channel"
    assert deliveries(engine) == []
    assert "no channel" in caplog.text


def test_the_alerts_a_brief_carried_are_recorded(engine: Engine) -> None:
    with transaction(engine) as session:
        alerts = [Alert(key=f"page_silent:page={n}", rule="page_silent", severity="warning",
                        title=f"Trang {n} im lặng", first_found_at=NOW, last_found_at=NOW,
                        times_sent=0) for n in (1, 2)]
        session.add_all(alerts)
        session.flush()
        ids = [a.id for a in alerts]
    brief_id = deliver(engine, make_settings(), make_brief(), alert_ids=[ids[1], ids[0], ids[1]],
                       sleep=Sleeps())
    carried = rows(engine, "SELECT brief_id, alert_id FROM alert_brief_items ORDER BY id")
    assert [tuple(r) for r in carried] == [(brief_id, ids[1]), (brief_id, ids[0])]


def test_an_unexpected_error_in_a_channel_is_recorded_not_raised(
        engine: Engine, smtp_server: Any) -> None:
    _, port = smtp_server()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"bug near {PASSWORD}")

    settings = email_settings(port, smtp_password=PASSWORD, alert_retries=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("fanpulse.alerts.deliver.build_email", broken)
        brief_id = deliver(engine, settings, make_brief(), sleep=Sleeps())
    assert brief_status(engine, brief_id) == "failed"
    found = deliveries(engine)
    assert len(found) == 2 and "RuntimeError" in found[0].error
    assert PASSWORD not in stored_text(engine)

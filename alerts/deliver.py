"""Delivering a brief: email over SMTP and a JSON webhook, retried, every attempt recorded.

:func:`send_email` and :func:`post_webhook` each deliver once and raise :class:`DeliveryError`
with the reason in words. :func:`deliver` records the brief in ``alert_briefs``, tries every
configured channel up to ``alert_retries`` times (the wait doubling from
``alert_retry_wait_seconds``), records each attempt in ``alert_deliveries`` and never raises
for a failed delivery: the nightly collection that asked for the brief is not affected.

Secrets: the SMTP password and the webhook address (which may hold a bot key in its path or
query) never appear in an error, a log line or the store. A webhook is named by its host only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, is_dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from sqlalchemy import update
from sqlalchemy.engine import Engine

from fanpulse.alerts.brief import Brief
from fanpulse.config.settings import Settings
from fanpulse.storage.db import transaction
from fanpulse.storage.models import AlertBrief, AlertBriefItem, AlertDelivery
from fanpulse.storage.save import storable_text

log = logging.getLogger(__name__)

TIMEOUT = 30.0  # seconds, for connecting to and every exchange with a mail server or webhook
ERROR_LENGTH = 300  # the longest reason kept from a server's answer

EMAIL, WEBHOOK = "email", "webhook"
SENT, PARTLY_SENT, FAILED, NO_CHANNEL = "sent", "partly_sent", "failed", "no_channel"
PENDING = "sending"  # while deliver() runs; a brief left so was cut short by a crash


class DeliveryError(Exception):
    """One delivery failed. The message says why in words and holds no secret.

    ``retryable`` is False when trying again cannot help (authentication refused, a recipient
    refused, a webhook template that does not give JSON, a 4xx answer other than 408/429)."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


# -- secrets -----------------------------------------------------------------------------------

def secret_fragments(settings: Settings) -> list[str]:
    """Every piece of text that must not be shown: the password, the webhook address and the
    parts of it that may carry a key (user info, path, path segments, query values)."""
    pieces = [settings.smtp_password]
    url = settings.alert_webhook_url
    if url:
        parts = urlsplit(url)
        pieces += [url, parts.netloc.rpartition("@")[0] if "@" in parts.netloc else "",
                   parts.password or "", parts.path, parts.query, parts.fragment]
        if parts.path and parts.query:
            pieces.append(f"{parts.path}?{parts.query}")
        pieces += [segment for segment in parts.path.split("/") if len(segment) >= 6]
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            pieces += [f"{name}={value}", value]
    # Longest first, so a piece that contains another is removed whole.
    return sorted({p for p in pieces if p and len(p) >= 4 and p != "/"}, key=len, reverse=True)


def scrub(text: str, settings: Settings) -> str:
    """``text`` without any secret of ``settings`` (each replaced by ``***``)."""
    for piece in secret_fragments(settings):
        text = text.replace(piece, "***")
    return text


def webhook_host(settings: Settings) -> str:
    """How a webhook is named anywhere it is shown: its host (and a port other than the
    scheme's), never its path or query."""
    parts = urlsplit(settings.alert_webhook_url)
    host = parts.hostname or "(no host)"
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{port}" if port is not None and port != default else host


def _short(text: str, settings: Settings) -> str:
    text = " ".join(scrub(text, settings).split())
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


# -- email -------------------------------------------------------------------------------------

def build_email(settings: Settings, brief: Brief) -> EmailMessage:
    """The brief as a multipart/alternative message: plain text first, then HTML (UTF-8)."""
    message = EmailMessage()
    message["Subject"] = brief.subject
    message["From"] = settings.alert_email_from
    message["To"] = ", ".join(settings.alert_email_to)
    message["Date"] = format_datetime(_utc(brief.created_at))
    domain = settings.alert_email_from.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid("fanpulse", domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # no out-of-office replies to a robot
    message["Content-Language"] = brief.language
    message.set_content(brief.text, charset="utf-8")
    message.add_alternative(brief.html, subtype="html", charset="utf-8")
    return message


def send_email(settings: Settings, brief: Brief, *, timeout: float = TIMEOUT,
               ssl_context: ssl.SSLContext | None = None) -> None:
    """Send ``brief`` to ``alert_email_to`` through ``smtp_host``. ``smtp_security``:
    ``starttls`` (upgrade on the plain port, 587), ``ssl`` (TLS from the start, 465) or
    ``none``. Logs in when ``smtp_user`` is set. Server certificates are checked against the
    system's authorities (or the file ``SSL_CERT_FILE`` names) unless ``ssl_context`` says
    otherwise. Raises :class:`DeliveryError`."""
    host, port, security = settings.smtp_host, settings.smtp_port, settings.smtp_security
    if not host:
        raise DeliveryError("no mail server: smtp_host is not set", retryable=False)
    if not settings.alert_email_to:
        raise DeliveryError("no recipient: alert_email_to is empty", retryable=False)
    if settings.smtp_user and not settings.smtp_password:
        raise DeliveryError(
            f"smtp_user is {settings.smtp_user!r} but no password is set: set "
            "FANPULSE_SMTP_PASSWORD (or FANPULSE_SMTP_PASSWORD_FILE) in the environment",
            retryable=False)
    message = build_email(settings, brief)
    context = ssl_context or ssl.create_default_context()
    server = f"{host}:{port}"
    step = "connecting to"
    try:
        client: smtplib.SMTP
        if security == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            if security == "starttls":
                step = "starting TLS with"
                if not client.has_extn("starttls"):
                    raise DeliveryError(
                        f"the mail server {server} does not offer STARTTLS (smtp_security "
                        "starttls); use port 465 with smtp_security = \"ssl\", or \"none\" "
                        "for a server on this machine", retryable=False)
                client.starttls(context=context)
                client.ehlo()
            if settings.smtp_user:
                step = "logging in to"
                _login(client, settings.smtp_user, settings.smtp_password)
            step = "sending through"
            refused = client.send_message(message)
            if refused:
                raise DeliveryError(
                    _refused_text(refused, settings)
                    + "; the other recipients were sent the brief", retryable=False)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"authentication failed on {server} for user {settings.smtp_user!r} "
            f"(server said {exc.smtp_code} {_smtp_text(exc.smtp_error, settings)}); check "
            "smtp_user and FANPULSE_SMTP_PASSWORD", retryable=False) from None
    except smtplib.SMTPNotSupportedError:
        what = "login (AUTH)" if step == "logging in to" else "what was asked"
        raise DeliveryError(
            f"the mail server {server} does not support {what}"
            + (" on a connection without TLS: use smtp_security starttls or ssl"
               if security == "none" and step == "logging in to" else ""),
            retryable=False) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(_refused_text(exc.recipients, settings), retryable=False) from None
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryError(
            f"sender {settings.alert_email_from!r} refused by {server} ({exc.smtp_code} "
            f"{_smtp_text(exc.smtp_error, settings)})",
            retryable=_temporary(exc.smtp_code)) from None
    except smtplib.SMTPDataError as exc:
        raise DeliveryError(
            f"message refused by {server} ({exc.smtp_code} "
            f"{_smtp_text(exc.smtp_error, settings)})",
            retryable=_temporary(exc.smtp_code)) from None
    except smtplib.SMTPServerDisconnected:
        raise DeliveryError(f"the mail server {server} closed the connection while {step} "
                            "it") from None
    except smtplib.SMTPConnectError as exc:
        raise DeliveryError(
            f"the mail server {server} refused the session ({exc.smtp_code} "
            f"{_smtp_text(exc.smtp_error, settings)})") from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"the mail server {server} answered {exc.smtp_code} "
            f"{_smtp_text(exc.smtp_error, settings)} while {step} it",
            retryable=_temporary(exc.smtp_code)) from None
    except ssl.SSLCertVerificationError as exc:
        raise DeliveryError(
            f"the certificate of the mail server {server} is not trusted "
            f"({_short(str(exc.verify_message or exc.reason), settings)})",
            retryable=False) from None
    except ssl.SSLError as exc:
        raise DeliveryError(
            f"TLS failed with the mail server {server} ({_short(str(exc.reason), settings)}); "
            "check smtp_port and smtp_security (465: ssl, 587: starttls)") from None
    except (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError) as exc:
        what = "refused" if isinstance(exc, ConnectionRefusedError) else "dropped"
        raise DeliveryError(f"connection {what} by the mail server {server}") from None
    except socket.gaierror:
        raise DeliveryError(f"the mail server's name {host!r} cannot be found (DNS)") from None
    except TimeoutError:
        raise DeliveryError(f"no answer from the mail server {server} within {timeout:g} s "
                            f"while {step} it") from None
    except smtplib.SMTPException as exc:
        raise DeliveryError(f"the mail server {server} failed while {step} it: "
                            f"{_short(str(exc) or type(exc).__name__, settings)}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise DeliveryError(f"network error while {step} the mail server {server}: "
                            f"{_short(reason, settings)}") from None


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    """Log in. smtplib encodes the user and password as ASCII, so a Vietnamese password
    (``mật-khẩu``) would fail before reaching the server: such a login is sent as UTF-8
    (AUTH PLAIN, RFC 4616; else AUTH LOGIN), which servers take as written."""
    if user.isascii() and password.isascii():
        client.login(user, password)
        return
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = client.esmtp_features["auth"].upper().split()

    def b64(data: str) -> str:
        return base64.b64encode(data.encode("utf-8")).decode("ascii")

    if "PLAIN" in offered:
        code, answer = client.docmd("AUTH", "PLAIN " + b64(f"\0{user}\0{password}"))
    elif "LOGIN" in offered:
        code, answer = client.docmd("AUTH", "LOGIN " + b64(user))
        if code == 334:
            code, answer = client.docmd(b64(password))
    else:
        raise smtplib.SMTPException(
            "the server offers no login method that takes a non-ASCII password (PLAIN, LOGIN)")
    if code not in (235, 503):  # 503: already logged in
        raise smtplib.SMTPAuthenticationError(code, answer)


def _temporary(code: int) -> bool:
    """SMTP 4xx answers are temporary (try later), 5xx permanent."""
    return 400 <= code < 500


def _smtp_text(answer: bytes | str, settings: Settings) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return _short(text, settings)


def _refused_text(refused: dict[str, tuple[int, bytes]], settings: Settings) -> str:
    parts = [f"{address} ({code} {_smtp_text(answer, settings)})"
             for address, (code, answer) in refused.items()]
    noun = "recipient" if len(parts) == 1 else "recipients"
    return f"{noun} refused: " + "; ".join(parts)


# -- webhook -----------------------------------------------------------------------------------

def webhook_body(settings: Settings, brief: Brief) -> Any:
    """What the webhook is sent: fanpulse's own JSON, or the rendered template's."""
    if settings.alert_webhook_template:
        return render_template(Path(settings.alert_webhook_template), brief)
    return {
        "kind": brief.kind,
        "subject": brief.subject,
        "text": brief.text,
        "html": brief.html,
        "created_at": _utc(brief.created_at).isoformat().replace("+00:00", "Z"),
        "language": brief.language,
        "items": [{"rule": item.rule, "severity": item.severity, "title": item.title,
                   "detail": item.detail, "link": item.link} for item in brief.items],
    }


def _tojson(value: Any) -> str:
    """The ``tojson`` filter of the webhook templates: ``value`` as a JSON literal (UTF-8
    kept as is; dates as ISO text; a BriefItem or Brief as an object)."""
    import jinja2

    if isinstance(value, jinja2.Undefined):
        str(value)  # a strict undefined raises here, naming the variable
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def render_template(path: Path, brief: Brief) -> Any:
    """Render the Jinja2 template file at ``path`` with ``brief``, ``items``, ``subject`` and
    ``text`` and read the result as JSON. Raises a (not retryable) :class:`DeliveryError`
    naming the file, and the line where it can be told."""
    import jinja2

    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeliveryError(
            f"webhook template {path} does not exist (alert_webhook_template; examples: "
            "config/webhook-telegram.json.j2, config/webhook-zalo.json.j2)",
            retryable=False) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise DeliveryError(f"webhook template {path} cannot be read: {reason}",
                            retryable=False) from None
    # JSON, not HTML: values are quoted by |tojson, not escaped.
    environment = jinja2.Environment(
        autoescape=False,  # noqa: S701
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    environment.filters["tojson"] = _tojson
    try:
        template = environment.from_string(source)
        rendered = template.render(brief=brief, items=list(brief.items),
                                   subject=brief.subject, text=brief.text)
    except jinja2.TemplateSyntaxError as exc:
        raise DeliveryError(f"webhook template {path}, line {exc.lineno}: {exc.message}",
                            retryable=False) from None
    except Exception as exc:  # any error the template raises while rendering
        line = _template_line(exc)
        where = f", line {line}" if line else ""
        raise DeliveryError(f"webhook template {path}{where}: {type(exc).__name__}: {exc}",
                            retryable=False) from None
    try:
        return json.loads(rendered)
    except json.JSONDecodeError as exc:
        lines = rendered.splitlines()
        shown = lines[exc.lineno - 1].strip() if 0 < exc.lineno <= len(lines) else ""
        if len(shown) > 80:
            shown = shown[:79] + "…"
        raise DeliveryError(
            f"webhook template {path} does not give valid JSON: {exc.msg} at line "
            f"{exc.lineno}, column {exc.colno} of its output ({shown!r}); write values "
            "as {{ value | tojson }}", retryable=False) from None


def _template_line(exc: BaseException) -> int | None:
    """The template line a rendering error happened on (Jinja2 names templates rendered
    from a string <template>)."""
    line = None
    traceback = exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def post_webhook(settings: Settings, brief: Brief, *, timeout: float = TIMEOUT) -> None:
    """POST ``brief`` as JSON to ``alert_webhook_url``. A network error or an answer outside
    2xx raises :class:`DeliveryError`, naming the address by its host only."""
    url = settings.alert_webhook_url
    if not url:
        raise DeliveryError("no webhook: alert_webhook_url is not set", retryable=False)
    host = webhook_host(settings)
    body = json.dumps(webhook_body(settings, brief), ensure_ascii=False).encode("utf-8")
    try:
        answer = requests.post(
            url, data=body, timeout=timeout, allow_redirects=False,
            headers={"Content-Type": "application/json; charset=utf-8",
                     "User-Agent": "fanpulse"})
    except requests.exceptions.SSLError:
        raise DeliveryError(f"TLS failed with the webhook at {host} (certificate not trusted "
                            "or TLS refused)", retryable=False) from None
    except requests.exceptions.Timeout:
        raise DeliveryError(f"no answer from the webhook at {host} within {timeout:g} s") \
            from None
    except requests.exceptions.ConnectionError as exc:
        raise DeliveryError(f"{_connection_reason(exc)} (webhook at {host})") from None
    except requests.exceptions.RequestException as exc:
        raise DeliveryError(f"the webhook at {host} could not be called "
                            f"({type(exc).__name__})") from None
    with answer:
        if 200 <= answer.status_code < 300:
            return
        reason = _answer_reason(answer, settings)
        code = answer.status_code
        if 300 <= code < 400:
            reason = "redirected elsewhere; set alert_webhook_url to the final address"
        raise DeliveryError(
            f"the webhook at {host} answered {code}" + (f": {reason}" if reason else ""),
            retryable=code >= 500 or code in (408, 425, 429))


def _connection_reason(exc: BaseException) -> str:
    """A network failure in words, told from the exceptions behind it (their text holds the
    URL, so it is never shown)."""
    seen: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(seen) < 20:
        current = pending.pop()
        if any(current is e for e in seen):
            continue
        seen.append(current)
        pending += [e for e in (current.__cause__, current.__context__,
                                getattr(current, "reason", None), *current.args)
                    if isinstance(e, BaseException)]
    text = " ".join(str(e) for e in seen).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in seen) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in seen) or "resolve" in text \
            or "name or service not known" in text or "nodename nor servname" in text:
        return "host name cannot be found (DNS)"
    if any(isinstance(e, ConnectionResetError | ConnectionAbortedError) for e in seen) \
            or "reset" in text or "aborted" in text:
        return "connection dropped"
    return "network error"


def _answer_reason(answer: requests.Response, settings: Settings) -> str:
    """A short reason from an error answer: the JSON's description, message or error
    (Telegram, most gateways), else the HTTP reason phrase."""
    try:
        data = answer.json()
    except (ValueError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        for key in ("description", "message", "error_description", "error", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value.strip():
                return _short(value, settings)
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return _short(value["message"], settings)
    return _short(answer.reason or "", settings)


# -- deliver: retries and the audit ------------------------------------------------------------

Channel = tuple[str, str, Callable[[Settings, Brief], None]]  # (channel, target, send)


def channels(settings: Settings) -> list[Channel]:
    """The configured channels, each with what the audit names as its target."""
    found: list[Channel] = []
    if settings.smtp_host:
        found.append((EMAIL, ", ".join(settings.alert_email_to), send_email))
    if settings.alert_webhook_url:
        found.append((WEBHOOK, webhook_host(settings), post_webhook))
    return found


def deliver(
    engine: Engine,
    settings: Settings,
    brief: Brief,
    *,
    alert_ids: Sequence[int] = (),
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    """Record ``brief`` (and the ``alerts.id`` it carries), deliver it on every configured
    channel with retries, record every attempt, set the brief's status (sent, partly_sent,
    failed, no_channel) and return the brief's id.

    A failed delivery never raises: it is recorded and logged. Only the store's errors do."""
    brief_id = _record_brief(engine, brief, alert_ids)
    configured = channels(settings)
    if not configured:
        log.info("brief %d (%s): no channel configured (smtp_host, alert_webhook_url); "
                 "kept in the store only", brief_id, brief.kind)
        _set_status(engine, brief_id, NO_CHANNEL)
        return brief_id
    delivered = [_try_channel(engine, settings, brief, brief_id, channel, sleep, now)
                 for channel in configured]
    status = SENT if all(delivered) else PARTLY_SENT if any(delivered) else FAILED
    _set_status(engine, brief_id, status)
    level = logging.INFO if status == SENT else logging.WARNING
    log.log(level, "brief %d (%s): %s", brief_id, brief.kind, status.replace("_", " "))
    return brief_id


def _try_channel(engine: Engine, settings: Settings, brief: Brief, brief_id: int,
                 channel: Channel, sleep: Callable[[float], None],
                 now: Callable[[], dt.datetime]) -> bool:
    name, target, send = channel
    tries = max(1, settings.alert_retries)
    wait = settings.alert_retry_wait_seconds
    for attempt in range(1, tries + 1):
        attempted_at = now()
        error: str | None = None
        retryable = True
        try:
            send(settings, brief)
        except DeliveryError as exc:
            error, retryable = scrub(str(exc), settings), exc.retryable
        except Exception as exc:  # a bug must not stop the collection that asked for the brief
            error = _short(f"unexpected error: {type(exc).__name__}: {exc}", settings)
        _record_attempt(engine, brief_id, name, target, attempt, attempted_at, error)
        if error is None:
            log.info("brief %d: %s to %s delivered (attempt %d of %d)",
                     brief_id, name, target, attempt, tries)
            return True
        last = attempt == tries or not retryable
        log.warning("brief %d: %s to %s failed (attempt %d of %d): %s%s", brief_id, name,
                    target, attempt, tries, error,
                    "" if last else f"; trying again in {wait:g} s")
        if last:
            return False
        sleep(wait)
        wait *= 2
    return False


def _record_brief(engine: Engine, brief: Brief, alert_ids: Iterable[int]) -> int:
    subject, _ = storable_text(brief.subject)
    body, _ = storable_text(brief.text)
    with transaction(engine) as session:
        row = AlertBrief(created_at=_utc(brief.created_at), kind=brief.kind, subject=subject,
                         body=body, status=PENDING)
        session.add(row)
        session.flush()
        for alert_id in dict.fromkeys(alert_ids):  # each once, in order
            session.add(AlertBriefItem(brief_id=row.id, alert_id=alert_id))
        return row.id


def _record_attempt(engine: Engine, brief_id: int, channel: str, target: str, attempt: int,
                    attempted_at: dt.datetime, error: str | None) -> None:
    with transaction(engine) as session:
        session.add(AlertDelivery(
            brief_id=brief_id, channel=channel, target=storable_text(target)[0],
            attempt=attempt, attempted_at=_utc(attempted_at), ok=error is None,
            error=None if error is None else storable_text(error)[0]))


def _set_status(engine: Engine, brief_id: int, status: str) -> None:
    with transaction(engine) as session:
        session.execute(update(AlertBrief).where(AlertBrief.id == brief_id)
                        .values(status=status))


def _utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC time (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)

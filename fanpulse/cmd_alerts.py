"""``fanpulse alerts``: preview, test and send the morning brief (a thin shell over alerts/;
docs/alerts.md)."""

from __future__ import annotations

import click

from fanpulse.app import AppContext, friendly_errors, pass_app
from fanpulse.logs import setup_logging


@click.group("alerts")
def alerts_group() -> None:
    """The morning brief: what staff must know after a night, by email or a chat webhook."""


@alerts_group.command("preview")
@pass_app
@friendly_errors
def alerts_preview(app: AppContext) -> None:
    """Print what the brief would say if it were sent now (nothing is sent or recorded).

    Conditions already sent are left out until the alert_renotify_days setting says to
    repeat them, as the real brief does.
    """
    from fanpulse.alerts.morning import preview

    found = preview(app.engine(), app.settings)
    if found.brief is None:
        click.echo("Nothing new since the last brief: no message would be sent "
                   f"(alert_all_well = {app.settings.alert_all_well}).")
        return
    click.echo(f"Subject: {found.brief.subject}\n")
    click.echo(found.brief.text)


def _report(sent: object) -> None:
    from fanpulse.alerts.morning import Sent

    assert isinstance(sent, Sent)
    if sent.brief_id is None:
        click.echo("Nothing new: no brief sent.")
        return
    words = {"sent": "sent", "partly_sent": "sent on some channels only (see `fanpulse status`)",
             "failed": "NOT delivered (see `fanpulse status` for each attempt)",
             "no_channel": "recorded only: no channel is configured (smtp_host, "
                           "FANPULSE_ALERT_WEBHOOK_URL)"}
    said = words.get(sent.status, sent.status)
    click.echo(f"Brief {sent.brief_id} ({sent.items} item(s)): {said}.")


@alerts_group.command("test")
@pass_app
@friendly_errors
def alerts_test(app: AppContext) -> None:
    """Send a sample brief on every configured channel, to check the settings.

    Exit code 1 when no channel delivered it. What the rules find now is in it; nothing is
    marked as sent.
    """
    from fanpulse.alerts.morning import send_test

    setup_logging(app.settings.log_level, app.settings.secret_values())
    sent = send_test(app.engine(), app.settings)
    _report(sent)
    if sent.status not in ("sent", "partly_sent"):
        raise SystemExit(1)


@alerts_group.command("send")
@pass_app
@friendly_errors
def alerts_send(app: AppContext) -> None:
    """Make and send the morning brief now (what `fanpulse schedule` does after each night;
    for cron: `fanpulse collect; fanpulse alerts send`)."""
    from fanpulse.alerts.morning import send_morning_brief

    setup_logging(app.settings.log_level, app.settings.secret_values())
    _report(send_morning_brief(app.engine(), app.settings))

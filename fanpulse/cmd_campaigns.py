"""``fanpulse campaigns``: check, list and add campaigns in the campaigns file (a thin shell over
config/campaigns.py; docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click
from sqlalchemy.engine import Engine

from fanpulse.app import AppContext, friendly_errors, pass_app
from fanpulse.cmd_report import parse_day
from fanpulse.config.campaigns import (
    DEFAULT_CARRY_DAYS,
    Campaign,
    CampaignsFileError,
    add_campaign,
    parse_campaigns,
    read_campaigns_file,
)
from fanpulse.config.settings import SettingsError
from fanpulse.storage.db import StoreError

NEW = "the new campaign"


def _file(ctx: click.Context, given: str | None) -> Path:
    """FILE when given, else the ``campaigns_file`` setting."""
    if given:
        return Path(given)
    app = ctx.find_object(AppContext)
    try:
        return Path(app.settings.campaigns_file if app else "config/campaigns.toml")
    except SettingsError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)


def _refused(exc: CampaignsFileError) -> NoReturn:
    what = exc.path if exc.path == NEW else f"campaigns file {exc.path}"
    click.echo(f"Error: {what} was refused, nothing was written:", err=True)
    for problem in exc.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


def _describe(campaign: Campaign) -> str:
    rules = ", ".join(f"{len(values)} {rule}" for rule, values in campaign.rules().items()
                      if values)
    return (f"{campaign.key}  {campaign.name}  {campaign.starts:%d/%m/%Y} - "
            f"{campaign.ends:%d/%m/%Y}  ({rules}; carries within {campaign.carry_days} days)")


@click.group("campaigns")
def campaigns_group() -> None:
    """Campaigns (đợt tuyên truyền): which posts belong to one, which directive posts to follow."""


@campaigns_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def campaigns_check(ctx: click.Context, file: str | None) -> None:
    """Check the campaigns file (default: the campaigns_file setting); every problem is listed."""
    path = _file(ctx, file)
    if not path.exists():
        click.echo(f"No campaigns file at {path}: no campaigns (add one with "
                   "`fanpulse campaigns add`).")
        return
    try:
        campaigns = read_campaigns_file(path)
    except CampaignsFileError as exc:
        _refused(exc)
    click.echo(f"{path}: {len(campaigns)} campaign(s), all valid.")


@campaigns_group.command("list")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.pass_context
def campaigns_list(ctx: click.Context, file: str | None) -> None:
    """List the campaigns of the file, oldest first."""
    path = _file(ctx, file)
    try:
        campaigns = read_campaigns_file(path)
    except CampaignsFileError as exc:
        _refused(exc)
    if not campaigns:
        click.echo(f"No campaigns in {path}.")
        return
    for campaign in sorted(campaigns, key=lambda c: (c.starts, c.key)):
        click.echo(_describe(campaign))


@campaigns_group.command("add")
@click.argument("key")
@click.option("--name", required=True, help="The campaign's name, as staff call it.")
@click.option("--from", "starts", required=True, metavar="DATE", callback=parse_day,
              help="First day (YYYY-MM-DD or DD/MM/YYYY).")
@click.option("--to", "ends", required=True, metavar="DATE", callback=parse_day,
              help="Last day (YYYY-MM-DD or DD/MM/YYYY).")
@click.option("--hashtag", "hashtags", multiple=True, help="A hashtag, e.g. '#VìNgườiNghèo'.")
@click.option("--keyword", "keywords", multiple=True, help="A word or phrase of the campaign.")
@click.option("--link", "links", multiple=True, help="An address the campaign's posts link.")
@click.option("--seed", "seeds", multiple=True,
              help="A directive post to follow: its address or its id (PAGEID_POSTID).")
@click.option("--carry-days", type=int, default=DEFAULT_CARRY_DAYS, show_default=True,
              help="How many days after a directive post a carry counts.")
@click.option("--file", "file", type=click.Path(dir_okay=False),
              help="The campaigns file (default: the campaigns_file setting).")
@click.pass_context
def campaigns_add(ctx: click.Context, key: str, name: str, starts: dt.date, ends: dt.date,
                  hashtags: tuple[str, ...], keywords: tuple[str, ...], links: tuple[str, ...],
                  seeds: tuple[str, ...], carry_days: int, file: str | None) -> None:
    """Add campaign KEY to the campaigns file (created if missing; comments kept).

    The campaign applies to the posts already stored as well as to those to come. The file
    as it would become is checked whole first: if anything is wrong nothing is written.
    """
    path = _file(ctx, file)
    block = {"key": key, "name": name, "from": starts, "to": ends, "hashtags": list(hashtags),
             "keywords": list(keywords), "links": list(links), "seeds": list(seeds),
             "carry_days": carry_days}
    try:
        campaign = parse_campaigns({"campaign": [block]}, NEW)[0]
        add_campaign(path, campaign)  # the whole file as it would become is checked
    except CampaignsFileError as exc:
        _refused(exc)
    except OSError as exc:
        click.echo(f"Error: cannot write {path}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    click.echo(f"Added to {path}: {_describe(read_campaigns_file(path)[-1])}")
    app = ctx.find_object(AppContext)
    try:
        engine = app.engine(create=False) if app else None
    except StoreError:
        engine = None  # no store yet: the first collection applies it
    if engine is None:
        click.echo("No store yet: the first collection applies it to the posts it stores.")
        return
    _detect(engine, path, app.settings.tz if app else None)


def _detect(engine: Engine, path: Path, tz: ZoneInfo | None) -> None:
    """Work the campaigns out again from the posts stored, and say what was found."""
    from fanpulse.storage.campaigns import describe, detect_from_file

    try:
        results = detect_from_file(engine, path, tz or ZoneInfo("Asia/Ho_Chi_Minh"))
    except CampaignsFileError as exc:
        _refused(exc)
    if not results:
        click.echo(f"No campaigns in {path}: the store holds none now.")
    for found in results:
        click.echo(f"Applied to the posts stored: {describe(found)}")


@campaigns_group.command("detect")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@pass_app
@friendly_errors
@click.pass_context
def campaigns_detect(ctx: click.Context, app: AppContext, file: str | None) -> None:
    """Find each campaign's directive posts, the posts that carry them and the posts that meet
    its rules, among the posts already stored.

    The nightly collection does this after each night; run it after editing the campaigns
    file by hand. It rewrites what the store holds of each campaign (a campaign taken out
    of the file is removed); the posts themselves are never changed.
    """
    path = _file(ctx, file)
    _detect(app.engine(), path, app.settings.tz)

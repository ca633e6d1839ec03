"""``fanpulse sandbox serve``: run the Graph API sandbox on loopback until Ctrl-C."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click

from .server import SandboxServer, is_loopback
from .timeutil import as_utc
from .tokens import DEFAULT_TOKEN
from .world import DEFAULT_NOW, World

sandbox_group = click.Group(
    "sandbox", help="A local stand-in for the Facebook Graph API (see docs/sandbox.md)."
)


def _parse_now(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime:
    if value is None:
        return DEFAULT_NOW
    try:
        return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise click.BadParameter(f"not an ISO date-time: {value!r}") from None


@sandbox_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option(
    "--units",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Units CSV (code,name,level,parent_code,page); one simulated Page per distinct page.",
)
@click.option(
    "--pages",
    type=click.IntRange(min=1),
    default=None,
    help="Generate this many pages instead of reading --units.  [default: 50]",
)
@click.option(
    "--seed", default=1, show_default=True, type=int, help="Seed of the simulated history."
)
@click.option(
    "--latency-ms", default=0.0, show_default=True, type=float, help="Added latency per request."
)
@click.option(
    "--jitter-ms", default=0.0, show_default=True, type=float, help="Random extra latency, up to."
)
@click.option(
    "--now",
    "now",
    callback=_parse_now,
    default=None,
    help="Simulated current time, ISO 8601 (UTC if no offset).  [default: 2026-11-25T19:00Z]",
)
@click.option(
    "--app-secret", default=None, help="Require appsecret_proof computed with this secret."
)
@click.option(
    "--legacy-app",
    is_flag=True,
    help="Act as an app created before 4 Nov 2026: ?ids= (below v26.0), field aliases, "
    "date_format, method and callback still work. Default: a new app, which is refused them.",
)
@click.option(
    "--ppca",
    is_flag=True,
    help="Give the app Page Public Content Access: posts of Pages not shared with the "
    "Business Manager become readable with the system-user token (never their insights).",
)
def serve(
    host: str,
    port: int,
    units: Path | None,
    pages: int | None,
    seed: int,
    latency_ms: float,
    jitter_ms: float,
    now: datetime,
    app_secret: str | None,
    legacy_app: bool,
    ppca: bool,
) -> None:
    """Serve the Graph API sandbox; prints the base URL and the token to use."""
    if not is_loopback(host):
        raise click.BadParameter(f"{host!r} is not a loopback address", param_hint="--host")
    if units is not None and pages is not None:
        raise click.UsageError("give --units or --pages, not both")
    try:
        if units is not None:
            world = World.from_units_csv(
                units, seed=seed, now=now, app_secret=app_secret, legacy_app=legacy_app, ppca=ppca
            )
        else:
            world = World.generate(
                pages or 50,
                seed=seed,
                now=now,
                app_secret=app_secret,
                legacy_app=legacy_app,
                ppca=ppca,
            )
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    world.faults.latency_ms = latency_ms
    world.faults.jitter_ms = jitter_ms
    try:
        server = SandboxServer(world, host=host, port=port).start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None
    click.echo(f"Graph API sandbox listening on {server.base_url}")
    click.echo(f"access token: {DEFAULT_TOKEN}")
    click.echo(
        f"pages: {len(world.pages)} ({len(world.shared_pages())} shared with the Business "
        f"Manager); simulated now: {world.now.isoformat()}"
    )
    app = "legacy app" if legacy_app else "new app (no ids=, no field aliases)"
    click.echo(f"app: {app}; Page Public Content Access: {'yes' if ppca else 'no'}")
    click.echo(
        f"try: curl '{server.base_url}/v27.0/{world.pages[0]}?fields=fan_count,followers_count"
        f"&access_token={DEFAULT_TOKEN}'"
    )
    click.echo("Press Ctrl-C to stop.", err=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("stopped", err=True)


if __name__ == "__main__":  # python -m sandbox.cli serve ...
    sandbox_group()

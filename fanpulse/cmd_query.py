"""``fanpulse query``: read-only SQL and saved queries over the store (a thin shell over
storage.query, which does the checking, the running and the formatting)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fanpulse.storage.query import (
    FORMATS,
    QueryError,
    QueryRefused,
    QueryResult,
    QueryStopped,
    SavedQuery,
    escape_controls,
    load_saved_queries,
    parse_param_options,
    render,
    run_query,
    run_saved,
)

# The shell's code for a program ended by Ctrl-C (128 + SIGINT).
EXIT_STOPPED = 130


def _describe(query: SavedQuery) -> str:
    lines = [f"{query.name}: {query.summary}"]
    for spec in query.params:
        default = "required" if spec.required else f"default {spec.default or 'empty'}"
        lines.append(f"    --param {spec.name}=<{spec.kind}>  {spec.help} ({default})")
    return "\n".join(lines)


def _store(ctx: click.Context) -> tuple[str, float]:
    """The store's URL and the query_timeout_seconds setting."""
    from fanpulse.app import AppContext
    from fanpulse.config.settings import SettingsError
    from fanpulse.storage.db import StoreError

    app = ctx.find_object(AppContext)
    if app is None:
        raise click.UsageError("fanpulse query runs as a subcommand of fanpulse")
    try:
        # Brings the schema (and so the views) up to date before the store is opened read-only;
        # its pooled connection is closed since this command reads through its own.
        app.engine().dispose()
        return str(app.settings.database_url), float(app.settings.query_timeout_seconds)
    except (SettingsError, StoreError) as exc:
        raise QueryError(str(exc)) from None


def _write(result: QueryResult, fmt: str, out: str | None, bom: bool) -> None:
    content = render(result, fmt)
    if bom:
        content = "\ufeff" + content  # Excel reads the file as UTF-8 only with this mark
    if out is None:
        click.echo(content, nl=False)
        return
    # newline="" keeps the CSV writer's CRLF line ends as they are.
    with Path(out).open("w", encoding="utf-8", newline="") as handle:
        handle.write(content)
    rows = len(result.rows)
    click.echo(f"Wrote {rows} row{'' if rows == 1 else 's'} to {out}.", err=True)


@click.command("query")
@click.argument("statement", required=False)
@click.option("--saved", "saved_name", metavar="NAME",
              help="Run the saved query config/queries/NAME.sql (same as giving NAME alone).")
@click.option("--list", "list_saved", is_flag=True,
              help="List the saved queries with their parameters.")
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A value for :NAME in the SQL (repeatable).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="Output format. Default: table, or what --out's extension says.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to FILE instead of stdout.")
@click.option("--bom", is_flag=True,
              help="Start the CSV with a UTF-8 byte-order mark, so that Excel shows "
                   "Vietnamese correctly when the file is double-clicked.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Stop the statement after this long (0: no limit). Default: the "
                   "query_timeout_seconds setting (60).")
@click.pass_context
def query_command(ctx: click.Context, statement: str | None, saved_name: str | None,
                  list_saved: bool, params: tuple[str, ...], fmt: str | None, out: str | None,
                  bom: bool, timeout: float | None) -> None:
    """Ask the store a question in SQL, read-only.

    STATEMENT is one SQL statement (SELECT, WITH, VALUES, EXPLAIN, or a PRAGMA that reads),
    or the NAME of a saved query. Writes (INSERT, UPDATE, DELETE, DROP, ATTACH, a PRAGMA with
    a value, several statements, ...) are refused before anything runs, and the store is
    opened read-only besides. On PostgreSQL, functions that act beyond reading (pg_sleep,
    pg_read_file, set_config, dblink, nextval, ...) are refused too. A statement that runs
    longer than --timeout is stopped; Ctrl-C stops it in the database and exits 130. CSV
    cells a spreadsheet would run as formulas (=, +, -, @) get a leading '. The views
    unit_tree, unit_descendants, post_latest, page_daily, unit_daily, campaign_posts and
    cascade_coverage give the same figures as the reports; docs/schema.md describes every
    table, view and column.

    \b
    Examples:
      fanpulse query "SELECT code, name FROM unit_tree WHERE depth = 1"
      fanpulse query --list
      fanpulse query communes_growth_fell --param month=2026-11
      fanpulse query top_posts -p from=2026-11-01 -p to=2026-11-30 -p match="18/11"
      fanpulse query unit_rollup -p unit=412 --format csv --bom --out vinh.csv
    """
    try:
        saved = load_saved_queries()
        if list_saved:
            if statement or saved_name:
                raise click.UsageError("--list takes no statement or --saved")
            for query in saved.values():
                click.echo(_describe(query))
            return
        if statement and saved_name:
            raise click.UsageError("give a statement or --saved NAME, not both")
        if statement and statement.strip() in saved:
            saved_name = statement.strip()
        if not statement and not saved_name:
            raise click.UsageError('give an SQL statement, a saved query NAME, or --list')
        if fmt is None:
            suffix = Path(out).suffix.lower().lstrip(".") if out else ""
            fmt = suffix if suffix in ("csv", "json") else "table"
        if bom and fmt != "csv":
            raise click.UsageError("--bom is for --format csv")
        values = parse_param_options(params)
        url, setting = _store(ctx)
        limit = setting if timeout is None else timeout
        if limit < 0:
            raise QueryError(f"query_timeout_seconds is {limit:g}: give 0 (no limit) or more")
        if saved_name:
            if saved_name not in saved:
                names = ", ".join(saved) or "none"
                raise QueryError(f"no saved query {saved_name!r} (saved queries: {names})")
            result = run_saved(url, saved[saved_name], values, timeout=limit)
        else:
            result = run_query(url, statement or "", values, timeout=limit)
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
        _write(result, fmt, out, bom)
    except QueryRefused as exc:
        click.echo(f"Refused: {escape_controls(str(exc))}. Nothing was run.", err=True)
        sys.exit(1)
    except (QueryStopped, KeyboardInterrupt):
        click.echo("Stopped by the operator (Ctrl-C); the statement was cancelled in the "
                   "database.", err=True)
        sys.exit(EXIT_STOPPED)
    except QueryError as exc:
        # The database's messages quote the SQL and its names: escaped, never obeyed.
        click.echo(f"Error: {escape_controls(str(exc))}", err=True)
        sys.exit(1)

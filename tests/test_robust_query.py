"""`fanpulse query` cannot hold the store, hurt the server, or the person reading its output.

A time limit and Ctrl-C stop a statement inside the database (SQLite's interrupt, PostgreSQL's
statement_timeout and cancel request); PostgreSQL functions that act beyond reading are
refused; `fanpulse db create-reader` makes a role that can only read; CSV cells cannot run as
spreadsheet formulas; terminal escapes in the table output are shown, never obeyed; an unknown
unit is refused.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from fanpulse.cli import cli
from fanpulse.storage.query import (
    QueryRefused,
    QueryResult,
    QueryTimeout,
    check_read_only,
    csv_cell,
    escape_controls,
    render,
    run_query,
    run_saved,
)
from tests.conftest import PG_URL, ROOT
from tests.test_query import SAVED
from tests.test_views import add_small_store

# Statements that run for a long while (a minute or more), but end even if nothing stops them.
SLOW = {
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
              "WHERE x < 300000000) SELECT count(*) FROM c",
    "postgresql": "SELECT count(*) FROM generate_series(1, 40000) a, generate_series(1, 40000) b",
}


@pytest.fixture
def store_url(engine: Engine, db_url: str) -> str:
    add_small_store(engine)
    engine.dispose()
    return db_url


def dialect(url: str) -> str:
    return make_url(url).get_backend_name()


def invoke(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(cli, ["--database-url", url, "query", *args])


# --- the time limit -------------------------------------------------------------------------


def test_a_slow_statement_is_stopped_at_the_time_limit(store_url: str) -> None:
    began = time.monotonic()
    with pytest.raises(QueryTimeout, match=r"ran longer than 0.5 s and was stopped"):
        run_query(store_url, SLOW[dialect(store_url)], timeout=0.5)
    assert time.monotonic() - began < 10
    # The store is free again at once: no lock, no busy connection left behind.
    assert run_query(store_url, "SELECT count(*) FROM units", timeout=5).rows == [(7,)]


def test_the_time_limit_comes_from_the_setting_or_the_option(store_url: str) -> None:
    slow = SLOW[dialect(store_url)]
    by_setting = invoke(store_url, slow, env={"FANPULSE_QUERY_TIMEOUT_SECONDS": "0.5"})
    assert by_setting.exit_code == 1
    assert "Error: the statement ran longer than 0.5 s and was stopped " \
           "(query_timeout_seconds; --timeout SECONDS for one query, 0: no limit)" \
           in by_setting.stderr
    by_option = invoke(store_url, slow, "--timeout", "0.3",
                       env={"FANPULSE_QUERY_TIMEOUT_SECONDS": "600"})
    assert by_option.exit_code == 1 and "longer than 0.3 s" in by_option.stderr
    unlimited = invoke(store_url, "SELECT count(*) AS n FROM posts", "--timeout", "0")
    assert unlimited.exit_code == 0 and "(1 row)" in unlimited.stdout
    negative = invoke(store_url, "SELECT 1", "--timeout", "-1")
    assert negative.exit_code == 2


def test_the_saved_queries_run_under_the_limit_too(store_url: str) -> None:
    result = run_saved(store_url, SAVED["silent_pages"], {"since": "2026-10-01"}, timeout=30)
    assert result.columns


# --- Ctrl-C ---------------------------------------------------------------------------------


def active_queries(application: str) -> int:
    admin = create_engine(PG_URL)
    try:
        with admin.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :a "
                "AND state = 'active'"), {"a": application}).scalar_one())
    finally:
        admin.dispose()


def test_ctrl_c_stops_the_statement_in_the_database(store_url: str, tmp_path: Path) -> None:
    application = f"fp_ctrl_c_{uuid.uuid4().hex[:8]}"
    url = store_url
    if dialect(url) == "postgresql":
        url += f"&application_name={application}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "fanpulse", "--database-url", url, "query",
         SLOW[dialect(url)], "--timeout", "0"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        if dialect(url) == "postgresql":  # wait until the server runs it
            while active_queries(application) == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert active_queries(application) == 1
        else:
            time.sleep(2.5)  # start-up, then well into the statement
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, err
    assert err.strip().endswith("Stopped by the operator (Ctrl-C); the statement was "
                                "cancelled in the database.")
    assert "Traceback" not in err
    if dialect(url) == "postgresql":
        # Cancelled on the server, not merely abandoned by a client that went away.
        assert active_queries(application) == 0


# --- PostgreSQL: functions with side effects ------------------------------------------------

SIDE_EFFECTS = [
    "SELECT pg_terminate_backend(1234)",
    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity",
    "SELECT pg_catalog.pg_read_file('/etc/passwd')",
    "SELECT pg_read_binary_file('/etc/passwd')",
    "SELECT * FROM pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT lo_export(1, '/tmp/x')",
    "SELECT pg_reload_conf()",
    "SELECT pg_rotate_logfile()",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT dblink_exec('dbname=test', 'DROP TABLE units')",
    "SELECT * FROM dblink('dbname=test', 'SELECT 1') AS t(a int)",
    "SELECT pg_sleep(100)",
    'SELECT "pg_sleep"(100)',
    "SELECT PG_SLEEP /* spaced */ (100)",
    "SELECT pg_advisory_lock(1)",
    "SELECT pg_try_advisory_xact_lock(1)",
    "SELECT nextval('units_id_seq')",
    "SELECT setval('units_id_seq', 1)",
    "SELECT query_to_xml('DELETE FROM units', true, true, '')",
    "WITH x AS (SELECT pg_notify('c', 'p')) SELECT * FROM x",
]


@pytest.mark.parametrize("sql", SIDE_EFFECTS)
def test_postgresql_functions_with_side_effects_are_refused(sql: str) -> None:
    with pytest.raises(QueryRefused, match=r"\(\) acts beyond reading the store"):
        check_read_only(sql, "postgresql")


@pytest.mark.parametrize("sql", [
    "SELECT 'pg_sleep(1)' AS text_only",
    "SELECT pg_size_pretty(1024::bigint)",
    "SELECT u.code AS nextval FROM units u",
    "SELECT current_setting('statement_timeout')",
    "SELECT lower(name) FROM units",
])
def test_reading_functions_stay_allowed(sql: str) -> None:
    check_read_only(sql, "postgresql")


@pytest.mark.postgres
def test_a_refused_function_never_reaches_the_server(engine: Engine, db_url: str) -> None:
    if dialect(db_url) != "postgresql":
        pytest.skip("PostgreSQL only")
    result = invoke(db_url, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert result.exit_code == 1
    assert result.stderr.startswith("Refused: pg_terminate_backend() acts beyond reading")
    assert "Nothing was run." in result.stderr


# --- the read-only role ---------------------------------------------------------------------


@pytest.fixture
def reader(engine: Engine, db_url: str) -> Iterator[tuple[str, str]]:
    """A role name for the test, dropped afterwards (roles belong to the whole cluster)."""
    if dialect(db_url) != "postgresql":
        pytest.skip("PostgreSQL only")
    add_small_store(engine)
    name = f"fp_reader_{uuid.uuid4().hex[:8]}"
    yield name, db_url
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
            conn.execute(text(f'DROP OWNED BY "{name}"'))
            conn.execute(text(f'DROP ROLE "{name}"'))
    admin.dispose()


def as_reader(name: str) -> Engine:
    """The role's own connection: its defaults give it the store's schema."""
    return create_engine(make_url(PG_URL).set(username=name))


def test_create_reader_makes_a_role_that_only_reads(reader: tuple[str, str]) -> None:
    name, url = reader
    schema = dict(make_url(url).query)["options"].split("=")[-1]
    made = CliRunner().invoke(cli, ["--database-url", url, "db", "create-reader", name])
    assert made.exit_code == 0, made.output
    printed = made.stdout.splitlines()
    assert printed[0] == (f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                          "NOREPLICATION NOBYPASSRLS;")
    assert f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{name}";' in printed
    assert printed[-1].startswith(f"Role {name} created: it can log in to database test and "
                                  f"read the tables and views of schema {schema}, nothing else")
    engine = as_reader(name)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM units")).scalar_one() == 7
            assert conn.execute(text("SELECT count(*) FROM unit_daily")).scalar_one() > 0
        for forbidden in (
            "INSERT INTO locks (name, owner, acquired_at, expires_at) "
            "VALUES ('x', 'y', now(), now())",
            "SET default_transaction_read_only = off; "
            "INSERT INTO locks (name, owner, acquired_at, expires_at) "
            "VALUES ('x', 'y', now(), now())",
            f'CREATE TABLE "{schema}".scratch (a int)',
            "SELECT pg_read_file('/etc/hostname')",
            "SELECT count(*) FROM pg_catalog.pg_authid",
        ):
            with engine.connect() as conn, pytest.raises(Exception,
                                                         match="read-only|permission denied"):
                conn.exec_driver_sql(forbidden)
    finally:
        engine.dispose()
    # A table a later migration adds (created by the store's owner) is readable too.
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text("CREATE TABLE later_table (a int)"))
    admin.dispose()
    engine = as_reader(name)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM later_table")).scalar_one() == 0
    engine.dispose()
    # Running it again is safe, and `fanpulse query` as the reader has nothing to warn about.
    again = CliRunner().invoke(cli, ["--database-url", url, "db", "create-reader", name])
    assert again.exit_code == 0 and "CREATE ROLE" not in again.stdout
    assert f"Role {name} exists; its rights were granted again" in again.stdout
    as_role = invoke(str(make_url(PG_URL).set(username=name)), "SELECT count(*) AS n FROM units")
    assert as_role.exit_code == 0, as_role.output
    assert "Warning" not in as_role.stderr and "7" in as_role.stdout


def test_create_reader_refuses_a_role_with_more_rights(reader: tuple[str, str]) -> None:
    _name, url = reader
    result = CliRunner().invoke(cli, ["--database-url", url, "db", "create-reader", "postgres"])
    assert result.exit_code == 1
    assert "Error: role postgres exists and can do more than read (SUPER" in result.stderr
    bad = CliRunner().invoke(cli, ["--database-url", url, "db", "create-reader", 'x"; DROP'])
    assert bad.exit_code == 1 and "use lower-case letters, digits and _" in bad.stderr


def test_create_reader_on_sqlite_says_there_are_no_roles(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--database-url", f"sqlite:///{tmp_path / 's.db'}",
                                      "db", "create-reader", "analyst"])
    assert result.exit_code == 1
    assert "a read-only role is for PostgreSQL: SQLite has no roles" in result.stderr


def test_a_superuser_session_is_warned_about(store_url: str) -> None:
    result = invoke(store_url, "SELECT count(*) AS n FROM units")
    assert result.exit_code == 0
    warned = "Warning: fanpulse query is connected as the PostgreSQL superuser 'postgres'"
    if dialect(store_url) == "postgresql" and make_url(PG_URL).username == "postgres":
        assert warned in result.stderr and "fanpulse db create-reader NAME" in result.stderr
        assert warned not in result.stdout  # stdout stays clean for pipes and files
    else:
        assert "Warning" not in result.stderr


# --- output that cannot run or rewrite the terminal -----------------------------------------


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("=1+1", "'=1+1"),
    ("+84 912", "'+84 912"),
    ("-5", "'-5"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("Phường Hưng Bình", "Phường Hưng Bình"),
    ("a=b", "a=b"),
    (-5, "-5"),
    (-1.5, "-1.5"),
    (None, ""),
])
def test_csv_cells_cannot_run_as_formulas(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_from_the_store_is_neutralised_and_numbers_stay(store_url: str,
                                                            tmp_path: Path) -> None:
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE posts SET message = '=HYPERLINK(\"http://evil\",\"bấm\")' "
                          "WHERE id = (SELECT MIN(id) FROM posts)"))
    engine.dispose()
    out = tmp_path / "posts.csv"
    result = invoke(store_url, "SELECT message, -5 AS minus, 'x' AS t FROM posts "
                               "WHERE message LIKE '=%'", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines()[1] == \
        "\"'=HYPERLINK(\"\"http://evil\"\",\"\"bấm\"\")\",-5,x"


def test_the_table_output_escapes_terminal_control_characters() -> None:
    result = QueryResult(["\x1b[2Jname", "n"], [
        ("\x1b[31mred\x1b[0m", 1), ("over\rwrite", 2), ("\u202eevil", 3), ("\x9b31m", 4),
        ("tab\there", 5), ("Xã Hưng Lộc 🎉", 6),
    ])
    shown = render(result, "table")
    assert not any(ch in shown for ch in "\x1b\r\x9b\u202e\t")
    for escaped in ("\\x1b[2Jname", "\\x1b[31mred\\x1b[0m", "over\\rwrite", "\\u202eevil",
                    "\\x9b31m", "tab\\there", "Xã Hưng Lộc 🎉"):
        assert escaped in shown
    assert escape_controls("Thành phố Vinh") == "Thành phố Vinh"


def test_error_messages_are_escaped_too(store_url: str) -> None:
    result = invoke(store_url, 'SELECT * FROM "\x1b[31mevil"')
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\\x1b[31mevil" in result.stderr


# --- units that do not exist ----------------------------------------------------------------


def test_an_unknown_unit_is_refused(store_url: str) -> None:
    result = invoke(store_url, "unit_rollup", "-p", "unit=99999")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("Error: unit_rollup: unit='99999' is no unit of the store "
                                     "(`fanpulse units list --all` shows the codes)")
    known = invoke(store_url, "unit_rollup", "-p", "unit=412", "-p", "from=2026-11-01",
                   "-p", "to=2026-11-03", "--format", "csv")
    assert known.exit_code == 0 and known.stdout.startswith("day,pages_reporting")
    retired = invoke(store_url, "unit_rollup", "-p", "unit=99")  # a retired unit is known
    assert retired.exit_code == 0, retired.output
    listed = CliRunner().invoke(cli, ["query", "--list"])
    assert "--param unit=<unit>" in listed.output

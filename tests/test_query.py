"""`fanpulse query`: the read-only check, the read-only connection, saved queries, output."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fanpulse.cli import cli
from fanpulse.cmd_query import query_command
from fanpulse.storage.db import ensure_schema, make_engine
from fanpulse.storage.query import (
    ParameterError,
    QueryError,
    QueryRefused,
    QueryResult,
    bind_names,
    check_read_only,
    execute_read_only,
    load_saved_queries,
    parse_day,
    plain,
    render,
    run_query,
    run_saved,
)
from tests.conftest import postgres_schema
from tests.test_views import add_small_store

TODAY = dt.date(2026, 11, 4)  # the day after the small store's last snapshot
SAVED = load_saved_queries()


# --- first line: the check ------------------------------------------------------------------

REFUSED = [
    # (dialect, statement, words the message must contain)
    ("sqlite", "DELETE FROM posts", "DELETE"),
    ("sqlite", "delete from posts where id = 1", "DELETE"),
    ("sqlite", "UPDATE pages SET name = 'x'", "UPDATE"),
    ("sqlite", "INSERT INTO units (code) VALUES ('1')", "INSERT"),
    ("sqlite", "REPLACE INTO units (code) VALUES ('1')", "REPLACE"),
    ("sqlite", "DROP TABLE posts", "DROP"),
    ("sqlite", "DROP VIEW page_daily", "DROP"),
    ("sqlite", "ALTER TABLE posts ADD COLUMN x INTEGER", "ALTER"),
    ("sqlite", "CREATE TABLE x (a INTEGER)", "CREATE"),
    ("sqlite", "CREATE TEMP VIEW v AS SELECT 1", "CREATE"),
    ("sqlite", "ATTACH DATABASE '/tmp/x.db' AS x", "ATTACH"),
    ("sqlite", "DETACH DATABASE x", "DETACH"),
    ("sqlite", "VACUUM", "VACUUM"),
    ("sqlite", "VACUUM INTO '/tmp/copy.db'", "VACUUM"),
    ("sqlite", "REINDEX", "REINDEX"),
    ("sqlite", "ANALYZE", "ANALYZE"),
    ("sqlite", "PRAGMA journal_mode = DELETE", "PRAGMA"),
    ("sqlite", "PRAGMA foreign_keys=OFF", "PRAGMA"),
    ("sqlite", "PRAGMA user_version(7)", "PRAGMA user_version"),
    ("sqlite", "PRAGMA main.user_version = 7", "PRAGMA"),
    ("sqlite", "SELECT 1; DELETE FROM posts", "several statements"),
    ("sqlite", "SELECT 1; SELECT 2", "several statements"),
    ("sqlite", "WITH x AS (SELECT 1) DELETE FROM posts", "DELETE"),
    ("sqlite", "WITH x AS (SELECT 1) INSERT INTO units SELECT * FROM units", "INSERT"),
    ("sqlite", "SELECT 1 /* a comment */ ; DROP TABLE posts", "several statements"),
    ("sqlite", "BEGIN", "not a read statement"),
    ("sqlite", "COMMIT", "not a read statement"),
    ("sqlite", "", "no SQL statement"),
    ("sqlite", "-- only a comment", "no SQL statement"),
    ("sqlite", "SELECT 'unclosed", "unclosed"),
    # A bracket-quoted name hides a quote from a scanner that does not know SQLite's [].
    ("sqlite", "SELECT [a'] FROM units; DELETE FROM posts; --'", "several statements"),
    ("postgresql", "DELETE FROM posts", "DELETE"),
    ("postgresql", "SELECT * INTO copy_of_posts FROM posts", "INTO"),
    ("postgresql", "TRUNCATE posts", "TRUNCATE"),
    ("postgresql", "COPY posts TO '/tmp/x'", "COPY"),
    ("postgresql", "SET default_transaction_read_only = off", "not a read statement"),
    ("postgresql", "WITH gone AS (DELETE FROM posts RETURNING id) SELECT count(*) FROM gone",
     "DELETE"),
    ("postgresql", "SELECT 1 FROM posts FOR UPDATE", "UPDATE"),
    ("postgresql", "CALL some_procedure()", "not a read statement"),
    # E'' strings take backslash escapes: the quote after the backslash does not end it...
    ("postgresql", r"SELECT E'a\''; DELETE FROM posts; --'", "several statements"),
    # ...and dollar quoting hides a single quote.
    ("postgresql", "SELECT $$'$$; DELETE FROM posts; --'", "several statements"),
]

ALLOWED = [
    ("sqlite", "SELECT * FROM posts"),
    ("sqlite", "select count(*) from page_daily;"),
    ("sqlite", "  WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
               "SELECT n FROM t"),
    ("sqlite", "SELECT 'DELETE FROM posts; DROP TABLE x' AS text"),
    ("sqlite", 'SELECT "update" FROM (SELECT 1 AS "update")'),
    ("sqlite", "SELECT 1 -- DROP TABLE posts\n"),
    ("sqlite", "SELECT /* ; DELETE */ 1"),
    ("sqlite", "SELECT replace(name, 'Xã', 'xã') FROM units"),
    ("sqlite", "SELECT deleted_at, created_time, updated_at FROM posts, units"),
    ("sqlite", "PRAGMA table_info(posts)"),
    ("sqlite", "PRAGMA foreign_keys"),
    ("sqlite", "PRAGMA main.index_list('posts')"),
    ("sqlite", "EXPLAIN QUERY PLAN SELECT * FROM unit_daily WHERE code = '412'"),
    ("sqlite", "VALUES (1), (2)"),
    ("sqlite", "(SELECT 1)"),
    ("postgresql", "SELECT E'it\\'s' AS s, $tag$ ; DELETE $tag$ AS t"),
    ("postgresql", "SELECT CAST('2026-11-01' AS date) + 1, now()::date"),
    ("postgresql", "EXPLAIN ANALYZE SELECT * FROM page_daily"),
    ("postgresql", "SHOW timezone"),
    ("postgresql", "TABLE units"),
]


@pytest.mark.parametrize(("dialect", "sql", "message"), REFUSED)
def test_writes_are_refused_before_they_run(dialect: str, sql: str, message: str) -> None:
    with pytest.raises(QueryRefused, match=message):
        check_read_only(sql, dialect)


@pytest.mark.parametrize(("dialect", "sql"), ALLOWED)
def test_reads_are_allowed(dialect: str, sql: str) -> None:
    check_read_only(sql, dialect)


@pytest.mark.parametrize(
    ("sql", "names"),
    [
        ("SELECT * FROM page_daily WHERE day >= :from AND day <= :to", ["from", "to"]),
        ("SELECT :a, :a, :b", ["a", "b"]),
        ("SELECT '10:30' AS t, ':not_a_param' AS s -- :neither\n", []),
        ('SELECT 1 AS ":quoted"', []),
        ("SELECT day::text FROM page_daily WHERE day = :d::date", ["d"]),
    ],
)
def test_bind_names_ignore_quotes_comments_and_casts(sql: str, names: list[str]) -> None:
    assert bind_names(sql, "postgresql") == names


# --- on a real store ------------------------------------------------------------------------

@pytest.fixture
def store_url(engine: Engine, db_url: str) -> str:
    add_small_store(engine)
    engine.dispose()  # SQLite: the file is checkpointed and closed, as after a collection
    return db_url


def count(url: str, table: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_a_read_gives_plain_rows(store_url: str) -> None:
    # Values come as text: compare them with numbers through CAST.
    result = run_query(store_url, "SELECT code, name, depth FROM unit_tree "
                                  "WHERE depth <= CAST(:depth AS INTEGER) ORDER BY code",
                       {"depth": "1"})
    assert result.columns == ["code", "name", "depth"]
    assert result.rows == [("40", "Tỉnh Nghệ An", 0), ("412", "Thành phố Vinh", 1),
                           ("99", "Xã Cũ", 1)]


@pytest.mark.parametrize("sql", ["DELETE FROM posts", "UPDATE posts SET message = NULL",
                                 "DROP TABLE posts", "ATTACH DATABASE 'x.db' AS x",
                                 "PRAGMA journal_mode=DELETE", "SELECT 1; DELETE FROM posts"])
def test_run_query_refuses_writes_and_the_store_is_unchanged(store_url: str, sql: str) -> None:
    before = count(store_url, "posts")
    with pytest.raises(QueryRefused):
        run_query(store_url, sql, {})
    assert count(store_url, "posts") == before == 7


@pytest.mark.parametrize("sql", [
    "DELETE FROM posts",
    "UPDATE posts SET message = NULL",
    "INSERT INTO locks (name, owner, acquired_at, expires_at) "
    "VALUES ('x', 'me', '2026-01-01', '2026-01-02')",
    "DROP VIEW unit_daily",
    "CREATE TABLE scratch (a INTEGER)",
])
def test_the_connection_itself_is_read_only(store_url: str, sql: str) -> None:
    """Second line of defence: even unchecked, a write fails on the read-only connection."""
    before = count(store_url, "posts")
    with pytest.raises(QueryError, match="read-only"):
        execute_read_only(store_url, sql)
    assert count(store_url, "posts") == before
    engine = make_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM unit_daily")).scalar_one() > 0
    engine.dispose()


def test_sqlite_pragma_writes_fail_on_the_connection_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    with pytest.raises(QueryError):
        execute_read_only(url, "PRAGMA user_version = 7")
    result = execute_read_only(url, "PRAGMA user_version")
    assert result.rows == [(0,)]


def test_database_errors_are_explained(store_url: str) -> None:
    with pytest.raises(QueryError, match="the database said"):
        run_query(store_url, "SELECT no_such_column FROM posts", {})


def test_parameters_must_be_given_and_used(store_url: str) -> None:
    with pytest.raises(ParameterError, match=r"missing parameter :code \(give it as --param"):
        run_query(store_url, "SELECT * FROM units WHERE code = :code", {})
    with pytest.raises(ParameterError, match="no parameter :nope"):
        run_query(store_url, "SELECT 1", {"nope": "1"})


def test_missing_sqlite_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no SQLite store"):
        run_query(f"sqlite:///{tmp_path / 'none.db'}", "SELECT 1", {})
    assert not (tmp_path / "none.db").exists()


# --- saved queries --------------------------------------------------------------------------

def test_the_saved_queries_are_described() -> None:
    assert {"communes_growth_fell", "top_posts", "silent_pages", "failed_pages_last_run",
            "unit_rollup"} <= set(SAVED)
    for query in SAVED.values():
        assert query.summary and query.description, query.name
        used = set(bind_names(query.sql, "sqlite"))
        for spec in query.params:
            assert spec.help, (query.name, spec.name)
            derived = {"date": {"", "_start", "_end"}, "month": {"", "_prev", "_next"}}.get(
                spec.kind, {""})
            assert any(f"{spec.name}{suffix}" in used for suffix in derived), spec.name
        check_read_only(query.sql, "sqlite")
        check_read_only(query.sql, "postgresql")


def saved(url: str, name: str, **params: str) -> QueryResult:
    return run_saved(url, SAVED[name], params, today=TODAY)


def test_communes_growth_fell(store_url: str) -> None:
    result = saved(store_url, "communes_growth_fell", month="2026-11")
    assert result.columns == ["code", "name", "path", "growth_last_month",
                              "growth_this_month", "difference"]
    # Hưng Bình: +3 in October, +7 - 10 in November. Đông Vĩnh grew more (+13 with Khối 1).
    assert result.rows == [("16666", "Phường Hưng Bình",
                            "Tỉnh Nghệ An > Thành phố Vinh > Phường Hưng Bình", 3, -3, -6)]
    assert saved(store_url, "communes_growth_fell", month="2026-11", level="district").rows == []
    assert saved(store_url, "communes_growth_fell").rows == result.rows  # default: this month


def test_top_posts(store_url: str) -> None:
    result = saved(store_url, "top_posts", **{"from": "2026-10-30", "to": "2026-11-03"})
    assert [(r[0], r[3]) for r in result.rows] == [
        ("2026-11-03", 115), ("2026-10-30", 60), ("2026-11-01", 23), ("2026-11-01", 7),
        ("2026-11-02", 5), ("2026-11-01", 3), ("2026-11-02", 0)]
    one_day = saved(store_url, "top_posts", **{"from": "2026-11-01", "to": "2026-11-01"})
    assert [r[7] for r in one_day.rows] == ["Hội nghị sơ kết", "Thăm gia đình chính sách",
                                              "Trồng hoa"]
    festival = saved(store_url, "top_posts", match="lễ hội")  # matches "LỄ HỘI" too
    assert [r[7] for r in festival.rows] == ["LỄ HỘI văn hóa các dân tộc"]
    assert [r[3] for r in saved(store_url, "top_posts", match="18/11").rows] == [115]
    assert len(saved(store_url, "top_posts", limit="2").rows) == 2


def test_silent_pages(store_url: str) -> None:
    result = saved(store_url, "silent_pages", since="2026-11-02")
    assert [(r[2], r[4]) for r in result.rows] == [
        ("615500000016669", None),
        ("mattrannghean", "2026-10-30T01:00:00+00:00"),
        ("615500000016666", "2026-11-01T03:00:00+00:00"),
    ]
    assert [r[2] for r in saved(store_url, "silent_pages", since="today-1").rows] == [
        "615500000016669", "mattrannghean", "615500000016666", "615500000016663",
        "615500000016699"]


def test_failed_pages_last_run(store_url: str) -> None:
    result = saved(store_url, "failed_pages_last_run")
    assert [(r[5], r[7]) for r in result.rows] == [("615500000016666", "permission"),
                                                   (None, "token")]
    assert result.rows[0][2] == "partial"
    assert result.rows[0][1] == "2026-11-03T19:00:00+00:00"


def test_unit_rollup(store_url: str) -> None:
    result = saved(store_url, "unit_rollup", unit="412", **{"from": "2026-11-01",
                                                            "to": "2026-11-02"})
    assert result.columns[:4] == ["day", "pages_reporting", "followers", "followers_change"]
    assert [r[:4] for r in result.rows] == [("2026-11-01", 2, 606, -1),
                                            ("2026-11-02", 4, 877, 18)]
    with pytest.raises(ParameterError, match="is no unit of the store"):
        saved(store_url, "unit_rollup", unit="no-such-unit")


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("unit_rollup", {}, "needs --param unit=VALUE"),
        ("top_posts", {"from": "1/11/2026"}, "is not a valid date"),
        ("top_posts", {"limit": "many"}, "is not a valid int"),
        ("communes_growth_fell", {"month": "2026-13"}, "is not a valid month"),
        ("silent_pages", {"days": "30"}, "has no parameter days"),
    ],
)
def test_saved_query_parameters_are_checked(store_url: str, name: str,
                                            params: dict[str, str], message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        run_saved(store_url, SAVED[name], params, today=TODAY)


def test_relative_days() -> None:
    assert parse_day("today", TODAY) == TODAY
    assert parse_day("today-30", TODAY) == dt.date(2026, 10, 5)
    assert parse_day("2026-01-31", TODAY) == dt.date(2026, 1, 31)


SAME_ROWS_PARAMS: dict[str, list[dict[str, str]]] = {
    "communes_growth_fell": [{"month": "2026-11"}, {}],
    "top_posts": [{"from": "2026-10-30", "to": "2026-11-03"}, {"match": "lễ hội"},
                  {"from": "2026-11-01", "to": "2026-11-01", "limit": "2"}],
    "silent_pages": [{}, {"since": "2026-11-02"}],
    "failed_pages_last_run": [{}],
    "unit_rollup": [{"unit": "40"}, {"unit": "16663", "from": "2026-11-02"}],
}
# The small store holds no campaign: tests/test_campaigns_store.py compares these rows on the
# demo world collected into both databases.
SAME_ROWS_ELSEWHERE = {"campaign_not_carried"}


@pytest.fixture
def both_stores(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The same small store on SQLite and on PostgreSQL (skipped without PostgreSQL)."""
    with postgres_schema() as pg_url:
        urls = (f"sqlite:///{tmp_path / 'same.db'}", pg_url)
        for url in urls:
            engine = make_engine(url)
            ensure_schema(engine)
            add_small_store(engine)
            engine.dispose()
        yield urls


@pytest.mark.postgres
def test_every_saved_query_gives_the_same_rows_on_sqlite_and_postgresql(
    both_stores: tuple[str, str],
) -> None:
    sqlite_url, pg_url = both_stores
    assert set(SAME_ROWS_PARAMS) | SAME_ROWS_ELSEWHERE == set(SAVED), \
        "add the new saved query to SAME_ROWS_PARAMS"
    for name, variants in SAME_ROWS_PARAMS.items():
        for params in variants:
            on_sqlite = saved(sqlite_url, name, **params)
            on_pg = saved(pg_url, name, **params)
            assert on_sqlite.rows, (name, params)  # an empty answer would prove nothing
            assert on_sqlite == on_pg, (name, params)


@pytest.mark.postgres
def test_the_views_give_the_same_rows_on_sqlite_and_postgresql(
    both_stores: tuple[str, str],
) -> None:
    for view, order in [("unit_tree", "code"), ("post_latest", "graph_id"),
                        ("page_daily", "page_ref, day"), ("unit_daily", "code, day")]:
        results = [run_query(url, f"SELECT * FROM {view} ORDER BY {order}", {})
                   for url in both_stores]
        # Booleans: PostgreSQL has them, SQLite stores 1 and 0.
        normal = [[tuple(int(v) if isinstance(v, bool) else v for v in row)
                   for row in result.rows] for result in results]
        assert normal[0] == normal[1], view


# --- values and output ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7))),
         "2026-11-18T02:30:00+00:00"),
        ("2026-11-18 02:30:00.000000", "2026-11-18T02:30:00+00:00"),  # SQLite's stored form
        ("2026-11-18 09:30:00", "2026-11-18 09:30:00"),  # computed text stays as it is
        (dt.date(2026, 11, 18), "2026-11-18"),
        (__import__("decimal").Decimal("12"), 12),
        (__import__("decimal").Decimal("1.5"), 1.5),
        ("Xã Nghi Kim", "Xã Nghi Kim"),
        (None, None),
    ],
)
def test_plain_values(value: Any, shown: Any) -> None:
    assert plain(value) == shown


RESULT = QueryResult(["unit", "followers", "day"],
                     [("Phường Hưng Bình", 1200, "2026-11-18"), ("Xã \"Nghi\", Kim", None, None)])


def test_csv_json_and_table_output() -> None:
    rows = list(csv.reader(io.StringIO(render(RESULT, "csv"))))
    assert rows == [["unit", "followers", "day"], ["Phường Hưng Bình", "1200", "2026-11-18"],
                    ['Xã "Nghi", Kim', "", ""]]
    assert json.loads(render(RESULT, "json")) == [
        {"unit": "Phường Hưng Bình", "followers": 1200, "day": "2026-11-18"},
        {"unit": 'Xã "Nghi", Kim', "followers": None, "day": None}]
    assert "Phường Hưng Bình" in render(RESULT, "json")  # not \u escapes
    table = render(RESULT, "table").splitlines()
    assert table[0].split() == ["unit", "followers", "day"]
    assert table[2].endswith("1200  2026-11-18")
    assert table[-1] == "(2 rows)"


# --- the command ----------------------------------------------------------------------------

# The lead wires the command into fanpulse.cli; here a copy of the group gets it.
fanpulse = click.Group("fanpulse", params=cli.params, callback=cli.callback,
                       commands={**cli.commands, "query": query_command})


def invoke(url: str, *args: str) -> Result:
    return CliRunner().invoke(fanpulse, ["--database-url", url, "query", *args])


@pytest.mark.parametrize("sql", ["DELETE FROM posts", "UPDATE posts SET message = ''",
                                 "DROP TABLE posts", "ATTACH DATABASE 'x.db' AS x",
                                 "PRAGMA journal_mode=DELETE"])
def test_command_refuses_writes(store_url: str, sql: str) -> None:
    result = invoke(store_url, sql)
    assert result.exit_code == 1
    assert "Refused:" in result.output and "Nothing was run." in result.output
    assert count(store_url, "posts") == 7


def test_command_runs_sql_and_saved_queries(store_url: str) -> None:
    result = invoke(store_url, "SELECT code, name FROM unit_tree WHERE parent_code = :p "
                               "ORDER BY code", "--param", "p=40")
    assert result.exit_code == 0, result.output
    assert "Thành phố Vinh" in result.output and "(2 rows)" in result.output
    by_name = invoke(store_url, "failed_pages_last_run", "--format", "json")
    by_option = invoke(store_url, "--saved", "failed_pages_last_run", "--format", "json")
    assert by_name.exit_code == by_option.exit_code == 0, by_name.output
    # stdout only: a superuser warning (PostgreSQL tests run as one) goes to stderr.
    assert by_name.stdout == by_option.stdout
    assert [r["kind"] for r in json.loads(by_name.stdout)] == ["permission", "token"]


def test_command_writes_csv_with_a_bom_for_excel(store_url: str, tmp_path: Path) -> None:
    out = tmp_path / "vinh.csv"
    result = invoke(store_url, "unit_rollup", "-p", "unit=412", "-p", "from=2026-11-01",
                    "-p", "to=2026-11-03", "--bom", "--out", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("day,pages_reporting,followers")
    assert lines[1].startswith("2026-11-01,2,606,-1")
    assert "Wrote 3 rows" in result.output
    plain_csv = tmp_path / "names.csv"
    assert invoke(store_url, "SELECT name FROM units WHERE code = '16666'",
                  "--out", str(plain_csv)).exit_code == 0
    assert plain_csv.read_bytes() == "name\r\nPhường Hưng Bình\r\n".encode()


def test_command_lists_the_saved_queries() -> None:
    result = CliRunner().invoke(fanpulse, ["query", "--list"])
    assert result.exit_code == 0, result.output
    for name in SAVED:
        assert f"{name}: " in result.output
    assert "--param month=<month>" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--saved", "nope"], "no saved query 'nope'"),
        (["unit_rollup"], "needs --param unit=VALUE"),
        (["SELECT 1", "--param", "x"], "write NAME=VALUE"),
        ([], "give an SQL statement"),
        (["SELECT 1", "--bom"], "--bom is for --format csv"),
    ],
)
def test_command_errors_are_one_line(store_url: str, args: list[str], message: str) -> None:
    result = invoke(store_url, *args)
    assert result.exit_code in (1, 2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_communes_growth_fell_agrees_with_unit_daily(engine: Engine, db_url: str) -> None:
    """The saved query computes growth with LAG(); it must equal unit_daily's month sums."""
    from fanpulse.storage.synthetic import fill_synthetic

    fill_synthetic(engine, n_pages=40, days=75, end_day=dt.date(2026, 11, 25), seed=5)
    engine.dispose()
    for month, prev_start, start, end in [("2026-11", "2026-10-01", "2026-11-01", "2026-12-01"),
                                          ("2026-10", "2026-09-01", "2026-10-01", "2026-11-01")]:
        daily = run_query(db_url, "SELECT code, day, followers_change FROM unit_daily "
                                  "WHERE level = 'commune' AND day >= :a AND day < :c",
                          {"a": prev_start, "c": end})
        sums: dict[str, list[int | None]] = {}
        for code, day, change in daily.rows:
            pair = sums.setdefault(code, [None, None])
            if change is not None:
                i = 1 if day >= start else 0
                pair[i] = (pair[i] or 0) + change
        expected = sorted(
            ((code, last, this, this - last) for code, (last, this) in sums.items()
             if last is not None and this is not None and this < last),
            key=lambda r: (r[3], r[0]))
        found = run_saved(db_url, SAVED["communes_growth_fell"], {"month": month}, today=TODAY)
        assert [(r[0], r[3], r[4], r[5]) for r in found.rows] == expected
        assert expected, "the synthetic data should have communes whose growth fell"


def test_unit_rollup_equals_unit_daily_on_synthetic_data(engine: Engine) -> None:
    from fanpulse.storage.synthetic import fill_synthetic

    fill_synthetic(engine, n_pages=40, days=60, end_day=dt.date(2026, 11, 25), seed=11)
    url = engine.url.render_as_string(hide_password=False)
    columns = ("day, pages_reporting, followers, followers_change, likes, likes_change, posts, "
               "reactions, comments, shares, engagement")
    with engine.connect() as conn:
        units = [c for (c,) in conn.execute(text(
            "SELECT code FROM units WHERE level IN ('province', 'district') ORDER BY code"))]
    assert len(units) > 2
    for code in units:
        for start in ("2026-10-01", "2026-11-20"):
            got = saved(url, "unit_rollup", unit=code, **{"from": start, "to": "2026-11-25"})
            view = run_query(url, f"SELECT {columns} FROM unit_daily WHERE code = :unit "
                                  "AND day >= :f AND day <= :t ORDER BY day",
                             {"unit": code, "f": start, "t": "2026-11-25"})
            assert got.rows == view.rows, (code, start)
            assert got.rows


# Snapshot days per Page for the 31-day rule: gaps of exactly 31 days (counted) and 32 days
# (left out) across month ends, February, a leap day and a year end; an inactive Page whose
# gap of 1 day counts and of 2 days does not; a Page back after months.
GAP_PAGES: dict[str, tuple[bool, list[str]]] = {
    "16663": (True, ["2025-12-30", "2025-12-31", "2026-01-01", "2026-02-01", "2026-03-05",
                     "2026-03-06", "2026-04-06", "2026-09-30"]),
    "16666": (True, ["2026-01-31", "2026-03-03", "2026-12-31", "2027-01-31", "2027-03-04"]),
    "16669": (True, ["2028-01-29", "2028-02-29", "2028-03-31", "2028-05-02", "2028-05-03"]),
    "99": (False, ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-03", "2026-03-04"]),
}


def test_unit_rollup_keeps_the_31_day_rule_of_unit_daily(engine: Engine) -> None:
    """A Page back after more than 31 days (1 for an inactive Page) adds no change, in the
    saved query as in unit_daily, also when its previous snapshot is before the period."""
    from fanpulse.storage.db import transaction
    from fanpulse.storage.models import Page, PageSnapshot, Unit

    created = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    with transaction(engine) as s:
        ids: dict[str, int] = {}
        for code, level, parent in [("40", "province", None), ("412", "district", "40"),
                                    ("16663", "commune", "412"), ("16666", "commune", "412"),
                                    ("16669", "commune", "412"), ("99", "commune", "40")]:
            unit = Unit(code=code, name=f"Unit {code}", level=level, active=True,
                        parent_id=ids.get(parent or ""), created_at=created,
                        updated_at=created)
            s.add(unit)
            s.flush()
            ids[code] = unit.id
        for n, (code, (active, days)) in enumerate(GAP_PAGES.items()):
            page = Page(ref=f"page.{code}", unit_id=ids[code], name=f"Page {code}",
                        active=active, created_at=created)
            s.add(page)
            s.flush()
            for i, day in enumerate(days):
                followers = 1000 * (n + 1) + 7 * i * i
                s.add(PageSnapshot(page_id=page.id, day=dt.date.fromisoformat(day),
                                   followers_count=followers, fan_count=followers - 3,
                                   collected_at=created))
    engine.dispose()
    url = engine.url.render_as_string(hide_password=False)
    columns = ("day, pages_reporting, followers, followers_change, likes, likes_change, posts, "
               "reactions, comments, shares, engagement")
    periods = [("2025-12-01", "2028-12-31"), ("2026-03-03", "2026-03-31"),
               ("2026-03-05", "2026-04-30"), ("2026-04-06", "2026-12-31"),
               ("2027-03-04", "2027-03-04"), ("2028-02-29", "2028-05-03")]
    changes = 0
    for code in ("40", "412", "99"):
        for start, end in periods:
            got = saved(url, "unit_rollup", unit=code, **{"from": start, "to": end})
            view = run_query(url, f"SELECT {columns} FROM unit_daily WHERE code = :unit "
                                  "AND day >= :f AND day <= :t ORDER BY day",
                             {"unit": code, "f": start, "t": end})
            assert got.rows == view.rows, (code, start, end)
            changes += sum(1 for row in got.rows if row[3] is not None)
    assert changes
    whole = saved(url, "unit_rollup", unit="40", **{"from": "2025-12-01", "to": "2028-12-31"})
    change = {row[0]: row[3] for row in whole.rows}
    # 31 days counts (2026-02-01, 2026-03-03, 2027-01-31, 2028-02-29, 2028-03-31); 32 days
    # (2026-03-05, 2027-03-04, 2028-05-02) and months (2026-09-30, 2026-12-31) do not; the
    # inactive Page counts a 1-day gap (2026-02-28, 2026-03-01, 2026-03-04) but not 2 days.
    for day in ("2026-02-01", "2026-03-03", "2027-01-31", "2028-02-29", "2028-03-31",
                "2026-02-28", "2026-03-01", "2026-03-04"):
        assert change[day] is not None, day
    for day in ("2025-12-30", "2026-03-05", "2027-03-04", "2028-05-02", "2026-09-30",
                "2026-12-31"):
        assert change[day] is None, day

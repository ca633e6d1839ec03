"""Settings are checked whole when they are loaded: ranges, types without truncation, the
schedule, the time zone, the database URL and its driver. Every refusal names the key and
where the value came from; `fanpulse settings` never prints a database password."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fanpulse.cli import cli
from fanpulse.config.settings import SettingsError, load_settings


def refusal(tmp_path: Path, toml: str) -> str:
    cfg = tmp_path / "fanpulse.toml"
    cfg.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(cfg, env={})
    return str(info.value)


@pytest.mark.parametrize(("toml", "message"), [
    ("max_wait_seconds = -1\n", "setting 'max_wait_seconds' must be at least 0 (got -1)"),
    ("lookback_days = 0\n", "setting 'lookback_days' must be at least 1 and at most 90"),
    ("lookback_days = 91\n", "setting 'lookback_days' must be at least 1 and at most 90"),
    ("misfire_grace_seconds = -5\n", "setting 'misfire_grace_seconds' must be at least 1"),
    ("concurrency = 0\n", "setting 'concurrency' must be at least 1 and at most 32"),
    ("concurrency = 33\n", "setting 'concurrency' must be at least 1 and at most 32"),
    ("insights_recheck_days = 0\n", "setting 'insights_recheck_days' must be at least 1"),
    ("request_timeout = 0\n", "setting 'request_timeout' must be more than 0"),
    ("max_retries = -1\n", "setting 'max_retries' must be at least 0 and at most 20"),
    ("query_timeout_seconds = -1\n", "setting 'query_timeout_seconds' must be at least 0"),
    ("concurrency = 2.7\n", "setting 'concurrency': expected a whole number, not a fraction"),
    ("concurrency = true\n", "setting 'concurrency': expected a whole number"),
    ("request_timeout = nan\n", "setting 'request_timeout': expected a finite number"),
    ("report_dir = 5.5\n", "setting 'report_dir': expected text"),
    ("report_after_collect = 'maybe'\n", "setting 'report_after_collect': expected true or false"),
    ('schedule_cron = "99 99 * * *"\n', "setting 'schedule_cron': '99 99 * * *' is not a valid"),
    ('schedule_cron = "0 2 31 2 *"\n', "never runs"),
    ('schedule_cron = "0 2 * * 0"\n', "write the weekday as a name"),
    ('schedule_cron = "0 2 * *"\n', "needs five fields"),
    ('timezone = "Asia/Hanoi"\n', "setting 'timezone': unknown time zone 'Asia/Hanoi'"),
    ('timezone = "../etc/passwd"\n', "unknown time zone"),
    ('database_url = "mysql://u:p@db/fanpulse"\n',
     "mysql:// is not supported: fanpulse stores into SQLite or PostgreSQL "
     "(sqlite:///PATH or postgresql+psycopg://user@host:5432/dbname)"),
    ('database_url = "postgresql+psycopg2://u@db/fanpulse"\n', "fanpulse uses psycopg 3"),
    ('database_url = "nonsense"\n', "is not a SQLAlchemy URL"),
    ('graph_url = "https://"\n', "is not an http(s) URL"),
    ('graph_version = "v27"\n', "is not a Graph API version like v27.0"),
    ('app_id = "my-app"\n', "is not a Meta app id"),
    ('page_metrics = ["page_follows", "page views"]\n', "'page views' is not an insights metric"),
])
def test_a_wrong_value_is_refused_naming_key_and_file(tmp_path: Path, toml: str,
                                                      message: str) -> None:
    text = refusal(tmp_path, toml)
    assert message in text
    assert text.startswith(f"{tmp_path / 'fanpulse.toml'}: setting '")


def test_a_wrong_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={"FANPULSE_CONCURRENCY": "2.7"})
    assert str(info.value).startswith(
        "environment variable FANPULSE_CONCURRENCY: setting 'concurrency':")
    with pytest.raises(SettingsError, match="^environment variable FANPULSE_LOOKBACK_DAYS: "
                                            "setting 'lookback_days' must be at least 1"):
        load_settings(None, env={"FANPULSE_LOOKBACK_DAYS": "365"})


def test_every_problem_at_once(tmp_path: Path) -> None:
    text = refusal(tmp_path, 'concurrency = 2.7\nlookback_days = 120\ntimezone = "Mars/X"\n'
                             'schedule_cron = "99 99 * * *"\n')
    assert text.startswith("4 settings are wrong:\n")
    for key in ("concurrency", "lookback_days", "timezone", "schedule_cron"):
        assert f"setting '{key}'" in text


def test_whole_numbers_and_numbers_that_are_fine(tmp_path: Path) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text("concurrency = 8.0\nrequest_timeout = 5\nmax_wait_seconds = 0\n"
                   'app_id = 990011223344556\nschedule_cron = "30 1 * * mon-fri"\n',
                   encoding="utf-8")
    s = load_settings(cfg, env={"FANPULSE_LOOKBACK_DAYS": " 90 "})
    assert (s.concurrency, s.request_timeout, s.max_wait_seconds) == (8, 5.0, 0.0)
    assert s.lookback_days == 90 and s.app_id == "990011223344556"


@pytest.mark.parametrize("url", ["postgres://fp:pw@db:5432/fanpulse",
                                 "postgresql://fp:pw@db:5432/fanpulse",
                                 "postgresql+psycopg://fp:pw@db:5432/fanpulse"])
def test_postgres_urls_are_normalised_to_psycopg(url: str) -> None:
    s = load_settings(None, env={"FANPULSE_DATABASE_URL": url})
    assert s.database_url == "postgresql+psycopg://fp:pw@db:5432/fanpulse"


def test_sqlite_urls_are_kept() -> None:
    for url in ("sqlite:///fanpulse.db", "sqlite:////srv/fanpulse/fanpulse.db", "sqlite://"):
        assert load_settings(None, env={}, database_url=url).database_url == url


def test_postgresql_without_its_driver_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` now fails
    with pytest.raises(SettingsError) as info:
        load_settings(None, env={"FANPULSE_DATABASE_URL": "postgresql://db/fanpulse"})
    assert str(info.value) == (
        "environment variable FANPULSE_DATABASE_URL: setting 'database_url': PostgreSQL needs "
        "the psycopg driver, which is not installed: pip install 'fanpulse[postgres]'")


def test_the_command_line_is_named_as_the_source() -> None:
    result = CliRunner().invoke(cli, ["--database-url", "mysql://x/y", "settings"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: command line: setting 'database_url': mysql://")
    assert "Traceback" not in result.output


def test_every_command_refuses_bad_settings_before_anything_else(tmp_path: Path) -> None:
    Path("fanpulse.toml").write_text("concurrency = 2.7\n", encoding="utf-8")
    for args in (["status"], ["units", "list"], ["settings"], ["db", "upgrade"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, args
        assert "fanpulse.toml: setting 'concurrency'" in result.output, args
    assert not Path("fanpulse.db").exists()


def test_settings_command_masks_the_database_password() -> None:
    env = {"FANPULSE_DATABASE_URL": "postgres://fanpulse:s3cr%40t@db.example:5432/fanpulse"}
    result = CliRunner().invoke(cli, ["settings"], env=env)
    assert result.exit_code == 0, result.output
    assert "postgresql+psycopg://fanpulse:***@db.example:5432/fanpulse" in result.output
    assert "s3cr" not in result.output


def test_the_example_file_still_loads() -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "fanpulse.example.toml"
    assert load_settings(example, env={}).concurrency == 8


# -- the store a command opens: read-only commands never create one -----------------------------

READERS = [["status"], ["report"], ["query", "SELECT 1"], ["db", "status"], ["units", "list"],
           ["access", "draft-units", "--out", "draft.csv"]]


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_reading_command_without_a_store_says_what_to_run(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.output == (
        f"Error: there is no fanpulse store here: {Path('fanpulse.db').absolute()} does not "
        "exist; create it with `fanpulse units import FILE` (your units CSV), or try "
        "`fanpulse demo` for a first look\n")
    assert list(Path().iterdir()) == []  # no fanpulse.db, no -wal, no report folder


def test_access_check_without_a_store_says_so_too() -> None:
    result = CliRunner().invoke(cli, ["access", "check"], env={"FANPULSE_ACCESS_TOKEN": "EAAG"})
    assert result.exit_code == 1
    assert "there is no fanpulse store here" in result.output
    assert not Path("fanpulse.db").exists()


def test_an_empty_database_is_no_store_either(db_url: str) -> None:
    """A new PostgreSQL database (schema), or a SQLite file without fanpulse's tables."""
    from sqlalchemy import create_engine, inspect

    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()
    result = CliRunner().invoke(cli, ["--database-url", db_url, "status"])
    assert result.exit_code == 1, result.output
    assert "(it has no fanpulse tables); create it with `fanpulse units import FILE`" in (
        result.output)
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_the_writing_commands_still_create_the_store(tmp_path: Path) -> None:
    units = tmp_path / "units.csv"
    units.write_text("code,name,level,parent_code,page\n40,Tỉnh Nghệ An,province,,\n",
                     encoding="utf-8")
    assert CliRunner().invoke(cli, ["units", "import", str(units)]).exit_code == 0
    assert Path("fanpulse.db").exists()
    status = CliRunner().invoke(cli, ["status"])
    assert status.exit_code == 0 and "No collection has run yet" in status.output
    other = f"sqlite:///{tmp_path / 'other.db'}"
    upgraded = CliRunner().invoke(cli, ["--database-url", other, "db", "upgrade"])
    assert upgraded.exit_code == 0 and (tmp_path / "other.db").exists()

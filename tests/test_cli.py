"""The fanpulse command as a user types it (click's runner, a fresh SQLite store)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from click.testing import CliRunner, Result

from fanpulse.cli import PACKAGED_UNITS, cli

HEADER = "code,name,level,parent_code,page\n"


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_import_and_list_the_nghe_an_units() -> None:
    result = run("units", "import", str(PACKAGED_UNITS))
    assert result.exit_code == 0, result.output
    assert "Imported 482 units" in result.output
    listing = run("units", "list")
    assert listing.exit_code == 0
    assert "482 units (1 province, 21 district, 460 commune); 482 with a Page." in listing.output
    assert "40  Tỉnh Nghệ An [province]  mattrannghean" in listing.output
    assert "\n  412  Thành phố Vinh [district]" in listing.output


def broken_copy(tmp_path: Path) -> Path:
    lines = PACKAGED_UNITS.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[4]  # duplicate code on line 6
    code, name, level, _parent, page = lines[10].split(",")
    lines[10] = ",".join([code, name, level, "99999", page])  # unknown parent on line 11
    parts = lines[20].split(",")
    lines[20] = ",".join([*parts[:4], "https://example.com/not-facebook"])  # bad page, line 21
    a = lines[30].split(",")
    b = lines[31].split(",")
    lines[30] = ",".join([a[0], a[1], a[2], b[0], a[4]])  # a cycle between lines 31 and 32
    lines[31] = ",".join([b[0], b[1], b[2], a[0], b[4]])
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_broken_file_is_refused_with_every_problem_and_nothing_written(tmp_path: Path) -> None:
    assert run("units", "import", str(PACKAGED_UNITS)).exit_code == 0
    store = Path("fanpulse.db")
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    result = CliRunner().invoke(cli, ["units", "import", str(broken_copy(tmp_path))])
    assert result.exit_code == 1
    out = result.output
    assert "was refused, nothing was written" in out
    assert "line 6: duplicate code" in out
    assert "line 11:" in out and "unknown parent '99999'" in out
    assert "line 21: bad page reference" in out
    assert "cycle in parents" in out and "lines 31, 32" in out
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    assert "482 units" in run("units", "list").output


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text(HEADER + "40,Tỉnh Nghệ An,province,,\n", encoding="utf-8")
    result = run("units", "import", "--dry-run", str(path))
    assert "Would apply 1 units" in result.output
    assert "No units yet" in run("units", "list").output


def test_db_upgrade_and_status() -> None:
    first = run("db", "upgrade")
    assert "Upgraded the store from empty to revision" in first.output
    assert "up to date" in run("db", "upgrade").output
    assert "up to date" in run("db", "status").output


def test_settings_command_hides_secrets() -> None:
    result = run("settings", env={"FANPULSE_ACCESS_TOKEN": "EAAGverysecret"})
    assert "EAAGverysecret" not in result.output
    assert "access_token" in result.output and "(set)" in result.output


def test_bad_settings_give_a_message_not_a_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "x.toml"
    cfg.write_text("lookback_days = 'x'\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "units", "list"])
    assert result.exit_code == 1
    assert "Error:" in result.output and "lookback_days" in result.output


def test_bad_database_url() -> None:
    result = CliRunner().invoke(cli, ["--database-url", "nonsense", "units", "list"])
    assert result.exit_code == 1
    assert "is not a SQLAlchemy URL" in result.output


def test_demo_runs_on_the_default_store(tmp_path: Path) -> None:
    # The first 40 units of the shipped file keep this test quick; the full demo is the same
    # code path (benchmarks/bench_collect.py runs all 482 Pages).
    lines = PACKAGED_UNITS.read_text(encoding="utf-8").splitlines()[:41]
    units = tmp_path / "units.csv"
    units.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("demo", "--units", str(units), "--nights", "2", "--backfill-days", "5")
    assert result.exit_code == 0, result.output
    assert Path("fanpulse-demo.db").exists()  # its own store, never the configured one
    assert not Path("fanpulse.db").exists()
    assert "Run 3: ok. 40 of 40 Pages collected" in result.output
    status = run("--database-url", "sqlite:///fanpulse-demo.db", "status")
    assert "no Page failed" in status.output
    assert status.output.count(" ok ") >= 3


def test_a_bad_period_names_the_option_that_holds_it() -> None:
    run("units", "import", str(PACKAGED_UNITS))
    for option, value, words in (("--month", "2026-13", "is not a month"),
                                 ("--quarter", "Q9/2026", "is not a quarter"),
                                 ("--year", "20x6", "is not a year")):
        result = CliRunner().invoke(cli, ["report", option, value])
        assert result.exit_code == 2, result.output
        assert f"Invalid value for {option}: '{value}' {words}" in result.output


def test_refresh_rollups_command() -> None:
    run("units", "import", str(PACKAGED_UNITS))
    assert "nothing to do" in run("db", "refresh-rollups").output  # the import summed it
    rebuilt = run("db", "refresh-rollups", "--rebuild").output
    assert rebuilt.startswith("Roll-up totals refreshed (every day):"), rebuilt

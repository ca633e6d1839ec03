"""The written folder: files, escaping, no secrets or paths, languages, the CLI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from markupsafe import escape
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fanpulse.reports.build import ReportError, build_reports
from fanpulse.reports.render import PLOTLY_FILE
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.synthetic import generated_units
from fanpulse.storage.units import sync_units
from tests.reports.conftest import LEAKED_TOKEN, NOW, XSS_MESSAGE, XSS_PAGE_NAME, BuiltReports

LINK = re.compile(r"""(?:href|src)="([^"]*)\"""")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_one_page_per_unit_and_plotly_once(built: BuiltReports, built_engine: Engine) -> None:
    with built_engine.connect() as conn:
        units = conn.execute(text("SELECT COUNT(*) FROM units")).scalar_one()
    files = built.html_files()
    # One page per unit, the index and the ranking page (commune ranking, weekly check).
    assert len(files) == units + 2 == built.summary.pages_written
    assert (built.out / "ranking.html").is_file()
    assert built.summary.index_path == built.out / "index.html"
    assert [p.name for p in built.out.glob("*.js")] == [PLOTLY_FILE]
    for path in files:
        text_ = read(path)
        assert "plotly.js v" not in text_ and len(text_) < 300_000  # the library is not inlined
        assert "cdn" not in text_.lower()


def test_links_are_relative_and_resolve(built: BuiltReports) -> None:
    for path in built.html_files():
        for target in LINK.findall(read(path)):
            if target.startswith("https://"):
                assert "facebook.com/" in target
                continue
            assert not target.startswith(("/", "file:", "http:")), (path.name, target)
            assert (built.out / target.split("#")[0]).is_file(), (path.name, target)


def test_facebook_text_is_escaped(built: BuiltReports, built_engine: Engine) -> None:
    everything = "\n".join(read(p) for p in built.html_files())
    assert XSS_MESSAGE not in everything
    assert "<img src=x" not in everything
    assert "javascript:" not in everything
    province = read(built.unit_file(built_engine, "province"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in province  # shown as text, top post
    assert str(escape(XSS_PAGE_NAME)) in everything  # &lt;img src=x ... &amp; &#34;Trang&#34;


def test_no_secrets_and_no_internal_paths(built: BuiltReports) -> None:
    for path in built.out.iterdir():
        data = path.read_bytes()
        assert b"access_token" not in data.lower(), path.name
        assert LEAKED_TOKEN.encode() not in data, path.name
        assert str(built.root).encode() not in data, path.name
        assert b"sqlite:" not in data and b"postgresql" not in data, path.name


def test_vietnamese_page_content(built: BuiltReports, built_engine: Engine) -> None:
    province = read(built.unit_file(built_engine, "province"))
    assert '<html lang="vi">' in province
    assert 'id="rollup"' in province and 'id="own"' in province  # roll-up apart from own Page
    assert 'id="children"' in province and 'class="sortable"' in province
    assert "Giai đoạn: 28/08/2026 – 25/11/2026" in province
    assert re.search(r'class="value[^"]*">\d{1,3}(\.\d{3})+</div>', province)  # 163.180
    assert re.search(r">\d+,\d{2}<", province)  # engagement rate 1,87 (per 1.000 followers)
    assert '"separators":",."' in province
    assert "mã truy cập hết hạn" in province  # the token error, in words, in the coverage
    commune = read(built.unit_file(built_engine, "commune"))
    assert 'id="children"' not in commune and 'id="own"' not in commune
    for definition in ("Tương tác = cảm xúc + bình luận + chia sẻ",
                       "tương tác trung bình của một bài trên mỗi 1.000 người theo dõi"):
        assert definition in province


@pytest.fixture
def store_for_writes(built_engine: Engine) -> Engine:
    """The built store, for builds of their own into tmp_path."""
    return built_engine


def test_english_and_one_unit(store_for_writes: Engine, tmp_path: Path) -> None:
    summary = build_reports(store_for_writes, tmp_path / "en", unit_code="D01", lang="en",
                            now=NOW)
    names = {p.name for p in (tmp_path / "en").glob("*.html")}
    assert "u-D01.html" in names and "u-P01.html" not in names
    assert summary.pages_written == len(names)
    page = read(tmp_path / "en" / "u-D01.html")
    assert '<html lang="en">' in page and "Followers" in page and '"separators":".,"' in page
    assert 'href="u-P01.html"' not in page  # the parent was not written: no dead link


def test_refusals(store_for_writes: Engine, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="no unit with code"):
        build_reports(store_for_writes, tmp_path, unit_code="nope", now=NOW)
    with pytest.raises(ReportError, match="starts"):
        build_reports(store_for_writes, tmp_path, date_from=dt.date(2026, 11, 2),
                      date_to=dt.date(2026, 11, 1), now=NOW)
    with pytest.raises(ValueError, match="unknown language"):
        build_reports(store_for_writes, tmp_path, lang="fr", now=NOW)


def cli_with_report() -> click.Group:
    from fanpulse.cli import cli
    from fanpulse.cmd_report import report_command

    if "report" not in cli.commands:  # until the lead wires it into fanpulse/cli.py
        cli.add_command(report_command)
    return cli


def test_cli_end_to_end(built: BuiltReports, tmp_path: Path) -> None:
    cli = cli_with_report()
    out = tmp_path / "cli-out"
    result = CliRunner().invoke(cli, [
        "--database-url", built.db_url, "report", "--out", str(out),
        "--from", "01/10/2026", "--to", "2026-11-25", "--unit", "D02",
    ])
    assert result.exit_code == 0, result.output
    index = Path(result.stdout.strip().splitlines()[-1])
    assert index == (out / "index.html").resolve() and index.is_file()
    assert "01/10/2026 – 25/11/2026" in read(out / "u-D02.html")

    bad = CliRunner().invoke(cli, [
        "--database-url", built.db_url, "report", "--out", str(out), "--from", "2026-13-01"])
    assert bad.exit_code == 2 and "YYYY-MM-DD or DD/MM/YYYY" in bad.output
    unknown = CliRunner().invoke(cli, [
        "--database-url", built.db_url, "report", "--out", str(out), "--unit", "nope"])
    assert unknown.exit_code == 1 and "no unit with code 'nope'" in unknown.output


def test_cli_default_folder_is_the_report_dir_setting(built: BuiltReports,
                                                      tmp_path: Path) -> None:
    cli = cli_with_report()
    result = CliRunner(env={"FANPULSE_REPORT_DIR": str(tmp_path / "from-setting")}).invoke(
        cli, ["--database-url", built.db_url, "report", "--unit", "C00001"])
    assert result.exit_code == 0, result.output
    # A one-unit report goes beside the full one, never over it.
    assert (tmp_path / "from-setting-unit-C00001" / "index.html").is_file()
    assert not (tmp_path / "from-setting").exists()


def test_a_store_with_units_and_no_data_yet(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as session:
        sync_units(session, generated_units(30), NOW)
    summary = build_reports(engine, tmp_path / "empty", now=NOW)
    index = read(summary.index_path)
    assert "Chưa có số liệu." in index  # no run, no collection yet
    province = read(tmp_path / "empty" / "u-P01.html")
    assert "Không có bài viết trong giai đoạn." in province
    bare = make_engine(f"sqlite:///{tmp_path / 'none.db'}")
    ensure_schema(bare)
    with pytest.raises(ReportError, match="no units"):
        build_reports(bare, tmp_path / "x", now=NOW)
    bare.dispose()

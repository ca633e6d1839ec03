"""A campaign page in a real browser: headless Chromium (Debian's ``chromium``), offline, from
``file://``; skipped with the reason when Chromium is missing, as the other browser tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from fanpulse.reports.build import build_reports
from fanpulse.reports.campaigns import campaign_filename
from fanpulse.storage.db import ensure_schema, make_engine
from tests.reports.test_report_browser import charts, chromium, run_page
from tests.reports.test_report_campaigns import REPORT_NOW, fill_campaign_store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def campaign_reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, int]]:
    """(report folder, the campaign with the most coverage rows, its coverage rows)."""
    chromium()  # skips, with the reason, before building anything
    folder = tmp_path_factory.mktemp("campaign-browser")
    engine = make_engine(f"sqlite:///{folder / 'store.db'}")
    ensure_schema(engine)
    fill_campaign_store(engine, folder)
    build_reports(engine, folder / "reports", now=REPORT_NOW)
    with engine.connect() as conn:
        key, rows = conn.execute(text(
            "SELECT campaign, COUNT(*) FROM cascade_coverage GROUP BY campaign "
            "ORDER BY COUNT(*) DESC, campaign LIMIT 1")).one()
    engine.dispose()
    yield folder / "reports", str(key), int(rows)


def test_campaign_page_opens_offline(campaign_reports: tuple[Path, str, int],
                                     tmp_path: Path) -> None:
    out, key, rows = campaign_reports
    page = out / campaign_filename(key)
    dom, console = run_page(page, tmp_path / "profile")
    assert console == [], console
    total, drawn, svgs = charts(dom)
    seeds = len(re.findall(r'<section class="seed" id="seed-\d+"', dom))
    assert seeds >= 2 and total == seeds  # one timeline per directive post
    assert drawn == total and svgs >= total
    # Each timeline has one line per level with a Page (district, commune at least).
    assert len(re.findall(r'class="trace scatter', dom)) >= 2 * seeds
    # The tree: one item per coverage row, each with its status in words.
    assert dom.count('class="tree ctree"') == seeds
    items = re.findall(r'<li data-status="(carried|not_carried|silent|no_page)">', dom)
    assert len(items) == rows
    assert {"carried", "not_carried", "silent", "no_page"} <= set(items)
    assert "Đã đăng lại" in dom and "Chưa có Trang" in dom
    for target in re.findall(r'href="([^"#]+\.(?:html|xlsx))"', dom):
        assert (out / target).is_file(), f"{page.name} links to missing {target}"

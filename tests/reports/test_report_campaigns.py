"""The campaign pages (issue 14): every figure they show is what the views ``cascade_coverage``
and ``campaign_posts`` give, on SQLite and PostgreSQL.

The store is collected from the sandbox (a small world of 25 units: the province, Cửa Lò and
Thái Hoà with their communes, one commune without a Page, five residential areas under one
commune, one of them without a Page) with its campaigns, then detected with
``detect_campaigns`` exactly as the night does.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fanpulse.collector.run import collect_once
from fanpulse.config.campaigns import make_campaign
from fanpulse.config.settings import Settings
from fanpulse.config.units import read_units_file
from fanpulse.reports import figures
from fanpulse.reports.build import build_reports
from fanpulse.reports.campaigns import (
    CampaignPost,
    CoverageRow,
    campaign_filename,
    duration,
    load_campaigns,
    measure,
    measure_seed,
    percentile,
)
from fanpulse.reports.i18n import Lang
from fanpulse.sandbox import SandboxServer, World
from fanpulse.sandbox.tokens import DEFAULT_TOKEN
from fanpulse.storage.campaigns import detect_campaigns
from fanpulse.storage.db import transaction
from fanpulse.storage.units import sync_units
from tests.conftest import ROOT, migrated_store
from tests.reports.conftest import BuiltReports

CAMPAIGN_NOW = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
REPORT_NOW = dt.datetime(2026, 11, 20, 5, 0, tzinfo=dt.UTC)  # 12:00 in Vietnam
VI = Lang("vi")
STATUSES = ("carried", "not_carried", "silent", "no_page")


def esc(value: object) -> str:
    """As the templates escape (Jinja2's autoescape)."""
    return str(escape(value))


def small_units(path: Path) -> Path:
    """25 units of Nghệ An with a Page-less commune and residential areas added."""
    with (ROOT / "config" / "units.nghe-an.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh)
                if r["code"] in ("40", "413", "414") or r["parent_code"] in ("413", "414")]
    rows.append({"code": "99001", "name": "Phường Thử Không Trang", "level": "commune",
                 "parent_code": "413", "page": ""})
    for i in range(1, 6):
        rows.append({"code": f"9910{i}", "name": f"Khối {i}", "level": "residential_area",
                     "parent_code": "16717", "page": f"6155000099910{i}" if i < 5 else ""})
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["code", "name", "level", "parent_code", "page"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def fill_campaign_store(engine: Engine, folder: Path) -> None:
    """Collect the small world's last month from the sandbox, then detect its campaigns (the
    sandbox's, as a campaigns file would name them: hashtag, dates and seed addresses)."""
    units = small_units(folder / "units.csv")
    world = World.from_units_csv(units, seed=1, start=CAMPAIGN_NOW.date() - dt.timedelta(days=400),
                                 now=CAMPAIGN_NOW, campaigns=True)
    with transaction(engine) as session:
        sync_units(session, read_units_file(units), CAMPAIGN_NOW)
    with SandboxServer(world) as server:
        settings = Settings().replace(graph_url=server.base_url, access_token=DEFAULT_TOKEN,
                                      app_secret="", campaigns_file=str(folder / "none.toml"))
        result = collect_once(settings, engine, clock=lambda: world.now,
                              since=dt.date(2026, 10, 20))
    assert result.status == "ok"
    by_key: dict[str, list[dict[str, object]]] = {}
    for seed in world.campaign_seeds():
        by_key.setdefault(str(seed["campaign"]), []).append(seed)
    campaigns = [make_campaign(key, str(seeds[0]["name"]), seeds[0]["from"],  # type: ignore[arg-type]
                               seeds[0]["to"],  # type: ignore[arg-type]
                               hashtags=[str(seeds[0]["hashtag"])],
                               seeds=[str(s["permalink_url"]) for s in seeds])
                 for key, seeds in by_key.items()
                 if seeds[0]["to"] >= dt.date(2026, 10, 1)]  # type: ignore[operator]
    detect_campaigns(engine, campaigns, ZoneInfo("Asia/Ho_Chi_Minh"), CAMPAIGN_NOW)


@dataclass(frozen=True)
class CampaignReports:
    engine: Engine
    out: Path


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def campaigns_built(request: pytest.FixtureRequest,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[CampaignReports]:
    """The small store with campaigns, and its reports, on SQLite and PostgreSQL."""
    folder = tmp_path_factory.mktemp("campaigns")
    with migrated_store(request.param, folder) as engine:
        fill_campaign_store(engine, folder)
        build_reports(engine, folder / "reports", now=REPORT_NOW)
        yield CampaignReports(engine, folder / "reports")


def _rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def _campaigns_with_seeds(engine: Engine) -> list[tuple[str, str]]:
    return [(str(k), str(n)) for k, n in _rows(
        engine, "SELECT DISTINCT c.key, c.name FROM campaigns c "
                "JOIN campaign_seeds s ON s.campaign_id = c.id WHERE s.post_id IS NOT NULL "
                "ORDER BY c.key")]


def _seed_order(engine: Engine, key: str) -> list[int]:
    """The campaign's collected seeds in the page's order (#seed-1, #seed-2, ...)."""
    return [int(str(r[0])) for r in _rows(
        engine, "SELECT post_id FROM campaign_posts WHERE campaign = :k AND role = 'seed' "
                "ORDER BY created_time, post_id", k=key)]


def _seed_section(page: str, number: int) -> str:
    start = page.index(f'id="seed-{number}"')
    end = page.find('<section class="seed"', start)
    return page[start:end if end > 0 else len(page)]


def _by_level(section: str) -> dict[str, dict[str, str]]:
    """The seed's by-level table: level -> {status: count text, 'median': seconds text}."""
    table = section[section.index('class="by-level"'):]
    table = table[:table.index("</table>")]
    out = {}
    for level, row in re.findall(r'<tr data-level="([a-z_]+)">(.*?)</tr>', table, re.S):
        cells = dict(re.findall(r'data-status="([a-z_]+)">([^<]*)<', row))
        median = re.search(r'data-seconds="([^"]*)"', row)
        cells["median"] = median.group(1) if median else ""
        out[level] = cells
    return out


def test_the_store_has_every_status_to_show(campaigns_built: CampaignReports) -> None:
    """The comparisons below cover carries at three levels and every kind of miss."""
    counts = {str(status): int(str(n)) for status, n in _rows(
        campaigns_built.engine, "SELECT status, COUNT(*) FROM cascade_coverage GROUP BY status")}
    assert set(counts) == set(STATUSES)
    assert all(n > 0 for n in counts.values())
    levels = {str(r[0]) for r in _rows(campaigns_built.engine,
                                       "SELECT DISTINCT level FROM cascade_coverage "
                                       "WHERE status = 'carried'")}
    assert levels == {"district", "commune", "residential_area"}
    # two yearly campaigns and the monthly guidance
    assert len(_campaigns_with_seeds(campaigns_built.engine)) == 3


def test_page_counts_by_level_and_status_are_the_views(campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    compared = 0
    for key, _name in _campaigns_with_seeds(engine):
        page = (campaigns_built.out / campaign_filename(key)).read_text(encoding="utf-8")
        for number, seed_id in enumerate(_seed_order(engine, key), 1):
            expected: dict[str, Counter[str]] = {}
            for level, status, n in _rows(
                    engine, "SELECT level, status, COUNT(*) FROM cascade_coverage "
                            "WHERE campaign = :k AND seed_post_id = :s GROUP BY level, status",
                    k=key, s=seed_id):
                expected.setdefault(str(level), Counter())[str(status)] = int(str(n))
            shown = _by_level(_seed_section(page, number))
            assert set(shown) == set(expected)
            for level, counts in expected.items():
                for status in STATUSES:
                    assert shown[level][status] == VI.integer(counts[status]), (key, level,
                                                                                 status)
                    compared += 1
            # The seed's headline: carried / units with a Page.
            carried, with_page = _rows(
                engine, "SELECT SUM(CASE WHEN status = 'carried' THEN 1 ELSE 0 END), "
                        "SUM(CASE WHEN pages > 0 THEN 1 ELSE 0 END) FROM cascade_coverage "
                        "WHERE campaign = :k AND seed_post_id = :s", k=key, s=seed_id)[0]
            section = _seed_section(page, number)
            share_text = VI.t("camp_share_of", carried=VI.integer(int(str(carried))),
                              with_page=VI.integer(int(str(with_page))))
            assert esc(share_text) in section
            assert VI.percent(int(str(carried)) / int(str(with_page))) in section
    assert compared >= 40


def _median_by_level(engine: Engine, key: str, seed_id: int) -> dict[str, float]:
    """The median delay of the carried units per level, computed by the database itself on
    PostgreSQL (percentile_cont), from the view's raw delays on SQLite."""
    if engine.dialect.name == "postgresql":
        return {str(level): float(str(m)) for level, m in _rows(
            engine, "SELECT level, percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_seconds) "
                    "FROM cascade_coverage WHERE campaign = :k AND seed_post_id = :s "
                    "AND status = 'carried' GROUP BY level", k=key, s=seed_id)}
    delays: dict[str, list[int]] = {}
    for level, seconds in _rows(
            engine, "SELECT level, delay_seconds FROM cascade_coverage WHERE campaign = :k "
                    "AND seed_post_id = :s AND status = 'carried'", k=key, s=seed_id):
        delays.setdefault(str(level), []).append(int(str(seconds)))
    return {level: float(statistics.median(v)) for level, v in delays.items()}


def test_median_delays_are_the_views(campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    checked = 0
    for key, _name in _campaigns_with_seeds(engine):
        page = (campaigns_built.out / campaign_filename(key)).read_text(encoding="utf-8")
        for number, seed_id in enumerate(_seed_order(engine, key), 1):
            section = _seed_section(page, number)
            shown = _by_level(section)
            for level, median in _median_by_level(engine, key, seed_id).items():
                assert float(shown[level]["median"]) == pytest.approx(median)
                checked += 1
            overall = [int(str(r[0])) for r in _rows(
                engine, "SELECT delay_seconds FROM cascade_coverage WHERE campaign = :k "
                        "AND seed_post_id = :s AND status = 'carried'", k=key, s=seed_id)]
            if overall:
                assert esc(duration(VI, statistics.median(overall))) in section
                p90 = percentile([float(v) for v in overall], 0.9)
                assert esc(duration(VI, p90)) in section
    assert checked >= 5


def test_measures_from_rows_are_the_views_totals(campaigns_built: CampaignReports) -> None:
    """The pure measures (what the pages are rendered from) against SQL aggregates."""
    engine = campaigns_built.engine
    data = load_campaigns(engine, dt.date(2026, 8, 22), dt.date(2026, 11, 20))
    measured = {m.campaign.key: m for m in measure(data)}
    for key, _name in _campaigns_with_seeds(engine):
        m = measured[key]
        (units, with_page, carried, not_carried, silent, no_page), = _rows(
            engine, "SELECT COUNT(*), SUM(CASE WHEN pages > 0 THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'carried' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'not_carried' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'silent' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'no_page' THEN 1 ELSE 0 END) "
                    "FROM cascade_coverage WHERE campaign = :k", k=key)
        assert (m.total.units, m.total.with_page, m.total.carried, m.total.not_carried,
                m.total.silent, m.total.no_page) == tuple(
            int(str(v)) for v in (units, with_page, carried, not_carried, silent, no_page))
        for s in m.seeds:
            (seed_engagement, carries_engagement, carries), = _rows(
                engine, "SELECT (SELECT engagement FROM campaign_posts WHERE campaign = :k "
                        "AND role = 'seed' AND post_id = :s), "
                        "(SELECT COALESCE(SUM(engagement), 0) FROM campaign_posts "
                        " WHERE campaign = :k AND role = 'carry' AND seed_post_id = :s), "
                        "(SELECT COUNT(*) FROM campaign_posts WHERE campaign = :k "
                        " AND role = 'carry' AND seed_post_id = :s)", k=key, s=s.seed.post_id)
            assert s.seed.engagement == int(str(seed_engagement))
            assert s.carries_engagement == int(str(carries_engagement))
            assert len(s.carries) == int(str(carries))
            assert [p.engagement for p in s.carries] == sorted(
                (p.engagement for p in s.carries), reverse=True)
            # Along the tree: each branch's subtree adds up to the seed's whole.
            assert sum(b.subtree.units for b in s.branches if b.subtree) == s.total.units
            assert sum(b.subtree.carried for b in s.branches if b.subtree) == s.total.carried


def test_top_carries_link_to_their_posts(campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    key = _campaigns_with_seeds(engine)[0][0]
    page = (campaigns_built.out / campaign_filename(key)).read_text(encoding="utf-8")
    seed_id = _seed_order(engine, key)[0]
    (url, engagement), = _rows(
        engine, "SELECT permalink_url, engagement FROM campaign_posts WHERE campaign = :k "
                "AND role = 'carry' AND seed_post_id = :s "
                "ORDER BY engagement DESC, created_time, post_id LIMIT 1", k=key, s=seed_id)
    table = _seed_section(page, 1)
    table = table[table.index('class="top-carries"'):]
    first = table[table.index("<tbody>"):].split("</tr>")[0]
    assert f'href="{esc(str(url))}"' in first
    assert f"<b>{VI.integer(int(str(engagement)))}</b>" in first


def test_units_that_did_not_carry_show_their_last_post(
        campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    key = _campaigns_with_seeds(engine)[0][0]
    page = (campaigns_built.out / campaign_filename(key)).read_text(encoding="utf-8")
    for number, seed_id in enumerate(_seed_order(engine, key), 1):
        section = _seed_section(page, number)
        missed = section[section.index('class="list missed"'):]
        shown = Counter(re.findall(r'<tr data-status="([a-z_]+)">', missed))
        expected = Counter({str(s): int(str(n)) for s, n in _rows(
            engine, "SELECT status, COUNT(*) FROM cascade_coverage WHERE campaign = :k "
                    "AND seed_post_id = :s AND status <> 'carried' GROUP BY status",
            k=key, s=seed_id)})
        assert shown == expected
        for name, moment in _rows(
                engine, "SELECT name, last_post_time FROM cascade_coverage WHERE campaign = :k "
                        "AND seed_post_id = :s AND status = 'not_carried'", k=key, s=seed_id):
            if isinstance(moment, str):  # SQLite gives the view's times as text (UTC)
                moment = dt.datetime.fromisoformat(moment).replace(tzinfo=dt.UTC)
            assert isinstance(moment, dt.datetime)
            when = VI.datetime(moment, ZoneInfo("Asia/Ho_Chi_Minh"))
            assert re.search(re.escape(esc(str(name))) + r".*?" + re.escape(when),
                             missed, re.S), (name, when)


def test_the_workbook_holds_the_coverage_rows(campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    for key, _name in _campaigns_with_seeds(engine):
        book = load_workbook(campaigns_built.out / campaign_filename(key).replace(".html",
                                                                                  ".xlsx"))
        sheet = book[VI.t("xlsx_sheet_camp_coverage")]
        rows = list(sheet.iter_rows(values_only=True))
        header, body = rows[0], rows[1:]
        code_at, status_at = header.index(VI.t("xlsx_code")), header.index(VI.t("status"))
        delay_at = header.index(VI.t("xlsx_delay_hours"))
        expected = Counter(
            (str(code), VI.t("status_" + str(status)),
             None if delay is None else round(int(str(delay)) / 3600, 2))
            for code, status, delay in _rows(
                engine, "SELECT code, status, delay_seconds FROM cascade_coverage "
                        "WHERE campaign = :k", k=key))
        got = Counter((str(r[code_at]), r[status_at], r[delay_at]) for r in body)
        assert got == expected and len(body) > 20


def test_the_index_lists_the_campaigns(campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    index = (campaigns_built.out / "index.html").read_text(encoding="utf-8")
    section = index[index.index('<section id="campaigns">'):]
    section = section[:section.index("</section>")]
    listed = re.findall(r'<tr data-campaign="([a-z0-9-]+)"><td><a href="([^"]+)">', section)
    stored = [str(k) for k, in _rows(engine, "SELECT key FROM campaigns "
                                             "ORDER BY starts DESC, key")]
    assert [k for k, _ in listed] == stored  # every campaign of the period, latest first
    for key, href in listed:
        assert href == campaign_filename(key) and (campaigns_built.out / href).is_file()
    for key, name in _campaigns_with_seeds(engine):
        carried, with_page = _rows(
            engine, "SELECT SUM(CASE WHEN status = 'carried' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN pages > 0 THEN 1 ELSE 0 END) FROM cascade_coverage "
                    "WHERE campaign = :k", k=key)[0]
        row = section[section.index(f'data-campaign="{key}"'):].split("</tr>")[0]
        assert esc(name) in row
        assert VI.percent(int(str(carried)) / int(str(with_page))) in row
        assert VI.t("camp_active") in row  # both run up to 18/11, carried until 25/11


def test_a_unit_page_lists_what_it_carried_and_missed(campaigns_built: CampaignReports) -> None:
    engine = campaigns_built.engine
    # A unit that carried one seed and missed another.
    (code,), = _rows(engine, "SELECT code FROM cascade_coverage GROUP BY code "
                             "HAVING SUM(CASE WHEN status = 'carried' THEN 1 ELSE 0 END) > 0 "
                             "AND SUM(CASE WHEN status <> 'carried' THEN 1 ELSE 0 END) > 0 "
                             "ORDER BY code LIMIT 1")
    page = (campaigns_built.out / f"u-{code}.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="campaigns">'):]
    section = section[:section.index("</section>")]
    shown = Counter(re.findall(r'<tr data-campaign="([a-z0-9-]+)" data-status="([a-z_]+)">',
                               section))
    expected = Counter((str(k), str(s)) for k, s in _rows(
        engine, "SELECT campaign, status FROM cascade_coverage WHERE code = :c", c=code))
    assert shown == expected
    assert {s for _k, s in shown} >= {"carried"} and len({s for _k, s in shown}) >= 2
    assert VI.t("status_carried") in section
    # A unit expected to carry nothing (the province) has no campaign section.
    province = (campaigns_built.out / "u-40.html").read_text(encoding="utf-8")
    assert 'id="campaigns"' not in province


def test_without_campaigns_nothing_campaign_related(built: BuiltReports) -> None:
    """The store of the other report tests holds no campaign: no page, list or style."""
    assert not list(built.out.glob("c-*"))
    for page in built.html_files():
        content = page.read_text(encoding="utf-8")
        assert 'id="campaigns"' not in content and "st-carried" not in content, page.name


def test_english_campaign_page(campaigns_built: CampaignReports, tmp_path: Path) -> None:
    if campaigns_built.engine.dialect.name != "sqlite":
        pytest.skip("one language check is enough")
    build_reports(campaigns_built.engine, tmp_path / "en", lang="en", now=REPORT_NOW)
    key = _campaigns_with_seeds(campaigns_built.engine)[0][0]
    page = (tmp_path / "en" / campaign_filename(key)).read_text(encoding="utf-8")
    assert "Carries over time, by level" in page and "Units that did not carry it" in page
    assert "Đã đăng lại" not in page


# --- pure measures -----------------------------------------------------------------------------

SEED_TIME = dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.UTC)


def _row(unit_id: int, parent_id: int, level: str, status: str, delay: int | None = None,
         pages: int = 1) -> CoverageRow:
    return CoverageRow(
        "c", 1, 100, SEED_TIME, SEED_TIME + dt.timedelta(days=7), 1, unit_id, str(unit_id),
        f"Xã {unit_id}", level, parent_id, pages, 1 if status == "carried" else 0, delay,
        "share" if status == "carried" else None, 500 + unit_id if status == "carried" else None,
        0 if status == "silent" else 3, None if status in ("silent", "no_page") else SEED_TIME,
        status)


def test_percentile_interpolates_as_percentile_cont() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert percentile([float(v) for v in range(11)], 0.9) == pytest.approx(9.0)


def test_measure_seed_by_level_tree_and_timeline() -> None:
    rows = [
        _row(2, 1, "district", "carried", 3600),
        _row(3, 2, "commune", "carried", 7200),
        _row(4, 2, "commune", "not_carried"),
        _row(5, 2, "commune", "no_page", pages=0),
        _row(6, 1, "district", "silent"),
        _row(7, 6, "commune", "carried", 36000),
    ]
    seed = CampaignPost("c", "seed", 100, 100, None, 0, 1, "40", "Tỉnh", "province", SEED_TIME,
                        None, "Chỉ đạo", 10, 2, 3, 15, False)
    carries = [CampaignPost("c", "carry", 500 + u, 100, "share", d, u, str(u), f"Xã {u}",
                            lv, SEED_TIME + dt.timedelta(seconds=d), None, None, e, 0, 0, e,
                            False)
               for u, d, lv, e in ((2, 3600, "district", 5), (3, 7200, "commune", 40),
                                   (7, 36000, "commune", 9))]
    m = measure_seed(seed, rows, carries)
    assert (m.total.units, m.total.with_page, m.total.carried, m.total.not_carried,
            m.total.silent, m.total.no_page) == (6, 5, 3, 1, 1, 1)
    assert m.total.share == pytest.approx(3 / 5)  # the unit without a Page is not counted
    assert m.total.median_delay == 7200 and m.total.p90_delay == pytest.approx(30240)
    levels = {f.label: f for f in m.by_level}
    assert list(levels) == ["district", "commune"]
    assert (levels["commune"].carried, levels["commune"].with_page) == (2, 3)
    assert levels["commune"].median_delay == pytest.approx(21600)
    assert [(b.row.unit_id, b.subtree.units, b.subtree.carried, b.subtree.with_page)
            for b in m.branches if b.subtree] == [(2, 4, 2, 3), (6, 2, 1, 2)]
    assert [r.unit_id for r in m.rows] == [2, 3, 4, 5, 6, 7]  # tree order
    assert [r.unit_id for r in m.fastest] == [2, 3, 7] and m.slowest[0].unit_id == 7
    assert [p.engagement for p in m.carries] == [40, 9, 5] and m.carries_engagement == 54
    assert [(r.unit_id, r.status) for r in m.missed] == [(4, "not_carried"), (6, "silent"),
                                                         (5, "no_page")]
    assert m.timeline == {"district": [(0.0, 0), (1.0, 1), (10.0, 1)],
                          "commune": [(0.0, 0), (2.0, 1), (10.0, 2)]}
    chart = figures.campaign_timeline_figure(m.timeline, VI)
    assert [t.name for t in chart.data] == ["Huyện", "Xã"]  # validated by Plotly
    assert list(chart.data[1].y) == [0, 1, 2]


def test_durations_read_as_people_say_them() -> None:
    assert duration(VI, None) == "–"
    assert duration(VI, 600) == "10 phút"
    assert duration(VI, 5.25 * 3600) == "5,2 giờ" or duration(VI, 5.25 * 3600) == "5,3 giờ"
    assert duration(VI, 3 * 86400) == "3,0 ngày"
    assert duration(Lang("en"), 90 * 60) == "1.5 h"


def test_directives_not_collected_yet_are_named(campaigns_built: CampaignReports) -> None:
    """A directive the campaigns file names but the store does not hold is said, not hidden."""
    engine = campaigns_built.engine
    waiting: dict[str, list[str]] = {}
    for key, ref in _rows(engine, "SELECT c.key, s.ref FROM campaign_seeds s JOIN campaigns c "
                                  "ON c.id = s.campaign_id WHERE s.post_id IS NULL"):
        waiting.setdefault(str(key), []).append(str(ref))
    assert waiting  # the test store has such a campaign (bao-lu-2026)
    for (key,) in _rows(engine, "SELECT key FROM campaigns"):
        page = (campaigns_built.out / campaign_filename(str(key))).read_text(encoding="utf-8")
        if str(key) in waiting:
            note = page[page.index('id="waiting"'):].split("</p>")[0]
            assert VI.t("camp_waiting", n=str(len(waiting[str(key)]))).split(":")[0] in note
            assert all(esc(ref) in note for ref in waiting[str(key)])
        else:
            assert 'id="waiting"' not in page

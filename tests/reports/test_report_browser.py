"""The reports in a real browser: headless Chromium (Debian's ``chromium``), offline, file://.

Chromium runs with ``--dump-dom`` (the DOM after the page's scripts ran) and
``--enable-logging=stderr`` (every console message, errors included, on stderr), so the test
needs nothing beyond the browser. Host resolution and a dead proxy keep it off the network:
a chart that needed a CDN would not be drawn.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.reports.conftest import BuiltReports

pytestmark = pytest.mark.browser


def chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("headless Chromium not found (/usr/bin/chromium or `chromium` on PATH); "
                "install Debian's package: apt-get install chromium")


def run_page(path: Path, profile: Path) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and the console messages it produced."""
    result = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--no-first-run",
         "--disable-sync", f"--user-data-dir={profile}",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
         "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


def charts(dom: str) -> tuple[int, int, int]:
    """(chart divs, charts Plotly drew, Plotly SVG layers)."""
    return (len(re.findall(r'class="plotly-graph-div', dom)),
            len(re.findall(r'class="plotly-graph-div[^"]*js-plotly-plot', dom)),
            len(re.findall(r'class="main-svg"', dom)))


def check_page(path: Path, profile: Path) -> str:
    dom, console = run_page(path, profile)
    assert console == [], f"{path.name}: console messages {console}"
    total, drawn, svgs = charts(dom)
    assert total > 0 and drawn == total and svgs >= total, (path.name, total, drawn, svgs)
    for target in re.findall(r'href="([^"#]+\.html)"', dom):
        assert (path.parent / target).is_file(), f"{path.name} links to missing {target}"
    return dom


def test_index_and_district_open_offline(built: BuiltReports, built_engine: Engine,
                                         tmp_path: Path) -> None:
    index = check_page(built.out / "index.html", tmp_path / "p1")
    assert 'href="u-P01.html"' in index
    district = built.unit_file(built_engine, "district")
    dom = check_page(district, tmp_path / "p2")
    assert charts(dom)[0] == 5  # followers, engagement, posts, reactions, children
    assert 'tabindex="0"' in dom  # the sorting script ran


def test_copied_folder_still_works(built: BuiltReports, built_engine: Engine,
                                   tmp_path: Path) -> None:
    copy = tmp_path / "copied"
    shutil.copytree(built.out, copy)
    check_page(copy / built.unit_file(built_engine, "district").name, tmp_path / "p")


def test_the_harness_sees_a_broken_page(built: BuiltReports, built_engine: Engine,
                                        tmp_path: Path) -> None:
    """Without plotly.min.js beside it a report fails, and the checks above notice."""
    alone = tmp_path / "alone"
    alone.mkdir()
    district = built.unit_file(built_engine, "district")
    shutil.copy(district, alone / district.name)
    dom, console = run_page(alone / district.name, tmp_path / "p")
    assert any("Plotly is not defined" in line for line in console)
    total, drawn, _ = charts(dom)
    assert total > 0 and drawn == 0


def test_sortable_table_sorts(built: BuiltReports, built_engine: Engine,
                              tmp_path: Path) -> None:
    district = built.unit_file(built_engine, "district")
    page = district.read_text(encoding="utf-8").replace(
        "</body>",
        "<script>document.querySelectorAll('table.sortable th')[1].click();</script></body>",
    )
    clicked = built.out / "sorted-test.html"
    clicked.write_text(page, encoding="utf-8")
    try:
        dom, console = run_page(clicked, tmp_path / "p")
    finally:
        clicked.unlink()
    assert console == []
    table = dom[dom.index('class="sortable"'):]
    body = table[table.index("<tbody>"):table.index("</tbody>")]
    rows = body.split("<tr>")[1:]
    # The second cell of each row holds the followers (data-v="" when a unit has no data).
    cells = [re.findall(r'<td[^>]*data-v="([^"]*)"', row)[1] for row in rows]
    followers = [int(v) for v in cells if v]
    assert cells[:len(followers)] == [str(v) for v in followers]  # empty values sort last
    assert 'aria-sort="descending"' in table
    assert followers == sorted(followers, reverse=True) and len(followers) > 3

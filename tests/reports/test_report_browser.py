"""The reports in a real browser: headless Chromium (Debian's ``chromium``), offline, file://.

Chromium runs with ``--dump-dom`` (the DOM after the page's scripts ran) and
``--enable-logging=stderr`` (every console message, errors included, on stderr), so the test
needs nothing beyond the browser. Host resolution and a dead proxy keep it off the network:
a chart that needed a CDN would not be drawn.

Typing into the unit search and looking at the page as printed need a live page: those tests
drive Chromium over the DevTools protocol (:class:`Browser`), through a small WebSocket
client written here with the standard library (text frames only), and print with
``--print-to-pdf``.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from fanpulse.reports import build
from fanpulse.storage.db import make_engine
from fanpulse.storage.models import Unit
from tests.reports.conftest import END, NOW, BuiltReports

pytestmark = pytest.mark.browser


def chromium() -> str:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip("headless Chromium not found (/usr/bin/chromium or `chromium` on PATH); "
                "install Debian's package: apt-get install chromium")


def offline_args(profile: Path) -> list[str]:
    """Headless Chromium with its own profile, kept off the network."""
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            "--disable-sync", f"--user-data-dir={profile}",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9"]


def run_page(path: Path, profile: Path) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and the console messages it produced."""
    result = subprocess.run(
        [*offline_args(profile),
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


# --- a live page: the DevTools protocol over a minimal WebSocket client ----------------------


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: masked text frames out, text
    (possibly fragmented) frames in; pings answered, close frames end the connection."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        message = b""
        while True:
            first, second = self._exact(2)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._exact(8))[0]
            mask = self._exact(4) if second & 0x80 else b""
            payload = self._exact(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode == 0x9:
                self._frame(0xA, payload)  # pong
                continue
            if opcode in (0x0, 0x1):
                message += payload
                if first & 0x80:
                    return message.decode("utf-8")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._frame(0x8, b"")
        self.sock.close()


class Browser:
    """One headless Chromium and one page in it, driven over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [*offline_args(profile), "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        found: list[str] = []

        def read_stderr() -> None:  # keep draining stderr so Chromium never blocks on it
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                match = re.search(r"DevTools listening on (ws://\S+)", line)
                if match and not found:
                    found.append(match.group(1))

        self.reader = threading.Thread(target=read_stderr, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        if not found:
            self.proc.kill()
            self.proc.wait()
            self.reader.join(10)
            assert self.proc.stderr is not None
            self.proc.stderr.close()
            raise AssertionError("Chromium did not print its DevTools address")
        self.ws = WebSocket(found[0])
        self.next_id = 0
        self.session: str | None = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target,
                                 flatten=True)["sessionId"]

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        # While the page navigates, Chromium answers "Inspected target navigated or closed" or
        # "Cannot find context": ask again once the new page is there.
        for _attempt in range(100):
            try:
                result = self.call("Runtime.evaluate", expression=expression,
                                   returnByValue=True, awaitPromise=True)
                break
            except AssertionError as exc:
                if "navigated or closed" not in str(exc) and "context" not in str(exc):
                    raise
                time.sleep(0.1)
        else:
            raise AssertionError(f"the page kept navigating while evaluating {expression!r}")
        if "exceptionDetails" in result:
            raise AssertionError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, path: Path) -> None:
        self.call("Page.navigate", url=path.as_uri())
        deadline = time.monotonic() + 60
        while self.evaluate("location.href") != path.as_uri() or \
                self.evaluate("document.readyState") != "complete":
            assert time.monotonic() < deadline, f"{path.name} did not load"
            time.sleep(0.1)

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(10)
        assert self.proc.stderr is not None
        self.proc.stderr.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium()  # skips the test where there is no Chromium
    live = Browser(tmp_path / "cdp-profile")
    yield live
    live.close()


def fold(text: str) -> str:
    """A name as typed without diacritics: lower case, no combining marks, đ as d."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f").replace("đ", "d")


TREE_STATE = """JSON.stringify(Array.from(document.querySelectorAll('#tree li')).map(li => {
  const a = li.querySelector(':scope > a, :scope > details > summary > a');
  return [a.textContent.trim(), a.getClientRects().length > 0, li.style.display];
}).concat([[document.getElementById('unit-search-count').textContent, null, null],
  [Array.from(document.querySelectorAll('#tree details')).map(d => d.open).join(), null, null]]))"""


def type_search(browser: Browser, text: str) -> tuple[dict[str, bool], str, str]:
    """Type into #unit-search; which tree units are then visible, the count, the open state."""
    browser.evaluate(f"""(() => {{ const box = document.getElementById('unit-search');
      box.value = {json.dumps(text)}; box.dispatchEvent(new Event('input', {{bubbles: true}}));
    }})()""")
    rows = json.loads(browser.evaluate(TREE_STATE))
    *units, (count, _, _), (opened, _, _) = rows
    return {name: shown for name, shown, _ in units}, count, opened


def test_unit_search_finds_a_commune_typed_without_diacritics(
        built: BuiltReports, built_engine: Engine, browser: Browser) -> None:
    with built_engine.connect() as conn:
        communes = [n for (n,) in conn.execute(
            select(Unit.name).where(Unit.level == "commune").order_by(Unit.code))]
    # A commune with diacritics whose name, typed bare, matches no other commune.
    name = next(n for n in communes if fold(n) != n.lower()
                and sum(fold(n) in fold(other) for other in communes) == 1)
    typed = fold(name)
    assert typed != name.lower()

    browser.open(built.out / "index.html")
    before = json.loads(browser.evaluate(TREE_STATE))
    shown, count, _ = type_search(browser, typed)
    assert shown[name], f"{name!r} is not shown for {typed!r}"
    hidden = [c for c in communes if c in shown and not shown[c]]
    assert len(hidden) >= len(communes) - 5, "the other communes are not hidden"
    assert all(fold(c).find(typed) >= 0 for c in communes if shown.get(c)), shown
    assert count.split()[0] == "1", count  # "1 / 61" (or the labelled "1 đơn vị khớp")

    # Words in any order, each found apart, and only the units they all match.
    words = typed.split()
    shown, _, _ = type_search(browser, " ".join(reversed(words)).upper())
    assert shown[name]
    shown, count, _ = type_search(browser, typed + " zzzz")
    assert not any(shown[c] for c in communes if c in shown)
    assert count.split()[0] in ("0", "Không", "No"), count  # "Không có đơn vị nào khớp"

    # Clearing the box gives the tree back exactly as it was.
    type_search(browser, "")
    assert json.loads(browser.evaluate(TREE_STATE)) == before

    # Enter opens the match.
    type_search(browser, typed)
    browser.evaluate("""document.getElementById('unit-search').dispatchEvent(
      new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}))""")
    deadline = time.monotonic() + 30
    while "index.html" in browser.evaluate("location.href"):
        assert time.monotonic() < deadline, "Enter did not open the unit"
        time.sleep(0.1)
    browser.open(Path(urlsplit(browser.evaluate("location.href")).path))
    assert browser.evaluate("document.querySelector('h1').textContent").startswith(name)


def test_search_script_is_quiet_on_unit_pages(built: BuiltReports, built_engine: Engine,
                                              tmp_path: Path) -> None:
    """The unit pages carry search.js too, without a search box: no error, nothing changed."""
    dom, console = run_page(built.unit_file(built_engine, "commune"), tmp_path / "p")
    assert console == [] and 'id="unit-search"' not in dom


def print_pdf(page: Path, pdf: Path, profile: Path) -> int:
    """Print ``page`` to ``pdf`` as Chromium prints it on paper; the number of pages."""
    result = subprocess.run(
        [*offline_args(profile), "--no-pdf-header-footer", "--virtual-time-budget=10000",
         f"--print-to-pdf={pdf}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and pdf.is_file(), result.stderr[-2000:]
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))


def district_page(built: BuiltReports, engine: Engine, tmp_path: Path) -> Path:
    """The district page to print: of the monthly report for the fixture's last month when
    build_reports can make one, else of the fixture's (90-day) report."""
    page = built.unit_file(engine, "district")
    if "period" not in inspect.signature(build.build_reports).parameters:
        return page
    from fanpulse.reports.periods import Period  # only there with monthly reports

    out = tmp_path / "monthly"
    store = make_engine(built.db_url)
    try:
        build.build_reports(store, out, now=NOW,  # type: ignore[call-arg,unused-ignore]
                            period=Period.month(END.year, END.month))
    finally:
        store.dispose()
    found = sorted(out.rglob(page.name), key=lambda p: (f"{END:%Y-%m}" not in str(p), p))
    assert found, f"the monthly report has no {page.name}"
    return found[0]


def test_district_prints_on_two_a4_pages(built: BuiltReports, built_engine: Engine,
                                         browser: Browser, tmp_path: Path) -> None:
    page = district_page(built, built_engine, tmp_path)
    pages = print_pdf(page, tmp_path / "district.pdf", tmp_path / "print-profile")
    assert 1 <= pages <= 2, f"{page.name} prints on {pages} A4 pages"

    # As printed: the definitions are there, the screen-only controls are not.
    browser.open(page)
    browser.call("Emulation.setEmulatedMedia", media="print")
    shown = json.loads(browser.evaluate("""JSON.stringify(Object.fromEntries(
      ['#definitions', 'button.print', '.download', 'summary.info', '#children table']
        .map(s => [s, !!document.querySelector(s) &&
                   getComputedStyle(document.querySelector(s)).display !== 'none'])))"""))
    assert shown == {"#definitions": True, "button.print": False, ".download": False,
                     "summary.info": False, "#children table": True}, shown
    # The unit names in the children's table keep to one line.
    lines = browser.evaluate("""Math.max(...Array.from(
      document.querySelectorAll('#children tbody td:first-child'), td => {
        const range = document.createRange();
        range.selectNodeContents(td);
        return new Set(Array.from(range.getClientRects(), r => Math.round(r.top))).size;
      }))""")
    assert lines <= 1, lines

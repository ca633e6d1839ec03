"""The night collects while ``/me/accounts`` is still being paged (collector/night.py,
``_Listing``): the Pages of each page of the listing are planned and sent at once, the Pages
it never names only when it ends; a token that dies in the middle of the listing still
leaves every Page recorded.

The listing is made to take five pages (5 accounts a page for the 24-Page world). Nothing is
timed: the later pages of the listing are held until a batch has come back, so a night that
waited for the whole listing before its first batch would never send one while they are held
(the hold gives up after ``LIMIT`` seconds, never reached, and the order check then fails).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from fanpulse.collector import access as access_module
from fanpulse.collector.graph import GraphClient
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageSnapshot
from tests.collector.test_collect import assert_store_matches_truth, errors_of, failures_of

if TYPE_CHECKING:
    from tests.collector.conftest import Harness

LIMIT = 30.0  # seconds a held listing page waits for a batch (never reached)


class Recorder:
    """Wraps the client's one HTTP exchange: records what goes out, in order, and holds the
    listing's later pages until the first batch has come back."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch,
                 on_later_page: Any = None) -> None:
        self.sent: list[str] = []  # "accounts", "accounts+" (a later page), "batch"
        self.lock = threading.Lock()
        self.batch_back = threading.Event()
        self.on_later_page = on_later_page
        real = GraphClient._send

        def send(client: GraphClient, method: str, url: str, **kwargs: Any) -> Any:
            params = kwargs.get("params") or {}
            later = url.endswith("/me/accounts") and "after" in params
            if later:
                self.batch_back.wait(LIMIT)
                if self.on_later_page is not None:
                    self.on_later_page()
            with self.lock:
                if url.endswith("/me/accounts"):
                    self.sent.append("accounts+" if later else "accounts")
                elif method == "POST":
                    self.sent.append("batch")
            answer = real(client, method, url, **kwargs)
            if method == "POST":
                self.batch_back.set()
            return answer

        monkeypatch.setattr(GraphClient, "_send", send)


@pytest.fixture
def paged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access_module, "ACCOUNTS_LIMIT", 5)


@pytest.mark.usefixtures("paged")
def test_first_batches_go_out_before_the_listing_ends(
        lite: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder(monkeypatch)
    result = lite.collect(concurrency=2)
    sent = recorder.sent
    assert sent.count("accounts") == 1 and sent.count("accounts+") == 4, sent
    last_listing = max(i for i, what in enumerate(sent) if what.startswith("accounts"))
    assert "batch" in sent[:last_listing], sent  # collecting while the listing is paged
    # The same night as without the overlap: every Page, classified as before (the
    # unshared Page, never listed, read as a public node when the listing ends).
    assert result.status == "ok", result.failures
    assert result.pages_ok == len(lite.world.pages)
    assert result.access == {"full": 22, "partial": 1, "audience": 1}
    assert "access: 22 full, 1 no insights, 1 audience only" in (result.message or "")
    # /me, /me/permissions, five listing pages, the metric check, then the Pages' own calls.
    assert (result.graph_calls - 2 - 5 - 2) / len(lite.world.pages) <= 2.1
    assert_store_matches_truth(lite.engine, lite.world)


@pytest.mark.usefixtures("paged")
def test_a_token_dying_in_the_middle_of_the_listing_records_every_page(
        lite: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    world = lite.world

    def expire() -> None:  # the configured token expires as the listing's second page is asked
        world.faults.token_expires_at = world.now - dt.timedelta(minutes=1)

    recorder = Recorder(monkeypatch, on_later_page=expire)
    result = lite.collect(concurrency=1)
    assert "batch" in recorder.sent  # Pages were being collected when the token died
    assert recorder.sent.count("accounts+") == 1  # the listing stopped at its second page
    assert "token unusable" in (result.message or "")
    assert "token expired on" in (result.message or "")
    assert result.stopped
    # Every Page is counted and recorded: collected (its snapshot) or failed (its reason).
    assert result.pages_total == len(world.pages)
    assert result.pages_ok + result.pages_failed == len(world.pages)
    assert result.pages_failed > 0 and result.status in ("failed", "partial")
    failed = failures_of(lite.engine, result.run_id)
    assert len(failed) == result.pages_failed
    assert all(e.kind == "token" for errs in failed.values() for e in errs), failed
    with transaction(lite.engine) as s:
        snapped = set(s.scalars(select(Page.graph_id).join(
            PageSnapshot, PageSnapshot.page_id == Page.id).where(
            PageSnapshot.run_id == result.run_id)))
        every = set(s.scalars(select(Page.graph_id)))
    assert snapped | set(errors_of(lite.engine, result.run_id)) == every
    # A new token the next night completes the work.
    world.faults.token_expires_at = None
    recorder.on_later_page = None
    assert lite.collect().status == "ok"

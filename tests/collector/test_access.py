"""Which token is configured decides what a night can do: checked before any Page is tried,
named in one sentence when it cannot work, and the access check an officer runs by hand."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fanpulse.cli import cli
from fanpulse.config.matching import UnitName, match_pages, split_name
from fanpulse.storage.db import transaction
from fanpulse.storage.models import Page, PageSnapshot
from tests.collector.conftest import NO_ANALYZE, UNSHARED, write_units_for

if TYPE_CHECKING:
    from tests.collector.conftest import Harness


def page_calls(harness: Harness, seen: int) -> list[str]:
    """Paths of the calls after ``seen`` that touched a Page (not /me, not debug_token)."""
    return [e.path for e in harness.server.request_log[seen:]
            if not e.path.rstrip("/").endswith(("/me", "/me/permissions", "/me/accounts"))]


@pytest.mark.parametrize(("token", "setup", "said"), [
    ("app", None, "is an app token"),
    ("no-engagement", dict(scopes=["pages_show_list", "read_insights"]),
     "lacks pages_read_engagement"),
    ("no-list", dict(scopes=["pages_read_engagement", "read_insights"]),
     "lacks pages_show_list"),
    ("no-pages", dict(page_ids=[]), "has no role on any Page"),
    ("token-gone-stale", dict(expires_at=dt.datetime(2026, 11, 19, 12, 0, tzinfo=dt.UTC)),
     "token expired on 19/11/2026"),
    ("unknown-token-value", "unknown", "was refused"),
])
def test_a_token_that_cannot_work_is_named_before_any_page(
        lite: Harness, token: str, setup: dict[str, object] | str | None, said: str) -> None:
    world = lite.world
    if token == "app":
        token = world.tokens.app_token
    elif isinstance(setup, dict):
        world.tokens.add(token, **setup)  # type: ignore[arg-type]
    seen = len(lite.server.request_log)
    result = lite.collect(access_token=token)
    assert result.status == "failed"
    assert said in (result.message or ""), result.message
    assert "token unusable" in (result.message or "")
    assert page_calls(lite, seen) == []  # no Page was tried
    assert token not in (result.message or "") or token == "app"
    url = lite.engine.url.render_as_string(hide_password=False)
    out = CliRunner().invoke(cli, ["--database-url", url, "status"]).output
    assert said in out and "failed" in out


def test_a_token_without_read_insights_still_collects_posts(lite: Harness) -> None:
    lite.world.tokens.add("no-insights", scopes=["pages_show_list", "pages_read_engagement"])
    result = lite.collect(access_token="no-insights")
    assert result.status == "ok", result.failures
    assert "lacks read_insights" in (result.message or "")
    assert result.access == {"partial": 23, "audience": 1}
    insight_calls = [e for e in lite.server.request_log if "insights" in e.path + e.query]
    assert insight_calls == []
    with transaction(lite.engine) as s:
        page = s.scalars(select(Page).where(Page.graph_id == lite.world.pages[0])).one()
        assert page.posts_readable and page.access_action
        assert "read_insights" in page.access_action


def test_one_pages_own_token_collects_that_page_fully(lite: Harness) -> None:
    """Configured with one Page's token: that Page in full, the others' public audience."""
    world = lite.world
    province = world.pages[0]
    page_token = world.tokens.page_token(world.tokens.get("sandbox-token"), province).value
    result = lite.collect(access_token=page_token)
    assert result.status == "ok", result.failures
    with transaction(lite.engine) as s:
        reasons = {p.graph_id: p.access_reason for p in s.scalars(select(Page))}
    assert result.access == {"full": 1, "audience": len(world.pages) - 1}, reasons[province]
    with transaction(lite.engine) as s:
        snapped = s.scalars(select(PageSnapshot.page_id).where(
            PageSnapshot.run_id == result.run_id, PageSnapshot.source == "page")).all()
    assert len(snapped) == len(world.pages)


def test_a_page_token_refused_fails_only_that_page(lite: Harness,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A Page whose own token stopped working (its admin removed the role during the night)
    fails alone, and is not read as a dead configured token."""
    from fanpulse.collector import night as night_module
    from fanpulse.collector.access import list_accounts

    victim = lite.world.pages[2]

    def accounts_with_a_dead_token(client: Any, info: Any) -> Any:
        accounts = list_accounts(client, info)
        accounts[victim].token = "EAAdeadPAGEtoken0001"
        client.add_secret("EAAdeadPAGEtoken0001")
        return accounts

    monkeypatch.setattr(night_module, "list_accounts", accounts_with_a_dead_token)
    result = lite.collect()
    assert result.status == "partial"
    assert {ref for ref, _why in result.failures} == {victim}
    assert "the Page's own access token was refused" in result.failures[0][1]
    assert "stopped calling Graph" not in (result.message or "")
    assert "EAAdeadPAGEtoken0001" not in repr(result)


def check(lite: Harness, *args: str, token: str = "sandbox-token") -> tuple[int, str]:
    env = {"FANPULSE_GRAPH_URL": lite.server.base_url, "FANPULSE_ACCESS_TOKEN": token}
    url = lite.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli, ["--database-url", url, "access", *args], env=env)
    return result.exit_code, result.output


def test_access_check_lists_every_unit_with_its_level_and_action(lite: Harness) -> None:
    code, out = check(lite, "check")
    assert code == 0, out
    assert "Token: USER or SYSTEM_USER token of Sandbox System User" in out
    assert "Units with a Page: 24 (22 full, 1 no insights, 1 audience only)" in out
    world = lite.world
    for page_id in world.pages:
        line = next(line for line in out.splitlines() if f" {page_id} " in f" {line} ")
        expected = ("audience only" if page_id == world.pages[UNSHARED]
                    else "no insights" if page_id == world.pages[NO_ANALYZE] else "full")
        assert line.rstrip().endswith(expected), line
    assert "ask the Page's admin to share the Page with the Business Manager" in out
    assert "give the Business Manager the Analyze task" in out
    assert "sandbox-token" not in out and "sbx-page-" not in out


def test_access_check_with_the_app_secret_reads_debug_token(lite: Harness) -> None:
    world = lite.world
    world.tokens.add("short-lived", type="USER",
                     expires_at=world.now + dt.timedelta(days=3))
    env_app = {"FANPULSE_APP_ID": world.app_id}
    url = lite.engine.url.render_as_string(hide_password=False)
    secret = world.tokens.app_token.split("|", 1)[1]
    result = CliRunner().invoke(cli, ["--database-url", url, "access", "check"], env={
        "FANPULSE_GRAPH_URL": lite.server.base_url, "FANPULSE_ACCESS_TOKEN": "short-lived",
        "FANPULSE_APP_SECRET": secret, **env_app})
    assert result.exit_code == 0, result.output
    assert "Token: USER token of" in result.output
    assert "Warning: the token expires on" in result.output
    assert secret not in result.output


def test_access_check_exits_non_zero_for_an_unusable_token(lite: Harness) -> None:
    code, out = check(lite, "check", token=lite.world.tokens.app_token)
    assert code == 1
    assert "is an app token" in out


def test_access_check_of_a_units_file_before_import(lite: Harness, tmp_path: Path) -> None:
    units = write_units_for(lite.world, tmp_path / "units.csv")
    code, out = check(lite, "check", "--units", str(units))
    assert code == 0 and "Units with a Page: 24" in out


def test_draft_units_matches_page_names_to_units(lite: Harness, tmp_path: Path) -> None:
    world = lite.world
    source = write_units_for(world, tmp_path / "units.csv")
    rows = list(csv.reader(source.read_text(encoding="utf-8").splitlines()))
    # An officer's file: official unit names ("Xã ..."), no Pages filled in yet.
    for row in rows[1:]:
        row[4] = ""
    blank = tmp_path / "blank.csv"
    with blank.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    out_file = tmp_path / "draft.csv"
    code, out = check(lite, "draft-units", "--units", str(blank), "--out", str(out_file))
    assert code == 0, out
    drafted = {r["code"]: r["page"] for r in csv.DictReader(
        out_file.read_text(encoding="utf-8-sig").splitlines())}
    shared = [p for p in world.pages if world.tasks(p)]
    for page_id in shared:
        assert drafted[world.spec(page_id).unit_code] == page_id
    # The unshared Page is not visible to the token: its unit stays without a Page.
    assert drafted[world.spec(world.pages[UNSHARED]).unit_code] == ""
    assert "1 unit(s) still without a Page" in out


@pytest.mark.parametrize(("page", "unit"), [
    ("MTTQ xã Nghi Phong", "Xã Nghi Phong"),
    ("Ủy ban MTTQ Việt Nam xã Nghi Phong", "Xã Nghi Phong"),
    ("Mặt trận Tổ quốc Xã Nghi Phong", "Xã Nghi Phong"),
    ("MTTQ XA NGHI PHONG", "Xã Nghi Phong"),
    ("Mặt trận Anh Sơn", "Huyện Anh Sơn"),
    ("Mặt trận Nghệ An", "Tỉnh Nghệ An"),
    ("MTTQ Phường Đông Vĩnh", "Phường Đông Vĩnh"),
])
def test_names_match_without_diacritics_or_prefixes(page: str, unit: str) -> None:
    units = [UnitName("1", unit, "commune"), UnitName("2", "Xã Nghi Phú", "commune"),
             UnitName("3", "Thị trấn Anh Sơn", "commune")]
    if unit.startswith("Huyện"):
        units[0] = UnitName("1", unit, "district")
    if unit.startswith("Tỉnh"):
        units[0] = UnitName("1", unit, "province")
    assert match_pages([("p1", page)], units).matched == {"p1": "1"}


def test_names_that_fit_several_units_or_none_are_listed() -> None:
    units = [UnitName("1", "Xã Hưng Phú", "commune"), UnitName("2", "Xã Hưng Phú", "commune"),
             UnitName("3", "Phường Vinh Tân", "commune")]
    result = match_pages([("a", "MTTQ xã Hưng Phú"), ("b", "Đoàn thanh niên Vinh"),
                          ("c", "MTTQ xã Vinh Tân")], units)
    assert result.matched == {}
    reasons = {page_id: why for page_id, _name, why in result.unmatched}
    assert "several units fit (1, 2)" in reasons["a"]
    assert reasons["b"] == "no unit with this name"
    assert reasons["c"] == "no unit with this name"  # a commune named so, not a ward
    assert split_name("Ủy ban MTTQ Thị trấn Quỳ Hợp") == ("thi tran", "quy hop")

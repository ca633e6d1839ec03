"""The views of migration 0002 on a small hand-made store, on SQLite and PostgreSQL.

The store (``add_small_store``, also used by test_query.py) is small enough to check by hand:

    40 Tỉnh Nghệ An (province)               page mattrannghean
    └── 412 Thành phố Vinh (district)        page mttq.vinh
        ├── 16663 Phường Đông Vĩnh (commune) page 615500000016663
        │   └── 16663-01 Khối 1 (residential area) page 615500000016699
        ├── 16666 Phường Hưng Bình (commune) page 615500000016666
        └── 16669 Xã Hưng Lộc (commune)      page 615500000016669 (never collected)
    99 Xã Cũ (commune under 40, retired)     page mttq.cu (inactive)

Followers per local day (likes are followers - 10, except 412 on 11-03, unknown):

    page      10-30 10-31 11-01 11-02 11-03
    40         1000  1010  1025  1030  1040
    412         500   505   505   512   520
    16663       100   102   101   105   110
    16666       200   203     -   210   200     (no snapshot on 11-01)
    16663-01      -     -     -    50    55     (first snapshot on 11-02)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from fanpulse.storage.db import (
    alembic_config,
    current_revision,
    head_revision,
    transaction,
    upgrade,
)
from fanpulse.storage.models import (
    CollectionRun,
    Page,
    PageError,
    PageSnapshot,
    Post,
    PostSnapshot,
    Unit,
)
from fanpulse.storage.query import plain

UTC = dt.UTC
VIEWS = ["unit_tree", "unit_descendants", "post_latest", "page_daily", "unit_daily"]
DAYS = [dt.date(2026, 10, 30) + dt.timedelta(days=i) for i in range(5)]
FOLLOWERS: dict[str, list[int | None]] = {
    "40": [1000, 1010, 1025, 1030, 1040],
    "412": [500, 505, 505, 512, 520],
    "16663": [100, 102, 101, 105, 110],
    "16666": [200, 203, None, 210, 200],
    "16663-01": [None, None, None, 50, 55],
}
PAGE_REFS = {"40": "mattrannghean", "412": "mttq.vinh", "16663": "615500000016663",
             "16666": "615500000016666", "16663-01": "615500000016699",
             "16669": "615500000016669"}


def utc(text_: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text_).replace(tzinfo=UTC)


# Posts: (graph id, page's unit code, created_time UTC, message, deleted,
#         [(snapshot day, reactions, comments, shares), ...])
POSTS: list[tuple[str, str, str, str | None, bool, list[tuple[str, int, int | None, int | None]]]]
POSTS = [
    # 23:59:59 local on 11-01: still 11-01. Latest snapshot 11-03, shares unknown.
    ("a", "16663", "2026-11-01 16:59:59", "Hội nghị sơ kết", False,
     [("2026-11-02", 10, 2, 1), ("2026-11-03", 20, 3, None)]),
    # 00:00 local on 11-02.
    ("b", "16663", "2026-11-01 17:00:00", "Tập huấn chuyển đổi số", False,
     [("2026-11-02", 5, 0, 0)]),
    ("c", "16663", "2026-10-31 17:30:00", "Trồng hoa", False, [("2026-11-01", 1, 1, 1)]),
    # Published on a day its Page has no snapshot: in post_latest, not in page_daily.
    ("d", "16666", "2026-11-01 03:00:00", "Thăm gia đình chính sách", False,
     [("2026-11-02", 7, 0, 0)]),
    # Never collected: engagement 0.
    ("e", "16663-01", "2026-11-02 02:00:00", None, False, []),
    ("f", "412", "2026-11-02 23:00:00", "Ngày hội Đại đoàn kết toàn dân tộc 18/11", True,
     [("2026-11-03", 100, 10, 5)]),
    ("g", "40", "2026-10-30 01:00:00", "LỄ HỘI văn hóa các dân tộc", False,
     [("2026-10-31", 50, 5, 5)]),
]


def add_small_store(engine: Engine) -> None:
    """Fill a migrated, empty store with the data described in this module's docstring."""
    created = utc("2026-10-01 00:00:00")
    units = [("40", "Tỉnh Nghệ An", "province", None, True),
             ("412", "Thành phố Vinh", "district", "40", True),
             ("16663", "Phường Đông Vĩnh", "commune", "412", True),
             ("16663-01", "Khối 1", "residential_area", "16663", True),
             ("16666", "Phường Hưng Bình", "commune", "412", True),
             ("16669", "Xã Hưng Lộc", "commune", "412", True),
             ("99", "Xã Cũ", "commune", "40", False)]
    with transaction(engine) as s:
        ids: dict[str, int] = {}
        for code, name, level, parent, active in units:
            unit = Unit(code=code, name=name, level=level, parent_id=ids.get(parent or ""),
                        active=active, created_at=created, updated_at=created,
                        retired_at=None if active else utc("2026-10-15 00:00:00"))
            s.add(unit)
            s.flush()
            ids[code] = unit.id
        pages: dict[str, int] = {}
        for code, ref in PAGE_REFS.items():
            page = Page(ref=ref, unit_id=ids[code], name=f"MTTQ {code}", active=True,
                        created_at=created,
                        last_success_at=utc("2026-11-03 19:00:05") if code != "16669" else None)
            s.add(page)
            s.flush()
            pages[code] = page.id
        s.add(Page(ref="mttq.cu", unit_id=ids["99"], name="MTTQ cũ", active=False,
                   created_at=created))
        runs = []
        for started in ("2026-11-02 19:00:00", "2026-11-03 19:00:00"):
            run = CollectionRun(started_at=utc(started), status="partial", trigger="schedule")
            s.add(run)
            s.flush()
            runs.append(run.id)
        for code, values in FOLLOWERS.items():
            for day, followers in zip(DAYS, values, strict=True):
                if followers is None:
                    continue
                likes = None if (code, day) == ("412", DAYS[4]) else followers - 10
                s.add(PageSnapshot(page_id=pages[code], day=day, followers_count=followers,
                                   fan_count=likes,
                                   collected_at=dt.datetime.combine(day, dt.time(13), UTC)))
        for graph_id, code, created_time, message, deleted, snaps in POSTS:
            post = Post(graph_id=graph_id, page_id=pages[code], created_time=utc(created_time),
                        message=message, permalink_url=f"https://www.facebook.com/{graph_id}",
                        first_seen_at=utc("2026-11-03 19:00:00"),
                        last_seen_at=utc("2026-11-03 19:00:00"),
                        deleted_at=utc("2026-11-03 20:00:00") if deleted else None)
            s.add(post)
            s.flush()
            for day, reactions, comments, shares in snaps:
                s.add(PostSnapshot(post_id=post.id, day=dt.date.fromisoformat(day),
                                   collected_at=utc(f"{day} 12:00:00"), reactions=reactions,
                                   comments=comments, shares=shares, reactions_like=reactions))
        errors = [(runs[0], pages["16663-01"], "transient", "Graph API temporary error"),
                  (runs[1], pages["16666"], "permission", "The token may not read this Page"),
                  (runs[1], None, "token", "The access token has expired")]
        for run_id, page_id, kind, message in errors:
            s.add(PageError(run_id=run_id, page_id=page_id, kind=kind, message=message,
                            occurred_at=utc("2026-11-03 19:00:10")))


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(text(sql), params)
        return [{k: plain(v) for k, v in row._mapping.items()} for row in result]


@pytest.fixture
def store(engine: Engine) -> Engine:
    add_small_store(engine)
    return engine


def test_views_exist_after_migration(engine: Engine) -> None:
    assert set(VIEWS) <= set(inspect(engine).get_view_names())


def test_downgrade_drops_the_views_and_upgrade_restores_them(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "0001")
    assert current_revision(engine) == "0001"
    assert not set(VIEWS) & set(inspect(engine).get_view_names())
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(VIEWS) <= set(inspect(engine).get_view_names())


def test_unit_tree(store: Engine) -> None:
    tree = {r["code"]: r for r in rows(store, "SELECT * FROM unit_tree")}
    assert len(tree) == 7
    assert tree["40"]["depth"] == 0 and tree["40"]["parent_code"] is None
    assert tree["16663-01"]["depth"] == 3
    assert tree["16663-01"]["parent_code"] == "16663"
    assert tree["16663-01"]["path"] == "Tỉnh Nghệ An > Thành phố Vinh > Phường Đông Vĩnh > Khối 1"
    assert tree["16663-01"]["level"] == "residential_area"
    assert not tree["99"]["active"] and tree["99"]["path"] == "Tỉnh Nghệ An > Xã Cũ"


def test_unit_descendants_include_the_unit_itself(store: Engine) -> None:
    pairs = rows(store, """SELECT a.code AS ancestor, u.code AS unit FROM unit_descendants d
                           JOIN units a ON a.id = d.ancestor_id JOIN units u ON u.id = d.unit_id""")
    below: dict[str, set[str]] = defaultdict(set)
    for pair in pairs:
        below[pair["ancestor"]].add(pair["unit"])
    assert below["40"] == {"40", "412", "16663", "16663-01", "16666", "16669", "99"}
    assert below["412"] == {"412", "16663", "16663-01", "16666", "16669"}
    assert below["16663"] == {"16663", "16663-01"}
    assert below["16663-01"] == {"16663-01"}


def test_post_latest_takes_the_latest_snapshot_and_the_local_day(store: Engine) -> None:
    posts = {r["graph_id"]: r for r in rows(store, "SELECT * FROM post_latest")}
    assert len(posts) == len(POSTS)
    a = posts["a"]
    assert (a["day"], a["reactions"], a["comments"], a["shares"]) == ("2026-11-03", 20, 3, None)
    assert a["engagement"] == 23  # a missing count counts as 0
    assert a["created_time"] == "2026-11-01T16:59:59+00:00"
    assert a["local_day"] == "2026-11-01"
    assert posts["b"]["local_day"] == "2026-11-02"  # 00:00 local time
    assert posts["e"]["engagement"] == 0 and posts["e"]["reactions"] is None
    assert posts["e"]["day"] is None
    assert posts["f"]["deleted_at"] == "2026-11-03T20:00:00+00:00"
    assert posts["f"]["reactions_like"] == 100
    assert posts["a"]["unit_id"] == posts["b"]["unit_id"] != posts["d"]["unit_id"]


def page_daily(store: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    found = rows(store, "SELECT * FROM page_daily")
    return {(r["page_ref"], r["day"]): r for r in found}


def test_page_daily_audience_and_changes(store: Engine) -> None:
    pd = page_daily(store)
    assert len(pd) == sum(v is not None for vs in FOLLOWERS.values() for v in vs)
    first = pd[("mattrannghean", "2026-10-30")]
    assert first["followers"] == 1000 and first["likes"] == 990
    assert first["followers_change"] is None and first["likes_change"] is None
    assert pd[("mattrannghean", "2026-10-31")]["followers_change"] == 10
    # The gap: 11-02 is compared with 10-31, the previous snapshot, and 11-01 has no row.
    assert ("615500000016666", "2026-11-01") not in pd
    assert pd[("615500000016666", "2026-11-02")]["followers_change"] == 7
    assert pd[("615500000016699", "2026-11-02")]["followers_change"] is None
    vinh = pd[("mttq.vinh", "2026-11-03")]
    assert vinh["likes"] is None and vinh["likes_change"] is None
    assert vinh["followers_change"] == 8
    assert vinh["page_name"] == "MTTQ 412"


def test_page_daily_posts_of_the_local_day(store: Engine) -> None:
    pd = page_daily(store)
    dong_vinh = pd[("615500000016663", "2026-11-01")]  # posts a and c
    assert (dong_vinh["posts"], dong_vinh["reactions"], dong_vinh["comments"],
            dong_vinh["shares"], dong_vinh["engagement"]) == (2, 21, 4, 1, 26)
    assert pd[("615500000016663", "2026-11-02")]["posts"] == 1  # post b, at local midnight
    assert pd[("615500000016663", "2026-11-02")]["engagement"] == 5
    never = pd[("615500000016699", "2026-11-02")]  # post e, never collected
    assert (never["posts"], never["engagement"], never["reactions"]) == (1, 0, 0)
    quiet = pd[("mattrannghean", "2026-11-01")]
    assert (quiet["posts"], quiet["engagement"]) == (0, 0)
    assert pd[("mttq.vinh", "2026-11-03")]["engagement"] == 115  # deleted posts still count


def unit_daily(store: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["code"], r["day"]): r for r in rows(store, "SELECT * FROM unit_daily")}


def test_unit_daily_rolls_up_descendants(store: Engine) -> None:
    ud = unit_daily(store)
    vinh = ud[("412", "2026-11-02")]
    assert vinh["name"] == "Thành phố Vinh" and vinh["level"] == "district"
    assert vinh["pages_reporting"] == 4
    assert vinh["followers"] == 512 + 105 + 210 + 50
    assert vinh["followers_change"] == 7 + 4 + 7  # the residential area's first day adds nothing
    assert (vinh["posts"], vinh["engagement"]) == (2, 5)
    day1 = ud[("412", "2026-11-01")]
    assert (day1["pages_reporting"], day1["followers"], day1["followers_change"]) == (2, 606, -1)
    assert (day1["posts"], day1["reactions"], day1["engagement"]) == (2, 21, 26)
    province = ud[("40", "2026-11-03")]
    assert province["pages_reporting"] == 5
    assert province["followers"] == 1040 + 520 + 110 + 200 + 55
    assert province["likes"] == 1030 + 100 + 190 + 45  # 412's unknown likes are left out
    assert province["followers_change"] == 10 + 8 + 5 - 10 + 5
    assert province["likes_change"] == 10 + 5 - 10 + 5
    assert ud[("16663", "2026-11-02")]["followers"] == 155
    assert not any(code in ("99", "16669") for code, _ in ud)  # no Page data, no rows


def check_unit_daily_is_the_sum_of_page_daily(store: Engine) -> int:
    """unit_daily equals page_daily summed over each unit's descendants; returns rows checked."""
    descendants: dict[int, set[int]] = defaultdict(set)
    for pair in rows(store, "SELECT ancestor_id, unit_id FROM unit_descendants"):
        descendants[pair["ancestor_id"]].add(pair["unit_id"])
    by_unit_day: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for page_row in rows(store, "SELECT * FROM page_daily"):
        for ancestor, units in descendants.items():
            if page_row["unit_id"] in units:
                by_unit_day[(ancestor, page_row["day"])].append(page_row)

    def total(items: list[dict[str, Any]], column: str) -> int | None:
        values = [i[column] for i in items if i[column] is not None]
        return sum(values) if values else None

    found = {(r["unit_id"], r["day"]): r for r in rows(store, "SELECT * FROM unit_daily")}
    assert set(found) == set(by_unit_day)
    for key, items in by_unit_day.items():
        row = found[key]
        assert row["pages_reporting"] == len(items)
        for column in ("followers", "likes", "followers_change", "likes_change", "posts",
                       "reactions", "comments", "shares", "engagement"):
            assert row[column] == total(items, column) or (
                row[column] == 0 and total(items, column) is None
            ), (key, column)
    return len(found)


def check_page_daily_matches_post_latest(store: Engine) -> int:
    """page_daily's post figures are post_latest summed by local day; returns days checked."""
    sums: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for post in rows(store, "SELECT * FROM post_latest"):
        acc = sums[(post["page_id"], post["local_day"])]
        acc[0] += 1
        for i, column in enumerate(("reactions", "comments", "shares", "engagement"), 1):
            acc[i] += post[column] or 0
    checked = 0
    for row in rows(store, "SELECT * FROM page_daily"):
        expected = sums.get((row["page_id"], row["day"]), [0, 0, 0, 0, 0])
        got = [row["posts"], row["reactions"], row["comments"], row["shares"],
               row["engagement"]]
        assert got == expected, (row["page_id"], row["day"])
        checked += 1
    return checked


def test_the_views_agree_with_each_other(store: Engine) -> None:
    assert check_unit_daily_is_the_sum_of_page_daily(store) > 10
    assert check_page_daily_matches_post_latest(store) > 10


def test_the_views_agree_on_synthetic_data(engine: Engine) -> None:
    from fanpulse.storage.synthetic import fill_synthetic

    fill_synthetic(engine, n_pages=25, days=40, end_day=dt.date(2026, 11, 25), seed=3)
    assert check_unit_daily_is_the_sum_of_page_daily(engine) > 500
    assert check_page_daily_matches_post_latest(engine) > 500


def test_filters_on_the_views_give_the_same_rows(store: Engine) -> None:
    """A filter pushed down into a view must not change what the view says about a row."""
    full = unit_daily(store)
    one = rows(store, "SELECT * FROM unit_daily WHERE code = '412' AND day >= :d",
               d="2026-11-02")
    assert {(r["code"], r["day"]): r for r in one} == {
        k: v for k, v in full.items() if k[0] == "412" and k[1] >= "2026-11-02"
    }
    pd = page_daily(store)
    later = rows(store, "SELECT * FROM page_daily WHERE day = :d", d="2026-11-02")
    assert {(r["page_ref"], r["day"]): r for r in later} == {
        k: v for k, v in pd.items() if k[1] == "2026-11-02"
    }

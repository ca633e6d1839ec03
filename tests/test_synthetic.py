"""The synthetic-data generator: shape, consistency and determinism on both databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from fanpulse.storage.db import make_engine, transaction
from fanpulse.storage.models import (
    CollectionRun,
    Page,
    PageError,
    PageSnapshot,
    Post,
    PostSnapshot,
    Unit,
)
from fanpulse.storage.synthetic import fill_synthetic, generated_units, local_day

END = dt.date(2026, 11, 25)


def test_fills_a_small_store(engine: Engine) -> None:
    summary = fill_synthetic(engine, n_pages=12, days=40, end_day=END, seed=3)
    assert summary.pages == 12
    assert summary.first_day == END - dt.timedelta(days=39)
    assert summary.runs == 40
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Page)) == 12
        assert s.scalar(select(func.count()).select_from(Unit)) == summary.units >= 12
        snapshots = s.scalar(select(func.count()).select_from(PageSnapshot))
        errors = s.scalar(select(func.count()).select_from(PageError)
                          .where(PageError.severity == "failed"))
        # Every page-night is either a snapshot or a failure (no Page starts late in 40 days);
        # gaps (posts or insights refused) come on top of a snapshot.
        assert snapshots == summary.page_snapshots
        assert snapshots + errors == 12 * 40
        assert s.scalar(select(func.count()).select_from(Post)) == summary.posts > 0
        assert s.scalar(select(func.count()).select_from(PostSnapshot)) == summary.post_snapshots

        runs = list(s.scalars(select(CollectionRun).order_by(CollectionRun.day)))
        assert [r.day for r in runs] == [summary.first_day + dt.timedelta(days=i)
                                         for i in range(40)]
        assert {r.status for r in runs} <= {"ok", "partial"}
        for run in runs:
            assert run.started_at.tzinfo is not None
            assert local_day(run.started_at) == run.day
            assert run.pages_ok + run.pages_failed == run.pages_total
            assert (run.status == "partial") == (run.pages_failed > 0)

        for snap in s.scalars(select(PageSnapshot).limit(50)):
            assert local_day(snap.collected_at) == snap.day

        for post in s.scalars(select(Post).limit(50)):
            assert post.created_time < post.first_seen_at <= post.last_seen_at
            assert post.permalink_url and post.permalink_url.startswith("https://www.facebook.com/")

        # Engagement never goes down from one snapshot of a post to the next.
        rows = s.execute(
            select(PostSnapshot.post_id, PostSnapshot.reactions, PostSnapshot.comments,
                   PostSnapshot.shares, PostSnapshot.reactions_like, PostSnapshot.reactions_sad)
            .order_by(PostSnapshot.post_id, PostSnapshot.day)
        ).all()
        previous: dict[int, tuple[int, ...]] = {}
        for post_id, *values in rows:
            if post_id in previous:
                assert all(a <= b for a, b in zip(previous[post_id], values, strict=True))
            previous[post_id] = tuple(values)

    # New rows after the bulk insert get fresh ids (PostgreSQL sequences were moved on).
    with transaction(engine) as s:
        s.add(CollectionRun(started_at=dt.datetime.now(dt.UTC), status="running"))
    with pytest.raises(ValueError, match="fresh store"):
        fill_synthetic(engine, n_pages=2, days=3, end_day=END)


def test_access_levels_are_consistent(engine: Engine) -> None:
    summary = fill_synthetic(engine, n_pages=300, days=30, end_day=END, seed=2)
    with engine.connect() as conn:
        pages = conn.execute(text(
            "SELECT p.id, u.level, p.access, p.tasks, p.posts_readable, p.insights_state, "
            "p.has_insights, p.access_reason, p.access_action, p.access_checked_at, "
            "(SELECT COUNT(*) FROM posts WHERE page_id = p.id) AS posts, "
            "(SELECT COUNT(*) FROM page_snapshots WHERE page_id = p.id) AS snapshots "
            "FROM pages p JOIN units u ON u.id = p.unit_id"
        )).all()
        gaps = conn.execute(text(
            "SELECT e.kind, p.access FROM page_errors e JOIN pages p ON p.id = e.page_id "
            "WHERE e.severity = 'gap'")).all()
        failures: dict[int, int] = dict(conn.execute(text(
            "SELECT r.id, r.pages_failed - COUNT(e.id) FROM collection_runs r "
            "LEFT JOIN page_errors e ON e.run_id = r.id AND e.severity = 'failed' "
            "GROUP BY r.id, r.pages_failed")).all())
    assert len(pages) == summary.pages == 300
    assert {p.access for p in pages if p.level != "commune"} == {"full"}
    communes = [p for p in pages if p.level == "commune"]
    audience = [p for p in communes if p.access == "audience"]
    assert 0.06 * len(communes) < len(audience) < 0.2 * len(communes)
    assert 1 <= sum(1 for p in communes if p.access == "partial") < 0.06 * len(communes)
    unreachable = [p for p in pages if p.access == "unreachable"]
    assert len(unreachable) == 1 and unreachable[0].snapshots == unreachable[0].posts == 0
    for p in audience:
        assert p.posts == 0 and p.snapshots > 0 and not p.posts_readable and p.tasks is None
    for p in pages:
        assert bool(p.has_insights) == (p.insights_state == "available")
        assert (p.access == "full") == (p.access_reason is None) == (p.access_action is None)
        assert p.access_checked_at is not None
        if p.access == "full":
            assert p.posts_readable and "ANALYZE" in p.tasks.split(",")
            assert p.insights_state in ("available", "none")
        if p.posts_readable:
            assert p.access in ("full", "partial")
    assert any(p.insights_state == "none" for p in pages)
    assert {(kind, access) for kind, access in gaps} == {("posts_unreadable", "audience"),
                                                         ("insights_refused", "partial")}
    assert set(failures.values()) == {0}  # a run's failed Pages are its 'failed' errors


def test_bulk_rows_are_stored_like_orm_rows(engine: Engine) -> None:
    fill_synthetic(engine, n_pages=2, days=3, end_day=END)
    with transaction(engine) as s:
        s.add(CollectionRun(started_at=dt.datetime(2026, 11, 25, 19, tzinfo=dt.UTC),
                            status="ok"))
    with engine.connect() as conn:
        raw = conn.execute(text(
            "select started_at from collection_runs order by id"
        )).scalars().all()
        days = conn.execute(text("select day from page_snapshots")).scalars().all()
    if engine.dialect.name == "sqlite":
        # The same text layout as the ORM's rows, so comparisons in SQL work across both.
        assert {len(str(value)) for value in raw} == {26}
        assert {len(str(value)) for value in days} == {10}
    else:
        assert all(value.tzinfo is not None for value in raw)


def test_same_seed_same_rows(tmp_path: Path) -> None:
    def dump(seed: int, name: str) -> list[tuple[object, ...]]:
        eng = make_engine(f"sqlite:///{tmp_path / name}")
        from fanpulse.storage.db import ensure_schema

        ensure_schema(eng)
        fill_synthetic(eng, n_pages=5, days=20, end_day=END, seed=seed)
        with eng.connect() as conn:
            rows = conn.execute(text(
                "select p.ref, s.day, s.followers_count, s.fan_count from page_snapshots s "
                "join pages p on p.id = s.page_id order by p.ref, s.day"
            )).all()
            rows += conn.execute(text("select graph_id, message from posts order by id")).all()
        eng.dispose()
        return [tuple(r) for r in rows]

    assert dump(7, "a.db") == dump(7, "b.db")
    assert dump(7, "c.db") != dump(8, "d.db")


def test_units_from_the_nghe_an_file(engine: Engine) -> None:
    csv = Path(__file__).resolve().parent.parent / "config" / "units.nghe-an.csv"
    summary = fill_synthetic(engine, units_csv=str(csv), days=2, end_day=END)
    assert (summary.units, summary.pages) == (482, 482)
    with transaction(engine) as s:
        province = s.scalars(select(Page).where(Page.ref == "mattrannghean")).one()
        assert province.graph_id and province.name and province.last_success_at


def test_generated_tree_has_units_without_pages() -> None:
    rows = generated_units(200)
    assert sum(1 for r in rows if r.page is not None) == 200
    assert any(r.page is None for r in rows)
    assert [r.level for r in rows[:2]] == ["province", "district"]
    assert len({r.code for r in rows}) == len(rows)

"""Fixtures for the report tests: a small synthetic store with a few hostile rows added."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from fanpulse.reports.build import ReportSummary, build_reports
from fanpulse.storage.db import ensure_schema, make_engine, transaction
from fanpulse.storage.models import CollectionRun, Page, PageError, Post, PostSnapshot, Unit
from fanpulse.storage.synthetic import fill_synthetic
from tests.conftest import migrated_store

END = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 5, 0, tzinfo=dt.UTC)  # 12:00 in Vietnam
XSS_MESSAGE = "<script>alert(1)</script>"
XSS_PAGE_NAME = "<img src=x onerror=alert(2)> & \"Trang\""
LEAKED_TOKEN = "EAABsecretTOKEN123"


def seed_store(engine: Engine) -> None:
    """60 Pages over 150 days, plus the rows the tests look for.

    Besides what the generator gives (commune Pages read in full or audience only, one
    unreachable), the first full commune Page is made partial (no Analyze task), and carries a
    markup name and a token error; the second gets no insights from Meta; the third was not
    checked yet; the first audience-only Page has a posts_unreadable gap in the latest run.
    """
    fill_synthetic(engine, n_pages=60, days=150, end_day=END, seed=5)
    created = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
    seen = dt.datetime(2026, 11, 20, 19, 5, tzinfo=dt.UTC)
    with transaction(engine) as s:
        province_page = s.scalars(
            select(Page).join(Unit, Page.unit_id == Unit.id).where(Unit.parent_id.is_(None))
        ).one()
        # A post whose text is markup, with the period's biggest engagement: it must show as text.
        hostile = Post(graph_id="hostile_1", page_id=province_page.id, created_time=created,
                       message=XSS_MESSAGE, permalink_url="javascript:alert(3)",
                       first_seen_at=seen, last_seen_at=seen)
        s.add(hostile)
        s.flush()
        s.add(PostSnapshot(post_id=hostile.id, day=dt.date(2026, 11, 21), collected_at=seen,
                           reactions=900_000, comments=5, shares=7, reactions_like=900_000))
        full = list(s.scalars(
            select(Page).join(Unit, Page.unit_id == Unit.id)
            .where(Unit.level == "commune", Page.access == "full").order_by(Page.id)
        ))
        commune_page, no_insights, unchecked = full[:3]
        commune_page.name = XSS_PAGE_NAME
        commune_page.access = "partial"
        commune_page.tasks = "CREATE_CONTENT,MODERATE"
        commune_page.insights_state = "refused"
        commune_page.has_insights = False
        no_insights.insights_state = "none"
        no_insights.has_insights = False
        unchecked.access = unchecked.access_checked_at = unchecked.tasks = None
        unchecked.posts_readable = unchecked.insights_state = None
        latest = s.scalars(select(CollectionRun).order_by(CollectionRun.started_at.desc())).first()
        assert latest is not None
        s.add(PageError(run_id=latest.id, page_id=commune_page.id, occurred_at=latest.started_at,
                        kind="token", code=190, message=(
                            "GET https://graph.facebook.com/v26.0/1?access_token="
                            f"{LEAKED_TOKEN} failed")))
        audience = s.scalars(select(Page).where(Page.access == "audience")
                             .order_by(Page.id)).first()
        assert audience is not None
        s.add(PageError(run_id=latest.id, page_id=audience.id, occurred_at=latest.started_at,
                        kind="posts_unreadable", code=10, severity="gap",
                        message="posts not readable: (#10) Permission denied"))


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The seeded store on SQLite and PostgreSQL, shared by a module's read-only tests."""
    with migrated_store(request.param, tmp_path_factory.mktemp("store")) as engine:
        seed_store(engine)
        yield engine


@dataclass(frozen=True)
class BuiltReports:
    root: Path  # the temporary folder holding the store and the reports
    out: Path
    db_url: str
    summary: ReportSummary

    def html_files(self) -> list[Path]:
        return sorted(self.out.glob("*.html"))

    def unit_file(self, engine: Engine, level: str) -> Path:
        with engine.connect() as conn:
            code = conn.execute(select(func.min(Unit.code)).where(Unit.level == level)).scalar_one()
        return self.out / f"u-{code}.html"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltReports]:
    """Reports built once (SQLite) for the tests that only read the output."""
    root = tmp_path_factory.mktemp("built")
    url = f"sqlite:///{root / 'store.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    seed_store(engine)
    summary = build_reports(engine, root / "reports", now=NOW)
    engine.dispose()
    yield BuiltReports(root, root / "reports", url, summary)


@pytest.fixture
def built_engine(built: BuiltReports) -> Iterator[Engine]:
    engine = make_engine(built.db_url)
    yield engine
    engine.dispose()

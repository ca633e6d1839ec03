"""Fixtures for the Graph API sandbox tests: small worlds, a running server, helpers.

The worlds are *new* apps (docs/graph-api.md §0): posts and insights need the Page's own
token, which ``world.page_token(page)`` hands out as ``/me/accounts`` would. ``legacy_graph``
is an app created before 4 Nov 2026, for what only such apps may still do (``?ids=``,
``.as()``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

# With tests/ on sys.path (the root conftest puts it there), this folder is an importable
# namespace package called "sandbox" that hides the real one, which the editable install
# provides only through a meta-path finder. A regular package anywhere on sys.path wins over a
# namespace portion, so make the project root visible and forget any namespace stand-in.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.append(_ROOT)
if getattr(sys.modules.get("sandbox"), "__file__", "") is None:
    del sys.modules["sandbox"]

from fanpulse.sandbox import SandboxServer, World  # noqa: E402
from fanpulse.sandbox.testing import SandboxClient, same_shape  # noqa: E402

RECORDED = Path(__file__).parent / "recorded"


@pytest.fixture
def make_world() -> Callable[..., World]:
    """Factory for small test worlds: 30 generated pages, seed 3, unless overridden."""

    def make(**overrides: Any) -> World:
        kwargs: dict[str, Any] = {"n_pages": 30, "seed": 3, **overrides}
        return World.generate(**kwargs)

    return make


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


@pytest.fixture
def server(world: World) -> Iterator[SandboxServer]:
    with SandboxServer(world) as srv:
        yield srv


@pytest.fixture
def graph(server: SandboxServer) -> Iterator[SandboxClient]:
    with requests.Session() as session:
        yield SandboxClient(server, session)


@pytest.fixture
def big_page(world: World) -> str:
    """The provincial page: insights available, posts every day."""
    return world.pages[0]


@pytest.fixture
def district_page(world: World) -> str:
    """A district page: a few hundred posts, cheaper to page through than the province."""
    return next(
        p
        for p in world.pages
        if world.spec(p).level == "district" and len(world.truth_posts(p)) > 150
    )


@pytest.fixture
def big_token(world: World, big_page: str) -> str:
    """The provincial Page's own token (what /me/accounts hands the system user)."""
    return world.page_token(big_page)


@pytest.fixture
def district_token(world: World, district_page: str) -> str:
    return world.page_token(district_page)


@pytest.fixture
def legacy_graph(make_world: Callable[..., World]) -> Iterator[tuple[World, SandboxClient]]:
    """A world whose app predates 4 Nov 2026 (``legacy_app=True``), served, with a client."""
    world = make_world(legacy_app=True)
    with SandboxServer(world) as srv, requests.Session() as session:
        yield world, SandboxClient(srv, session)


@pytest.fixture
def page_without_username(world: World) -> str:
    return next(p for p in world.pages if world.spec(p).username is None and world.has_insights(p))


@pytest.fixture
def recorded() -> Callable[[str], dict[str, Any]]:
    """Load a recorded response from tests/sandbox/recorded/."""

    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))
        return data

    return load


@pytest.fixture
def assert_shape() -> Callable[..., None]:
    def check(recorded: Any, actual: Any, ordered: bool = True) -> None:
        problems = same_shape(recorded, actual, ordered=ordered)
        assert not problems, "\n".join(problems)

    return check

"""``sandbox serve``: refuses non-loopback hosts, serves a usable Graph API otherwise."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from fanpulse.sandbox.cli import sandbox_group


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])
def test_serve_refuses_non_loopback(host: str) -> None:
    result = CliRunner().invoke(sandbox_group, ["serve", "--host", host, "--port", "0"])
    assert result.exit_code == 2
    assert "not a loopback address" in result.output


def test_serve_rejects_units_and_pages_together(tmp_path: Path) -> None:
    units = tmp_path / "u.csv"
    units.write_text("code,name,level,parent_code,page\n1,x,,,123\n", encoding="utf-8")
    result = CliRunner().invoke(sandbox_group, ["serve", "--units", str(units), "--pages", "3"])
    assert result.exit_code == 2 and "not both" in result.output


def test_serve_help_mentions_options() -> None:
    result = CliRunner().invoke(sandbox_group, ["serve", "--help"])
    assert result.exit_code == 0
    options = (
        "--host", "--port", "--units", "--pages", "--seed", "--latency-ms", "--now",
        "--legacy-app", "--ppca",
    )  # fmt: skip
    for option in options:
        assert option in result.output


@pytest.mark.parametrize(
    ("flags", "ids_status", "posts_status"),
    [([], 400, 403), (["--legacy-app", "--ppca"], 200, 200)],
)
def test_serve_app_profile_flags(
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    ids_status: int,
    posts_status: int,
) -> None:
    """--legacy-app and --ppca reach the served world (checked without a real server loop)."""
    from fanpulse.sandbox import cli

    seen: dict[str, object] = {}

    class Stop(Exception):
        pass

    class FakeServer:
        def __init__(self, world: object, host: str, port: int) -> None:
            seen["world"] = world

        def start(self) -> FakeServer:
            raise Stop

    monkeypatch.setattr(cli, "SandboxServer", FakeServer)
    result = CliRunner().invoke(sandbox_group, ["serve", "--pages", "40", *flags])
    assert isinstance(result.exception, Stop)
    from fanpulse.sandbox import SandboxServer, World

    world = seen["world"]
    assert isinstance(world, World)
    unshared = next(p for p in world.pages if not world.tasks(p))
    with SandboxServer(world) as srv:
        ids = requests.get(
            f"{srv.base_url}/v25.0/",
            params={"ids": world.pages[0], "access_token": "sandbox-token"},
            timeout=10,
        )
        posts = requests.get(
            f"{srv.base_url}/v25.0/{unshared}/posts",
            params={"access_token": "sandbox-token"},
            timeout=10,
        )
    assert (ids.status_code, posts.status_code) == (ids_status, posts_status)


def test_serve_runs_until_stopped(tmp_path: Path) -> None:
    code = "from fanpulse.sandbox.cli import sandbox_group; sandbox_group()"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "serve",
            "--port",
            "0",
            "--pages",
            "5",
            "--now",
            "2026-10-01T12:00:00",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        token_line = proc.stdout.readline()
        assert first.startswith("Graph API sandbox listening on http://127.0.0.1:")
        assert token_line.strip() == "access token: sandbox-token"
        base = first.rsplit(" ", 1)[1].strip()
        deadline = time.monotonic() + 10
        while True:
            try:
                resp = requests.get(
                    f"{base}/v26.0/me/accounts", params={"access_token": "sandbox-token"}, timeout=5
                )
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert resp.status_code == 200 and len(resp.json()["data"]) == 5
    finally:
        proc.terminate()
        proc.communicate(timeout=10)

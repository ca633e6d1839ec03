"""Tests that check the docs: commands, settings and the two README commands stay true."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from fanpulse.cli import cli
from fanpulse.config.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config" / "fanpulse.example.toml").read_text(encoding="utf-8")


def all_commands(group: click.Group, prefix: str = "fanpulse") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            found.extend(all_commands(command, path))
        else:
            found.append((path, command))
    return found


@pytest.mark.parametrize(("path", "command"), all_commands(cli))
def test_every_command_has_help_and_is_in_the_readme(path: str, command: click.Command) -> None:
    assert command.help, f"{path} has no help text"
    assert f"`{path}" in README, f"{path} is not documented in README.md"


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.key)
def test_every_setting_is_documented(spec: object) -> None:
    key = spec.key  # type: ignore[attr-defined]
    env = spec.env  # type: ignore[attr-defined]
    assert f"| `{key}` | `{env}`" in README, f"setting {key} missing from the README table"
    assert key in EXAMPLE, f"setting {key} missing from config/fanpulse.example.toml"


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README)


def test_readme_names_exactly_two_commands() -> None:
    run, test = readme_commands()
    assert run.endswith("fanpulse demo")
    assert test.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()

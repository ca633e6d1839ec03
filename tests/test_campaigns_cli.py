"""`fanpulse campaigns check|list|add` as a user types them (config/campaigns.py behind)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from fanpulse.cli import cli


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_add_list_and_check_in_the_default_file(tmp_path: Path) -> None:
    assert "no campaigns" in run("campaigns", "check").output
    added = run("campaigns", "add", "vi-nguoi-ngheo-2026", "--name", "Vì người nghèo 2026",
                "--from", "17/10/2026", "--to", "2026-11-18", "--hashtag", "#VìNgườiNghèo",
                "--seed", "100954434022638_121767576600877396")
    assert added.exit_code == 0, added.output
    assert "17/10/2026 - 18/11/2026" in added.output
    path = tmp_path / "config" / "campaigns.toml"  # the default, in the working directory
    assert path.is_file()
    assert "1 campaign(s), all valid" in run("campaigns", "check").output
    listed = run("campaigns", "list")
    assert listed.output.startswith("vi-nguoi-ngheo-2026  Vì người nghèo 2026")


def test_a_bad_campaign_or_file_is_refused_and_nothing_written(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    bad = run("campaigns", "add", "Bad Key", "--name", "x", "--from", "2026-11-20", "--to",
              "2026-11-01", "--file", str(path))
    assert bad.exit_code == 1 and not path.exists()
    for words in ("key must be", "to (01/11/2026) is before from (20/11/2026)", "no rule"):
        assert words in bad.output, words
    path.write_text('[[campaign]]\nkey = "a"\nname = \n', encoding="utf-8")
    broken = run("campaigns", "check", str(path))
    assert broken.exit_code == 1 and "not valid TOML" in broken.output
    assert "line 3" in broken.output
    assert "Traceback" not in broken.output

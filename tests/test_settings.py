"""Settings: file, environment and overrides; every bad value gets a message naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanpulse.config.settings import DEFAULT_GRAPH_VERSION, SettingsError, load_settings


def test_defaults() -> None:
    s = load_settings(None, env={})
    assert s.database_url == "sqlite:///fanpulse.db"
    assert s.graph_url == "https://graph.facebook.com"
    assert s.graph_version == DEFAULT_GRAPH_VERSION == "v27.0"
    assert s.schedule_cron == "0 2 * * *" and s.timezone == "Asia/Ho_Chi_Minh"
    assert s.access_token == "" and s.config_file == ""


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "f.toml"
    cfg.write_text('graph_version = "v25.0"\nlookback_days = 3\nconcurrency = 2\n'
                   'page_metrics = ["page_follows"]\n', encoding="utf-8")
    env = {"FANPULSE_CONFIG": str(cfg), "FANPULSE_LOOKBACK_DAYS": "5",
           "FANPULSE_PAGE_METRICS": "page_follows, page_views_total",
           "FANPULSE_ACCESS_TOKEN": "tok-123", "FANPULSE_REPORT_AFTER_COLLECT": "yes"}
    s = load_settings(None, env=env, concurrency=8)
    assert s.graph_version == "v25.0"
    assert s.lookback_days == 5
    assert s.concurrency == 8
    assert s.page_metrics == ("page_follows", "page_views_total")
    assert s.access_token == "tok-123"
    assert s.report_after_collect is True
    assert s.config_file == str(cfg)


def test_fanpulse_toml_in_working_directory_is_read() -> None:
    Path("fanpulse.toml").write_text('report_dir = "out"\n', encoding="utf-8")
    assert load_settings(None, env={}).report_dir == "out"


def test_secret_from_file(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("tok-from-file\n", encoding="utf-8")
    s = load_settings(None, env={"FANPULSE_ACCESS_TOKEN_FILE": str(token_file)})
    assert s.access_token == "tok-from-file"


def test_secrets_never_shown() -> None:
    s = load_settings(None, env={"FANPULSE_ACCESS_TOKEN": "EAAGsecret",
                                 "FANPULSE_APP_SECRET": "appsecret"})
    assert "EAAGsecret" not in repr(s) and "appsecret" not in repr(s)
    shown = dict(s.public_items())
    assert shown["access_token"] == "(set)" and shown["app_secret"] == "(set)"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('access_token = "EAAG"\n', "is a secret and is never read from a settings file"),
        ('colour = "blue"\n', "unknown setting 'colour'"),
        ("lookback_days = 'many'\n", "setting 'lookback_days'"),
        ("lookback_days = [\n", "is not valid TOML"),
        ('timezone = "Mars/Olympus"\n', "unknown time zone"),
        ('graph_version = "26"\n', "is not a Graph API version"),
        ('schedule_cron = "nightly"\n', "needs five fields"),
        ('graph_url = "graph.facebook.com"\n', r"is not an http\(s\) URL"),
        ("concurrency = 0\n", "'concurrency' must be at least 1"),
        ("page_metrics = [1, 2]\n", "page_metrics"),
    ],
)
def test_bad_settings_file(tmp_path: Path, toml: str, message: str) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(toml, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as info:
        load_settings(cfg, env={})
    assert "EAAG" not in str(info.value)


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "none.toml", env={})


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="FANPULSE_MAX_RETRIES"):
        load_settings(None, env={"FANPULSE_MAX_RETRIES": "lots"})


def test_unreadable_secret_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FANPULSE_ACCESS_TOKEN_FILE"):
        load_settings(None, env={"FANPULSE_ACCESS_TOKEN_FILE": str(tmp_path / "none")})


def test_example_settings_file_loads() -> None:
    example = Path(__file__).resolve().parent.parent / "config" / "fanpulse.example.toml"
    s = load_settings(example, env={})
    assert s.config_file == str(example)

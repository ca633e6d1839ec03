"""The campaigns file (config/campaigns.py): read, refused with every problem, appended to,
and the hashtag, keyword and link rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fanpulse.config.campaigns import (
    HEADER,
    CampaignsFileError,
    add_campaign,
    make_campaign,
    match_rules,
    plain_url,
    read_campaigns_file,
    seed_post_keys,
)

GOOD = """\
# a comment staff wrote
[[campaign]]
key = "vi-nguoi-ngheo-2026"
name = "Tháng cao điểm Vì người nghèo 2026"
from = 2026-10-17
to = "18/11/2026"
hashtags = ["#VìNgườiNghèo"]
keywords = ["quỹ vì người nghèo"]
links = ["https://mattran.nghean.gov.vn/vi-nguoi-ngheo/"]
seeds = ["https://www.facebook.com/mattrannghean/posts/1234567890", "1111111_2222222"]

[[campaign]]
key = "dai-doan-ket"
name = "Ngày hội Đại đoàn kết"
from = 2026-11-01
to = 2026-11-18
hashtags = "#NgayHoiDaiDoanKet"
carry_days = 3
"""


def test_a_good_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.toml"
    path.write_text(GOOD, encoding="utf-8")
    first, second = read_campaigns_file(path)
    assert first.key == "vi-nguoi-ngheo-2026" and first.ends == dt.date(2026, 11, 18)
    assert first.starts == dt.date(2026, 10, 17) and first.carry_days == 7
    assert second.hashtags == ("#NgayHoiDaiDoanKet",) and second.carry_days == 3
    assert read_campaigns_file(tmp_path / "missing.toml") == []


def test_every_problem_is_listed_with_its_campaign(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.toml"
    path.write_text("""\
[[campaign]]
key = "Bad Key"
name = ""
from = 2026-11-20
to = 2026-11-01
hashtag = ["#typo"]

[[campaign]]
key = "ok"
name = "Hai"
from = "2026/11/01"
to = 2026-11-02
keywords = ["ab"]
links = ["mattran.vn"]
seeds = ["not a post"]
carry_days = 0

[[campaign]]
key = "ok"
name = "Ba"
from = 2026-11-01
to = 2026-11-02
hashtags = ["NoHash"]
""", encoding="utf-8")
    with pytest.raises(CampaignsFileError) as caught:
        read_campaigns_file(path)
    text = "\n".join(caught.value.problems)
    for words in ("campaign 1 (Bad Key): key must be", "campaign 1 (Bad Key): name is missing",
                  "to (01/11/2026) is before from (20/11/2026)", "unknown setting(s) hashtag",
                  "no rule", "campaign 2 (ok): from must be a date",
                  "keyword 'ab' is too short", "link 'mattran.vn' is not an http(s) address",
                  "seed 'not a post' is neither", "carry_days must be",
                  "hashtag 'NoHash' must start with #"):
        assert words in text, words


def test_broken_toml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.toml"
    path.write_text("[[campaign]]\nkey = \"x\nname = 1\n", encoding="utf-8")
    with pytest.raises(CampaignsFileError) as caught:
        read_campaigns_file(path)
    assert "not valid TOML" in caught.value.problems[0] and "line" in caught.value.problems[0]


def test_adding_keeps_the_file_and_refuses_a_clash(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.toml"
    path.write_text(GOOD, encoding="utf-8")
    new = make_campaign("bau-cu-2026", 'Bầu cử "HĐND" 2026', dt.date(2026, 5, 1),
                        dt.date(2026, 5, 31), hashtags=["#BầuCử2026"], carry_days=2)
    add_campaign(path, new)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(GOOD) and "# a comment staff wrote" in text
    assert read_campaigns_file(path)[-1] == new
    with pytest.raises(CampaignsFileError) as caught:
        add_campaign(path, new)
    assert "already used by campaign 3" in caught.value.problems[0]
    assert path.read_text(encoding="utf-8") == text  # untouched
    fresh = tmp_path / "new.toml"
    add_campaign(fresh, new)
    assert fresh.read_text(encoding="utf-8").startswith(HEADER)


def test_rules_match_without_diacritics_or_case() -> None:
    campaign = make_campaign(
        "c", "C", dt.date(2026, 1, 1), dt.date(2026, 12, 31),
        hashtags=["#VìNgườiNghèo"], keywords=["Quỹ vì người nghèo"],
        links=["https://mattran.nghean.gov.vn/vi-nguoi-ngheo/"])
    assert match_rules(campaign, "Ủng hộ #vinguoingheo nhé!") == ["hashtag:#VìNgườiNghèo"]
    assert match_rules(campaign, "#VÌNGƯỜINGHÈO2026") == []  # another hashtag
    assert match_rules(campaign, "Ủng hộ QUỸ VÌ NGƯỜI NGHÈO,\nxã Nghi Phong") == [
        "keyword:Quỹ vì người nghèo"]
    assert match_rules(campaign, "quỹ vì người nghèoxyz") == []  # words, not letters
    assert match_rules(campaign, "Xem: http://www.mattran.nghean.gov.vn/vi-nguoi-ngheo/"
                       "bai-1?utm_source=fb.") == [
        "link:https://mattran.nghean.gov.vn/vi-nguoi-ngheo/"]
    assert match_rules(campaign, None, ["https://mattran.nghean.gov.vn/vi-nguoi-ngheo"]) == [
        "link:https://mattran.nghean.gov.vn/vi-nguoi-ngheo/"]
    assert match_rules(campaign, "https://mattran.nghean.gov.vn/vi-nguoi-ngheo-2") == []


def test_urls_and_seed_references() -> None:
    assert plain_url("HTTPS://m.facebook.com/x/posts/1/?fbclid=abc#top") == \
        "facebook.com/x/posts/1"
    assert plain_url("ftp://x.vn") is None
    assert seed_post_keys("1111111_2222222") == {"1111111_2222222"}
    assert seed_post_keys(
        "https://www.facebook.com/permalink.php?story_fbid=2222222&id=1111111") >= {
        "1111111_2222222"}
    assert "_1234567890" in seed_post_keys("https://facebook.com/mattrannghean/posts/1234567890")
    assert seed_post_keys("12") == set()

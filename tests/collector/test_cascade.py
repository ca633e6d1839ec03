"""The cascade rules on crafted posts (collector/cascade.py); the measured precision and recall
against the sandbox's truth are in the campaign tests."""

from __future__ import annotations

import datetime as dt

from fanpulse.collector.cascade import (
    LINK,
    SHARE,
    TEXT,
    Candidate,
    Seed,
    containment,
    detect_carries,
    words,
)

SEED_TEXT = (
    'Ban Thường trực Ủy ban MTTQ tỉnh Nghệ An phát động Tháng cao điểm "Vì người nghèo" năm '
    "2026, từ ngày 17/10 đến 18/11/2026. Kêu gọi các tổ chức, doanh nghiệp, cán bộ và Nhân dân "
    'trong tỉnh chung tay ủng hộ Quỹ "Vì người nghèo" các cấp, giúp các hộ nghèo có nhà ở an '
    "toàn trước mùa mưa bão. Mọi sự ủng hộ xin gửi về Ủy ban MTTQ các cấp. #VìNgườiNghèo")
T0 = dt.datetime(2026, 10, 17, 1, 0, tzinfo=dt.UTC)
SEED = Seed.make(1, "111111_900001", 10, T0, SEED_TEXT,
                 "https://www.facebook.com/111111/posts/900001")


def post(post_id: int, hours: float, message: str | None, parent_id: str | None = None,
         links: tuple[str, ...] = (), page_id: int | None = None) -> Candidate:
    return Candidate(post_id, page_id or 100 + post_id, T0 + dt.timedelta(hours=hours),
                     message, parent_id, links)


def test_containment_tells_a_repost_from_the_same_topic() -> None:
    seed = words(SEED_TEXT)
    greeted = "Kính gửi bà con xã Nghi Phong! 🙏🙏\n\n" + SEED_TEXT.replace(". ", ".\n") + " ❤️"
    edited = SEED_TEXT.replace("các tổ chức, doanh nghiệp", "các tổ chức").replace(
        "giúp các hộ nghèo", "hỗ trợ các hộ nghèo")
    assert containment(seed, words(greeted)) == 1.0
    assert containment(seed, words(edited)) > 0.9
    same_topic = 'Xã Nghi Phong phát động Tháng cao điểm "Vì người nghèo" năm 2026.'
    assert containment(seed, words(same_topic)) < 0.2
    assert words("Xem https://mattran.vn/a-b tại ĐÂY!") == ["xem", "tai", "day"]


def test_share_link_and_text_each_found_once_and_the_surest_method_wins() -> None:
    candidates = [
        post(2, 3, "Chia sẻ", parent_id="111111_900001"),
        post(3, 5, "Mời xem https://facebook.com/111111/posts/900001/?mibextid=x"),
        post(4, 6, None, links=("https://www.facebook.com/111111/posts/900001",)),
        post(5, 20, "Kính gửi bà con! " + SEED_TEXT),
        post(6, 20, SEED_TEXT, parent_id="111111_900001"),  # a share that also quotes
        post(7, 30, 'Xã Nghi Phong phát động Tháng cao điểm "Vì người nghèo" năm 2026.'),
        post(8, 24 * 8, SEED_TEXT),  # after the campaign's carry window
        post(9, -1, SEED_TEXT),  # before the seed
        post(10, 2, SEED_TEXT, page_id=10),  # the seed's own Page
    ]
    carries = {c.post_id: c for c in detect_carries([SEED], candidates, carry_days=7)}
    assert {k: c.method for k, c in carries.items()} == {
        2: SHARE, 3: LINK, 4: LINK, 5: TEXT, 6: SHARE}
    assert carries[5].score == 1.0


def test_a_short_seed_is_matched_by_share_and_link_only() -> None:
    short = Seed.make(1, "111111_900002", 10, T0, "Ủng hộ Quỹ Vì người nghèo!", None)
    candidates = [post(2, 1, "Ủng hộ Quỹ Vì người nghèo!"),
                  post(3, 1, "x", parent_id="111111_900002")]
    assert [(c.post_id, c.method) for c in detect_carries([short], candidates, 7)] == [
        (3, SHARE)]

"""Labels and number/date formats for the reports: Vietnamese by default, English on request.

Vietnamese readers write thousands with a dot and decimals with a comma (163.180; 1,5%) and
dates day first (25/11/2026). Plotly follows the same rules through ``separators``; its hover
texts use the ``,`` format specifier, which Plotly renders with those separators.
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from dataclasses import dataclass

from fanpulse.config.matching import type_prefix as _type_prefix

# A unit name's type words, its collation key and its sort key are pure functions of the name,
# asked for thousands of times per build (every table, sheet and ranking sorts or labels the
# same 491 names): each is worked out once per name and process.
type_prefix = functools.lru_cache(maxsize=4096)(_type_prefix)

LANGS = ("vi", "en")

# key: (Vietnamese, English)
_LABELS: dict[str, tuple[str, str]] = {
    "title_index": ("Báo cáo Fanpage Mặt trận", "Front Fanpage reports"),
    "title_unit": ("Báo cáo Fanpage", "Fanpage report"),
    "period": ("Giai đoạn", "Period"),
    "generated": ("Lập lúc", "Generated"),
    "followers": ("Người theo dõi", "Followers"),
    "likes": ("Lượt thích trang", "Page likes"),
    "posts": ("Bài viết", "Posts"),
    "engagement": ("Tương tác", "Engagement"),
    "engagement_rate": ("Tỷ lệ tương tác (‰)", "Engagement rate (‰)"),
    "reactions": ("Cảm xúc", "Reactions"),
    "comments": ("Bình luận", "Comments"),
    "shares": ("Chia sẻ", "Shares"),
    "change_days": ("Thay đổi {n} ngày", "Change over {n} days"),
    "now": ("hiện tại", "now"),
    "def_followers": (
        "Số người theo dõi Trang (followers_count) ở lần thu thập gần nhất của mỗi Trang.",
        "People following the Page (followers_count) at each Page's latest collection.",
    ),
    "def_likes": (
        "Số lượt thích Trang (fan_count) ở lần thu thập gần nhất của mỗi Trang.",
        "People who like the Page (fan_count) at each Page's latest collection.",
    ),
    "def_change": (
        "Chênh lệch giữa số mới nhất và số cách đó {n} ngày, so sánh tương đương: chỉ tính các "
        "Trang có số liệu ở cả hai đầu kỳ; Trang bắt đầu hoặc ngừng được đọc trong kỳ không "
        "được tính là tăng hay giảm (danh sách bên dưới); phần trăm so với số đầu kỳ.",
        "Latest figure minus the figure {n} days earlier, like for like: only the Pages with a "
        "figure at both ends count; a Page that started or stopped being read in between is "
        "not counted as growth or loss (listed below); the percentage is against the earlier "
        "figure.",
    ),
    "change_period": ("Thay đổi trong giai đoạn", "Change over the period"),
    "def_change_period": (
        "Chênh lệch giữa số mới nhất và số ngày đầu tiên có số liệu trong giai đoạn ({n} "
        "ngày), so sánh tương đương: chỉ tính các Trang có số liệu ở cả hai đầu kỳ; Trang bắt "
        "đầu hoặc ngừng được đọc trong kỳ có tên trong danh sách bên dưới; phần trăm so với "
        "số đầu kỳ.",
        "Latest figure minus the figure on the period's first day with data ({n} days), like "
        "for like: only the Pages with a figure at both ends count; the Pages that started or "
        "stopped being read in between are listed below; the percentage is against the "
        "earlier figure.",
    ),
    "def_net_change": (
        "Tăng/giảm trong ngày, so sánh tương đương: tổng thay đổi của các Trang có số liệu cả "
        "hôm đó và hôm trước; ngày Trang bắt đầu hoặc ngừng được đọc được đánh dấu trên "
        "đường số người theo dõi thay vì tính là tăng hay giảm.",
        "Net change that day, like for like: the changes of the Pages with a figure both that "
        "day and the day before; the days when Pages started or stopped being read are marked "
        "on the followers line instead of counted as growth or loss.",
    ),
    "counted_both_ends": (
        "tính trên {n} Trang có số liệu ở cả hai đầu kỳ",
        "over {n} Pages with figures at both ends",
    ),
    "pages_joined": ("{n} Trang bắt đầu được đọc", "{n} Pages started being read"),
    "pages_left": ("{n} Trang ngừng được đọc", "{n} Pages stopped being read"),
    "pages_joined_left": ("Trang bắt đầu/ngừng được đọc", "Pages started/stopped being read"),
    "membership_list": (
        "Trang bắt đầu hoặc ngừng được đọc trong giai đoạn (không tính vào thay đổi)",
        "Pages that started or stopped being read in the period (not in the change)",
    ),
    "def_posts": (
        "Số bài viết đăng trong giai đoạn (theo ngày giờ Việt Nam), không tính các Trang "
        "không đọc được bài viết.",
        "Posts published in the period (Vietnam local days), leaving out the Pages whose "
        "posts are not readable.",
    ),
    "def_engagement": (
        "Tương tác = cảm xúc + bình luận + chia sẻ của các bài đăng trong giai đoạn "
        "(số liệu mới nhất của mỗi bài).",
        "Engagement = reactions + comments + shares on the posts of the period "
        "(each post's latest figures).",
    ),
    "def_engagement_rate": (
        "Tỷ lệ tương tác (‰) = tương tác trung bình của một bài trên mỗi 1.000 người theo dõi "
        "của Trang đăng bài: tổng tương tác ÷ tổng (số bài × số người theo dõi của Trang đó "
        "cuối giai đoạn) × 1.000, tính trên các Trang đọc được bài viết. Cùng một cách tính cho "
        "Trang xã, huyện và tỉnh nên so sánh được với nhau. Ví dụ 2,5 ‰: một bài của Trang có "
        "10.000 người theo dõi được trung bình 25 lượt tương tác.",
        "Engagement rate (‰) = a post's average engagement per 1,000 followers of the Page "
        "that posted it: total engagement ÷ the sum of (posts × that Page's followers at the "
        "end of the period) × 1,000, over the Pages whose posts are readable. Computed the "
        "same way for a commune, a district and the province, so they compare. Example: "
        "2.5 ‰ means a post of a Page with 10,000 followers drew 25 interactions on average.",
    ),
    "access": ("Mức truy cập", "Access"),
    "def_access": (
        "Những gì fanpulse đọc được của mỗi Trang đang theo dõi. Đầy đủ: lượt thích/theo dõi, "
        "bài viết và số liệu chi tiết (insights). Thiếu insights: lượt thích/theo dõi và bài "
        "viết. Chỉ lượt thích/theo dõi: Trang chưa được chia sẻ với Business Manager của tỉnh "
        "nên không có mã truy cập của Trang. Không truy cập được: không đọc được Trang. Số "
        "bài viết và tương tác không tính các Trang không đọc được bài viết.",
        "What fanpulse can read of each Page it follows. Full: likes/followers, posts and "
        "insights. Without insights: likes/followers and posts. Audience only: the Page is "
        "not shared with the province's Business Manager, so there is no Page token. "
        "Unreachable: the Page could not be read. Posts and engagement leave out the Pages "
        "whose posts are not readable.",
    ),
    "access_full": ("Đầy đủ", "Full"),
    "access_partial": ("Thiếu số liệu chi tiết (insights)", "No insights"),
    "access_audience": ("Chỉ lượt thích/theo dõi", "Audience only"),
    "access_unreachable": ("Không truy cập được", "Unreachable"),
    "access_unknown": ("Chưa kiểm tra", "Not yet checked"),
    "split_full": ("{n} Trang đầy đủ", "{n} full"),
    "split_partial": ("{n} thiếu insights", "{n} without insights"),
    "split_audience": ("{n} chỉ lượt thích/theo dõi", "{n} audience only"),
    "split_unreachable": ("{n} không truy cập được", "{n} unreachable"),
    "split_unknown": ("{n} chưa kiểm tra", "{n} not yet checked"),
    "posts_readable": ("đọc được", "readable"),
    "posts_unreadable": ("không đọc được bài viết", "posts not readable"),
    "posts_unknown": ("chưa kiểm tra", "not yet checked"),
    "posts_excluded": ("không tính {n} Trang không đọc được bài viết",
                       "leaving out {n} Pages whose posts are not readable"),
    "posts_unreadable_note": (
        "Không đọc được bài viết của Trang này nên không có số liệu bài viết và tương tác "
        "(để trống, không phải 0). Xem mục Độ phủ để biết cần làm gì.",
        "This Page's posts are not readable, so there are no post or engagement figures "
        "(left empty, not 0). The Coverage section says what to do.",
    ),
    "posts_partly_note": (
        "Bài viết và tương tác không tính {n} Trang không đọc được bài viết (xem mục Độ phủ).",
        "Posts and engagement leave out {n} Pages whose posts are not readable (see Coverage).",
    ),
    "insights": ("Số liệu chi tiết", "Insights"),
    "ins_available": ("có", "available"),
    "ins_none": ("Facebook không có số liệu chi tiết cho Trang này",
                 "Facebook has no insights for this Page"),
    "ins_refused": ("Facebook từ chối (thiếu quyền)", "refused by Facebook (missing permission)"),
    "ins_unavailable": ("không có số liệu chi tiết", "no insights"),
    "ins_unknown": ("chưa kiểm tra", "not yet checked"),
    "action": ("Việc cần làm", "What to do"),
    "act_share": (
        "Đề nghị quản trị viên Trang chia sẻ Trang với Business Manager của tỉnh (đối tác, "
        "quyền Phân tích/Analyze)",
        "Ask the Page's admin to share the Page with the province's Business Manager (as a "
        "partner, with the Analyze task)",
    ),
    "act_analyze": (
        "Đề nghị quản trị viên Trang cấp quyền Phân tích (Analyze) cho Business Manager của tỉnh",
        "Ask the Page's admin to give the province's Business Manager the Analyze task",
    ),
    "act_check_posts": (
        "Kiểm tra quyền của Business Manager trên Trang và quyền pages_read_engagement của mã "
        "truy cập",
        "Check the Business Manager's tasks on the Page and the token's pages_read_engagement "
        "permission",
    ),
    "act_read_insights": (
        "Người quản trị fanpulse tạo lại mã truy cập có quyền read_insights",
        "fanpulse's administrator makes a new access token with the read_insights permission",
    ),
    "act_check_insights": (
        "Kiểm tra quyền Phân tích (Analyze) của Business Manager trên Trang và quyền "
        "read_insights của mã truy cập",
        "Check the Business Manager's Analyze task on the Page and the token's read_insights "
        "permission",
    ),
    "act_check_ref": (
        "Kiểm tra lại mã/đường dẫn Trang trong tệp đơn vị; nếu đúng thì Trang có thể đã bị ẩn "
        "hoặc bị xóa",
        "Check the Page's id or address in the units file; if it is right, the Page may be "
        "unpublished or deleted",
    ),
    "act_wait": ("Lần thu thập tới sẽ kiểm tra", "The next collection checks it"),
    "act_none": ("Không cần làm gì", "Nothing to do"),
    "checked_at": ("Kiểm tra lúc", "Checked"),
    "rollup": ("Toàn đơn vị (Trang của đơn vị và các đơn vị trực thuộc)",
               "Whole unit (its own Page and every unit below)"),
    "own_page": ("Trang của đơn vị", "The unit's own Page"),
    "no_page": ("Đơn vị chưa có Trang", "This unit has no Page"),
    "pages_count": ("{n} Trang", "{n} Pages"),
    "trends": ("Xu hướng", "Trends"),
    "chart_followers": ("Người theo dõi theo ngày", "Followers per day"),
    "net_change": ("Tăng/giảm trong ngày", "Net change that day"),
    "net_change_short": ("+/− ngày", "+/− a day"),
    "chart_engagement": ("Tương tác theo tuần (theo loại)", "Engagement per week, by type"),
    "chart_posts": ("Bài viết theo tuần", "Posts per week"),
    "week_of": ("Tuần từ", "Week of"),
    "gaps_note": (
        "Ngày không thu thập được số liệu để trống, không tính là 0.",
        "Days without collected data are left empty, never drawn as 0.",
    ),
    "top_posts": ("Bài viết nổi bật trong giai đoạn", "Top posts of the period"),
    "date": ("Ngày", "Date"),
    "page": ("Trang", "Page"),
    "excerpt": ("Nội dung", "Text"),
    "open_fb": ("Mở trên Facebook", "Open on Facebook"),
    "deleted": ("đã gỡ", "removed"),
    "no_text": ("(không có chữ)", "(no text)"),
    "no_posts": ("Không có bài viết trong giai đoạn.", "No posts in the period."),
    "reaction_mix": ("Các loại cảm xúc", "Reaction mix"),
    "reaction_like": ("Thích", "Like"),
    "reaction_love": ("Yêu thích", "Love"),
    "reaction_care": ("Thương thương", "Care"),
    "reaction_haha": ("Haha", "Haha"),
    "reaction_wow": ("Wow", "Wow"),
    "reaction_sad": ("Buồn", "Sad"),
    "reaction_angry": ("Phẫn nộ", "Angry"),
    "children": ("So sánh các đơn vị trực thuộc", "Units below, compared"),
    "children_hint": ("Bấm vào tiêu đề cột để sắp xếp.", "Click a column title to sort."),
    "chart_children_growth": ("Tăng trưởng người theo dõi 30 ngày (%)",
                              "Follower growth over 30 days (%)"),
    "unit": ("Đơn vị", "Unit"),
    "growth_30": ("Tăng 30 ngày", "Growth 30 days"),
    "last_post": ("Bài gần nhất", "Last post"),
    "status": ("Tình trạng", "Status"),
    "coverage": ("Độ phủ và tình trạng thu thập", "Coverage and collection status"),
    "cov_no_page": ("Đơn vị chưa có Trang", "Units without a Page"),
    "cov_silent": ("Trang im lặng từ {n} ngày trở lên", "Pages silent for {n} days or more"),
    "cov_failed": ("Trang thu thập lỗi ở lần chạy gần nhất", "Pages whose last collection failed"),
    "cov_access": ("Trang chưa đọc được đầy đủ", "Pages not fully readable"),
    "cov_access_title": ("Mức truy cập của các Trang", "What fanpulse can read of each Page"),
    "cov_no_insights": ("Trang Facebook không có số liệu chi tiết (insights)",
                        "Pages Facebook has no insights for"),
    "cov_no_insights_note": (
        "Facebook không có số liệu chi tiết cho các Trang này (thường là Trang nhỏ). Không cần "
        "làm gì: fanpulse sẽ hỏi lại sau.",
        "Facebook keeps no insights for these Pages (usually small ones). Nothing to do: "
        "fanpulse asks again later.",
    ),
    "cov_silent_note": ("Không tính các Trang không đọc được bài viết.",
                        "Pages whose posts are not readable are not counted here."),
    "none": ("Không có.", "None."),
    "never_posted": ("chưa có bài", "no post yet"),
    "no_post_since": ("chưa có bài từ {date}", "no post since {date}"),
    "days_silent": ("{n} ngày", "{n} days"),
    "freshness": ("Độ mới của số liệu", "Data freshness"),
    "last_success": ("Thu thập thành công gần nhất", "Last successful collection"),
    "last_run": ("Lần chạy gần nhất", "Latest run"),
    "no_data": ("Chưa có số liệu.", "No data yet."),
    "run_ok": ("thành công", "succeeded"),
    "run_partial": ("một phần Trang bị lỗi", "some Pages failed"),
    "run_failed": ("thất bại", "failed"),
    "run_running": ("đang chạy", "running"),
    "run_interrupted": ("bị gián đoạn", "interrupted"),
    "pages_ok_failed": ("{ok}/{total} Trang thành công, {failed} lỗi",
                        "{ok}/{total} Pages collected, {failed} failed"),
    "err_token": ("mã truy cập hết hạn hoặc không hợp lệ", "access token expired or invalid"),
    "err_permission": ("không có quyền đọc Trang", "no permission to read the Page"),
    "err_throttled": ("Facebook yêu cầu chậm lại", "Facebook asked to slow down"),
    "err_unpublished": ("Trang đã ẩn hoặc ngừng xuất bản", "Page unpublished or hidden"),
    "err_not_found": ("không tìm thấy Trang", "Page not found"),
    "err_transient": ("lỗi tạm thời của Facebook", "temporary Facebook error"),
    "err_metric": ("chỉ số Insights không khả dụng", "Insights metric unavailable"),
    "err_posts_unreadable": ("không đọc được bài viết", "posts not readable"),
    "err_insights_refused": ("Facebook từ chối số liệu chi tiết", "insights refused"),
    "err_other": ("lỗi khác", "other error"),
    "hierarchy": ("Cây đơn vị", "Unit tree"),
    "search_label": ("Tìm đơn vị", "Find a unit"),
    "search_placeholder": ("Gõ tên, có dấu hay không dấu (vd: nghi phong)",
                           "Type a name, with or without diacritics (e.g. nghi phong)"),
    "search_found": ("{n} đơn vị khớp", "{n} matching units"),
    "search_none": ("Không có đơn vị nào khớp", "No matching unit"),
    "definitions": ("Định nghĩa", "Definitions"),
    "no_data_period": ("không có số liệu trong giai đoạn", "no data in the period"),
    "no_data_note": (
        "Không Trang nào của đơn vị được thu thập trong giai đoạn này: các số liệu chưa biết "
        "(không phải bằng 0).",
        "None of the unit's Pages was collected in this period: the figures are unknown "
        "(not zero).",
    ),
    "why_no_data": ("không tính được: không có số liệu trong giai đoạn",
                    "cannot be computed: no data in the period"),
    "why_too_recent": ("không tính được: chưa có số liệu {n} ngày trước",
                       "cannot be computed: no figures {n} days earlier"),
    "why_no_common": ("không tính được: không Trang nào có số liệu ở cả hai đầu kỳ",
                      "cannot be computed: no Page has figures at both ends"),
    "ongoing": ("đang diễn ra", "under way"),
    "merge_mark": ("Sáp nhập ({n} đơn vị)", "Merged ({n} units)"),
    "cov_former": ("Trang của đơn vị cũ (sau sáp nhập)", "Pages of former units (after merges)"),
    "cov_former_note": (
        "Trang của các đơn vị đã sáp nhập vào đơn vị này: vẫn được thu thập, số liệu cũ của "
        "chúng là lịch sử của đơn vị mới.",
        "Pages of the units merged into this one: still collected; their history is the new "
        "unit's history.",
    ),
    "former_of": ("trước đây của {name}", "formerly of {name}"),
    "xlsx_former_unit": ("Đơn vị cũ", "Former unit"),
    "as_was": ("Cây đơn vị như ngày {date}", "Unit tree as on {date}"),
    "page_views": ("Lượt xem", "Views"),
    "post_views": ("Lượt xem bài viết", "Post views"),
    "def_page_views": (
        "Lượt xem = số lần nội dung của Trang được hiển thị hoặc phát (chỉ số insights "
        "page_media_view, cộng các ngày trong giai đoạn theo ngày của Facebook). Chỉ có ở "
        "Trang đọc được số liệu chi tiết (insights); số Trang có số liệu ghi bên dưới. Lượt "
        "xem bài viết = số lần các bài đăng trong giai đoạn được hiển thị từ khi đăng "
        "(post_media_view).",
        "Views = the number of times the Pages' content was displayed or played (insights "
        "metric page_media_view, the period's days added up, Facebook's days). Only for Pages "
        "whose insights are read; how many Pages have them is written below. Post views = how "
        "many times the period's posts were displayed since published (post_media_view).",
    ),
    "def_post_views": (
        "Số lần các bài đăng trong giai đoạn được hiển thị hoặc phát từ khi đăng "
        "(post_media_view, lần đọc gần nhất), chỉ các bài có số liệu chi tiết.",
        "How many times the period's posts were displayed or played since published "
        "(post_media_view, latest reading), only posts with insights.",
    ),
    "views_pages": ("{n} Trang có số liệu chi tiết", "{n} Pages with insights"),
    "views_posts": ("{n} bài có số liệu chi tiết", "{n} posts with insights"),
    "views_none": ("không có số liệu chi tiết (insights)", "no insights"),
    "ranking_title": ("Xếp hạng xã và kiểm tra đăng bài", "Commune ranking and posting check"),
    "ranking_link": ("Xếp hạng xã toàn tỉnh · Đơn vị không có bài trong tuần",
                     "Commune ranking · Units with no post this week"),
    "ranking_communes": ("Xếp hạng xã toàn tỉnh theo tỷ lệ tương tác",
                         "All communes ranked by engagement rate"),
    "ranking_note": (
        "Trang riêng của mỗi xã, trong giai đoạn báo cáo. Chỉ xếp hạng Trang có từ {followers} "
        "người theo dõi và {posts} bài viết trở lên (như các bảng xếp hạng ở trang tổng hợp); "
        "các xã còn lại ở cuối bảng, có ghi lý do.",
        "Each commune's own Page, over the report period. Only Pages with at least "
        "{followers} followers and {posts} posts are ranked (as in the overview's "
        "leaderboards); the other communes follow, with the reason.",
    ),
    "rank_no_data": ("không có số liệu trong giai đoạn", "no data in the period"),
    "rank_too_small": ("dưới {followers} người theo dõi", "under {followers} followers"),
    "rank_too_few_posts": ("dưới {posts} bài viết", "fewer than {posts} posts"),
    "quiet_title": ("Đơn vị không có bài trong tuần ({date_from} – {date_to})",
                    "Units with no post this week ({date_from} – {date_to})"),
    "quiet_note": (
        "Đơn vị có Trang riêng đọc được bài viết nhưng không đăng bài nào trong 7 ngày cuối "
        "của giai đoạn báo cáo.",
        "Units whose own Page's posts are readable and that published nothing in the last 7 "
        "days of the report period.",
    ),
    "quiet_count": ("{n} đơn vị", "{n} units"),
    "summary": ("Tóm tắt", "Summary"),
    "summary_hint": ("Đoạn văn sẵn để dán vào báo cáo.", "A paragraph ready to paste."),
    "compare_title": ("So sánh", "Comparison"),
    "compare_vs": ("so với", "change"),
    "followers_end": ("Người theo dõi cuối kỳ", "Followers at the end"),
    "growth_in_period": ("Tăng trong kỳ (tương đương)", "Growth in the period (like for like)"),
    "why_no_data_then": ("không có số liệu kỳ so sánh", "no data for that period"),
    "compare_no_data": ("Chưa có số liệu {label} để so sánh.",
                        "No figures for {label} to compare with."),
    "periods_title": ("Báo cáo theo kỳ", "Reports by period"),
    "periods_latest": ("Mới nhất", "Latest"),
    "periods_all": ("Tất cả", "All"),
    "period_kind_month": ("Tháng", "Month"),
    "period_kind_quarter": ("Quý", "Quarter"),
    "period_kind_year": ("Năm", "Year"),
    "period_frozen": ("đã chốt", "final"),
    "period_data_from": ("Số liệu từ {date}", "Data from {date}"),
    "home_main": ("Báo cáo chung", "Main report"),
    "partial_week": ("tuần chưa đủ ngày", "partial week"),
    "def_like_for_like": (
        "So sánh tương đương: thay đổi của một đơn vị chỉ cộng các Trang có số liệu ở cả hai "
        "đầu kỳ. Trang bắt đầu được đọc trong kỳ làm tăng tổng số người theo dõi nhưng không "
        "được tính là tăng trưởng; Trang ngừng được đọc không được tính là sụt giảm. Số Trang "
        "được tính và danh sách Trang bắt đầu/ngừng được đọc ghi ngay dưới số liệu.",
        "Like for like: a unit's change adds up only the Pages with a figure at both ends of "
        "the period. A Page that started being read raises the total followers but is not "
        "counted as growth; a Page that stopped being read is not counted as a loss. How many "
        "Pages count, and which joined or left, is written under the figures.",
    ),
    "province_figures": ("Số liệu toàn tỉnh", "Province figures"),
    "unit_figures": ("Số liệu toàn đơn vị", "Whole-unit figures"),
    "leaderboards": ("Bảng xếp hạng (Trang của từng đơn vị)",
                     "Leaderboards (each unit's own Page)"),
    "lb_growth": ("Tăng trưởng nhanh nhất (30 ngày)", "Fastest growing (30 days)"),
    "lb_engaging": ("Tương tác tốt nhất", "Most engaging"),
    "lb_silent": ("Im lặng lâu nhất", "Silent the longest"),
    "lb_note": (
        "Chỉ xét Trang có từ {followers} người theo dõi và (với tương tác) từ {posts} bài viết; "
        "Trang không đọc được bài viết không được xếp hạng tương tác và im lặng.",
        "Only Pages with at least {followers} followers and (for engagement) {posts} posts; "
        "Pages whose posts are not readable are left out of engagement and silence.",
    ),
    "up": ("Lên cấp trên", "Up"),
    "home": ("Trang tổng hợp", "Overview"),
    "level_province": ("Tỉnh", "Province"),
    "level_district": ("Huyện", "District"),
    "level_commune": ("Xã", "Commune"),
    "level_residential_area": ("Khu dân cư", "Residential area"),
    "retired": ("đã giải thể/sáp nhập", "retired"),
    "silent_badge": ("im lặng", "silent"),
    "failed_badge": ("lỗi thu thập", "collection failed"),
    # Excel workbooks beside the pages (reports/export.py); sheet names at most 31 characters.
    "xlsx_download": ("Tải bảng (Excel)", "Download tables (Excel)"),
    "xlsx_scope": ("Phạm vi", "Scope"),
    "xlsx_rollup": ("Toàn đơn vị", "Whole unit"),
    "xlsx_pages_reporting": ("Trang có số liệu", "Pages reporting"),
    "xlsx_pages_total": ("Tổng số Trang", "Pages in all"),
    "xlsx_posts_unreadable_pages": ("Trang không đọc được bài viết", "Pages with unreadable posts"),
    "xlsx_link": ("Đường dẫn", "Link"),
    "xlsx_level": ("Loại đơn vị", "Unit type"),
    "xlsx_parent": ("Đơn vị cấp trên", "Parent unit"),
    "xlsx_error": ("Lỗi", "Error"),
    "xlsx_detail": ("Chi tiết", "Details"),
    "xlsx_error_code": ("Mã lỗi", "Error code"),
    "xlsx_silent_group": ("Nhóm", "Group"),
    "xlsx_silent_days": ("Số ngày im lặng", "Days silent"),
    "xlsx_days_or_more": ("từ {n} ngày", "{n}+ days"),
    "xlsx_sheet_headline": ("Số liệu chính", "Headline figures"),
    "xlsx_sheet_top_posts": ("Bài viết nổi bật", "Top posts"),
    "xlsx_sheet_children": ("Đơn vị trực thuộc", "Units below"),
    "xlsx_sheet_access": ("Trang chưa đọc được đầy đủ", "Pages not fully readable"),
    "xlsx_sheet_failed": ("Trang thu thập lỗi", "Collection failed"),
    "xlsx_sheet_silent": ("Trang im lặng", "Silent Pages"),
    "xlsx_sheet_no_page": ("Đơn vị chưa có Trang", "Units without a Page"),
    "xlsx_sheet_no_insights": ("Không có số liệu chi tiết", "No insights"),
    "xlsx_sheet_lb_growth": ("Tăng trưởng nhanh nhất", "Fastest growing"),
    "xlsx_sheet_lb_engaging": ("Tương tác tốt nhất", "Most engaging"),
    "xlsx_sheet_lb_silent": ("Im lặng lâu nhất", "Silent the longest"),
    # Campaign pages (reports/campaigns.py, templates/campaign.html).
    "campaigns_title": ("Đợt tuyên truyền", "Campaigns"),
    "campaign_title": ("Đợt tuyên truyền", "Campaign"),
    "camp_active": ("đang diễn ra", "under way"),
    "camp_ended": ("đã kết thúc", "ended"),
    "camp_dates": ("Thời gian", "Dates"),
    "camp_seed_n": ("Bài chỉ đạo {n}", "Directive post {n}"),
    "camp_seed_by": ("{unit} đăng lúc {when}", "posted by {unit} at {when}"),
    "camp_seeds_found": ("Bài chỉ đạo", "Directive posts"),
    "camp_no_seed": ("Chưa thu thập được bài chỉ đạo nào của đợt này.",
                     "No directive post of this campaign has been collected yet."),
    "camp_waiting": ("{n} bài chỉ đạo ghi trong tệp đợt tuyên truyền chưa có trong dữ liệu "
                     "(chưa đăng, hoặc đăng trước ngày bắt đầu thu thập):",
                     "{n} directive post(s) named in the campaigns file are not in the store "
                     "(not published yet, or published before collection began):"),
    "camp_rule_posts": ("Bài viết theo chủ đề của đợt nhưng không đăng lại bài chỉ đạo",
                        "Posts on the campaign's theme that carry no directive"),
    "camp_window": ("Thời hạn đăng lại: {n} ngày sau bài chỉ đạo.",
                    "Carry window: {n} days after the directive."),
    "camp_coverage": ("Tỷ lệ đăng lại", "Carried"),
    "def_camp_coverage": (
        "Số đơn vị cấp dưới (có Trang) đã đăng lại bài chỉ đạo trong thời hạn, bằng cách chia "
        "sẻ, dẫn link hoặc đăng lại nội dung, chia cho số đơn vị cấp dưới có Trang. Đơn vị chưa "
        "có Trang được liệt kê riêng, không tính vào tỷ lệ. Cả đợt: tính trên mọi cặp (bài "
        "chỉ đạo, đơn vị).",
        "Units below (with a Page) that carried the directive within the window, by sharing "
        "it, linking it or re-posting its text, over the units below with a Page. Units "
        "without a Page are listed apart, not counted. For a whole campaign: over every "
        "(directive, unit) pair.",
    ),
    "camp_share_of": ("{carried}/{with_page} đơn vị có Trang",
                      "{carried} of {with_page} units with a Page"),
    "camp_median_delay": ("Thời gian trung vị", "Median time to carry"),
    "camp_p90_delay": ("90% đơn vị đăng trong", "90th percentile"),
    "def_camp_delay": (
        "Thời gian từ lúc đăng bài chỉ đạo đến bài đăng lại đầu tiên của mỗi đơn vị. Trung "
        "vị: một nửa số đơn vị đã đăng lại nhanh hơn. 90%: chín phần mười số đơn vị đã đăng "
        "lại nhanh hơn (nội suy giữa hai giá trị gần nhất).",
        "Time from the directive to each unit's first carry. Median: half the units that "
        "carried it were faster. 90th percentile: nine in ten were faster (interpolated "
        "between the two nearest values).",
    ),
    "camp_seed_engagement": ("Tương tác bài chỉ đạo", "Engagement of the directive"),
    "camp_carries_engagement": ("Tương tác các bài đăng lại", "Engagement of the carries"),
    "camp_carries_n": ("{n} bài đăng lại", "{n} carries"),
    "camp_by_level": ("Theo cấp", "By level"),
    "camp_level": ("Cấp", "Level"),
    "camp_units": ("Số đơn vị", "Units"),
    "camp_with_page": ("Có Trang", "With a Page"),
    "status_carried": ("Đã đăng lại", "Carried"),
    "status_not_carried": ("Không đăng lại", "Did not carry"),
    "status_silent": ("Không đăng bài nào", "Posted nothing"),
    "status_no_page": ("Chưa có Trang", "No Page"),
    "def_camp_status": (
        "Đã đăng lại: một Trang của đơn vị đăng lại bài chỉ đạo trong thời hạn. Không đăng "
        "lại: Trang có đăng bài trong thời hạn nhưng không đăng lại. Không đăng bài nào: Trang "
        "không đăng bài nào trong thời hạn (hoặc không đọc được bài viết). Chưa có Trang: đơn "
        "vị không có Trang đang theo dõi.",
        "Carried: one of the unit's Pages carried the directive within the window. Did not "
        "carry: its Page posted in the window but did not carry it. Posted nothing: no post "
        "in the window (or its posts are not readable). No Page: the unit has no active Page.",
    ),
    "camp_timeline": ("Tiến độ đăng lại theo cấp", "Carries over time, by level"),
    "camp_hours_since": ("Số giờ kể từ bài chỉ đạo", "Hours since the directive"),
    "camp_units_cum": ("Số đơn vị đã đăng lại", "Units that carried it"),
    "camp_tree": ("Theo cây đơn vị", "Along the unit tree"),
    "camp_branch": ("Đơn vị trực thuộc (cả cấp dưới)", "Unit below (with its own units)"),
    "camp_subtree": ("{carried}/{with_page} đã đăng lại", "{carried}/{with_page} carried"),
    "camp_fastest": ("Đăng lại nhanh nhất", "Fastest"),
    "camp_slowest": ("Đăng lại chậm nhất", "Slowest"),
    "camp_after": ("Sau", "After"),
    "camp_method": ("Cách đăng lại", "How"),
    "method_share": ("chia sẻ", "share"),
    "method_link": ("dẫn link", "link"),
    "method_text": ("đăng lại nội dung", "re-posted text"),
    "camp_top_carries": ("Bài đăng lại nhiều tương tác nhất", "Top carries by engagement"),
    "camp_missed": ("Đơn vị chưa đăng lại", "Units that did not carry it"),
    "camp_last_post": ("Bài gần nhất (đến hết thời hạn)", "Last post (up to the window's end)"),
    "camp_none_carried": ("Chưa đơn vị nào đăng lại.", "No unit has carried it yet."),
    "camp_unit_note": (
        "Các bài chỉ đạo của đơn vị cấp trên mà đơn vị này cần đăng lại.",
        "The directive posts of the units above that this unit was expected to carry.",
    ),
    "camp_expected": ("Đơn vị cần đăng lại", "Units expected to carry"),
    "minutes": ("{n} phút", "{n} min"),
    "hours": ("{n} giờ", "{n} h"),
    "days": ("{n} ngày", "{n} days"),
    "xlsx_sheet_camp_coverage": ("Độ phủ", "Coverage"),
    "xlsx_sheet_camp_levels": ("Theo cấp", "By level"),
    "xlsx_sheet_camp_carries": ("Bài đăng lại", "Carries"),
    "xlsx_seed": ("Bài chỉ đạo", "Directive post"),
    "xlsx_seed_unit": ("Đơn vị đăng bài chỉ đạo", "Directive's unit"),
    "xlsx_seed_time": ("Thời điểm bài chỉ đạo", "Directive posted at"),
    "xlsx_code": ("Mã đơn vị", "Unit code"),
    "xlsx_pages": ("Số Trang", "Pages"),
    "xlsx_carry_time": ("Thời điểm đăng lại", "Carried at"),
    "xlsx_delay_hours": ("Sau (giờ)", "After (hours)"),
    "xlsx_posts_in_window": ("Số bài trong thời hạn", "Posts in the window"),
    "xlsx_median_hours": ("Trung vị (giờ)", "Median (hours)"),
    "xlsx_p90_hours": ("90% (giờ)", "90th percentile (hours)"),
    "print": ("In báo cáo", "Print"),
    "footer": (
        "Số liệu do fanpulse thu thập từ Facebook Graph API. Giờ Việt Nam (UTC+7).",
        "Figures collected by fanpulse from the Facebook Graph API. Vietnam time (UTC+7).",
    ),
}

# Pages this small are left out of rankings: one new follower would be a big percentage.
MIN_FOLLOWERS_FOR_RANKING = 100
MIN_POSTS_FOR_RANKING = 3


# Vietnamese letters that are their own letter, not an "a" with a mark: ă, â after a; đ after d;
# ê after e; ô, ơ after o; ư after u (NFD: the base letter and a breve, circumflex or horn).
_LETTER_MARKS = {"\u0306": 1, "\u0302": 2, "\u031b": 2}  # breve, circumflex, horn
_VARIANT = {("a", 1): "1", ("a", 2): "2", ("e", 2): "1", ("o", 2): "1", ("o", 3): "2",
            ("u", 3): "1"}
# Tones, the secondary key, in the dictionary order: ngang, huyền, hỏi, ngã, sắc, nặng.
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}


@functools.lru_cache(maxsize=8192)
def collation_key(text: str) -> str:
    """An ASCII key that orders Vietnamese text by plain comparison (Python or JavaScript):
    letters first (a < ă < â < b < … < d < đ < e < ê …), tone marks second, the text last.

    Every letter becomes its base letter and a variant digit, words are joined by "!" and the
    parts by " " (so "An" comes before "An Sơn")."""
    letters: list[str] = []
    tones: list[str] = []
    for word in text.casefold().split():
        primary: list[str] = []
        for char in unicodedata.normalize("NFD", word):
            if char in _TONES:
                if tones:
                    tones[-1] = _TONES[char]
            elif char in _LETTER_MARKS and primary:
                base = primary[-1][0]
                mark = _LETTER_MARKS[char] + (1 if char == "\u031b" else 0)
                primary[-1] = base + _VARIANT.get((base, mark), "0")
            elif char == "đ":
                primary.append("d1")
                tones.append("0")
            elif not unicodedata.combining(char):
                primary.append(char + "0")
                tones.append("0")
        letters.append("".join(primary))
    return f"{'!'.join(letters)} {''.join(tones)} {text}"


def proper_name(name: str) -> str:
    """"Vinh" from "Thành phố Vinh": the name without its unit type word(s)."""
    found = type_prefix(name)
    return found[1] if found else name


@functools.lru_cache(maxsize=4096)
def sort_key(name: str) -> tuple[str, str]:
    """Order unit names the Vietnamese way by their proper name ("Huyện Anh Sơn" before
    "Thị xã Cửa Lò" before "Huyện Đô Lương"): Đ right after D, tones second, then the type."""
    return collation_key(proper_name(name)), collation_key(name)


@dataclass(frozen=True)
class Lang:
    """Labels and formatting for one language."""

    code: str

    def __post_init__(self) -> None:
        if self.code not in LANGS:
            raise ValueError(f"unknown language {self.code!r}: use one of {', '.join(LANGS)}")

    @property
    def thousands(self) -> str:
        return "." if self.code == "vi" else ","

    @property
    def decimal(self) -> str:
        return "," if self.code == "vi" else "."

    @property
    def plotly_separators(self) -> str:
        """Plotly's ``layout.separators``: the decimal mark, then the thousands mark."""
        return self.decimal + self.thousands

    def t(self, key: str, **values: object) -> str:
        """The label ``key`` in this language, with ``{name}`` fields filled in."""
        vi, en = _LABELS[key]
        text = vi if self.code == "vi" else en
        return text.format(**values) if values else text

    def level(self, level: str) -> str:
        key = f"level_{level}"
        return self.t(key) if key in _LABELS else level

    def unit_type(self, name: str, level: str) -> str:
        """The unit's own type from its name ("Thành phố" for "Thành phố Vinh"), in both
        languages (it is part of the name); the level's word when the name has none."""
        found = type_prefix(name)
        return found[0] if found else self.level(level)

    def error_kind(self, kind: str) -> str:
        key = f"err_{kind}"
        return self.t(key) if key in _LABELS else kind

    def run_status(self, status: str) -> str:
        key = f"run_{status}"
        return self.t(key) if key in _LABELS else status

    def integer(self, value: int | float | None) -> str:
        """163180 -> '163.180' (vi) or '163,180' (en); None -> '–'."""
        if value is None:
            return "–"
        return f"{round(value):,}".replace(",", self.thousands)

    def signed(self, value: int | float | None) -> str:
        """+1.234 / −56 with a real minus sign; None -> '–'."""
        if value is None:
            return "–"
        text = self.integer(abs(value))
        if round(value) > 0:
            return "+" + text
        return "−" + text if round(value) < 0 else text

    def percent(self, fraction: float | None, digits: int = 1, signed: bool = False) -> str:
        """0.015 -> '1,5%' (vi) or '1.5%' (en)."""
        if fraction is None:
            return "–"
        value = fraction * 100
        text = f"{abs(value):,.{digits}f}"
        text = text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)
        sign = "−" if value < 0 and text.strip("0.,") else ""
        if signed and value > 0 and text.strip("0.,"):
            sign = "+"
        return f"{sign}{text}%"

    def decimal_number(self, value: float | None, digits: int = 2) -> str:
        """2.345 -> '2,35' (vi) or '2.35' (en); None -> '–'."""
        if value is None:
            return "–"
        text = f"{value:,.{digits}f}"
        return text.replace(",", "\x00").replace(".", self.decimal).replace("\x00", self.thousands)

    def date(self, day: dt.date | None) -> str:
        """25/11/2026 (vi) or 2026-11-25 (en)."""
        if day is None:
            return "–"
        return day.strftime("%d/%m/%Y") if self.code == "vi" else day.isoformat()

    def datetime(self, moment: dt.datetime | None, tz: dt.tzinfo) -> str:
        """A moment shown in the reporting time zone: 25/11/2026 02:05."""
        if moment is None:
            return "–"
        local = moment.astimezone(tz)
        return f"{self.date(local.date())} {local:%H:%M}"

    @property
    def plotly_date_hover(self) -> str:
        return "%d/%m/%Y" if self.code == "vi" else "%Y-%m-%d"

    @property
    def plotly_date_tick(self) -> str:
        return "%d/%m" if self.code == "vi" else "%b %d"

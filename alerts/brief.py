"""The brief as a message: what the delivery channels send (plain text, HTML, JSON items)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape

SEVERITIES = ("critical", "warning", "info")  # the order a brief lists its groups in


@dataclass(frozen=True)
class BriefItem:
    """One condition as a brief shows it."""

    rule: str  # run_failed, token, page_access, page_silent, followers_drop, campaign
    severity: str  # critical, warning, info
    title: str  # one line, in the brief's language
    detail: str = ""  # more lines (Pages, reasons), may be empty
    link: str | None = None  # into the published reports, when report_url is set
    key: str = ""  # the condition's identity in the alerts table


@dataclass(frozen=True)
class Brief:
    """A composed message, ready for every channel."""

    kind: str  # morning, failure, all_well, test
    subject: str  # one line: email subject, chat title
    text: str  # plain text body
    html: str  # HTML body (email)
    items: tuple[BriefItem, ...] = ()
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    language: str = "vi"


# -- composing -----------------------------------------------------------------------------------

GROUPED_FROM = 4  # a rule with this many findings or more is one line with the list below it
LISTED = 20  # names listed under a grouped line before "and N more"

# A rule's many findings as one line (GROUPED_FROM).
GROUPS: dict[str, dict[str, str]] = {
    "vi": {"page_silent": "{n} Trang không đăng bài",
           "followers_drop": "{n} Trang giảm người theo dõi",
           "page_access": "{n} Trang mất quyền hoặc không đọc được",
           "campaign": "{n} bài chỉ đạo ít đơn vị đăng lại",
           "run_failed": "{n} vấn đề khi thu thập", "token": "{n} vấn đề về mã truy cập"},
    "en": {"page_silent": "{n} Pages have not posted",
           "followers_drop": "{n} Pages lost followers",
           "page_access": "{n} Pages lost their role or cannot be read",
           "campaign": "{n} directive posts carried by few units",
           "run_failed": "{n} collection problems", "token": "{n} token problems"},
}
WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "subject": "[fanpulse] Bản tin sáng {day}: {counts}",
        "subject_all_well": "[fanpulse] {day}: mọi việc bình thường",
        "subject_failure": "[fanpulse] Lần thu thập không chạy được ({day})",
        "subject_test": "[fanpulse] Thư thử bản tin ({day})",
        "heading": "Bản tin sáng {day} của fanpulse",
        "critical": "NGHIÊM TRỌNG", "warning": "CẢNH BÁO", "info": "ĐÃ ỔN TRỞ LẠI",
        "count_critical": "{n} nghiêm trọng", "count_warning": "{n} cảnh báo",
        "count_info": "{n} đã ổn",
        "more": "… và {n} mục khác",
        "see": "Xem",
        "all_well": "Không có gì mới cần chú ý từ bản tin trước. Lần thu thập gần nhất: {run}.",
        "failure": "Công việc thu thập ban đêm không chạy được lúc {when}: {error}",
        "test": "Đây là thư thử của fanpulse để kiểm tra cài đặt gửi bản tin. Không cần trả "
                "lời.",
        "footer": "Bản tin do fanpulse gửi tự động sau lần thu thập ban đêm. Một vấn đề đã báo "
                  "sẽ được nhắc lại sau {days} ngày nếu vẫn còn.",
    },
    "en": {
        "subject": "[fanpulse] Morning brief {day}: {counts}",
        "subject_all_well": "[fanpulse] {day}: all well",
        "subject_failure": "[fanpulse] The collection could not run ({day})",
        "subject_test": "[fanpulse] Test brief ({day})",
        "heading": "fanpulse morning brief, {day}",
        "critical": "CRITICAL", "warning": "WARNING", "info": "RESOLVED",
        "count_critical": "{n} critical", "count_warning": "{n} warning(s)",
        "count_info": "{n} resolved",
        "more": "… and {n} more",
        "see": "See",
        "all_well": "Nothing new needs attention since the last brief. Latest collection: "
                    "{run}.",
        "failure": "The nightly collection job could not run at {when}: {error}",
        "test": "This is a test message from fanpulse, to check the brief's delivery "
                "settings. No reply is needed.",
        "footer": "Sent by fanpulse after the nightly collection. A problem already reported "
                  "is reported again after {days} days if it still holds.",
    },
}


def _link(base: str, link: str | None) -> str | None:
    if not base or not link:
        return None
    return base.rstrip("/") + "/" + link


def compose(items: list[BriefItem], *, kind: str, language: str, day: str, report_url: str,
            renotify_days: int, now: dt.datetime, intro: str = "") -> Brief:
    """The message for ``items`` (already chosen for sending), grouped by severity, then by
    rule; a rule with many items becomes one line with the names under it."""
    words = WORDS[language]
    groups = GROUPS[language]
    items = [BriefItem(i.rule, i.severity, i.title, i.detail, _link(report_url, i.link), i.key)
             for i in items]
    counts = {s: sum(1 for i in items if i.severity == s) for s in SEVERITIES}
    subject = {
        "morning": words["subject"].format(day=day, counts=", ".join(
            words[f"count_{s}"].format(n=n) for s, n in counts.items() if n)),
        "all_well": words["subject_all_well"].format(day=day),
        "failure": words["subject_failure"].format(day=day),
        "test": words["subject_test"].format(day=day),
    }[kind]
    text_lines = [words["heading"].format(day=day), ""]
    html_parts = [f"<h2>{escape(words['heading'].format(day=day))}</h2>"]
    if intro:
        text_lines += [intro, ""]
        html_parts.append(f"<p>{escape(intro)}</p>")
    for severity in SEVERITIES:
        chosen = [i for i in items if i.severity == severity]
        if not chosen:
            continue
        text_lines.append(f"{words[severity]} ({len(chosen)})")
        color = {"critical": "#b71c1c", "warning": "#8a5a00", "info": "#1b5e20"}[severity]
        html_parts.append(f'<h3 style="color:{color}">{escape(words[severity])} '
                          f"({len(chosen)})</h3><ul>")
        by_rule: dict[str, list[BriefItem]] = {}
        for item in chosen:
            by_rule.setdefault(item.rule, []).append(item)
        for rule, group in by_rule.items():
            if len(group) >= GROUPED_FROM and rule in groups:
                title = groups[rule].format(n=len(group))
                listed = [i.title for i in group[:LISTED]]
                more = len(group) - LISTED
                text_lines.append(f"• {title}:")
                text_lines += [f"    - {t}" for t in listed]
                if more > 0:
                    text_lines.append("    " + words["more"].format(n=more))
                html_parts.append(f"<li><b>{escape(title)}</b><ul>" + "".join(
                    f"<li>{escape(t)}</li>" for t in listed) + (
                    f"<li>{escape(words['more'].format(n=more))}</li>" if more > 0 else "")
                    + "</ul></li>")
                continue
            for item in group:
                text_lines.append(f"• {item.title}")
                text_lines += [f"    {line}" for line in item.detail.splitlines() if line]
                if item.link:
                    text_lines.append(f"    {words['see']}: {item.link}")
                detail = "".join(f"<br><small>{escape(line)}</small>"
                                 for line in item.detail.splitlines() if line)
                link = (f' <a href="{escape(item.link)}">{escape(words["see"])}</a>'
                        if item.link else "")
                html_parts.append(f"<li>{escape(item.title)}{link}{detail}</li>")
        text_lines.append("")
        html_parts.append("</ul>")
    footer = words["footer"].format(days=renotify_days)
    text_lines.append(footer)
    html_parts.append(f'<p style="color:#555"><small>{escape(footer)}</small></p>')
    html = ('<html><body style="font-family:Arial,sans-serif">' + "".join(html_parts)
            + "</body></html>")
    return Brief(kind, subject, "\n".join(text_lines).strip() + "\n", html, tuple(items), now,
                 language)

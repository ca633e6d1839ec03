"""Graph API versions and which one serves a call (docs/graph-api.md §1).

A version is usable from its release until its expiry, judged on the simulated clock. A call to
an expired version is served, without error, by the oldest usable one; a call without a version
by the newest. A string that is not a known version is not a version at all: Facebook then
reads it as an object alias.
"""

from __future__ import annotations

import re
from datetime import date, datetime

# (version, released, available until; None = not yet announced)
VERSIONS: tuple[tuple[str, date, date | None], ...] = (
    ("v21.0", date(2024, 10, 2), date(2027, 1, 21)),
    ("v22.0", date(2025, 1, 21), date(2027, 5, 20)),
    ("v23.0", date(2025, 5, 29), date(2027, 10, 8)),
    ("v24.0", date(2025, 10, 8), date(2028, 2, 18)),
    ("v25.0", date(2026, 2, 18), date(2028, 7, 29)),
    # v26.0's end is not announced; by the lifecycle rule (a version stops two years after the
    # next one ships) it is 4 Nov 2028.
    ("v26.0", date(2026, 7, 29), date(2028, 11, 4)),
    ("v27.0", date(2026, 11, 4), None),  # §0: released 4 Nov 2026, the newest
)
_VERSION_RE = re.compile(r"^v(\d+)\.(\d+)$")
_OLDEST_TABLED = (21, 0)


def _usable(now: datetime) -> list[str]:
    today = now.date()
    return [
        v
        for v, released, until in VERSIONS
        if released <= today and (until is None or today < until)
    ]


def newest(now: datetime) -> str:
    usable = _usable(now)
    return usable[-1] if usable else VERSIONS[-1][0]


def resolve(segment: str, now: datetime) -> str | None:
    """The version that serves a path segment such as ``v20.0``; None if it is no version."""
    match = _VERSION_RE.match(segment)
    if not match:
        return None
    wanted = (int(match.group(1)), int(match.group(2)))
    usable = _usable(now)
    if segment in usable:
        return segment
    tabled = {v for v, _, _ in VERSIONS}
    if wanted < _OLDEST_TABLED or (
        segment in tabled
        and segment not in usable
        and usable
        and version_key(segment) < version_key(usable[0])
    ):
        # Expired: silently upgraded to the oldest version still served.
        return usable[0] if usable else VERSIONS[0][0]
    return None


def version_key(version: str) -> tuple[int, int]:
    """(major, minor) of ``vNN.N``; (0, 0) for anything else."""
    match = _VERSION_RE.match(version)
    if not match:
        return (0, 0)
    return (int(match.group(1)), int(match.group(2)))


def is_version_like(segment: str) -> bool:
    return bool(_VERSION_RE.match(segment))

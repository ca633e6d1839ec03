"""Replace a report folder whole: readers see the old complete folder or the new one, never a mix.

The reports are written into a fresh staging folder beside the target (same parent, so the same
file system, hidden name ``.<name>.new-<host>-<pid>-<random>``); when every file is written, the
staging folder and the target are swapped in one step and the old folder is deleted:

- **Linux** (ext4, xfs, btrfs, tmpfs): ``renameat2(RENAME_EXCHANGE)`` swaps the two names
  atomically. A crash at any moment leaves the **old complete folder** at the target until the
  exchange, the **new complete folder** from the exchange on; at worst a hidden leftover beside
  it, removed by the next build.
- **Elsewhere** (a file system or OS without the exchange, e.g. some network shares): the old
  folder is renamed away (``.<name>.old-...``), the new one renamed in, the old one deleted.
  A crash in the instant between the two renames leaves no folder at the target but the old
  complete one beside it; the next build renames it back before doing anything else.

A folder that exists is replaced only when it is empty or looks like a report folder
(``index.html`` and ``plotly.min.js``, with only .html/.js/.css files, each page's .xlsx
beside it, a period's ``period.json`` and a ``periods`` folder of such report folders): a
wrong ``--out`` never deletes somebody's documents. The ``periods`` folder (the month,
quarter and year reports, reports/cycle.py) is carried into the new folder as hard links
just before the swap, so replacing the main report keeps them.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from fanpulse.storage.runs import process_alive

REPORT_SUFFIXES = frozenset({".html", ".js", ".css"})
# A page's workbook (reports/export.py): a report file only beside its page (u-412.xlsx with
# u-412.html), so somebody's budget.xlsx is never taken for one.
PAGE_COMPANION_SUFFIXES = frozenset({".xlsx"})
REQUIRED_FILES = ("index.html", "plotly.min.js")
INFO_FILES = frozenset({"period.json"})  # a period report's description (reports/cycle.py)
# The month, quarter and year reports inside the main report folder: kept when it is replaced.
CARRIED_DIR = "periods"
# A leftover of another machine (a shared drive) is only judged by its age.
FOREIGN_LEFTOVER_SECONDS = 24 * 3600
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}


class FolderRefused(ValueError):
    """The target exists and is not something fanpulse may replace."""


def check_replaceable(target: Path) -> None:
    """Refuse a target that is a file, or a folder holding anything but a fanpulse report."""
    if not target.exists():
        return
    if not target.is_dir():
        raise FolderRefused(f"{target} is a file, not a folder")
    entries = list(target.iterdir())
    if not entries:
        return
    names = {entry.name for entry in entries}
    foreign = [entry.name for entry in entries if not _report_file(entry, names)]
    if names == {CARRIED_DIR} and not foreign:
        return  # only period reports so far: the main report goes beside them
    if foreign or not all(name in names for name in REQUIRED_FILES):
        shown = ", ".join(sorted(foreign)[:3]) or "no index.html and plotly.min.js"
        raise FolderRefused(
            f"{target} holds other files than a fanpulse report ({shown}); fanpulse replaces "
            "its report folder whole, so give a new or empty folder (--out)"
        )


def _report_file(entry: Path, names: set[str]) -> bool:
    if entry.is_dir() and not entry.is_symlink() and entry.name == CARRIED_DIR:
        return _periods_folder(entry)
    if not entry.is_file():
        return False
    if entry.name in INFO_FILES:
        return True
    suffix = entry.suffix.lower()
    if suffix in PAGE_COMPANION_SUFFIXES:
        return entry.with_suffix(".html").name in names
    return suffix in REPORT_SUFFIXES


def _periods_folder(folder: Path) -> bool:
    """The ``periods`` folder of a report (reports/cycle.py): only report folders in it, and
    the hidden leftovers of their own builds."""
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue  # a period build's staging or old folder (removed by its next build)
        if not entry.is_dir() or entry.is_symlink():
            return False
        try:
            check_replaceable(entry)
        except FolderRefused:
            return False
    return True


def carry_over(target: Path, staging: Path) -> None:
    """Put the target's ``periods`` folder into the new one, as hard links (no copy of the
    data, and the old folder stays whole until the swap); a copy where links are refused."""
    source = target / CARRIED_DIR
    if not source.is_dir() or (staging / CARRIED_DIR).exists():
        return

    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, staging / CARRIED_DIR, copy_function=link,
                    ignore=lambda _dir, names: [n for n in names if n.startswith(".")])


@contextlib.contextmanager
def replace_folder(target: Path) -> Iterator[Path]:
    """Yield an empty staging folder; when the block ends without error, it becomes ``target``.

    On an error (or Ctrl-C) the staging folder is deleted and ``target`` is left as it was.
    """
    if target.is_symlink():
        target = target.resolve()  # replace the folder the link points to, keep the link
    target = target.absolute()
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _recover(target)
    staging = _sibling(target, "new")
    staging.mkdir()  # the umask's mode, as any folder the user makes (not mkdtemp's 0700)
    if target.is_dir():  # keep what an administrator set on the shared folder
        staging.chmod(target.stat().st_mode & 0o7777)
    try:
        yield staging
        carry_over(target, staging)
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _sibling(target: Path, kind: str) -> Path:
    host = socket.gethostname().replace("-", "_") or "host"
    return target.with_name(f".{target.name}.{kind}-{host}-{os.getpid()}-{secrets.token_hex(4)}")


def _swap_in(staging: Path, target: Path) -> None:
    if not target.exists():
        try:
            os.rename(staging, target)  # atomic; fails if another build put one there meanwhile
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
    if exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the staging name now holds the old folder
        return
    old = _sibling(target, "old")
    os.rename(target, old)
    os.rename(staging, target)  # a crash between these two renames: see _recover
    shutil.rmtree(old, ignore_errors=True)


def exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2). False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                       _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(second))


def _recover(target: Path) -> None:
    """Undo what a killed build left: put an old folder back if the target is missing (the
    instant between the two renames), then delete the leftovers of dead builds."""
    leftovers = sorted(_leftovers(target), key=lambda item: _mtime(item[1]), reverse=True)
    if not target.exists():
        for kind, path in leftovers:
            if kind == "old":
                os.rename(path, target)
                leftovers.remove((kind, path))
                break
    for _kind, path in leftovers:
        shutil.rmtree(path, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by another build
        return 0.0


def _leftovers(target: Path) -> Iterator[tuple[str, Path]]:
    """Staging and old folders beside ``target`` whose build is no longer running."""
    here = socket.gethostname().replace("-", "_") or "host"
    for kind in ("new", "old"):
        for path in target.parent.glob(f".{target.name}.{kind}-*"):
            try:
                host, pid, _token = path.name.rsplit("-", 3)[1:]
                age = time.time() - path.stat().st_mtime
            except (ValueError, OSError):
                continue
            if host == here and pid.isdigit():
                if not process_alive(int(pid)):
                    yield kind, path
            elif age > FOREIGN_LEFTOVER_SECONDS:
                yield kind, path



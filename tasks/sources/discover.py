"""Walk the source root: every file version there, plus what cannot be read safely (never followed)."""

from __future__ import annotations

import errno
import fnmatch
import functools
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tasks.faults import listing_fault
from tasks.models import FileRef, Reason, Rejection

DEFAULT_EXCLUDES = (".*", "*~", "*.tmp", "*.part", "*.partial", "*.crdownload", "README.md", "LICENSE*")


@dataclass(frozen=True, slots=True)
class Found:
    ref: FileRef
    rejection: Rejection | None = None  # set when the entry cannot be read as a file
    unlisted: bool = False  # a folder that could not be listed: what the ledger knows under it stays as it is


@functools.cache
def _exclusion(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """All exclude globs as one compiled pattern (a scan tests every name against it)."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return _exclusion(patterns).match(name) is not None


def scan(root: Path, *, excludes: tuple[str, ...] = DEFAULT_EXCLUDES) -> Iterator[Found]:
    """Yield every entry under ``root`` in a stable order; symlinked directories are not entered."""
    real_root = os.path.realpath(root)
    excluded = _exclusion(excludes).match
    stack = [(str(root), "")]  # (directory, its path relative to root with a trailing "/")
    while stack:
        directory, prefix = stack.pop()
        try:
            listing_fault(prefix)
            with os.scandir(directory) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as error:
            yield Found(
                FileRef(prefix.rstrip("/"), 0, 0),
                Rejection(Reason.UNREADABLE, f"folder could not be listed: {error.strerror}", "discover"),
                unlisted=True,
            )
            continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            if excluded(entry.name):
                continue
            found = _inspect(entry, prefix + entry.name, real_root)
            if found is None:
                subdirs.append((entry.path, f"{prefix}{entry.name}/"))
            else:
                yield found
        stack.extend(reversed(subdirs))


def _inspect(entry: os.DirEntry[str], rel: str, real_root: str) -> Found | None:
    """Found for a file-like entry (``rel``: its path under the root), None for a directory to descend into."""
    try:
        if entry.is_symlink():
            return _inspect_symlink(entry, rel, real_root)
        info = entry.stat(follow_symlinks=False)
    except OSError as error:
        return Found(
            FileRef(rel, 0, 0),
            Rejection(
                Reason.VANISHED if error.errno == errno.ENOENT else Reason.UNREADABLE, str(error.strerror), "discover"
            ),
        )
    if stat.S_ISDIR(info.st_mode):
        return None
    ref = FileRef(rel, info.st_size, info.st_mtime_ns)
    if not stat.S_ISREG(info.st_mode):
        return Found(ref, Rejection(Reason.NOT_A_FILE, f"not a regular file ({_kind(info.st_mode)})", "discover"))
    return Found(ref)


def _inspect_symlink(entry: os.DirEntry[str], rel: str, real_root: str) -> Found | None:
    link = entry.stat(follow_symlinks=False)
    ref = FileRef(rel, link.st_size, link.st_mtime_ns)
    try:
        target = os.path.realpath(entry.path, strict=True)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return Found(ref, Rejection(Reason.SYMLINK_LOOP, "symlink loop", "discover"))
        return Found(ref, Rejection(Reason.VANISHED, "dangling symlink", "discover"))
    if os.path.commonpath([target, real_root]) != real_root:
        return Found(
            ref, Rejection(Reason.PATH_ESCAPE, "symlink points outside the source folder; not followed", "discover")
        )
    info = os.stat(target)
    if stat.S_ISDIR(info.st_mode):
        return Found(ref, Rejection(Reason.NOT_A_FILE, "symlink to a directory; not followed", "discover"))
    if not stat.S_ISREG(info.st_mode):
        return Found(ref, Rejection(Reason.NOT_A_FILE, f"symlink to a {_kind(info.st_mode)}", "discover"))
    return Found(FileRef(rel, info.st_size, info.st_mtime_ns))


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
    ):
        if test(mode):
            return name
    return "special file"


def read_file(root: Path, ref: FileRef, *, max_bytes: int) -> bytes | Rejection:
    """Read a discovered file safely: inside the root, a regular file, unchanged since discovery, capped."""
    path = os.path.join(root, ref.source_path)
    real_root = os.path.realpath(root)
    try:
        if os.path.commonpath([os.path.realpath(path), real_root]) != real_root:
            return Rejection(Reason.PATH_ESCAPE, "path resolves outside the source folder", "read")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return Rejection(Reason.VANISHED, "deleted between discovery and read", "read")
    except PermissionError as error:
        return Rejection(Reason.UNREADABLE, f"permission denied: {error.strerror}", "read")
    except OSError as error:
        return Rejection(Reason.UNREADABLE, str(error.strerror), "read")
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            return Rejection(Reason.NOT_A_FILE, f"not a regular file ({_kind(before.st_mode)})", "read")
        if (before.st_size, before.st_mtime_ns) != (ref.size, ref.mtime_ns):
            return Rejection(Reason.CHANGED_DURING_READ, "changed between discovery and read", "read")
        if before.st_size > max_bytes:
            return Rejection(Reason.TOO_LARGE, f"{before.st_size} bytes > max_file_bytes={max_bytes}", "read")
        try:
            data = handle.read(max_bytes + 1)
        except OSError as error:
            return Rejection(Reason.UNREADABLE, f"read failed: {error.strerror}", "read")
        after = os.fstat(fd)
    if len(data) > max_bytes:
        return Rejection(Reason.TOO_LARGE, f"grew past max_file_bytes={max_bytes} while reading", "read")
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) or len(data) != before.st_size:
        return Rejection(Reason.CHANGED_DURING_READ, "changed while being read", "read")
    return data

"""Walk the source root: every file version there, plus what cannot be read safely (never followed).

File names are bytes on Linux and need not be UTF-8, while the ledger keys files by text. Each path component
becomes its *key* (``source_key``): a valid UTF-8 name is itself; any other name is percent-escaped, each byte
that is not part of valid UTF-8 written ``%XX`` (upper-case hex) and each ``%`` written ``%25``, so
``b"caf\\xe9.txt"`` is ``caf%E9.txt``. A valid name that would read back as such an escape (a file literally
named ``caf%E9.txt``) is escaped too (``caf%25E9.txt``): the mapping is one-to-one, stable across runs and
reversible (``disk_path``), so such files land like any other. URL-encoded UTF-8 (``caf%C3%A9``) stays as is.

The warehouse, when it lies inside the source folder, is skipped (``skip``): its own files are never listed, and
what the ledger holds under it is never marked deleted.
"""

from __future__ import annotations

import errno
import fnmatch
import functools
import logging
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tasks.faults import listing_fault
from tasks.models import FileRef, Reason, Rejection

log = logging.getLogger(__name__)

DEFAULT_EXCLUDES = (".*", "*~", "*.tmp", "*.part", "*.partial", "*.crdownload", "README.md", "LICENSE*")
_INT64_MAX = (1 << 63) - 1  # mtimes past 2262 (ext4 stores up to 2446) do not fit the ledger's BIGINT


@dataclass(frozen=True, slots=True)
class Found:
    ref: FileRef
    rejection: Rejection | None = None  # set when the entry cannot be read as a file
    unlisted: bool = False  # a folder that could not be listed: what the ledger knows under it stays as it is
    excluded: bool = False  # the warehouse's folder: never listed, what the ledger knows under it stays as it is


def _escape(raw: bytes) -> str:
    return "".join(
        f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else "%25" if c == "%" else c
        for c in raw.decode("utf-8", "surrogateescape")
    )


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


def _unescape(key: str) -> bytes | None:
    """The bytes ``key`` is the escape of, or None when ``_escape`` would not have written it."""
    parts = _PERCENT.split(key)
    raw = b"".join(bytes([int(p, 16)]) if i % 2 else p.encode("utf-8", "surrogateescape") for i, p in enumerate(parts))
    return raw if _escape(raw) == key else None


def _needs_escape(raw: bytes) -> bool:
    """Not valid UTF-8, or valid but reading as the escape of a name that needs one (so keys never collide)."""
    while True:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
        if "%" not in text:
            return False
        inner = _unescape(text)
        if inner is None:
            return False
        raw = inner


def name_key(name: str) -> str:
    """The key of one path component as ``os.scandir`` returns it (undecodable bytes as surrogate escapes)."""
    if "%" not in name:
        try:
            name.encode("utf-8")
            return name
        except UnicodeEncodeError:
            pass
    raw = os.fsencode(name)
    return _escape(raw) if _needs_escape(raw) else name


def source_key(rel: str) -> str:
    """The ledger key of a path relative to the source root (components joined by ``/``)."""
    return "/".join(name_key(part) for part in rel.split("/"))


def disk_path(root: Path | str, key: str) -> str:
    """The on-disk path of a ledger key under ``root``: the inverse of ``source_key`` (surrogate-escaped str)."""
    if "%" not in key:
        return os.path.join(root, key)
    parts = []
    for part in key.split("/"):
        raw = _unescape(part)
        parts.append(os.fsdecode(raw) if raw is not None and _needs_escape(raw) else part)
    return os.path.join(root, *parts)


@functools.cache
def _exclusion(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """All exclude globs as one compiled pattern (a scan tests every name against it)."""
    return re.compile("|".join(fnmatch.translate(p) for p in patterns) or "(?!)")


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return _exclusion(patterns).match(name) is not None


def scan(
    root: Path, *, excludes: tuple[str, ...] = DEFAULT_EXCLUDES, skip: Iterable[Path | str] = ()
) -> Iterator[Found]:
    """Yield every entry under ``root`` in a stable order; symlinked directories are not entered.

    Folders in ``skip`` (the warehouse) are compared by what they resolve to, so no spelling (``./``, a symlink)
    dodges it: such a folder inside the root is reported once as ``excluded`` and nothing under it is listed; a
    root inside one of them lists nothing at all.
    """
    real_root = os.path.realpath(root)
    skipped = {os.path.realpath(folder) for folder in skip}
    if any(_within(real_root, folder) for folder in skipped):
        log.warning("the source folder %s lies inside the warehouse: nothing under it is listed", root)
        yield Found(FileRef("", 0, 0), excluded=True)
        return
    skipped = {folder for folder in skipped if _within(folder, real_root)}
    skipped_ids = {_identity(folder) for folder in skipped} - {None}
    excluded = _exclusion(excludes).match
    stack = [(str(root), "")]  # (directory, its key relative to root with a trailing "/")
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
            rel = prefix + name_key(entry.name)
            if skipped and _is_skipped(entry, skipped, skipped_ids):
                if not entry.is_symlink():  # a symlink into the warehouse is simply not there
                    yield Found(FileRef(rel, 0, 0), excluded=True)
                continue
            found = _inspect(entry, rel, real_root)
            if found is None:
                subdirs.append((entry.path, f"{rel}/"))
            else:
                yield found
        stack.extend(reversed(subdirs))


def _within(path: str, folder: str) -> bool:
    return os.path.commonpath([path, folder]) == folder


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _is_skipped(entry: os.DirEntry[str], skipped: set[str], skipped_ids: set[tuple[int, int] | None]) -> bool:
    """A folder to skip, or a symlink into one (it would be reported as a file or a folder not followed)."""
    try:
        if entry.is_symlink():
            target = os.path.realpath(entry.path)
            return any(_within(target, folder) for folder in skipped)
        if entry.is_dir(follow_symlinks=False):
            info = entry.stat(follow_symlinks=False)
            return (info.st_dev, info.st_ino) in skipped_ids
    except OSError:  # _inspect reports what cannot be inspected
        return False
    return False


def _mtime_ns(info: os.stat_result) -> int:
    return max(-_INT64_MAX, min(info.st_mtime_ns, _INT64_MAX))


def _ref(rel: str, info: os.stat_result) -> FileRef:
    return FileRef(rel, info.st_size, _mtime_ns(info))


def _inspect(entry: os.DirEntry[str], rel: str, real_root: str) -> Found | None:
    """Found for a file-like entry (``rel``: its key under the root), None for a directory to descend into."""
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
    ref = _ref(rel, info)
    if not stat.S_ISREG(info.st_mode):
        return Found(ref, Rejection(Reason.NOT_A_FILE, f"not a regular file ({_kind(info.st_mode)})", "discover"))
    return Found(ref)


def _inspect_symlink(entry: os.DirEntry[str], rel: str, real_root: str) -> Found | None:
    link = entry.stat(follow_symlinks=False)
    ref = _ref(rel, link)
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
    return Found(_ref(rel, info))


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
    path = disk_path(root, ref.source_path)
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
        if (before.st_size, _mtime_ns(before)) != (ref.size, ref.mtime_ns):
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

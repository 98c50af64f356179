"""Values that travel between pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """Stable quarantine reason codes (documented in README; never rename, only add)."""

    EMPTY = "empty"  # zero bytes or whitespace only
    NO_TEXT = "no_text"  # decodes, but has no letters (digits, punctuation, emoji)
    BINARY = "binary"  # not text: magic number or control bytes
    DECODE_ERROR = "decode_error"  # no encoding decodes it to plausible text
    TOO_LARGE = "too_large"  # over max_file_bytes, or a line over the line cap
    DECOMPRESSION_BOMB = "decompression_bomb"  # gunzipped size over max_decompressed_bytes
    GZIP_ERROR = "gzip_error"  # truncated or corrupt .gz
    UNSUPPORTED_FORMAT = "unsupported_format"  # extension we do not read
    PARSE_ERROR = "parse_error"  # malformed JSON / JSONL line
    WRONG_SHAPE = "wrong_shape"  # valid JSON, but not an article object
    NO_BODY = "no_body"  # HTML/JSON without article text
    UNREADABLE = "unreadable"  # permission denied or I/O error
    VANISHED = "vanished"  # deleted between discovery and read
    CHANGED_DURING_READ = "changed_during_read"  # size/mtime moved while reading
    PATH_ESCAPE = "path_escape"  # symlink pointing outside the source root
    SYMLINK_LOOP = "symlink_loop"  # symlink that resolves to itself
    NOT_A_FILE = "not_a_file"  # FIFO, socket, device
    FETCH_ERROR = "fetch_error"  # object storage kept failing (throttling, timeouts, 5xx) after retries
    EXPECTATION_FAILED = "expectation_failed"  # Great Expectations rejected the row
    ENRICH_ERROR = "enrich_error"  # decoding, parsing or an enricher raised on this file (a bug, not bad input)
    WORKER_CRASHED = "worker_crashed"  # the enrichment process died on this file (killed, segfault, out of memory)
    TIMEOUT = "timeout"  # enriching this file alone took longer than file_timeout_seconds


class FileStatus(StrEnum):
    LANDED = "landed"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    DELETED = "deleted"
    UNCHANGED = "unchanged"  # touched (new mtime) but the same bytes: recorded so it is not read again
    REQUEUED = "requeued"  # `wirehouse requeue`: the next run reads this path again as a new version


class RunStatus(StrEnum):
    """A flow run as the ``runs`` view records it."""

    RUNNING = "running"  # recorded when it starts; still so if it was killed (until the next run marks it)
    COMPLETED = "completed"
    SKIPPED = "skipped"  # another writer held the lake, or the source folder was missing
    FAILED = "failed"
    CRASHED = "crashed"  # killed before it finished: marked by the next run


@dataclass(frozen=True, slots=True)
class Counts:
    """What a run, or one batch of it, did with the files it found: summed with ``+``, rendered by ``line``."""

    files_seen: int = 0  # listed under the source
    new_files: int = 0  # new or changed since the ledger last saw them
    landed: int = 0
    duplicates: int = 0  # the same bytes as a file already landed
    unchanged: int = 0  # touched (new mtime), same bytes: recorded so it is not read again
    quarantined: int = 0
    deferred: int = 0  # modified less than min_age_seconds ago: the next run reads it
    deleted: int = 0
    unlisted: int = 0  # folders that could not be listed (nothing under them was marked deleted)
    articles: int = 0
    rows_quarantined: int = 0  # quarantine rows (a JSONL file can quarantine several lines)

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{name: value + getattr(other, name) for name, value in self.as_dict().items()})

    def as_dict(self) -> dict[str, int]:
        """Every counter by its name: an event's payload."""
        return asdict(self)

    def shown(self) -> dict[str, int]:
        """The counters a person reads, by label, in order; ``unchanged`` and ``unlisted`` only when not zero."""
        values = self.as_dict()
        return {
            label: values[name] for name, label in _LABELS.items() if values[name] or name not in _SHOWN_WHEN_NOT_ZERO
        }

    def line(self) -> str:
        """The summary line: ``files seen 30 · new 30 · landed 29 · …``."""
        return " · ".join(f"{label} {value}" for label, value in self.shown().items())

    def run_columns(self) -> dict[str, int]:
        """The counters under the ``runs`` table's column names (a lake on disk has these columns)."""
        return {
            _RUN_COLUMN.get(name, name): value for name, value in self.as_dict().items() if name not in _NOT_IN_RUNS
        }


_LABELS = {
    "files_seen": "files seen",
    "new_files": "new",
    "landed": "landed",
    "duplicates": "duplicates",
    "unchanged": "unchanged",
    "quarantined": "quarantined",
    "deferred": "deferred",
    "deleted": "deleted",
    "unlisted": "unlisted",
    "articles": "articles",
}
_SHOWN_WHEN_NOT_ZERO = frozenset({"unchanged", "unlisted"})
_RUN_COLUMN = {"articles": "articles_landed"}
_NOT_IN_RUNS = frozenset({"unchanged", "unlisted"})  # the runs table has no column for them


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file version found under the source root (not yet read)."""

    source_path: str  # POSIX path relative to the source root; the full URL for object storage
    size: int
    mtime_ns: int
    etag: str | None = None  # object storage ETag / version / generation; None for local files


@dataclass(frozen=True, slots=True)
class Rejection:
    """A domain failure: the file or row goes to quarantine with this reason."""

    reason_code: Reason
    detail: str
    stage: str
    record_index: int | None = None  # JSONL line number (1-based) when the failure is one row


@dataclass(frozen=True, slots=True)
class Document:
    """One article extracted from a file, before enrichment."""

    text: str
    record_index: int  # 0 for single-article files, line number for JSONL
    title: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # metadata found in the source (JSON keys, HTML meta)

"""Where articles come from: a local folder (the default) or any fsspec URL (s3://, gs://, az://, …).

A Source lists file versions (``scan``) and reads one (``read``): ``LocalSource`` (tasks.sources.local) or
``ObjectStoreSource`` (tasks.sources.object_store). A location is shown only through ``display_location`` or
``source_tag``, which never hold a credential (tasks.redaction).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from tasks.models import FileRef, Rejection
from tasks.redaction import redact, url_base
from tasks.sources.discover import Found
from tasks.sources.local import LocalSource
from tasks.sources.object_store import ObjectStoreSource

# scheme://, after what urlsplit strips first (C0 controls and spaces); a one-letter "C:" is a drive.
_SCHEME_SLASHES = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.-]+)://")


class Source(Protocol):
    """What the flow needs from a place that holds article files."""

    @property
    def location(self) -> str:
        """Where it is, for logs and the runs table (never contains credentials)."""
        ...

    def scan(self) -> Iterator[Found]: ...

    def read(self, ref: FileRef, *, max_bytes: int) -> bytes | Rejection: ...


def is_remote(location: str) -> bool:
    """A URL (``s3://…``, ``memory://…``) rather than a folder: a scheme of two letters or more written with
    ``//``, other than ``file``. A path with ``://`` further on, ``C://x`` or ``s3:bucket`` is a local path."""
    scheme = _SCHEME_SLASHES.match(location)
    return scheme is not None and scheme[1].lower() != "file"


def local_path(location: str) -> Path:
    return Path(urlsplit(location).path) if location.startswith("file://") else Path(location)


def display_location(location: str) -> str:
    """A source location for people and tags: a URL without userinfo, query or fragment; a path as is."""
    return url_base(location) if is_remote(location) else redact(location)


def source_tag(location: str) -> str:
    """A short, credential-free name for tags: the folder's name, or scheme://bucket/prefix."""
    if is_remote(location):
        return display_location(location).rstrip("/")
    path = local_path(location).resolve()
    return path.name or str(path)


def open_source(
    location: str,
    *,
    storage_options: dict[str, Any] | None = None,
    exclude: Iterable[Path | str | None] = (),
) -> Source:
    """The Source for a folder path, a ``file://`` URL or any fsspec URL.

    ``exclude``: local folders a local source never lists (the warehouse: a lake inside its
    own source would ingest its own files); ``None`` and URLs are ignored.
    """
    if is_remote(location):
        return ObjectStoreSource(location, dict(storage_options or {}))
    skip = tuple(local_path(str(folder)) for folder in exclude if folder is not None and not is_remote(str(folder)))
    return LocalSource(local_path(location), skip)

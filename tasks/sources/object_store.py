"""Objects under a URL prefix as a Source, read through fsspec (s3fs, gcsfs, adlfs, …).

The ledger keys remote objects by URL, size, last-modified and ETag, so a poll over unchanged objects lists
the prefix and fetches nothing. Credentials never pass through here as settings: fsspec finds them the way
each ecosystem expects (AWS environment variables, profiles, ``AWS_ENDPOINT_URL``), or they come from a
Prefect Secret block resolved at the entry point (``url_credentials`` turns a URL's ``user:secret`` into
storage options). Locations, reprs and read rejections never hold a credential.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tasks.models import FileRef, Reason, Rejection
from tasks.redaction import redact, url_base
from tasks.sources.discover import DEFAULT_EXCLUDES, Found, _excluded
from tasks.sources.transient import is_transient

log = logging.getLogger(__name__)

_LIST_CHUNK = 1000


@dataclass(slots=True)
class ObjectStoreSource:
    """Objects under a URL prefix, read through fsspec (s3fs, gcsfs, adlfs, …)."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict, repr=False)
    attempts: int = 4
    backoff_seconds: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    _fs: Any = field(default=None, init=False, repr=False)

    def __repr__(self) -> str:  # the URL may carry credentials: reprs land in logs and tracebacks
        return f"ObjectStoreSource({self.location!r})"

    @property
    def location(self) -> str:
        return url_base(self.url)

    @property
    def fs(self) -> Any:
        if self._fs is None:
            import fsspec

            protocol = urlsplit(self.url).scheme
            try:
                self._fs = fsspec.filesystem(protocol, **self.storage_options)
            except ImportError as error:
                raise ImportError(
                    f"{protocol}:// needs an extra: pip install 'wirehouse[{_extra(protocol)}]' ({error})"
                ) from None
        return self._fs

    def __getstate__(self) -> dict[str, Any]:  # fsspec instances are rebuilt in other processes
        return {
            "url": self.url,
            "storage_options": self.storage_options,
            "attempts": self.attempts,
            "backoff_seconds": self.backoff_seconds,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "sleep", time.sleep)
        object.__setattr__(self, "_fs", None)

    def _root(self) -> str:
        return self.url.split("://", 1)[1].rstrip("/")

    def scan(self) -> Iterator[Found]:
        """Stream the listing page by page (a prefix of a million objects never sits in memory at once)."""
        protocol = urlsplit(self.url).scheme
        for info in self._list():
            if info.get("type") == "directory":
                continue
            key = str(info.get("name") or info.get("Key"))
            name = key.rsplit("/", 1)[-1]
            if _excluded(name, DEFAULT_EXCLUDES):
                continue
            yield Found(FileRef(f"{protocol}://{key}", int(info.get("size") or 0), _mtime_ns(info), _etag(info)))

    def _list(self) -> Iterator[dict[str, Any]]:
        fs = self.fs
        if hasattr(fs, "_iterdir") and getattr(fs, "async_impl", False):
            bucket, _, prefix = self._root().partition("/")
            yield from _stream_async(fs, fs._iterdir(bucket, prefix=f"{prefix}/" if prefix else "", delimiter=""))
        else:  # other filesystems: fsspec's find (one listing in memory)
            yield from fs.find(self._root(), detail=True, withdirs=False).values()

    def read(self, ref: FileRef, *, max_bytes: int) -> bytes | Rejection:
        """Fetch one object, capped, retrying transient errors with exponential backoff."""
        if ref.size > max_bytes:
            return Rejection(Reason.TOO_LARGE, f"{ref.size} bytes > max_file_bytes={max_bytes}", "read")
        path = ref.source_path.split("://", 1)[1]
        last: BaseException | None = None
        for attempt in range(self.attempts):
            try:
                return self._fetch(path, ref, max_bytes)
            except FileNotFoundError:
                return Rejection(Reason.VANISHED, "object deleted between listing and read", "read")
            except PermissionError as error:
                return Rejection(Reason.UNREADABLE, redact(f"access denied: {error}"), "read")
            except Exception as error:
                if not is_transient(error):
                    return Rejection(Reason.UNREADABLE, redact(f"{type(error).__name__}: {error}"), "read")
                last = error
                log.info(
                    "transient error reading %s (attempt %d/%d): %s",
                    redact(ref.source_path),
                    attempt + 1,
                    self.attempts,
                    redact(f"{type(error).__name__}: {error}"),
                )
                self.sleep(self.backoff_seconds * 2**attempt)
        detail = f"transient error after {self.attempts} attempts: {type(last).__name__}: {last}"
        return Rejection(Reason.FETCH_ERROR, redact(detail), "read")

    def _fetch(self, path: str, ref: FileRef, max_bytes: int) -> bytes | Rejection:
        # fsspec's open asks for the object's details (S3: one HEAD) and then reads it (S3: one GET,
        # with If-Match on that ETag); comparing them with the listing catches a replaced object.
        with self.fs.open(path, "rb", block_size=1 << 20, cache_type="none") as handle:
            details = getattr(handle, "details", {}) or {}
            etag = _etag(details)
            if (ref.etag and etag and etag != ref.etag) or int(details.get("size", ref.size)) != ref.size:
                return Rejection(Reason.CHANGED_DURING_READ, "object changed between listing and read", "read")
            data: bytes = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            return Rejection(Reason.TOO_LARGE, f"more than max_file_bytes={max_bytes}", "read")
        if len(data) != ref.size:
            return Rejection(Reason.CHANGED_DURING_READ, f"read {len(data)} bytes, listed {ref.size}", "read")
        return data


def _stream_async(fs: Any, agen: Any) -> Iterator[dict[str, Any]]:
    from fsspec.asyn import sync

    async def chunk() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        async for item in agen:
            items.append(item)
            if len(items) >= _LIST_CHUNK:
                break
        return items

    while True:
        items = sync(fs.loop, chunk)
        yield from items
        if len(items) < _LIST_CHUNK:
            return


def _etag(info: dict[str, Any]) -> str | None:
    value = info.get("ETag") or info.get("etag") or info.get("VersionId") or info.get("generation")
    return str(value).strip('"') if value else None


def _mtime_ns(info: dict[str, Any]) -> int:
    value = info.get("LastModified") or info.get("last_modified") or info.get("mtime") or info.get("updated")
    if isinstance(value, datetime):
        return int(value.timestamp() * 1_000_000_000)
    if isinstance(value, (int, float)):
        return int(value * 1_000_000_000)
    if isinstance(value, str):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1_000_000_000)
    return 0


def _extra(protocol: str) -> str:
    return {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}.get(
        protocol, protocol
    )


def url_credentials(protocol: str, userinfo: str) -> dict[str, str]:
    """fsspec storage options for the ``user:secret`` a source URL carried (S3: key/secret; Azure: account)."""
    user, _, secret = userinfo.partition(":")
    if protocol in {"s3", "s3a"}:
        return {"key": user, "secret": secret}
    if protocol in {"az", "abfs", "abfss"}:
        return {"account_name": user, "account_key": secret}
    return {"username": user, "password": secret}

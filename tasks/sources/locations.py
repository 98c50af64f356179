"""Where articles come from: a local folder (the default) or any fsspec URL (s3://, gs://, az://, …).

A Source lists file versions (``scan``) and reads one (``read``). The ledger keys remote objects by URL,
size, last-modified and ETag, so a poll over unchanged objects lists the prefix and fetches nothing.
Credentials never pass through here as settings: fsspec finds them the way each ecosystem expects
(AWS environment variables, profiles, ``AWS_ENDPOINT_URL``), or they come from a Prefect Secret block
resolved at the entry point. A URL that carries them anyway (``s3://key:secret@bucket``, a presigned
``?X-Amz-Signature=…``) is shown only through ``display_location`` / ``redact``: locations, tags, reprs and
read rejections never hold a credential, and the flow passes every other text it publishes through ``redact``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from tasks.models import FileRef, Reason, Rejection
from tasks.sources.discover import DEFAULT_EXCLUDES, Found, _excluded, read_file, scan

log = logging.getLogger(__name__)

_LIST_CHUNK = 1000
# How object stores say "try again later", by what the error *is*, never by words in its message (a key
# named news/500-reasons.txt or a message quoting "timeout" is not a reason to retry).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
TRANSIENT_ERRNOS = frozenset(
    {
        errno.EBUSY,  # s3fs: SlowDown, ServiceUnavailable, 503, OperationAborted
        errno.EAGAIN,
        errno.ETIMEDOUT,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ECONNREFUSED,
        errno.EPIPE,
        errno.ENETUNREACH,
        errno.EHOSTUNREACH,
        getattr(errno, "EREMOTEIO", errno.ETIMEDOUT),  # s3fs: InternalError, 500
    }
)
# botocore ClientError codes: its standard retry mode's throttling and transient codes, and S3's 5xx ones.
# Not RequestTimeTooSkewed: a skewed clock stays skewed over a few seconds of backoff (fix the clock).
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "OperationAborted",
    }
)
_STATUS_ATTRIBUTES = ("status", "status_code", "code")  # aiohttp/urllib, azure-core/requests, gcsfs HttpError
_CHAIN_LIMIT = 16


@functools.cache
def _transient_types() -> tuple[type[BaseException], ...]:
    """Connection and timeout errors by type, from each client library that is installed."""
    import http.client

    types: list[type[BaseException]] = [TimeoutError, ConnectionError, http.client.IncompleteRead]
    with contextlib.suppress(ImportError):
        from fsspec.exceptions import FSTimeoutError

        types.append(FSTimeoutError)
    with contextlib.suppress(ImportError):
        import botocore.exceptions as boto

        types += [boto.ConnectionError, boto.HTTPClientError, boto.IncompleteReadError]
    with contextlib.suppress(ImportError):
        import aiohttp

        types += [aiohttp.ClientConnectionError, aiohttp.ClientPayloadError]
    with contextlib.suppress(ImportError):
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError

        types += [ServiceRequestError, ServiceResponseError]
    return tuple(types)


@functools.cache
def _never_transient_types() -> tuple[type[BaseException], ...]:
    """Certificate and TLS failures: connection errors by type, but retrying never fixes them."""
    import ssl

    types: list[type[BaseException]] = [ssl.SSLError, ssl.CertificateError]
    with contextlib.suppress(ImportError):
        import botocore.exceptions as boto

        types.append(boto.SSLError)
    with contextlib.suppress(ImportError):
        import aiohttp

        types.append(aiohttp.ClientSSLError)
    return tuple(types)


def _chain(error: BaseException) -> list[BaseException]:
    """The error, then what caused it (``raise … from``) and what it interrupted, each once."""
    seen: list[BaseException] = []
    pending = [error]
    while pending and len(seen) < _CHAIN_LIMIT:
        current = pending.pop(0)
        if any(current is known for known in seen):
            continue
        seen.append(current)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return seen


def _service_verdict(error: BaseException) -> bool | None:
    """botocore's ClientError (and look-alikes): the service's error code and HTTP status decide."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict) or not ({"Error", "ResponseMetadata"} & response.keys()):
        return None
    details = response.get("Error")
    metadata = response.get("ResponseMetadata")
    code = details.get("Code") if isinstance(details, dict) else None
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    return code in TRANSIENT_CODES or status in TRANSIENT_STATUSES


def _status_verdict(error: BaseException) -> bool | None:
    """An HTTP status as an int attribute (aiohttp, gcsfs, azure-core, urllib), or on its ``response`` (requests)."""
    response = getattr(error, "response", None)
    for holder in (error, None if isinstance(response, dict) else response):
        for name in _STATUS_ATTRIBUTES:
            try:
                value = getattr(holder, name, None)
            except Exception:  # a property that raises is no status
                continue
            if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
                return value in TRANSIENT_STATUSES
    return None


def _is_transient(error: BaseException) -> bool:
    """Worth retrying: throttling, timeouts, dropped connections, 5xx, by type, errno, status or error code.

    The chain (``__cause__``, ``__context__``) is walked because fsspec wraps: s3fs turns botocore's
    ``ClientError`` into an ``OSError`` with an errno, keeping the original as the cause. What the service
    said (its error code or HTTP status, outermost first) outranks the errno or type a wrapper chose; TLS
    errors never count as connection errors; the message text is never read.
    """
    chain = _chain(error)
    for link in chain:  # the outermost error that carries what a server answered decides
        verdict = _service_verdict(link)
        if verdict is None:
            verdict = _status_verdict(link)
        if verdict is not None:
            return verdict
    for link in chain:
        if isinstance(link, _never_transient_types()):
            continue
        if isinstance(link, _transient_types()):
            return True
        if isinstance(link, OSError) and link.errno in TRANSIENT_ERRNOS:
            return True
    return False


# Credentials in a URL: userinfo (scheme://user:secret@host) and query or fragment parameters whose
# name says secret. Parameter names match case-insensitively, by a whole part (split on anything not a
# letter or digit: X-Amz-Signature → x, amz, signature) or by a distinctive fragment (sessionToken).
REDACTED = "REDACTED"
SECRET_PARAM_PARTS = frozenset(
    {
        "key",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "sig",
        "signature",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "session",
        "sas",
    }
)
SECRET_PARAM_FRAGMENTS = ("token", "secret", "passw", "signature", "credential", "accesskey", "apikey")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'<>`]+")
_PARAM = re.compile(r"(?<=[?&#;])([^=&#;]+)=([^&#]*)")
_TRAILING = ").,;:!?]}"  # punctuation around a URL in prose, not part of it
_HOST_PORT = re.compile(r"(?:\[[^\]]*\]|[^:\[\]]*)(?::\d*)?")  # host:port, [v6]:port


def _secret_param(name: str) -> bool:
    lowered = unquote(name).lower()
    parts = re.split(r"[^a-z0-9]+", lowered)
    return any(part in SECRET_PARAM_PARTS for part in parts) or any(f in lowered for f in SECRET_PARAM_FRAGMENTS)


def _split_url(url: str) -> tuple[str, str, str]:
    """``scheme://``, host[:port]/path with any userinfo removed, and ``?query#fragment`` (all as written)."""
    scheme, rest = url.split("://", 1)
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    authority = head.split("/", 1)[0]
    if "@" in authority:
        head = head[authority.rindex("@") + 1 :]
    elif ":" in authority and "@" in head and not _HOST_PORT.fullmatch(authority):
        head = head[head.rindex("@") + 1 :]  # user:se/cret@host: a secret pasted with a raw "/"
    return f"{scheme}://", head, tail


def _redact_url(match: re.Match[str]) -> str:
    url = match.group(0)
    trailing = len(url) - len(url.rstrip(_TRAILING))
    url, after = (url[:-trailing], url[-trailing:]) if trailing else (url, "")
    scheme, head, tail = _split_url(url)
    tail = _PARAM.sub(lambda m: f"{m[1]}={REDACTED}" if m[2] and _secret_param(m[1]) else m[0], tail)
    return f"{scheme}{head}{tail}{after}"


def redact(text: str) -> str:
    """Text with every URL in it made credential-free: no userinfo, secret query values replaced.

    Scheme, host, port, path and the other parameters stay as written; text without ``://`` is returned
    unchanged. For run names, the runs table, events, artifacts, logs and quarantine details.
    """
    return _URL.sub(_redact_url, text) if "://" in text else text


def display_location(location: str) -> str:
    """A source location for people and tags: a URL without userinfo, query or fragment; a path as is."""
    if not is_remote(location) or "://" not in location:
        return redact(location)
    scheme, head, _ = _split_url(location)
    return scheme + head


class Source(Protocol):
    """What the flow needs from a place that holds article files."""

    @property
    def location(self) -> str:
        """Where it is, for logs and the runs table (never contains credentials)."""
        ...

    def scan(self) -> Iterator[Found]: ...

    def read(self, ref: FileRef, *, max_bytes: int) -> bytes | Rejection: ...


def is_remote(location: str) -> bool:
    scheme = urlsplit(location).scheme
    return len(scheme) > 1 and scheme != "file"  # "C:" is a drive, not a scheme


def local_path(location: str) -> Path:
    return Path(urlsplit(location).path) if location.startswith("file://") else Path(location)


@dataclass(frozen=True, slots=True)
class LocalSource:
    root: Path
    skip: tuple[Path, ...] = ()  # folders never listed (the warehouse, when it lies inside the source)

    @property
    def location(self) -> str:
        return str(self.root)

    def scan(self) -> Iterator[Found]:
        return scan(self.root, skip=self.skip)

    def read(self, ref: FileRef, *, max_bytes: int) -> bytes | Rejection:
        return read_file(self.root, ref, max_bytes=max_bytes)


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
        return display_location(self.url)

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
                if not _is_transient(error):
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


def url_credentials(protocol: str, userinfo: str) -> dict[str, str]:
    """fsspec storage options for the ``user:secret`` a source URL carried (S3: key/secret; Azure: account)."""
    user, _, secret = userinfo.partition(":")
    if protocol in {"s3", "s3a"}:
        return {"key": user, "secret": secret}
    if protocol in {"az", "abfs", "abfss"}:
        return {"account_name": user, "account_key": secret}
    return {"username": user, "password": secret}

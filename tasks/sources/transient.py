"""Whether an object store's error is worth retrying, by what the error *is*, never by words in its message.

A key named news/500-reasons.txt or a message quoting "timeout" is not a reason to retry.
"""

from __future__ import annotations

import contextlib
import errno
import functools

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


def is_transient(error: BaseException) -> bool:
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

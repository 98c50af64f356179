"""Retry what the error is, not what its message says; and no credential from a source URL reaches any text."""

from __future__ import annotations

import errno
import urllib.error
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import yarl
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    SSLError,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy
from s3fs.errors import translate_boto_error

from tasks.models import FileRef, Reason, Rejection
from tasks.redaction import REDACTED, redact
from tasks.sources.locations import display_location, open_source, source_tag
from tasks.sources.object_store import ObjectStoreSource
from tasks.sources.transient import is_transient
from tests.sources.conftest import S3Endpoint

# ---------------------------------------------------------------------------------------------------------------
# B. transient errors, by type / errno / status / error code


def client_error(code: str, status: int, message: str = "") -> ClientError:
    """What botocore raises for an S3 error response."""
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )


def response_error(status: int, message: str = "", url: str = "https://storage.example/b/o") -> Exception:
    """What aiohttp (under gcsfs, adlfs, http) raises for an HTTP error status."""
    info = aiohttp.RequestInfo(yarl.URL(url), "GET", CIMultiDictProxy(CIMultiDict()), yarl.URL(url))
    return aiohttp.ClientResponseError(info, (), status=status, message=message)


class HttpResponseError(Exception):
    """Shaped like azure-core's: the status as ``status_code``."""

    def __init__(self, message: str, status_code: int | None) -> None:
        super().__init__(message)
        self.status_code = status_code


class HttpError(Exception):
    """Shaped like gcsfs's: the status as ``code``."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def requests_error(status: int, message: str = "") -> Exception:
    """What requests raises from raise_for_status: the status is on the response."""
    import requests

    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(message, response=response)


def chained(outer: BaseException, cause: BaseException) -> BaseException:
    outer.__cause__ = cause
    return outer


def in_context(outer: BaseException, context: BaseException) -> BaseException:
    outer.__context__ = context
    return outer


TRANSIENT: list[tuple[str, Callable[[], BaseException]]] = [
    ("s3fs SlowDown", lambda: translate_boto_error(client_error("SlowDown", 503, "Reduce your request rate."))),
    ("s3fs ServiceUnavailable", lambda: translate_boto_error(client_error("ServiceUnavailable", 503))),
    ("s3fs InternalError", lambda: translate_boto_error(client_error("InternalError", 500))),
    ("s3fs RequestTimeout", lambda: translate_boto_error(client_error("RequestTimeout", 400))),
    ("botocore Throttling", lambda: client_error("Throttling", 400)),
    ("botocore ThrottlingException", lambda: client_error("ThrottlingException", 400)),
    ("botocore RequestLimitExceeded", lambda: client_error("RequestLimitExceeded", 400)),
    ("botocore unknown code, HTTP 502", lambda: client_error("BadGatewayish", 502)),
    ("botocore unknown code, HTTP 429", lambda: client_error("Whatever", 429)),
    ("botocore EndpointConnectionError", lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:9")),
    ("botocore ReadTimeoutError", lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:9")),
    ("botocore ConnectTimeoutError", lambda: ConnectTimeoutError(endpoint_url="http://127.0.0.1:9")),
    ("aiohttp 503", lambda: response_error(503)),
    ("aiohttp 429", lambda: response_error(429, "Too Many Requests")),
    ("aiohttp ServerDisconnectedError", lambda: aiohttp.ServerDisconnectedError()),
    ("aiohttp ServerTimeoutError", lambda: aiohttp.ServerTimeoutError("read")),
    ("aiohttp ClientPayloadError", lambda: aiohttp.ClientPayloadError("truncated")),
    ("azure-like status_code 500", lambda: HttpResponseError("oops", 500)),
    ("gcsfs-like code 504", lambda: HttpError("oops", 504)),
    ("urllib HTTPError 503", lambda: urllib.error.HTTPError("http://h/x", 503, "busy", None, None)),  # type: ignore[arg-type]
    ("requests HTTPError 502", lambda: requests_error(502)),
    (
        "aiohttp 503 raised while handling a NoSuchKey",
        lambda: in_context(response_error(503), client_error("NoSuchKey", 404)),
    ),
    ("TimeoutError", lambda: TimeoutError("no reply")),
    ("ConnectionResetError", lambda: ConnectionResetError(errno.ECONNRESET, "reset by peer")),
    ("OSError EBUSY", lambda: OSError(errno.EBUSY, "busy")),
    ("OSError ETIMEDOUT", lambda: OSError(errno.ETIMEDOUT, "nothing")),
    ("EIO caused by SlowDown", lambda: chained(OSError(errno.EIO, "read failed"), client_error("SlowDown", 503))),
    ("RuntimeError caused by a timeout", lambda: chained(RuntimeError("wrapped"), TimeoutError())),
    ("ValueError raised while handling a reset", lambda: in_context(ValueError("x"), ConnectionResetError())),
]

PERMANENT: list[tuple[str, Callable[[], BaseException]]] = [
    ("s3fs NoSuchBucket", lambda: translate_boto_error(client_error("NoSuchBucket", 404))),
    ("s3fs InvalidRange", lambda: translate_boto_error(client_error("InvalidRange", 416))),
    # s3fs maps it to EBUSY, but what S3 said (a Glacier restore, hours away) wins over the wrapper's errno
    ("s3fs RestoreAlreadyInProgress", lambda: translate_boto_error(client_error("RestoreAlreadyInProgress", 409))),
    ("botocore RequestTimeTooSkewed", lambda: client_error("RequestTimeTooSkewed", 403)),  # fix the clock
    ("botocore AccessDenied", lambda: client_error("AccessDenied", 403)),
    ("botocore SSLError", lambda: SSLError(endpoint_url="https://h", error="certificate verify failed")),
    ("aiohttp 404", lambda: response_error(404)),
    ("aiohttp 403", lambda: response_error(403)),
    ("azure-like status_code 409", lambda: HttpResponseError("conflict", 409)),
    ("gcsfs-like code 400", lambda: HttpError("bad", 400)),
    ("requests HTTPError 404", lambda: requests_error(404, "503 timeout")),
    ("OSError EIO", lambda: OSError(errno.EIO, "io")),
    ("OSError EINVAL", lambda: OSError(errno.EINVAL, "invalid")),
    ("ValueError", lambda: ValueError("bad value")),
    # an HTTP status wins over a timeout somewhere down the chain: the service answered
    ("404 caused by a timeout", lambda: chained(response_error(404), TimeoutError())),
]


@pytest.mark.parametrize("make", [m for _, m in TRANSIENT], ids=[n for n, _ in TRANSIENT])
def test_transient_errors_are_recognised(make: Callable[[], BaseException]) -> None:
    assert is_transient(make())


@pytest.mark.parametrize("make", [m for _, m in PERMANENT], ids=[n for n, _ in PERMANENT])
def test_permanent_errors_are_not_retried(make: Callable[[], BaseException]) -> None:
    assert not is_transient(make())


WORDS = [
    "500",
    "502",
    "503",
    "504",
    "429",
    "timeout",
    "timed out",
    "Timeout",
    "SlowDown",
    "slow down",
    "Please reduce your request rate",
    "Throttling",
    "ThrottlingException",
    "Service Unavailable",
    "internal error",
    "InternalError",
    "too many requests",
    "connection reset",
    "s3://newsroom/news/500-reasons.txt",
    "news/503-timeout.txt",
    "errno 16",
]
MESSAGES = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), min_size=1, max_size=6).map(" ".join)

NOT_TRANSIENT_FACTORIES: list[Callable[[str], BaseException]] = [
    ValueError,
    RuntimeError,
    KeyError,
    lambda m: OSError(m),
    lambda m: OSError(errno.EIO, m),
    lambda m: OSError(errno.EINVAL, m),
    lambda m: FileNotFoundError(errno.ENOENT, m),
    lambda m: IsADirectoryError(errno.EISDIR, m),
    lambda m: client_error("NoSuchKey", 404, m),
    lambda m: client_error("InvalidArgument", 400, m),
    lambda m: client_error("InvalidObjectState", 403, m),
    lambda m: translate_boto_error(client_error("InvalidRange", 416, m)),
    lambda m: translate_boto_error(client_error("PreconditionFailed", 412, m)),
    lambda m: response_error(404, m, url="https://storage.example/news/500-reasons.txt"),
    lambda m: response_error(400, m),
    lambda m: HttpResponseError(m, 404),
    lambda m: HttpResponseError(m, None),
    lambda m: HttpError(m, 403),
    lambda m: requests_error(410, m),
    lambda m: urllib.error.HTTPError("https://h/news/503.txt", 404, m, None, None),  # type: ignore[arg-type]
    lambda m: chained(RuntimeError(m), ValueError(m)),
    lambda m: chained(OSError(errno.EIO, m), KeyError(m)),
]


@settings(max_examples=300, deadline=None)
@given(message=MESSAGES, make=st.sampled_from(NOT_TRANSIENT_FACTORIES))
def test_words_in_a_message_never_make_an_error_transient(message: str, make: Callable[[str], BaseException]) -> None:
    error = make(message)
    assert not is_transient(error), (type(error), str(error))


def test_what_s3fs_raises_for_a_real_throttled_get_is_transient(bucket: Any, s3: S3Endpoint) -> None:
    import s3fs

    fs, prefix = bucket
    key = f"{prefix}/500-reasons.txt"
    with fs.open(key, "wb") as handle:
        handle.write(b"The harbour council voted on Tuesday.")
    impatient = s3fs.S3FileSystem(skip_instance_cache=True, config_kwargs={"retries": {"max_attempts": 1}})
    impatient.retries = 1  # s3fs's own retry loop, on top of botocore's
    s3.throttle["500-reasons.txt"] = 100
    with pytest.raises(OSError) as raised:
        impatient.cat_file(key)
    s3.throttle.clear()
    error = raised.value
    assert isinstance(error, OSError) and error.errno == errno.EBUSY  # translate_boto_error: SlowDown → EBUSY
    assert isinstance(error.__cause__, ClientError)
    assert error.__cause__.response["Error"]["Code"] == "SlowDown"
    assert is_transient(error)
    assert not is_transient(OSError(errno.EIO, str(error)))  # the same words without the type: not transient


class FailingFS:
    """An fsspec filesystem whose open always raises the given error."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.opens = 0

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        self.opens += 1
        raise self.error


def source_with(error: BaseException, url: str = "s3://newsroom/news/") -> tuple[ObjectStoreSource, FailingFS]:
    sleeps: list[float] = []
    source = ObjectStoreSource(url, attempts=3, backoff_seconds=0.01, sleep=sleeps.append)
    fs = FailingFS(error)
    source._fs = fs
    return source, fs


REF = FileRef("s3://newsroom/news/500-reasons.txt", 40, 0, "etag")


def test_a_permanent_error_naming_500_and_timeout_is_not_retried() -> None:
    message = "s3://newsroom/news/500-reasons.txt: HTTP 503 timeout, Service Unavailable"
    source, fs = source_with(translate_boto_error(client_error("InvalidRange", 416, message)))
    result = source.read(REF, max_bytes=1000)
    assert isinstance(result, Rejection) and result.reason_code is Reason.UNREADABLE
    assert fs.opens == 1


def test_a_transient_error_is_retried_then_becomes_fetch_error() -> None:
    source, fs = source_with(translate_boto_error(client_error("SlowDown", 503, "Reduce your request rate.")))
    result = source.read(REF, max_bytes=1000)
    assert isinstance(result, Rejection) and result.reason_code is Reason.FETCH_ERROR
    assert fs.opens == 3 and "3 attempts" in result.detail


# ---------------------------------------------------------------------------------------------------------------
# C. credentials never leave the URL

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

REDACTIONS = [
    ("s3://AKIAIOSFODNN7EXAMPLE:wJalr%2FK7MDENG@newsroom/news/", "s3://newsroom/news/"),
    (f"s3://AKIAIOSFODNN7EXAMPLE:{AWS_SECRET}@newsroom/news/", "s3://newsroom/news/"),  # a "/" pasted raw
    ("https://user:p%40ss@feeds.example:8443/rss?lang=en", "https://feeds.example:8443/rss?lang=en"),
    ("https://user:p@ss@feeds.example/rss", "https://feeds.example/rss"),
    ("https://ghp_0123456789abcdef@github.com/org/repo.git", "https://github.com/org/repo.git"),
    (
        "https://newsroom.s3.amazonaws.com/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101"
        "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=0f1e2d"
        "&X-Amz-Security-Token=IQoJb3JpZ2lu",
        "https://newsroom.s3.amazonaws.com/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED"
        "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=REDACTED"
        "&X-Amz-Security-Token=REDACTED",
    ),
    (
        "https://acct.blob.core.windows.net/news/a.txt?sv=2022-11-02&se=2026-01-01&sp=r&sig=abc%2Bdef%3D",
        "https://acct.blob.core.windows.net/news/a.txt?sv=2022-11-02&se=2026-01-01&sp=r&sig=REDACTED",
    ),
    (
        "https://storage.googleapis.com/b/o?X-Goog-Credential=svc%40p&X-Goog-Signature=99aa",
        "https://storage.googleapis.com/b/o?X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED",
    ),
    (
        "https://api.example/feed?TOKEN=t1&access_token=t2&Password=p&secret=s&key=k&apiKey=a&page=2",
        "https://api.example/feed?TOKEN=REDACTED&access_token=REDACTED&Password=REDACTED&secret=REDACTED"
        "&key=REDACTED&apiKey=REDACTED&page=2",
    ),
    ("https://app.example/cb#access_token=abc&state=xyz", "https://app.example/cb#access_token=REDACTED&state=xyz"),
    (
        "FileNotFoundError: 's3://k:s3cr3t@newsroom/news/a.txt' (see https://h/x?sig=zz).",
        "FileNotFoundError: 's3://newsroom/news/a.txt' (see https://h/x?sig=REDACTED).",
    ),
    ("GET https://medium.com/@reporter/story ok", "GET https://medium.com/@reporter/story ok"),  # "@" in a path
    ("s3://newsroom/by/user@example.com/a.txt", "s3://newsroom/by/user@example.com/a.txt"),
    (
        "https://[::1]:9000/newsroom/u@x.txt?author=ann&keyword=port",
        "https://[::1]:9000/newsroom/u@x.txt?author=ann&keyword=port",
    ),
    (
        "no URL here: token=abc password=hunter2 user:pass@host",
        "no URL here: token=abc password=hunter2 user:pass@host",
    ),
]


@pytest.mark.parametrize(("text", "expected"), REDACTIONS)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected  # idempotent


LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
LABEL = st.text(LOWER, min_size=1, max_size=10)
HOST = st.tuples(st.lists(LABEL, min_size=1, max_size=3).map(".".join), st.none() | st.integers(1, 65535)).map(
    lambda hp: hp[0] if hp[1] is None else f"{hp[0]}:{hp[1]}"
)
PATH = st.lists(st.text(LOWER + "-._~é%", min_size=1, max_size=12), max_size=4).map(lambda p: "/" + "/".join(p))
SCHEME = st.sampled_from(["s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "https", "http", "sftp", "webdav+https"])
# A secret is marked at both ends in upper case, which nothing else generated here contains: any part of it leaks
# visibly. Its middle is any text: percent-encoded where it goes, as a URL needs.
SECRET = st.text(min_size=0, max_size=20).map(lambda s: f"SECRET{s}TERCES")
RAW_SECRET = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", max_size=40).map(
    lambda s: f"SECRET{s}TERCES"
)  # an AWS-style secret key pasted into the URL as is
SECRET_PARAMS = st.sampled_from(
    [
        "token",
        "Token",
        "access_token",
        "refresh_token",
        "id_token",
        "sessionToken",
        "sig",
        "Signature",
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "X-Goog-Signature",
        "X-Goog-Credential",
        "AWSAccessKeyId",
        "password",
        "PASSWORD",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "key",
        "api_key",
        "apiKey",
        "x-api-key",
        "auth",
    ]
)
PLAIN_PARAMS = st.sampled_from(["lang", "page", "versionId", "X-Amz-Date", "X-Amz-Expires", "prefix", "author", "sv"])
PLAIN_VALUE = st.text(LOWER + "-._", max_size=10)


@st.composite
def urls_with_secrets(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """(text holding a URL with credentials, its secrets, pieces that must stay readable)."""
    scheme, host, path = draw(SCHEME), draw(HOST), draw(PATH)
    secrets: list[str] = []
    userinfo = ""
    style = draw(st.sampled_from(["none", "user", "user:password", "user:raw-password"]))
    if style != "none":
        user = draw(SECRET)
        secrets.append(user)
        userinfo = quote(user, safe="")
        if style == "user:password":
            password = draw(SECRET)
            secrets.append(password)
            userinfo += ":" + quote(password, safe="")
        elif style == "user:raw-password":
            password = draw(RAW_SECRET)
            secrets.append(password)
            userinfo += ":" + password
        userinfo += "@"
    params: list[str] = []
    kept: list[str] = [f"{scheme}://{host}{path}"]
    for secret_param in draw(st.lists(st.booleans(), max_size=5)):
        if secret_param:
            value = draw(SECRET)
            secrets.append(value)
            params.append(f"{draw(SECRET_PARAMS)}={quote(value, safe='')}")
        else:
            param = f"{draw(PLAIN_PARAMS)}={draw(PLAIN_VALUE)}"
            kept.append(param)
            params.append(param)
    query = ("?" + "&".join(params)) if params else ""
    if query and draw(st.booleans()):
        query = "#" + query[1:]  # OAuth's implicit flow puts tokens in the fragment
    before = draw(st.sampled_from(["", "reading ", "error: '", "(", "GET "]))
    after = draw(st.sampled_from(["", " failed", "'", ").", ", retrying"]))
    return f"{before}{scheme}://{userinfo}{host}{path}{query}{after}", secrets, kept


@settings(max_examples=400, deadline=None)
@given(case=urls_with_secrets())
def test_no_generated_secret_survives_redact(case: tuple[str, list[str], list[str]]) -> None:
    text, secrets, kept = case
    out = redact(text)
    assert "SECRET" not in out and "TERCES" not in out, out
    for secret in secrets:
        assert secret not in out and quote(secret, safe="") not in out
    for piece in kept:  # scheme, host, port, path and the harmless parameters stay readable
        assert piece in out, (piece, out)
    assert redact(out) == out


@settings(max_examples=300, deadline=None)
@given(text=st.text().filter(lambda t: "://" not in t))
def test_text_without_urls_is_unchanged(text: str) -> None:
    assert redact(text) == text


@settings(max_examples=300, deadline=None)
@given(
    scheme=SCHEME,
    host=HOST,
    path=st.lists(st.text(LOWER + "-._~@%", min_size=1, max_size=12), max_size=4).map(lambda p: "/" + "/".join(p)),
    params=st.lists(st.tuples(PLAIN_PARAMS, PLAIN_VALUE).map("=".join), max_size=4),
)
def test_urls_without_credentials_are_unchanged(scheme: str, host: str, path: str, params: list[str]) -> None:
    url = f"{scheme}://{host}{path}" + ("?" + "&".join(params) if params else "")
    assert redact(url) == url
    assert redact(f"see {url}, then") == f"see {url}, then"


def test_locations_tags_and_reprs_carry_no_credentials() -> None:
    url = f"s3://AKIAIOSFODNN7EXAMPLE:{AWS_SECRET}@newsroom/news/?versionId=3&token=t0k3n"
    assert display_location(url) == "s3://newsroom/news/"
    assert source_tag(url) == "s3://newsroom/news"
    source = open_source(url)
    assert source.location == "s3://newsroom/news/"
    assert "AKIA" not in repr(source) and "t0k3n" not in repr(source) and AWS_SECRET not in repr(source)
    assert display_location("https://u:p@feeds.example:8443/rss#x") == "https://feeds.example:8443/rss"
    assert display_location("seeds/news") == "seeds/news"


def test_read_rejections_are_redacted() -> None:
    url = "https://AKIAIOSFODNN7EXAMPLE:hunter2@newsroom.example/news/a.txt?X-Amz-Signature=f00d&lang=en"
    ref = FileRef("https://newsroom.example/news/a.txt", 40, 0, None)
    for error, reason in [
        (OSError(errno.EIO, f"GET {url} failed"), Reason.UNREADABLE),
        (PermissionError(errno.EACCES, f"denied: {url}"), Reason.UNREADABLE),
        (response_error(503, "busy", url=url), Reason.FETCH_ERROR),
    ]:
        source, _ = source_with(error, url="https://newsroom.example/news/")
        result = source.read(ref, max_bytes=1000)
        assert isinstance(result, Rejection) and result.reason_code is reason
        assert "hunter2" not in result.detail and "f00d" not in result.detail and "AKIA" not in result.detail
        assert "newsroom.example/news/a.txt" in result.detail and REDACTED in result.detail

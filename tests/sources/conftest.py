"""A real S3 API on loopback (moto's server), with a request log and injectable throttling."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import pytest

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

BUCKET = "newsroom"


@dataclass
class S3Endpoint:
    url: str
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, query)
    throttle: dict[str, int] = field(default_factory=dict)  # key → GETs still to answer 503 SlowDown

    def object_reads(self) -> list[tuple[str, str]]:
        """GET/HEAD of objects (listing is a GET on the bucket with a list-type query)."""
        return [
            (m, p) for m, p, q in self.requests if m in {"GET", "HEAD"} and p.count("/") >= 2 and "list-type" not in q
        ]


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    backend = DomainDispatcherApplication(create_backend_app)
    endpoint = S3Endpoint(url="")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        method, path, query = (
            environ["REQUEST_METHOD"],
            unquote(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")),
            environ.get("QUERY_STRING", ""),
        )
        endpoint.requests.append((method, path, query))
        for key, remaining in endpoint.throttle.items():
            if method == "GET" and remaining > 0 and path.endswith("/" + key):
                endpoint.throttle[key] = remaining - 1
                start_response("503 Slow Down", [("Content-Type", "application/xml")])
                return [
                    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>'
                ]
        return backend(environ, start_response)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    endpoint.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint.url,
    )
    try:
        yield endpoint
    finally:
        server.shutdown()
        thread.join(timeout=10)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def bucket(s3: S3Endpoint, request: pytest.FixtureRequest) -> Iterator[Any]:
    """An empty bucket prefix of its own per test, through a real s3fs client."""
    import s3fs

    fs = s3fs.S3FileSystem(anon=False, skip_instance_cache=True)
    if not fs.exists(BUCKET):
        fs.mkdir(BUCKET)
    prefix = f"{BUCKET}/{request.node.name.replace('[', '-').replace(']', '')}"
    yield fs, prefix
    fs.rm(prefix, recursive=True) if fs.exists(prefix) else None
    s3.requests.clear()
    s3.throttle.clear()

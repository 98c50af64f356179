"""Security: a run makes no network connection except to the local Prefect API (loopback)."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.invariants import article_text

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def test_a_run_opens_no_connection_beyond_loopback(
    source: Path, ingest: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (source / "story.txt").write_text(article_text(random.Random(9), "offline"))
    (source / "page.html").write_text(
        "<html><head><link rel='stylesheet' href='https://cdn.example.com/x.css'></head>"
        f"<body><img src='http://example.com/a.png'><p>{article_text(random.Random(10), 'page')}</p></body></html>"
    )
    attempts: list[Any] = []
    connect, resolve = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            attempts.append(address)
            raise OSError("network disabled by the test")
        return connect(self, address)

    def guarded_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in LOOPBACK and host is not None:
            attempts.append(host)
            raise socket.gaierror("network disabled by the test")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_resolve)
    summary = ingest()
    assert summary.counts.landed == 2
    assert attempts == []

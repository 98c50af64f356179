"""Property: any bytes, under any name we read, end in exactly one place with a reason (never silent)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.enrich.steps import enrich_file
from tasks.models import FileRef, Reason

SINGLE_ARTICLE = ("txt", "md", "html", "json", "txt.gz")
CONTENT = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=600).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.text(max_size=300).map(lambda s: s.encode("utf-16", "surrogatepass")),
    st.sampled_from([b"", b"\x00" * 64, b"{}", b"[]", b"null", b'{"body": ""}', b"<html></html>", b"\x1f\x8b"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=CONTENT, extension=st.sampled_from((*SINGLE_ARTICLE, "jsonl", "htm", "bin")))
def test_random_bytes_are_an_article_or_a_reasoned_rejection(data: bytes, extension: str) -> None:
    ref = FileRef(f"random.{extension}", len(data), 0)
    _, _, articles, rejections = enrich_file(ref, data, max_decompressed_bytes=1_000_000)
    assert articles or rejections, "silently dropped"
    if extension in SINGLE_ARTICLE or extension in {"htm", "bin"}:
        assert bool(articles) != bool(rejections), (articles, rejections)  # exactly one place
        assert len(articles) <= 1
    for rejection in rejections:
        assert isinstance(rejection.reason_code, Reason) and rejection.detail and rejection.stage


def test_random_files_through_the_real_flow_each_land_once(
    source: Path, ingest: Callable[..., Any], sql: Callable[..., Any]
) -> None:
    rng = random.Random(11)
    names = []
    for n in range(24):
        kind = n % 4
        if kind == 0:
            data = rng.randbytes(rng.randint(0, 3000))
        elif kind == 1:
            data = bytes(rng.choice(b"abcdefghij klmnop\n.,") for _ in range(rng.randint(1, 800)))
        elif kind == 2:
            data = "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 400))).encode("utf-8", "replace")
        else:
            data = rng.randbytes(50) + b"The council met on Tuesday to approve the budget." + rng.randbytes(50)
        name = f"r{n:02d}.{('txt', 'md', 'json', 'html')[n % 4]}"
        (source / name).write_bytes(data)
        names.append(name)
    summary = ingest()
    assert summary.status == "completed"
    landed = {p for (p,) in sql("SELECT DISTINCT source_path FROM articles")}
    rejected = {p for (p,) in sql("SELECT DISTINCT source_path FROM quarantine WHERE reason_code <> ''")}
    duplicates = {p for (p,) in sql("SELECT source_path FROM files WHERE status = 'duplicate'")}
    for name in names:
        assert [name in landed, name in rejected, name in duplicates].count(True) == 1, name

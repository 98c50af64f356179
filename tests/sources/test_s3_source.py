"""Object storage sources against a real S3 API (moto server on loopback), with the same guarantees as folders."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tasks.models import FileRef, Reason, Rejection
from tasks.sources.locations import open_source
from tasks.sources.object_store import ObjectStoreSource
from tests.conftest import SEED_ARTICLE
from tests.sources.conftest import S3Endpoint

pytestmark = pytest.mark.deep  # S3 (moto's server): the deep step

SEED = SEED_ARTICLE.read_bytes()
STORY = "The harbour council voted on Tuesday to rebuild the old pier before the winter storms arrive."


def put(fs: Any, key: str, data: bytes) -> None:
    with fs.open(key, "wb") as handle:
        handle.write(data)
    fs.invalidate_cache()


def test_first_poll_lands_everything_and_a_no_op_poll_fetches_nothing(bucket: Any, s3: S3Endpoint, ingest, sql) -> None:
    fs, prefix = bucket
    put(fs, f"{prefix}/seed.txt", SEED)
    put(fs, f"{prefix}/dir one/é-story.txt", STORY.encode())
    put(fs, f"{prefix}/empty.txt", b"")
    put(fs, f"{prefix}/huge.txt", b"word " * 5000)
    put(
        fs,
        f"{prefix}/feed.jsonl.gz",
        gzip.compress(json.dumps({"headline": "Pier", "body": STORY}).encode() + b"\n{bad\n"),
    )
    url = f"s3://{prefix}/"
    s3.requests.clear()
    first = ingest(source=url, max_file_bytes=20_000)
    fetched = {path.rsplit("/", 1)[-1] for _, path in s3.object_reads()}
    assert fetched == {"seed.txt", "é-story.txt", "feed.jsonl.gz", "empty.txt"}  # huge.txt: over the cap, never fetched
    counts = first.counts
    assert (counts.new_files, counts.landed, counts.quarantined, counts.duplicates) == (5, 3, 2, 0)
    assert sql("SELECT language FROM articles WHERE source_path = ?", f"s3://{prefix}/seed.txt") == [("en",)]
    assert sql("SELECT count(*) FROM articles WHERE source_path = ?", f"s3://{prefix}/dir one/é-story.txt") == [(1,)]
    reasons = dict(sql("SELECT source_path, string_agg(reason_code, ',') FROM quarantine GROUP BY 1"))
    assert reasons == {
        f"s3://{prefix}/empty.txt": "empty",
        f"s3://{prefix}/huge.txt": "too_large",
        f"s3://{prefix}/feed.jsonl.gz": "parse_error",
    }
    assert sql("SELECT count(*) FROM files WHERE source_etag IS NULL") == [(0,)]

    s3.requests.clear()
    second = ingest(source=url, max_file_bytes=20_000)
    assert (second.counts.files_seen, second.counts.new_files, second.counts.landed) == (5, 0, 0)
    assert s3.object_reads() == []  # listed the prefix, fetched nothing
    assert any("list-type" in query for _, _, query in s3.requests)


def test_changed_and_deleted_objects(bucket: Any, ingest, sql) -> None:
    fs, prefix = bucket
    put(fs, f"{prefix}/a.txt", STORY.encode())
    put(fs, f"{prefix}/b.txt", SEED)
    url = f"s3://{prefix}"
    ingest(source=url)
    put(fs, f"{prefix}/a.txt", (STORY + " The mayor said work starts in March.").encode())
    fs.rm(f"{prefix}/b.txt")
    summary = ingest(source=url)
    assert (summary.counts.landed, summary.counts.deleted) == (1, 1)
    assert sql("SELECT file_version, status FROM files WHERE source_path LIKE '%a.txt' ORDER BY 1") == [
        (1, "landed"),
        (2, "landed"),
    ]
    assert sql("SELECT status FROM file_status WHERE source_path LIKE '%b.txt'") == [("deleted",)]
    [(text,)] = sql("SELECT text FROM articles WHERE source_path LIKE '%a.txt'")
    assert "March" in text
    assert sql("SELECT count(*) FROM articles WHERE source_path LIKE '%b.txt'") == [(0,)]  # no longer held
    assert sql("SELECT count(*) FROM article_versions WHERE source_path LIKE '%b.txt'") == [(1,)]  # history is kept


def test_a_throttled_get_is_retried_and_lands(bucket: Any, s3: S3Endpoint, ingest, sql) -> None:
    fs, prefix = bucket
    put(fs, f"{prefix}/slow.txt", SEED)
    s3.throttle["slow.txt"] = 2
    summary = ingest(source=f"s3://{prefix}/")
    assert summary.counts.landed == 1
    assert s3.throttle["slow.txt"] == 0  # the server really answered 503 twice


def test_persistent_throttling_becomes_fetch_error_and_is_retried_next_poll(
    bucket: Any, s3: S3Endpoint, ingest, sql
) -> None:
    fs, prefix = bucket
    put(fs, f"{prefix}/stuck.txt", SEED)
    url = f"s3://{prefix}/"
    source = ObjectStoreSource(
        url, {"config_kwargs": {"retries": {"max_attempts": 1}}}, attempts=3, sleep=lambda _: None
    )
    [found] = list(source.scan())
    s3.throttle["stuck.txt"] = 100
    result = source.read(found.ref, max_bytes=1_000_000)
    assert isinstance(result, Rejection) and result.reason_code is Reason.FETCH_ERROR
    assert "3 attempts" in result.detail
    s3.throttle.clear()
    assert source.read(found.ref, max_bytes=1_000_000) == SEED


def test_an_object_that_vanishes_or_changes_after_listing_is_recorded(bucket: Any) -> None:
    fs, prefix = bucket
    put(fs, f"{prefix}/gone.txt", SEED)
    put(fs, f"{prefix}/moving.txt", SEED)
    source = open_source(f"s3://{prefix}")
    refs = {f.ref.source_path.rsplit("/", 1)[-1]: f.ref for f in source.scan()}
    fs.rm(f"{prefix}/gone.txt")
    put(fs, f"{prefix}/moving.txt", SEED + b" More text.")
    gone = source.read(refs["gone.txt"], max_bytes=1_000_000)
    moved = source.read(refs["moving.txt"], max_bytes=1_000_000)
    assert isinstance(gone, Rejection) and gone.reason_code is Reason.VANISHED
    assert isinstance(moved, Rejection) and moved.reason_code is Reason.CHANGED_DURING_READ


def test_listing_streams_in_pages(bucket: Any, s3: S3Endpoint) -> None:
    fs, prefix = bucket
    fs.pipe({f"{prefix}/many/{i:05d}.txt": b"x" for i in range(2100)})  # moto pages listings at 1000 keys
    s3.requests.clear()
    refs = [f.ref for f in open_source(f"s3://{prefix}/many/").scan()]
    assert len(refs) == 2100 and all(isinstance(r, FileRef) and r.etag for r in refs)
    assert sum("list-type" in q for _, _, q in s3.requests) >= 3


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_exactly_once_and_quarantine_on_both_kinds_of_source(kind: str, bucket: Any, source: Path, ingest, sql) -> None:
    files = {
        "seed.txt": SEED,
        "zz copy of seed.txt": SEED,
        "empty.txt": b"",
        "image.txt": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "feed.jsonl": (json.dumps({"headline": "Pier", "body": STORY}) + "\n{bad\n").encode(),
    }
    if kind == "local":
        for name, data in files.items():
            (source / name).write_bytes(data)
        location = str(source)
    else:
        fs, prefix = bucket
        for name, data in files.items():
            put(fs, f"{prefix}/{name}", data)
        location = f"s3://{prefix}/"
    first = ingest(source=location)
    again = ingest(source=location)
    assert (first.counts.new_files, again.counts.new_files) == (5, 0)
    assert sql("SELECT count(*), count(DISTINCT (source_path, file_version)) FROM files") == [(5, 5)]
    assert sql("SELECT count(*) - count(DISTINCT (article_id, file_version)) FROM article_versions") == [(0,)]
    statuses = dict(sql("SELECT regexp_extract(source_path, '[^/]+$'), status FROM files"))
    assert statuses == {
        "seed.txt": "landed",
        "zz copy of seed.txt": "duplicate",
        "empty.txt": "quarantined",
        "image.txt": "quarantined",
        "feed.jsonl": "landed",
    }
    assert sql("SELECT regexp_extract(source_path, '[^/]+$'), reason_code FROM quarantine ORDER BY 1") == [
        ("empty.txt", "empty"),
        ("feed.jsonl", "parse_error"),
        ("image.txt", "binary"),
    ]
    shutil.rmtree(source, ignore_errors=True)

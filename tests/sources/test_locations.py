"""One rule for "is this location a URL or a folder", shared by the sources, the CLI and the lake's data path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.sources.local import LocalSource
from tasks.sources.locations import is_remote, open_source
from tasks.sources.object_store import ObjectStoreSource
from tasks.store.lake import Warehouse


@pytest.mark.parametrize(
    ("location", "remote"),
    [
        ("s3://bucket/prefix/", True),
        ("S3://bucket", True),
        ("memory:///folder", True),
        ("gs://bucket", True),
        ("az://container/path", True),
        (" s3://bucket", True),  # urlsplit strips leading spaces too
        ("file:///tmp/news", False),
        ("FILE:///tmp/news", False),
        ("/tmp/news", False),
        ("seeds/news", False),
        ("C:\\news", False),  # a drive, not a scheme
        ("C://news", False),
        ("s3:bucket", False),  # no //: a folder named so
        ("news:2024", False),
        ("/data/odd://name", False),  # :// further on is part of a path
    ],
)
def test_is_remote(location: str, remote: bool) -> None:
    assert is_remote(location) is remote


def test_the_source_and_the_lake_agree(tmp_path: Path) -> None:
    assert isinstance(open_source("s3://bucket/news/"), ObjectStoreSource)
    assert isinstance(open_source(str(tmp_path)), LocalSource)
    assert Warehouse(tmp_path, data_path="s3://bucket/lake").local_data is None
    assert Warehouse(tmp_path, data_path="s3://bucket/lake").data_url == "s3://bucket/lake/"
    assert Warehouse(tmp_path, data_path=f"file://{tmp_path}/lake").local_data == tmp_path / "lake"
    assert Warehouse(tmp_path, data_path=str(tmp_path / "lake")).local_data == tmp_path / "lake"

"""The lake's data on S3 (moto's real S3 API on loopback), its catalog local: DuckDB's httpfs writes the Parquet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import SEEDS
from tests.store.conftest import S3, Wirehouse

pytestmark = pytest.mark.deep  # S3 (moto's server): the deep step

SEED_FILES = sum(1 for p in SEEDS.rglob("*") if p.is_file() and p.name != "README.md")


def objects(s3: S3, bucket: str, prefix: str) -> list[str]:
    listing = s3.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in listing for item in page.get("Contents", []))


def listed_names(cli: Wirehouse, bucket: str) -> list[str]:
    """The article data files the catalog lists, by object name."""
    rows = cli.rows("SELECT data_file FROM ducklake_list_files('lake', 'article_versions')")
    return [str(row["data_file"]).rsplit("/", 1)[-1] for row in rows]


def test_a_run_lands_the_seeds_as_parquet_objects_on_s3_and_sql_compact_and_a_second_run_work(
    tmp_path: Path, s3: S3, bucket: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    root = tmp_path / "warehouse"
    cli = wirehouse(
        {
            "WIREHOUSE_WAREHOUSE": str(root),
            "WIREHOUSE_SOURCE": str(SEEDS),
            "WIREHOUSE_DATA_PATH": f"s3://{bucket}/lake/",
            "WIREHOUSE_DATA_S3": json.dumps(s3.duckdb_secret()),
        }
    )
    out = cli("run")
    assert f"new {SEED_FILES}" in out, out
    assert (root / "catalog.sqlite").exists() and not (root / "data").exists()  # catalog here, data there
    totals = (
        "SELECT (SELECT count(*) FROM articles) AS articles, (SELECT count(*) FROM files) AS files, "
        "(SELECT sum(articles) FROM files WHERE status = 'landed') AS landed, "
        "(SELECT count(*) FROM quarantine) AS quarantined, "
        "(SELECT count(*) FROM (SELECT article_id FROM article_versions GROUP BY 1 HAVING count(*) > 1)) AS twice"
    )
    [landed] = cli.rows(totals)
    assert landed["files"] == SEED_FILES
    assert landed["articles"] == landed["landed"] > 0
    assert landed["quarantined"] == landed["twice"] == 0

    # The seeds' commits are small enough to stay inlined in the catalog: compaction flushes them to Parquet.
    out = cli("compact")
    assert "compacted" in out, out
    parquet = [key for key in objects(s3, bucket, "lake/") if key.endswith(".parquet")]
    assert any(key.startswith("lake/main/article_versions/") for key in parquet), parquet
    assert any(key.startswith("lake/main/files/") for key in parquet), parquet
    assert cli.rows(totals) == [landed]  # results stay the same, now read from the objects
    [listed] = cli.rows(
        "SELECT count(*) AS n, count(*) FILTER (WHERE data_file LIKE "
        f"'s3://{bucket}/lake/main/article_versions/%') AS on_s3 FROM ducklake_list_files('lake', 'article_versions')"
    )
    assert listed["n"] == listed["on_s3"] >= 1
    assert {f"lake/main/article_versions/{name}" for name in listed_names(cli, bucket)} <= set(parquet)

    assert "new 0" in cli("run")  # a second run: nothing new
    assert cli.rows(totals) == [landed]
    assert cli.rows("SELECT new_files FROM runs ORDER BY started_at") == [{"new_files": SEED_FILES}, {"new_files": 0}]


def test_a_lost_catalog_beside_s3_data_refuses_to_start_over_and_deletes_no_object(
    tmp_path: Path, s3: S3, bucket: str, wirehouse: Callable[[dict[str, str]], Wirehouse]
) -> None:
    """The data files a refusal counts are on S3: listed through DuckDB's httpfs with the lake's own secret."""
    root = tmp_path / "warehouse"
    env = {
        "WIREHOUSE_WAREHOUSE": str(root),
        "WIREHOUSE_SOURCE": str(SEEDS),
        "WIREHOUSE_DATA_PATH": f"s3://{bucket}/lake/",
        "WIREHOUSE_DATA_S3": json.dumps(s3.duckdb_secret()),
    }
    cli = wirehouse(env)
    cli("run")
    cli("compact")
    before = objects(s3, bucket, "lake/")
    assert any(key.endswith(".parquet") for key in before)
    for path in root.glob("catalog.sqlite*"):
        path.unlink()
    done = cli.popen("run")
    _, err = done.communicate(timeout=180)
    assert done.returncode == 1, err[-2000:]
    assert f"data file(s) under s3://{bucket}/lake/" in err and "refusing to start a new lake" in err, err[-2000:]
    assert objects(s3, bucket, "lake/") == before

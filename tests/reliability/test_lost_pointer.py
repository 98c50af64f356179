"""A lost ``data/current`` pointer (a backup/restore that drops or follows symlinks) loses no data (case 12)."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from flows.cli import app
from tasks.store.storage import Warehouse
from tests.reliability.invariants import assert_complete, write_good

SQL = Callable[..., list[tuple[Any, ...]]]


def test_runs_after_compaction_and_a_lost_pointer_keep_every_article(
    source: Path, warehouse_dir: Path, ingest: Callable[..., Any], sql: SQL
) -> None:
    rng = random.Random(12)
    for index in range(3):
        write_good(source, rng, f"first-{index}")
    ingest()
    compacted = CliRunner().invoke(app, ["compact", "--warehouse", str(warehouse_dir)])
    assert compacted.exit_code == 0, compacted.output
    write_good(source, rng, "second")
    ingest()  # its recovery retires gen-000001: gen-000002 alone holds every article now
    articles = sql("SELECT article_id, source_path FROM articles ORDER BY ALL")
    runs = set(sql("SELECT DISTINCT flow_run_id FROM runs"))
    assert len(articles) >= 4 and len(runs) == 2
    home = Warehouse(warehouse_dir)

    for restore in ("drops_links", "follows_links"):
        live = home.current.resolve()
        home.current.unlink()
        if restore == "follows_links":  # `cp -r`: the link became a directory holding a copy
            shutil.copytree(live, home.current)
        summary = ingest()
        assert (summary.new_files, summary.landed) == (0, 0), restore  # the ledger survived: nothing read again
        assert sql("SELECT article_id, source_path FROM articles ORDER BY ALL") == articles, restore
        after = set(sql("SELECT DISTINCT flow_run_id FROM runs"))
        assert runs < after and len(after) == len(runs) + 1, restore  # the run history is kept
        runs = after
        assert home.current.is_symlink(), restore
        assert_complete(source, warehouse_dir)

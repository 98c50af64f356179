"""The guarantees, asserted on a warehouse through DuckDB (shared by the reliability tests)."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from tasks.sources.discover import scan
from tasks.store.lake import Warehouse
from tests.conftest import ROOT
from tests.reliability.conftest import query

SQL_DIR = ROOT / "warehouse" / "sql"

SENTENCES = (
    "The city council approved the budget for the new school after a long debate on Tuesday evening.",
    "Farmers in the valley said the late frost had damaged most of the apple blossom this spring.",
    "The central bank kept interest rates unchanged and signalled that inflation was slowing down.",
    "Rescue teams searched the flooded streets through the night and found several families on rooftops.",
    "The museum will reopen next month with an exhibition of paintings that were hidden during the war.",
    "Researchers at the university published a study showing that the river is cleaner than a decade ago.",
    "The railway operator announced that the new line to the airport will open before the summer holidays.",
    "Local shop owners complained that the roadworks had kept customers away for almost three months.",
    "The football club confirmed that its captain will miss the rest of the season with a knee injury.",
    "Voters in the northern province will choose a new governor in an election that polls call too close.",
)


def article_text(rng: random.Random, tag: str) -> str:
    """A plausible English news text, unique through ``tag``."""
    body = " ".join(rng.sample(SENTENCES, 5))
    return f"Report {tag}: news from the region\n\n{body}\n\nThis is report {tag}, filed by our correspondent."


GOOD_KINDS = ("txt", "md", "json", "jsonl", "txt.gz")


def kind_of(path: str | Path) -> str:
    """A generated file's kind from its name: one of GOOD_KINDS (``txt.gz`` for gzipped text)."""
    name = str(path)
    return "txt.gz" if name.endswith(".txt.gz") else name.rsplit(".", 1)[-1]


def good_bytes(kind: str, rng: random.Random, tag: str, text: str | None = None) -> bytes:
    """The bytes of one good article file of ``kind`` (``text``, or a new one unique through ``tag``)."""
    text = article_text(rng, tag) if text is None else text
    if kind == "json":
        return json.dumps({"headline": f"Report {tag}", "body": text}).encode()
    if kind == "jsonl":
        second = article_text(rng, f"{tag}b")
        lines = [json.dumps({"headline": f"Report {tag}", "body": text}), json.dumps({"body": second})]
        return ("\n".join(lines) + "\n").encode()
    if kind == "txt.gz":
        return gzip.compress(text.encode("utf-8"), mtime=0)
    return text.encode("utf-8")


def bad_bytes(kind: str, rng: random.Random, tag: str) -> bytes:
    """Bytes that yield no article when named like a file of ``kind``: the whole file is quarantined."""
    choice = rng.choice(("png", "blank", "own"))
    if choice == "png":
        return b"\x89PNG\r\n\x1a\n" + rng.randbytes(300)
    if choice == "blank":
        return b"   \n"
    if kind == "json":
        return ('{"headline": "broken ' + tag + '", "body": ').encode()
    if kind == "jsonl":
        return f"{{not json {tag}\n{{nor this\n".encode()
    if kind == "txt.gz":
        return gzip.compress(article_text(rng, tag).encode())[:-12]
    return b"\x00\x01\x02 " + rng.randbytes(64) + b"\x00" * 32


def write_good(folder: Path, rng: random.Random, tag: str) -> Path:
    """One good article in a randomly chosen format (txt, md, json, jsonl, txt.gz)."""
    text = article_text(rng, tag)
    kind = rng.choice(GOOD_KINDS)
    path = folder / f"good-{tag}.{kind}"
    path.write_bytes(good_bytes(kind, rng, tag, text))
    return path


def write_bad(folder: Path, rng: random.Random, tag: str) -> Path:
    """One bad file of a randomly chosen kind (its bytes are kept in quarantine)."""
    kind = rng.choice(("empty", "png", "parse", "no_text", "jsonl_mixed", "gzip"))
    if kind == "empty":
        path = folder / f"bad-{tag}.txt"
        path.write_bytes(b"   \n")
    elif kind == "png":
        path = folder / f"bad-{tag}.txt"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + rng.randbytes(300))
    elif kind == "parse":
        path = folder / f"bad-{tag}.json"
        path.write_text('{"headline": "broken ' + tag + '", "body": ')
    elif kind == "no_text":
        path = folder / f"bad-{tag}.txt"
        path.write_text(f"{rng.randint(0, 10**9)} ... 42 !!! 7.5%")
    elif kind == "jsonl_mixed":
        path = folder / f"bad-{tag}.jsonl"
        path.write_text(json.dumps({"body": article_text(rng, f"{tag}j")}) + "\n{not json " + tag + "\n")
    else:
        path = folder / f"bad-{tag}.txt.gz"
        path.write_bytes(gzip.compress(article_text(rng, tag).encode())[:-12])
    return path


def assert_consistent(warehouse: Path) -> None:
    """What must hold after any crash: nothing twice, nothing half-visible, every row traceable."""
    if not _has_tables(warehouse):
        return  # killed before the lake's tables were committed: nothing is visible yet, which is consistent
    versions = (
        "SELECT source_path, file_version FROM files WHERE status <> 'unchanged' GROUP BY ALL HAVING count(*) > 1"
    )
    assert query(warehouse, versions) == []
    assert (
        query(warehouse, "SELECT article_id, file_version FROM article_versions GROUP BY ALL HAVING count(*) > 1") == []
    )
    assert query(warehouse, "SELECT article_id FROM articles GROUP BY ALL HAVING count(*) > 1") == []
    # every article version belongs to a landed ledger row of the same batch, and the counts agree
    orphans = query(
        warehouse,
        "SELECT a.source_path, a.file_version FROM article_versions a "
        "ANTI JOIN files f ON f.source_path = a.source_path AND f.file_version = a.file_version "
        "AND f.batch_id = a.batch_id AND f.status = 'landed'",
    )
    assert orphans == []
    mismatched = query(
        warehouse,
        "SELECT f.source_path, f.file_version, f.articles, count(a.article_id) FROM files f "
        "LEFT JOIN article_versions a USING (source_path, file_version) WHERE f.status = 'landed' "
        "GROUP BY ALL HAVING count(a.article_id) <> f.articles",
    )
    assert mismatched == []
    unledgered = query(
        warehouse,
        "SELECT q.source_path, q.file_version FROM quarantine q "
        "ANTI JOIN files f ON f.source_path = q.source_path AND f.file_version = q.file_version",
    )
    assert unledgered == []
    assert_articles_current(warehouse)


def assert_articles_current(warehouse: Path) -> None:
    """The ``articles`` table holds exactly what its sources derive: every article recomputed from scratch with the
    statements each commit uses for the articles it touched (held_articles.sql) equals the rows the commits kept."""
    connection = Warehouse(warehouse).connect()
    try:
        if not connection.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = 'lake' AND table_name = 'articles'"
        ).fetchall():
            return  # a lake from before the table: the first writer session creates it
        connection.execute(
            "CREATE TEMP TABLE scope AS SELECT article_id FROM article_versions UNION SELECT article_id FROM content_articles"
        )
        connection.execute(f"CREATE TEMP TABLE held AS {_statement('held_articles')}")
        columns = ", ".join(f'"{row[0]}"' for row in connection.execute("DESCRIBE articles").fetchall())
        derived = f"SELECT {columns} FROM ({_statement('held_article_rows')})"
        kept = f"SELECT {columns} FROM articles"
        params = {"written_now": False}
        missing = connection.execute(f"SELECT article_id FROM ({derived} EXCEPT ALL {kept})", params).fetchall()
        extra = connection.execute(f"SELECT article_id FROM ({kept} EXCEPT ALL {derived})", params).fetchall()
    finally:
        connection.close()
    assert (missing, extra) == ([], []), f"articles is not what its sources hold: missing {missing}, extra {extra}"


def _statement(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8").strip().rstrip(";")


def _has_tables(warehouse: Path) -> bool:
    home = Warehouse(warehouse)
    if not home.exists():
        return False
    return bool(
        query(
            warehouse, "SELECT 1 FROM information_schema.tables WHERE table_catalog = 'lake' AND table_name = 'files'"
        )
    )


def data_files_on_disk(warehouse: Path) -> set[str]:
    """The names of the Parquet files under the data folder (DuckLake names each with a UUID)."""
    return {p.name for p in (warehouse / "data").rglob("*.parquet")}


def data_files_in_catalog(warehouse: Path) -> set[str]:
    """The names of every data and delete file the catalog accounts for: read by the current snapshot or an older
    one time travel still reaches, or scheduled for deletion. A file on disk outside this set is an orphan."""
    rows = query(
        warehouse,
        """
        SELECT path FROM __ducklake_metadata_lake.ducklake_data_file
        UNION ALL SELECT path FROM __ducklake_metadata_lake.ducklake_delete_file
        UNION ALL SELECT path FROM __ducklake_metadata_lake.ducklake_files_scheduled_for_deletion
        """,
    )
    return {Path(path).name for (path,) in rows}


def assert_complete(source: Path, warehouse: Path) -> None:
    """After a run that finished: every source file's current version is in the ledger, nothing pending, and every
    data file on disk belongs to the lake (a killed writer's files were removed by the next session)."""
    assert_consistent(warehouse)
    on_disk = {found.ref.source_path: (found.ref.size, found.ref.mtime_ns) for found in scan(source)}
    ledger = {
        path: (size, mtime_ns, status)
        for path, size, mtime_ns, status in query(
            warehouse, "SELECT source_path, size, mtime_ns, status FROM file_status"
        )
    }
    for path, (size, mtime_ns) in on_disk.items():
        assert path in ledger, f"{path} was never recorded"
        assert ledger[path][:2] == (size, mtime_ns), f"{path}: the ledger holds an older version"
        assert ledger[path][2] in {"landed", "duplicate", "quarantined", "unchanged"}, path
    gone = {path for path, (_, _, status) in ledger.items() if status != "deleted"} - set(on_disk)
    assert gone == set(), f"deleted files not marked deleted: {gone}"
    assert query(warehouse, "SELECT count(*) FROM runs WHERE status = 'running'") == [(0,)]
    home = Warehouse(warehouse)
    assert data_files_on_disk(warehouse) == data_files_in_catalog(warehouse)
    assert list(home.kept.glob("**/.tmp-*")) == []


def stale_views(warehouse: Path) -> None:
    """Make the lake's views look out of date (as after an upgrade), so the next writer session rewrites them."""
    home = Warehouse(warehouse)
    if not home.exists():
        return  # the first run creates them
    connection = home.connect(read_only=False)
    try:
        connection.execute("COMMENT ON VIEW runs IS 'stale'")  # the view whose comment stamps views.sql
    finally:
        connection.close()

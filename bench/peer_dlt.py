"""The peer: the plain dlt pipeline a data engineer would write instead of wirehouse.

dlt's filesystem source lists the folder, incremental on each file's modification time; a transformer reads the
bytes, decodes them (gzip, UTF-8 with replacement) and detects the language with langdetect in the same
process; dlt loads the rows into a DuckDB file. Run by ``python -m bench --peer`` with the Python of a virtualenv
of its own (``bench/.peer-venv``: dlt and wirehouse pin different libraries), so it imports nothing of wirehouse:

    bench/.peer-venv/bin/python bench/peer_dlt.py SOURCE WORK
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.sources.filesystem import FileItemDict, filesystem
from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException


@dlt.transformer(name="articles", write_disposition="merge", primary_key="path")
def articles(items: list[FileItemDict]) -> Iterator[dict[str, Any]]:
    for item in items:
        data = item.read_bytes()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                continue
        text = data.decode("utf-8", errors="replace")
        try:
            language = detect(text)
        except LangDetectException:
            language = "und"
        yield {
            "path": item["relative_path"],
            "modified": item["modification_date"],
            "size": item["size_in_bytes"],
            "language": language,
            "chars": len(text),
            "text": text,
        }


def main(source: Path, work: Path) -> None:
    DetectorFactory.seed = 0
    files = filesystem(bucket_url=source.resolve().as_uri(), file_glob="**/*")
    files.apply_hints(incremental=dlt.sources.incremental("modification_date"))
    pipeline = dlt.pipeline(
        pipeline_name="peer",
        pipelines_dir=str(work / "pipelines"),
        destination=dlt.destinations.duckdb(str(work / "peer.duckdb")),
        dataset_name="news",
    )
    info = pipeline.run(files | articles)
    print(info)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

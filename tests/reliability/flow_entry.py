"""Run the real flow in a child process (the crash tests kill it): ``python -m tests.reliability.flow_entry``.

Arguments: SOURCE WAREHOUSE [setting=value ...]. Prints the run summary as one JSON line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from flows.ingest_articles import ingest_articles
from tasks.settings import Settings


def main(argv: list[str]) -> None:
    source, warehouse, *pairs = argv
    options = dict(pair.split("=", 1) for pair in pairs)
    summary = ingest_articles(Settings(source=source, warehouse=Path(warehouse), **options))  # type: ignore[arg-type]
    print(json.dumps({"status": summary.status, "message": summary.message, "new_files": summary.counts.new_files}))


if __name__ == "__main__":
    main(sys.argv[1:])

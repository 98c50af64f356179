"""The dlt peer (``bench/peer_dlt.py``) in a virtualenv of its own, created on first use from the package index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench import measure

VENV = Path(__file__).resolve().parent / ".peer-venv"
SCRIPT = Path(__file__).resolve().parent / "peer_dlt.py"
REQUIREMENTS = ("dlt[duckdb,filesystem]>=1.31", "langdetect>=1.0.9")
QUIET = {"DLT_TELEMETRY_DISABLED": "1", "RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING"}


def python() -> Path:
    """The peer's interpreter, its virtualenv created (and dlt installed) when missing."""
    interpreter = VENV / "bin" / "python"
    if not (VENV / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(interpreter), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
        (VENV / ".installed").write_text("\n".join(REQUIREMENTS) + "\n")
    return interpreter


def run(source: Path, work: Path) -> measure.RunResult:
    """One run of the peer over ``source`` (its state and DuckDB file under ``work``), timed with its RSS."""
    work.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("VIRTUAL_ENV")} | QUIET
    result = measure.command([str(python()), str(SCRIPT), str(source), str(work)], env=env)
    if result.returncode:
        raise SystemExit(f"the dlt peer failed ({result.returncode}): {result.stderr_tail}")
    return result


def articles(work: Path) -> int:
    """Rows the peer loaded (read with the peer's own DuckDB: the file is in its format)."""
    statement = "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT count(*) FROM news.articles').fetchall()[0][0])"
    out = subprocess.run([str(python()), "-c", statement, str(work / "peer.duckdb")], check=True, capture_output=True)
    return int(out.stdout)

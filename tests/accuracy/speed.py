"""Per-article enrichment cost on the corpus articles: ``python -m tests.accuracy.speed``.

Compares raw ``langdetect.detect`` (the ceiling the performance issue measures against), wirehouse's
``detect_language`` and the whole ``enrich_document`` (language, metadata, entities, quotes, keywords,
amounts, fingerprint), each on the same parsed article texts, one core, after a warm-up pass
(langdetect profiles and gazetteers load once per process and are reported apart).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

from tasks.models import Document, FileRef
from tasks.parse import parse_file
from tests.accuracy.evaluate import corpus_dir


def articles(root: Path) -> list[tuple[Document, FileRef]]:
    with (root / "labels.csv").open(encoding="utf-8", newline="") as handle:
        files = [row["file"] for row in csv.DictReader(handle) if row["kind"] == "article"]
    docs = []
    for name in files:
        data = (root / name).read_bytes()
        ref = FileRef(name, len(data), (root / name).stat().st_mtime_ns)
        docs += [(doc, ref) for doc in parse_file(name, data, max_decompressed_bytes=10**8).documents]
    return docs


def interleaved_ms(
    steps: dict[str, Callable[[Document, FileRef], object]], docs: list[tuple[Document, FileRef]], rounds: int
) -> dict[str, float]:
    """Mean ms per article of each step, the steps run back to back on each article so that load from
    other processes on the machine weighs on all of them alike."""
    totals = dict.fromkeys(steps, 0.0)
    for _ in range(rounds):
        for doc, ref in docs:
            for name, fn in steps.items():
                started = time.perf_counter()
                fn(doc, ref)
                totals[name] += time.perf_counter() - started
    return {name: total / (rounds * len(docs)) * 1000 for name, total in totals.items()}


def main(rounds: int = 5) -> None:
    from langdetect import DetectorFactory, detect

    from tasks.enrich import enrich_document
    from tasks.entities import _gazetteer
    from tasks.language import detect_language

    docs = articles(corpus_dir())
    DetectorFactory.seed = 0
    started = time.perf_counter()
    detect("warm up the profiles")
    profiles = time.perf_counter() - started
    started = time.perf_counter()
    _gazetteer()
    gazetteer = time.perf_counter() - started
    for doc, ref in docs:  # warm-up pass
        enrich_document(doc, ref)
    times = interleaved_ms(
        {
            "raw": lambda d, _: detect(d.text),
            "ours": lambda d, _: detect_language(d.text),
            "full": enrich_document,
        },
        docs,
        rounds,
    )
    raw, ours, full = times["raw"], times["ours"], times["full"]
    size = sum(len(d.text) for d, _ in docs) / len(docs)
    print(f"{len(docs)} corpus articles, {size:.0f} characters on average, {rounds} rounds, one core")
    print("| step | ms per article | vs raw langdetect |")
    print("|---|---|---|")
    print(f"| raw `langdetect.detect` | {raw:.2f} | 1.00× |")
    print(f"| wirehouse `detect_language` | {ours:.2f} | {ours / raw:.2f}× |")
    print(f"| full `enrich_document` | {full:.2f} | {full / raw:.2f}× |")
    print(f"once per process: langdetect profiles {profiles:.2f} s, gazetteers {gazetteer:.2f} s")


if __name__ == "__main__":
    main()

"""Enrichment cost against language detection alone, per article: ``python -m tests.accuracy.speed``.

One core, after a warm-up pass (langdetect profiles and gazetteers load once per process and are reported
apart). Each step runs as a pass over all articles, and the passes alternate round after round, so that load
from other processes weighs on every step alike, and no step finds another step's work on the same article
still in the CPU caches (timing steps back to back on each article flattered the later ones by ~20%).

* the labelled corpus articles: raw ``langdetect.detect``, wirehouse's ``detect_language``, and the whole
  enrichment (language, metadata, entities, quotes, keywords, amounts, fingerprint) as a worker runs it:
  ``enrich_documents`` over chunks of 64 articles;
* the extractor pages (``tests/accuracy/extractor_pages``): trafilatura's ``bare_extraction`` with metadata on the
  decoded page (text and metadata in one call, which itself runs htmldate) against ``parse_file`` (decode, one lxml
  parse, trafilatura's extraction and metadata steps with provenance, htmldate, the menu check);
* the performance benchmark's synthetic files (``bench.corpus``): what its ceiling does per article (raw
  langdetect on the text) against what an enrichment worker does per chunk of 64 files (``enrich_jobs``:
  decode, parse, enrich).

"Throughput drop" is 1 − (time of language detection alone) / (time of the step).
"""

from __future__ import annotations

import csv
import gzip
import time
from collections.abc import Callable
from pathlib import Path

from tasks.models import Document, FileRef, Rejection
from tasks.parse.decode import decode_bytes
from tasks.parse.documents import parse_file
from tests.accuracy.evaluate import EXTRACTOR_PAGES, corpus_dir

CHUNK = 64  # as flows.ingest_articles.CHUNK_FILES


def articles(root: Path) -> list[tuple[Document, FileRef]]:
    with (root / "labels.csv").open(encoding="utf-8", newline="") as handle:
        files = [row["file"] for row in csv.DictReader(handle) if row["kind"] == "article"]
    docs = []
    for name in files:
        data = (root / name).read_bytes()
        ref = FileRef(name, len(data), (root / name).stat().st_mtime_ns)
        docs += [(doc, ref) for doc in parse_file(name, data, max_decompressed_bytes=10**8).documents]
    return docs


def html_pages(root: Path) -> list[tuple[str, bytes]]:
    """(name, gunzipped bytes) of a labelled set's HTML pages."""
    with (root / "labels.csv").open(encoding="utf-8", newline="") as handle:
        names = [row["file"] for row in csv.DictReader(handle) if row["format"] == "html"]
    return [(name.removesuffix(".gz"), gzip.decompress((root / name).read_bytes())) for name in names]


def alternating_passes_ms(passes: dict[str, Callable[[], object]], items: int, rounds: int) -> dict[str, float]:
    """Mean ms per item of each pass (a function over all items), the passes alternating round after round."""
    totals = dict.fromkeys(passes, 0.0)
    for _ in range(rounds):
        for name, run in passes.items():
            started = time.perf_counter()
            run()
            totals[name] += time.perf_counter() - started
    return {name: total / (rounds * items) * 1000 for name, total in totals.items()}


def table(rows: list[tuple[str, float]], baseline: float) -> list[str]:
    lines = ["| step | ms per article | cost vs raw langdetect | throughput drop |", "|---|---|---|---|"]
    for name, ms in rows:
        drop = f"{1 - baseline / ms:.0%}" if ms > baseline else "–"
        lines.append(f"| {name} | {ms:.2f} | {ms / baseline:.2f}× | {drop} |")
    return lines


def main(rounds: int = 5, bench_files: int = 600) -> None:
    import trafilatura
    from langdetect import DetectorFactory, detect

    from bench.corpus import generate
    from tasks.enrich.gazetteer import capitalised_places as _gazetteer
    from tasks.enrich.language import detect_language
    from tasks.enrich.steps import enrich_documents, enrich_jobs

    DetectorFactory.seed = 0
    started = time.perf_counter()
    detect("warm up the profiles")
    profiles = time.perf_counter() - started
    started = time.perf_counter()
    _gazetteer()
    gazetteer = time.perf_counter() - started

    docs = articles(corpus_dir())
    texts = [doc.text for doc, _ in docs]
    enrich_documents(docs)  # warm-up pass
    times = alternating_passes_ms(
        {
            "raw": lambda: [detect(text) for text in texts],
            "ours": lambda: [detect_language(text) for text in texts],
            "full": lambda: [enrich_documents(docs[i : i + CHUNK]) for i in range(0, len(docs), CHUNK)],
        },
        len(docs),
        rounds,
    )
    size = sum(map(len, texts)) / len(texts)
    print(f"Corpus articles: {len(docs)}, {size:.0f} characters on average, {rounds} rounds, one core")
    print()
    steps = [
        ("raw `langdetect.detect`", times["raw"]),
        ("wirehouse `detect_language`", times["ours"]),
        ("full enrichment (`enrich_documents`)", times["full"]),
    ]
    print("\n".join(table(steps, times["raw"])))
    print(
        f"full enrichment vs wirehouse's own language step alone: {times['full'] / times['ours']:.2f}× "
        f"(throughput drop {1 - times['ours'] / times['full']:.0%})"
    )

    pages = html_pages(EXTRACTOR_PAGES)
    decoded = [decode_bytes(data) for _, data in pages]
    texts_html = [d.text for d in decoded if not isinstance(d, Rejection)]
    html = alternating_passes_ms(
        {
            "trafilatura": lambda: [
                trafilatura.bare_extraction(t, with_metadata=True, include_comments=False, include_tables=False)
                for t in texts_html
            ],
            "parse": lambda: [parse_file(name, data, max_decompressed_bytes=10**8) for name, data in pages],
        },
        len(pages),
        max(1, rounds // 2),
    )
    print()
    print(f"HTML pages (`tests/accuracy/extractor_pages`): {len(pages)}")
    print()
    steps = [
        ("trafilatura `bare_extraction(with_metadata=True)` alone", html["trafilatura"]),
        ("`parse_file` (decode, parse once, extraction, metadata with sources, htmldate)", html["parse"]),
    ]
    print("\n".join(table(steps, html["trafilatura"])))

    items = [item for item in generate(bench_files, corpus=corpus_dir()) if item.kind == "article"]
    bench_texts = [item.text or "" for item in items]
    jobs = [(FileRef(i.path, len(i.data), 1_600_000_000 * 10**9), i.data, 50_000_000) for i in items]
    enrich_jobs(jobs[:CHUNK])
    bench = alternating_passes_ms(
        {
            "raw": lambda: [detect(text) for text in bench_texts],
            "jobs": lambda: [enrich_jobs(jobs[i : i + CHUNK]) for i in range(0, len(jobs), CHUNK)],
        },
        len(items),
        max(1, rounds // 2),
    )
    size = sum(map(len, bench_texts)) / len(items)
    print()
    print(f"Benchmark files (`bench.corpus`, first {bench_files}): {len(items)} articles, {size:.0f} characters")
    print()
    steps = [
        ("raw `langdetect.detect` on the text (the ceiling's work)", bench["raw"]),
        ("`enrich_jobs` on the files (decode, parse, enrich)", bench["jobs"]),
    ]
    print("\n".join(table(steps, bench["raw"])))
    print()
    print(f"once per process: langdetect profiles {profiles:.2f} s, gazetteers {gazetteer:.2f} s")


if __name__ == "__main__":
    main()

"""A deterministic, streaming synthetic source folder built from the shared corpus texts.

Articles are 0.5–8 KB slices of the real articles in ``../shared/corpora/articles/article`` (44 languages,
so langdetect does its real work), written as .txt (most), .md, .json and .html; ~5% are byte-for-byte
duplicates of a recent file under another path and ~2% are bad files (empty, binary, broken JSON, digits
only, corrupt gzip). Nothing is held in memory beyond the source texts and a small ring of recent files.
"""

from __future__ import annotations

import html
import json
import os
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora"
FILES_PER_DIR = 1000
DUPLICATE_SHARE = 0.05
BAD_SHARE = 0.02
_BAD_KINDS = ("empty", "binary", "broken_json", "digits", "bad_gzip")


@dataclass(frozen=True, slots=True)
class Item:
    index: int
    path: str  # relative to the source folder
    data: bytes
    kind: str  # article | duplicate | bad
    text: str | None = None  # the article text langdetect sees (articles only)


def source_texts(corpus: Path = DEFAULT_CORPUS) -> list[list[str]]:
    """Paragraphs of every plain-text article in the shared corpus (sorted by name: deterministic)."""
    texts = []
    for path in sorted((corpus / "articles" / "article").glob("*.txt")):
        paragraphs = [p.strip() for p in path.read_text(encoding="utf-8").split("\n") if p.strip()]
        if sum(len(p) for p in paragraphs) >= 300:
            texts.append(paragraphs)
    if not texts:
        raise SystemExit(f"no corpus texts under {corpus}/articles/article")
    return texts


def _article_text(rng: random.Random, texts: list[list[str]], index: int) -> str:
    paragraphs = texts[rng.randrange(len(texts))]
    target = rng.randint(500, 8000)
    start = rng.randrange(len(paragraphs))
    out: list[str] = []
    size = 0
    i = start
    while size < target:
        paragraph = paragraphs[i % len(paragraphs)]
        out.append(paragraph)
        size += len(paragraph.encode("utf-8")) + 2
        i += 1
    text = "\n\n".join(out)
    while len(text.encode("utf-8")) > 8000 and len(out) > 1:
        out.pop()
        text = "\n\n".join(out)
    return f"{text}\n\n№ {index}"  # digits only: unique text, same language


def _render(rng: random.Random, text: str, index: int) -> tuple[str, bytes]:
    roll = rng.random()
    title, _, body = text.partition("\n\n")
    if roll < 0.85 or not body:
        return "txt", text.encode("utf-8")
    if roll < 0.90:
        return "md", f"# {title}\n\n{body}".encode()
    if roll < 0.96:
        return "json", json.dumps({"headline": title, "body": body, "doc_id": index}, ensure_ascii=False).encode()
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n"))
    page = (
        f"<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><article><h1>{html.escape(title)}</h1>{paragraphs}</article></body></html>"
    )
    return "html", page.encode()


def _bad(rng: random.Random, index: int) -> tuple[str, bytes]:
    kind = _BAD_KINDS[index % len(_BAD_KINDS)]
    if kind == "empty":
        return "txt", b""
    if kind == "binary":
        return "txt", b"\x89PNG\r\n\x1a\n" + rng.randbytes(512)
    if kind == "broken_json":
        return "json", b'{"headline": "cut off", "body": "no end'
    if kind == "digits":
        return "txt", b"1234 5678 -- 90 %% 11/12/13\n" * 4
    return "gz", b"\x1f\x8b\x08\x00" + rng.randbytes(64)


def generate(n: int, *, seed: int = 7, start: int = 0, corpus: Path = DEFAULT_CORPUS) -> Iterator[Item]:
    """Items ``start .. n-1`` of the synthetic corpus for ``seed`` (item i is the same whatever ``start`` is)."""
    texts = source_texts(corpus)
    recent: deque[tuple[str, bytes]] = deque(maxlen=256)
    for index in range(n):
        rng = random.Random(f"{seed}:{index}")  # per item: any slice regenerates identically
        roll = rng.random()
        directory = f"d{index // FILES_PER_DIR:04d}"
        if roll < BAD_SHARE:
            ext, data = _bad(rng, index)
            item = Item(index, f"{directory}/bad_{index:07d}.{ext}", data, "bad")
        elif roll < BAD_SHARE + DUPLICATE_SHARE and recent:
            ext, data = recent[rng.randrange(len(recent))]
            item = Item(index, f"{directory}/dup_{index:07d}.{ext}", data, "duplicate")
        else:
            text = _article_text(rng, texts, index)
            ext, data = _render(rng, text, index)
            recent.append((ext, data))
            item = Item(index, f"{directory}/a_{index:07d}.{ext}", data, "article", text)
        if index >= start:  # earlier items are still generated: the duplicates' ring depends on them
            yield item


def write(folder: Path, n: int, *, seed: int = 7, start: int = 0) -> dict[str, int]:
    """Write items ``start .. n-1`` under ``folder``; return counts per kind and bytes written."""
    counts = {"article": 0, "duplicate": 0, "bad": 0, "bytes": 0}
    made: set[str] = set()
    for item in generate(n, seed=seed, start=start):
        path = folder / item.path
        if path.parent.name not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent.name)
        with open(path, "wb") as handle:
            handle.write(item.data)
        old = 1_600_000_000 + item.index  # fixed, old mtimes: deterministic and never "still being written"
        os.utime(path, (old, old))
        counts[item.kind] += 1
        counts["bytes"] += len(item.data)
    return counts


def texts(n: int, *, seed: int = 7) -> Iterator[str]:
    """The article texts of the corpus (what the ceiling detects), streamed."""
    for item in generate(n, seed=seed):
        if item.text is not None:
            yield item.text

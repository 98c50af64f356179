"""Enrichment accuracy on a labelled corpus (``../shared/corpora`` layout): ``python -m tests.accuracy.evaluate``.

Language, per corpus kind: wirehouse's ``detect_language`` (through the real parse path) against raw
``langdetect.detect`` on the same decoded file text, with a confusion summary of the misses.
Metadata, on HTML files with labels: title (exact after normalisation), date (same day), author
(same set of names after normalisation).

Scoring: a file counts as correct when the answer equals the label; ``und`` (or a ``no_text``
rejection) is correct only for ``zxx`` (no linguistic content) and for labels langdetect cannot answer
(e.g. ``eu``, ``is``): abstaining is then the right answer. ``und`` elsewhere is a miss, but not a
confident wrong answer: the table counts those apart (``wrong``).
"""

from __future__ import annotations

import csv
import os
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tasks.enrich.language import LANGDETECT_CODES
from tasks.models import FileRef, Rejection
from tasks.parse.decode import decode_bytes
from tasks.parse.documents import parse_file

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora"
KINDS = ("article", "html", "legacy_encoding", "short", "awkward")


def corpus_dir() -> Path:
    return Path(os.environ.get("WIREHOUSE_CORPUS", DEFAULT_CORPUS))


@dataclass
class KindScore:
    files: int = 0
    ours: int = 0
    raw: int = 0
    ours_wrong: int = 0
    raw_wrong: int = 0
    ours_und: int = 0
    misses: Counter[tuple[str, str]] = field(default_factory=Counter)  # (label, answer) of our misses


@dataclass
class MetaScore:
    labelled: int = 0
    correct: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (file, label, ours)

    @property
    def precision(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0


@dataclass
class Evaluation:
    kinds: dict[str, KindScore]
    title: MetaScore
    date: MetaScore
    author: MetaScore


def is_correct(label: str, answer: str) -> bool:
    if answer == "und":
        return label in ("zxx", "und") or label not in LANGDETECT_CODES
    return answer == label


def raw_baseline(root: Path) -> dict[str, str]:
    """The corpus's own record of raw ``langdetect.detect`` answers (langdetect_baseline.csv), if shipped."""
    path = root / "langdetect_baseline.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["file"]: row["detected"] for row in csv.DictReader(handle)}


def raw_langdetect(data: bytes, encoding: str) -> str:
    """langdetect.detect on the decoded file (markup included), zh variants folded: when no baseline file."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:
        decoded = decode_bytes(data)
        text = "" if isinstance(decoded, Rejection) else decoded.text
    try:
        code: str = detect(text)
    except LangDetectException:
        return "und"
    return "zh" if code.startswith("zh-") else code


def normalise(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).casefold()
    value = re.sub(r"[\W_]+", " ", value)
    return " ".join(value.split())


def same_title(label: str, ours: str | None) -> bool:
    return ours is not None and normalise(label) == normalise(ours)


def same_date(label: str, ours: str | None) -> bool:
    if not ours:
        return False
    try:
        return date.fromisoformat(label[:10]) == date.fromisoformat(ours[:10])
    except ValueError:
        return False


def same_authors(label: str, ours: str | None) -> bool:
    if not ours:
        return False
    split = re.compile(r"\s*(?:;|,|\band\b|\bund\b|\bet\b|\by\b|&)\s*")
    want = {normalise(a) for a in split.split(label) if normalise(a)}
    got = {normalise(a) for a in split.split(ours) if normalise(a)}
    return want == got


def evaluate(root: Path | None = None) -> Evaluation:
    """Run the real parse + enrichment path over every labelled file."""
    from tasks.enrich.steps import enrich_document

    root = root or corpus_dir()
    kinds: dict[str, KindScore] = defaultdict(KindScore)
    title, published, author = MetaScore(), MetaScore(), MetaScore()
    with (root / "labels.csv").open(encoding="utf-8", newline="") as handle:
        labels = list(csv.DictReader(handle))
    baseline = raw_baseline(root)
    for label in labels:
        path = root / label["file"]
        data = path.read_bytes()
        stat = path.stat()
        ref = FileRef(label["file"], stat.st_size, stat.st_mtime_ns)
        parsed = parse_file(label["file"], data, max_decompressed_bytes=50_000_000)
        rows = [enrich_document(doc, ref) for doc in parsed.documents]
        answer = rows[0]["language"] if rows else "und"
        score = kinds[label["kind"]]
        score.files += 1
        raw = baseline.get(label["file"]) or raw_langdetect(data, label["encoding"])
        raw = "zh" if raw.startswith("zh-") else raw
        expected = label["language"]
        score.raw += is_correct(expected, raw)
        score.raw_wrong += not is_correct(expected, raw) and raw != "und"
        if is_correct(expected, answer):
            score.ours += 1
        else:
            score.misses[(expected, answer)] += 1
            score.ours_wrong += answer != "und"
        score.ours_und += answer == "und"
        row = rows[0] if rows else {}
        if label["format"] == "html" and label["kind"] in ("html", "awkward"):
            for metric, key, check in (
                (title, "title", same_title),
                (published, "published", same_date),
                (author, "author", same_authors),
            ):
                if label[key]:
                    metric.labelled += 1
                    if check(label[key], row.get(key)):  # type: ignore[operator]
                        metric.correct += 1
                    else:
                        metric.misses.append((label["file"], label[key], str(row.get(key))))
    return Evaluation({k: kinds[k] for k in KINDS if k in kinds}, title, published, author)


def report(result: Evaluation, *, verbose: bool = False) -> str:
    lines = [
        "| kind | files | raw langdetect correct | wirehouse correct | raw wrong | wirehouse wrong | wirehouse und |",
        "|---|---|---|---|---|---|---|",
    ]
    total = KindScore()
    for kind, score in result.kinds.items():
        lines.append(
            f"| {kind} | {score.files} | {score.raw} ({score.raw / score.files:.0%}) | "
            f"{score.ours} ({score.ours / score.files:.0%}) | {score.raw_wrong} | {score.ours_wrong} | {score.ours_und} |"
        )
        for attr in ("files", "raw", "ours", "raw_wrong", "ours_wrong", "ours_und"):
            setattr(total, attr, getattr(total, attr) + getattr(score, attr))
    lines.append(
        f"| **all** | {total.files} | {total.raw} ({total.raw / total.files:.0%}) | "
        f"{total.ours} ({total.ours / total.files:.0%}) | {total.raw_wrong} | {total.ours_wrong} | {total.ours_und} |"
    )
    lines += ["", "Misses (label → wirehouse answer):", ""]
    for kind, score in result.kinds.items():
        misses = ", ".join(f"{a}→{b}×{n}" if n > 1 else f"{a}→{b}" for (a, b), n in sorted(score.misses.items()))
        lines.append(f"- {kind}: {misses or 'none'}")
    lines += [
        "",
        "| metadata (HTML pages with a label) | labelled | correct | precision | target |",
        "|---|---|---|---|---|",
    ]
    for name, metric, target in (
        ("title (exact after normalisation)", result.title, 0.9),
        ("publish date (same day)", result.date, 0.8),
        ("author (same names)", result.author, 0.7),
    ):
        lines.append(f"| {name} | {metric.labelled} | {metric.correct} | {metric.precision:.0%} | ≥ {target:.0%} |")
    if verbose:
        for name, metric in (("title", result.title), ("date", result.date), ("author", result.author)):
            for file, want, got in metric.misses:
                lines.append(f"  {name} miss {file}: want {want!r} got {got!r}")
    return "\n".join(lines)


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else corpus_dir()
    if not (root / "labels.csv").exists():
        print(f"no labelled corpus at {root} (set WIREHOUSE_CORPUS)", file=sys.stderr)
        return 2
    print(report(evaluate(root), verbose="-v" in sys.argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

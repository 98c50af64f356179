"""Enrichment accuracy on the labelled sets: ``python -m tests.accuracy.evaluate [-v] [set folder …]``.

Two sets in the ``../shared/corpora`` layout (``labels.csv`` beside the files): the shared corpus (or
``$WIREHOUSE_CORPUS``) and ``extractor_pages/``, pages other extractors test against (see its NOTICE.md).

Language, per corpus kind: wirehouse's ``detect_language`` (through the real parse path) against raw
``langdetect.detect`` on the same decoded file text, with a confusion summary of the misses.
Metadata, on HTML files with labels: title (exact after normalisation), author (same set of names after
normalisation), date (same day), site name; wirehouse against trafilatura's ``extract_metadata`` and htmldate's
``find_date`` alone on the same pages, the floor wirehouse must hold.

Scoring: a file counts as correct when the answer equals the label; ``und`` (or a ``no_text``
rejection) is correct only for ``zxx`` (no linguistic content) and for labels langdetect cannot answer
(e.g. ``eu``, ``is``): abstaining is then the right answer. ``und`` elsewhere is a miss, but not a
confident wrong answer: the table counts those apart (``wrong``).
"""

from __future__ import annotations

import csv
import gzip
import html
import os
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tasks.enrich.language import LANGDETECT_CODES
from tasks.models import FileRef, Rejection
from tasks.parse.decode import decode_bytes
from tasks.parse.documents import parse_file

DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora"
EXTRACTOR_PAGES = Path(__file__).resolve().parent / "extractor_pages"  # the second set, checked in (NOTICE.md)
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
    """One metadata field on one set: how often wirehouse and the trafilatura/htmldate baseline match a label."""

    labelled: int = 0
    correct: int = 0
    baseline: int = 0  # trafilatura.extract_metadata / htmldate.find_date alone, same pages, same comparison
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)  # (file, label, ours, baseline)

    @property
    def precision(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0

    @property
    def baseline_precision(self) -> float:
        return self.baseline / self.labelled if self.labelled else 0.0


METADATA = ("title", "author", "date", "site")


@dataclass
class Evaluation:
    name: str
    kinds: dict[str, KindScore]
    metadata: dict[str, MetaScore]  # METADATA → score
    instant: MetaScore = field(default_factory=MetaScore)  # published_at against labels that state a time

    @property
    def title(self) -> MetaScore:
        return self.metadata["title"]

    @property
    def date(self) -> MetaScore:
        return self.metadata["date"]

    @property
    def author(self) -> MetaScore:
        return self.metadata["author"]


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


def raw_langdetect(data: bytes, encoding: str, *, markup: bool = False) -> str:
    """langdetect.detect on the decoded file, zh variants folded: when no baseline file. ``markup``: HTML reduced to
    its text first (scripts, styles, comments and tags removed), as the shared corpus's baseline file was made."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        text = data.decode(encoding, errors="replace")
    except LookupError:
        decoded = decode_bytes(data)
        text = "" if isinstance(decoded, Rejection) else decoded.text
    if markup:
        text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>|<!--.*?-->", " ", text)
        text = html.unescape(re.sub(r"<[^>]*>", " ", text))
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


_UTC_LABEL = re.compile(r"T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]00:?00)$")


def same_date(label: str, ours: str | date | None) -> bool:
    """The same day. A label that is a UTC instant (``…T21:19:00.000Z``: Mercury's labels) does not say the day in
    the page's own zone, which is the day a page states: any day within one of the UTC day matches."""
    if not ours:
        return False
    try:
        want, got = date.fromisoformat(label[:10]), date.fromisoformat(str(ours)[:10])
    except ValueError:
        return False
    return abs((got - want).days) <= 1 if _UTC_LABEL.search(label) else got == want


def same_instant(label: str, ours: datetime | None) -> bool:
    from tasks.enrich.metadata import parse_instant

    want = parse_instant(label)
    return want is not None and ours is not None and abs((ours - want).total_seconds()) < 60


def same_authors(label: str, ours: str | None) -> bool:
    if not ours:
        return False
    split = re.compile(r"\s*(?:;|,|\band\b|\bund\b|\bet\b|\by\b|&)\s*")
    want = {normalise(a) for a in split.split(label) if normalise(a)}
    got = {normalise(a) for a in split.split(ours) if normalise(a)}
    return want == got


def _site_key(value: str) -> str:
    key = "".join(normalise(value).split())
    return re.sub(r"(?:\.?(?:com|net|org|fr|de|cz|co\.uk|jp))+$", "", key.removeprefix("the"))


def same_site(label: str, ours: str | None) -> bool:
    """The same name once case, spaces, a leading "The" and a trailing ".com"-like suffix are set aside."""
    return ours is not None and bool(_site_key(label)) and _site_key(label) == _site_key(ours)


CHECKS = {"title": same_title, "author": same_authors, "date": same_date, "site": same_site}
LABEL_COLUMNS = {"title": "title", "author": "author", "date": "published", "site": "site"}


def baseline_metadata(data: bytes) -> dict[str, str | None]:
    """What trafilatura and htmldate give alone: ``extract_metadata`` for title, author and site, and
    ``find_date`` (extensive search, original date) for the date, each on the page's bytes."""
    import htmldate
    import trafilatura

    found = trafilatura.extract_metadata(data)
    day = htmldate.find_date(data, extensive_search=True, original_date=True)
    return {"title": found.title, "author": found.author, "date": day, "site": found.sitename}


def _ours(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": row.get("title"),
        "author": row.get("author"),
        "date": row.get("published_date"),
        "site": row.get("site"),
    }


def labelled_sets() -> dict[str, Path]:
    """The sets ``make eval`` scores: the shared corpus (when present) and the checked-in extractor pages."""
    return {"shared corpus": corpus_dir(), "extractor pages": EXTRACTOR_PAGES}


def evaluate(root: Path | None = None, *, name: str | None = None) -> Evaluation:
    """Run the real parse + enrichment path over every labelled file, and the baseline over its HTML pages."""
    from tasks.enrich.steps import enrich_document

    root = root or corpus_dir()
    kinds: dict[str, KindScore] = defaultdict(KindScore)
    metadata = {metric: MetaScore() for metric in METADATA}
    instant = MetaScore()
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
        page = gzip.decompress(data) if label["file"].endswith(".gz") else data
        raw = baseline.get(label["file"]) or raw_langdetect(
            page, label.get("encoding") or "", markup=label["format"] == "html"
        )
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
        if label["format"] != "html" or label["kind"] not in ("html", "awkward"):
            continue
        if not any(label.get(column) for column in LABEL_COLUMNS.values()):
            continue
        ours = _ours(rows[0] if rows else {})
        theirs = baseline_metadata(page)
        for metric, column in LABEL_COLUMNS.items():
            if not label.get(column):
                continue
            check, result = CHECKS[metric], metadata[metric]
            result.labelled += 1
            result.baseline += check(label[column], theirs[metric])
            if check(label[column], ours[metric]):
                result.correct += 1
            else:
                result.misses.append((label["file"], label[column], str(ours[metric]), str(theirs[metric])))
        if label.get("published") and _HAS_TIME.search(label["published"]):
            instant.labelled += 1
            if same_instant(label["published"], rows[0].get("published_at") if rows else None):
                instant.correct += 1
    found = {k: kinds[k] for k in KINDS if k in kinds}
    return Evaluation(name or root.name, found, metadata, instant)


_HAS_TIME = re.compile(r"T\d\d:\d\d.*(?:Z|[+-]\d\d:?\d\d)$")


def report(result: Evaluation, *, verbose: bool = False) -> str:
    lines = [
        f"### {result.name}",
        "",
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
        "| metadata (HTML pages with a label) | labelled | wirehouse | trafilatura / htmldate alone |",
        "|---|---|---|---|",
    ]
    names = {
        "title": "title (exact after normalisation)",
        "author": "author (same names)",
        "date": "publish date (same day)",
        "site": "site name",
    }
    for metric, name in names.items():
        field_score = result.metadata[metric]
        if not field_score.labelled:
            lines.append(f"| {name} | 0 | – | – |")
            continue
        lines.append(
            f"| {name} | {field_score.labelled} | {field_score.correct} ({field_score.precision:.0%}) | "
            f"{field_score.baseline} ({field_score.baseline_precision:.0%}) |"
        )
    if result.instant.labelled:
        lines.append(
            f"| publish time (same instant, labels with a time and zone) | {result.instant.labelled} | "
            f"{result.instant.correct} ({result.instant.precision:.0%}) | – (htmldate gives the day) |"
        )
    if verbose:
        for metric in METADATA:
            for file, want, got, theirs in result.metadata[metric].misses:
                lines.append(f"  {metric} miss {file}: want {want!r} got {got!r} (baseline {theirs!r})")
    return "\n".join(lines)


def main() -> int:
    verbose = "-v" in sys.argv
    roots = [Path(a) for a in sys.argv[1:] if not a.startswith("-")]
    sets = {root.name: root for root in roots} if roots else labelled_sets()
    printed = 0
    for name, root in sets.items():
        if not (root / "labels.csv").exists():
            print(f"no labelled corpus at {root} (set WIREHOUSE_CORPUS)", file=sys.stderr)
            continue
        print(report(evaluate(root, name=name), verbose=verbose) + "\n")
        printed += 1
    return 0 if printed else 2


if __name__ == "__main__":
    raise SystemExit(main())

"""``python -m bench.hostile``: how ``decode_bytes`` and ``parse_file`` grow on hostile inputs.

Each case builds an input of about N bytes for N doubling from ``--start`` to ``--stop`` and times the call
(best of ``--repeat``). It prints per case the seconds at each size and the growth exponent: the
least-squares slope of log(seconds) over log(size), about 1 for a linear path and 2 for a quadratic one.
A case stops growing once one call takes longer than ``--budget`` seconds, so a super-linear path shows
its exponent without taking minutes. ``--max-exponent X`` exits 1 when any case grows faster than X.
"""

from __future__ import annotations

import argparse
import gzip
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from tasks.models import Rejection
from tasks.parse.decode import decode_bytes
from tasks.parse.documents import parse_file

FRENCH = "Le conseil municipal a approuvé le budget de la nouvelle école après un long débat mardi soir. "
ENGLISH = "The council approved the budget for the new school after a long debate on Tuesday evening. "
CAP = 100_000_000  # max_decompressed_bytes: far above every input here, so gzip never stops early


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    path: str  # the file name parse_file sees; "" times decode_bytes alone
    build: Callable[[int], bytes]  # about n bytes of input


def _repeat(unit: bytes, n: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    return head + unit * max(1, (n - len(head) - len(tail)) // len(unit)) + tail


def _multi_member_gzip(n: int) -> bytes:
    member = gzip.compress(ENGLISH.encode() * 2, mtime=0)  # 184 bytes of text in ~120 bytes
    return member * max(1, n // len(member))


CASES = (
    Case("stray cp1252 bytes in UTF-8 (0.5%)", "", lambda n: _repeat(FRENCH.encode() * 4 + b"\x93ok\x94 ", n)),
    Case("long run of spaces, no newline", "", lambda n: _repeat(b" ", n, b"word", b"end")),
    Case("combining marks, alternating classes", "", lambda n: _repeat("\u0316\u0301".encode(), n, b"a")),
    Case("menu-only HTML, unclosed <nav>", "menu.html", lambda n: _repeat(b"<nav><a href='/s'>Section</a> ", n)),
    Case("HTML, many sibling <nav> with tails", "navs.html", lambda n: _repeat(b"<nav></nav>x ", n, b"<p>Text.</p>")),
    Case("HTML, many <title openers", "titles.html", lambda n: _repeat(b"<title>", n, ENGLISH.encode())),
    Case("HTML, many <h1 openers", "h1.html", lambda n: _repeat(b"<h1 x>", n, ENGLISH.encode())),
    Case("HTML, many short paragraphs", "paras.html", lambda n: _repeat(b"<p>" + ENGLISH.encode() + b"</p>\n", n)),
    Case("HTML, deep nesting", "deep.html", lambda n: _repeat(b"<div>", n, tail=ENGLISH.encode())),
    Case(
        "HTML, deep nesting + '<' never closed", "lt.html", lambda n: _repeat(b"<div>", n // 2) + _repeat(b"< ", n // 2)
    ),
    Case("JSON, deep nesting", "deep.json", lambda n: _repeat(b"[", n)),
    Case("JSONL, deep nesting on each line", "deep.jsonl", lambda n: _repeat(b"[" * 5000 + b"\n", n)),
    Case("text, one very long line", "line.txt", lambda n: _repeat(ENGLISH.encode(), n)),
    Case("Markdown, one very long line", "line.md", lambda n: _repeat(b"word [x](y) *a* ", n, b"# ")),
    Case("Markdown, many tiny paragraphs", "paras.md", lambda n: _repeat(b"a\n\n", n)),
    Case("Markdown, unclosed emphasis runs", "emph.md", lambda n: _repeat(b"*x **y _z `w ", n)),
    Case("Markdown, unclosed link openers", "links.md", lambda n: _repeat(b"[a](b [c](", n)),
    Case("Markdown, heading with long space runs", "heading.md", lambda n: _repeat(b" " * 100 + b"a", n, b"# a")),
    Case("gzip, many members", "many.txt.gz", _multi_member_gzip),
)


def _call(case: Case, data: bytes) -> str:
    """Run the case once; a short account of what came out (shown for the largest size)."""
    if not case.path:
        decoded = decode_bytes(data)
        return decoded.reason_code.value if isinstance(decoded, Rejection) else f"text ({decoded.encoding})"
    parsed = parse_file(case.path, data, max_decompressed_bytes=CAP)
    reasons = sorted({r.reason_code.value for r in parsed.rejections})
    return ", ".join([f"{len(parsed.documents)} doc"] * bool(parsed.documents) + reasons)


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(seconds) over log(size); None with fewer than three sizes."""
    if len(points) < 3:
        return None
    xs = [math.log(size) for size, _ in points]
    ys = [math.log(max(seconds, 1e-6)) for _, seconds in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def measure(case: Case, sizes: list[int], repeat: int, budget: float) -> tuple[list[tuple[int, float]], str]:
    """(size, best seconds) per size until one call exceeds ``budget``; and the outcome at the largest."""
    points: list[tuple[int, float]] = []
    outcome = ""
    for size in sizes:
        data = case.build(size)
        best = math.inf
        for _ in range(repeat):
            started = time.perf_counter()
            outcome = _call(case, data)
            best = min(best, time.perf_counter() - started)
            if best > budget:
                break
        points.append((len(data), best))
        if best > budget:
            break
    return points, outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=50_000, help="smallest input in bytes (default 50,000)")
    parser.add_argument("--stop", type=int, default=1_600_000, help="largest input in bytes (default 1,600,000)")
    parser.add_argument("--repeat", type=int, default=3, help="calls per size, best kept (default 3)")
    parser.add_argument(
        "--budget", type=float, default=1.0, help="seconds per call before a case stops growing (default 1)"
    )
    parser.add_argument("--max-exponent", type=float, default=None, help="exit 1 when a case grows faster")
    parser.add_argument("--case", action="append", default=[], help="only cases whose name contains this")
    args = parser.parse_args(argv)

    sizes = [args.start]
    while sizes[-1] * 2 <= args.stop:
        sizes.append(sizes[-1] * 2)
    cases = [c for c in CASES if not args.case or any(part.lower() in c.name.lower() for part in args.case)]
    width = max(len(c.name) for c in cases)
    print(f"{'case':<{width}}  " + "  ".join(f"{s // 1000:>6}K" for s in sizes) + "  exponent  outcome")
    started = time.perf_counter()
    worst: list[str] = []
    for case in cases:
        points, outcome = measure(case, sizes, args.repeat, args.budget)
        slope = exponent(points)
        cells = [f"{seconds:>7.3f}" for _, seconds in points] + ["      -"] * (len(sizes) - len(points))
        shown = f"{slope:>8.2f}" if slope is not None else "       ?"
        print(f"{case.name:<{width}}  " + "  ".join(cells) + f"  {shown}  {outcome}", flush=True)
        if args.max_exponent is not None and (slope is None or slope > args.max_exponent):
            worst.append(f"{case.name} ({shown.strip()})")
    print(f"seconds per call, best of {args.repeat}; total {time.perf_counter() - started:.1f} s")
    if worst:
        print(f"growth above {args.max_exponent}: " + "; ".join(worst))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

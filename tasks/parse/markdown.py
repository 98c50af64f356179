"""Markdown → one Document: the syntax stripped, the first heading its title."""

from __future__ import annotations

import bisect
import re

from tasks.models import Document, Reason, Rejection
from tasks.parse.decode import normalise_text
from tasks.parse.text import heading_title


def markdown_document(text: str) -> Document | Rejection:
    title: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        heading = _md_heading(line)
        if heading is not None:
            line = heading
            title = title or line
        lines.append(_strip_emphasis(_strip_links(line)))
    plain = normalise_text("\n".join(lines))
    if not plain:  # only link, emphasis or heading syntax
        return Rejection(Reason.NO_BODY, "Markdown has no text once its syntax is removed", "parse")
    if title:
        return Document(plain, 0, title=title, fields={"title_source": "markdown-heading"})
    title = heading_title(plain)
    return Document(plain, 0, title=title, fields={"title_source": "text"} if title else {})


# Each helper below does what the regex in its docstring does, in linear time: as regexes they backtrack (a heading
# with a long run of spaces inside is cubic: 5,000 spaces take 6 min; unclosed links and emphasis quadratic).
_MD_HEADING_START = re.compile(r"\s{0,3}#{1,6}\s")
_EMPHASIS_MARK = re.compile(r"[*_`]")
_EMPHASIS_CLOSERS = {mark: re.compile(rf"(?<=\S)(?={re.escape(mark)})") for mark in ("**", "__", "*", "_", "`")}


def _md_heading(line: str) -> str | None:
    r"""Text of an ATX heading line: group 1 of ``^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$``, or None."""
    if (start := _MD_HEADING_START.match(line)) is None:
        return None
    rest = line[start.end() - 1 :]  # from the whitespace after the hashes
    text = rest.lstrip()
    if not text:  # only spaces: the regex gives one back to (.+?) when it can
        return rest[-1] if len(rest) > 1 else None
    return text[: max(1, len(text.rstrip().rstrip("#").rstrip()))]  # closing hashes and spaces dropped


def _strip_links(line: str) -> str:
    r"""``[text](target)`` and ``![alt](src)`` → their text: ``!?\[([^\]]*)\]\([^)]*\)`` replaced by ``\1``.

    Once a ``[`` has no ``]`` after it, or a ``](`` no ``)``, no later link can close either: stop there.
    """
    if "](" not in line:
        return line
    parts: list[str] = []
    kept = search = 0
    close = -1  # the first "]" after the current "[" (the same for every "[" before it)
    while (opening := line.find("[", search)) >= 0:
        if close < opening and (close := line.find("]", opening + 1)) < 0:
            break
        if not line.startswith("(", close + 1):
            search = opening + 1
            continue
        if (end := line.find(")", close + 2)) < 0:
            break
        bang = opening > 0 and line[opening - 1] == "!"
        parts += (line[kept : opening - bang], line[opening + 1 : close])
        kept = search = end + 1
    parts.append(line[kept:])
    return "".join(parts)


def _strip_emphasis(line: str) -> str:
    r"""``**b**``, ``*i*``, ``__b__``, ``_i_``, ```code``` → their text: ``(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1`` by ``\2``.

    Where each closing mark can be is listed once per line, so an opener without a closer costs a lookup,
    not a scan to the end of the line.
    """
    if _EMPHASIS_MARK.search(line) is None:
        return line
    closers: dict[str, list[int]] = {}
    parts: list[str] = []
    kept = search = 0
    while (found := _EMPHASIS_MARK.search(line, search)) is not None:
        opening = found.start()
        char = line[opening]
        for mark in (char * 2, char) if char != "`" else (char,):
            inner = opening + len(mark)
            if not line.startswith(mark, opening) or inner >= len(line) or line[inner].isspace():
                continue
            if mark not in closers:
                closers[mark] = [m.start() for m in _EMPHASIS_CLOSERS[mark].finditer(line)]
            at = bisect.bisect_left(closers[mark], inner + 1)
            if at < len(closers[mark]):
                close = closers[mark][at]
                parts += (line[kept:opening], line[inner:close])
                kept = search = close + len(mark)
                break
        else:
            search = opening + 1
    parts.append(line[kept:])
    return "".join(parts)

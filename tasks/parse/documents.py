"""File bytes → articles (Documents): gzip, plain text, Markdown, HTML, JSON and JSONL."""

from __future__ import annotations

import bisect
import html
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tasks.models import Document, Reason, Rejection
from tasks.parse.decode import Decoded, decode_bytes, normalise_text

FORMATS = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}

TEXT_KEYS = ("body", "text", "content", "articleBody", "article", "maintext", "description")
TITLE_KEYS = ("headline", "title", "name")
META_KEYS = {
    "author": ("author", "authors", "byline", "creator"),
    "published": ("published", "date", "datePublished", "published_at", "publish_date", "pubDate"),
    "url": ("url", "link", "canonical_url"),
    "site": ("source", "site", "sitename", "publisher"),
}

# Searched in the first 4 KiB only: `[^>]+` backtracking over many `<meta` openers is bounded by that window.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_TITLE_END = re.compile(r"[.,;:]$")
_GZIP_MAGIC = b"\x1f\x8b"
_NOT_NUL = re.compile(rb"[^\x00]")


@dataclass(slots=True)
class Parsed:
    format: str
    encoding: str | None = None
    documents: list[Document] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def format_of(source_path: str) -> tuple[str | None, bool]:
    """(format, gzipped) from the file name; format None when we do not read it."""
    name = source_path.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    dot = name.rfind(".")
    return FORMATS.get(name[dot:]) if dot >= 0 else None, gzipped


def gunzip(data: bytes, *, limit: int, chunk: int = 65_536) -> bytes | Rejection:
    """Decompress every member of a gzip file, ``chunk`` input bytes at a time, stopping past ``limit``.

    The cap counts the output of all members together while they inflate, so a bomb in any member costs
    at most ``limit`` + 1 bytes. Concatenated members (``cat a.gz b.gz``) decompress to the concatenation
    of their contents. NUL bytes after a complete member are padding (tape blocks, preallocated files)
    and are skipped, as gzip(1) and Python's gzip module skip them; a member may follow them. Anything
    else after a member, like a truncated or corrupt member, is a ``gzip_error``: gzip(1) warns about
    such "trailing garbage", and a file that is not what it claims is quarantined whole.
    """
    start, members = 0, 0
    out = bytearray()
    view = memoryview(data)
    try:
        while True:
            reader = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            end = start
            while not reader.eof:
                if end >= len(data):
                    return Rejection(Reason.GZIP_ERROR, f"truncated gzip stream (member {members + 1})", "read")
                piece = view[end : end + chunk]
                end += len(piece)
                # Output stops at limit + 1, so when it does not exceed the limit the piece was consumed whole.
                out += reader.decompress(piece, limit + 1 - len(out))
                if len(out) > limit:
                    return Rejection(Reason.DECOMPRESSION_BOMB, f"decompresses to more than {limit} bytes", "read")
            members += 1
            if (after := _NOT_NUL.search(data, end - len(reader.unused_data))) is None:
                return bytes(out)
            start = after.start()
            if not data.startswith(_GZIP_MAGIC, start):
                return Rejection(
                    Reason.GZIP_ERROR, f"{len(data) - start} bytes after gzip member {members} are not gzip", "read"
                )
    except zlib.error as error:
        return Rejection(Reason.GZIP_ERROR, f"corrupt gzip (member {members + 1}): {error}", "read")


def parse_file(source_path: str, data: bytes, *, max_decompressed_bytes: int) -> Parsed:
    """Turn one file's bytes into documents and per-record rejections; never raises on bad input.

    Any bytes under any name: a Parsed with documents, rejections, or both (JSONL). Every step is linear
    in the input, so no file stalls a worker beyond its size.
    """
    fmt, gzipped = format_of(source_path)
    if fmt is None:
        return Parsed(
            "unknown", rejections=[Rejection(Reason.UNSUPPORTED_FORMAT, "extension is not one we read", "discover")]
        )
    if gzipped:
        unpacked = gunzip(data, limit=max_decompressed_bytes)
        if isinstance(unpacked, Rejection):
            return Parsed(fmt, rejections=[unpacked])
        data = unpacked
    if fmt == "html":
        return _parse_html(data)
    decoded = decode_bytes(data)
    if isinstance(decoded, Rejection):
        return Parsed(fmt, rejections=[decoded])
    parsed = Parsed(fmt, decoded.encoding)
    if fmt == "json":
        _parse_json(decoded.text, parsed)
    elif fmt == "jsonl":
        _parse_jsonl(decoded.text, parsed)
    elif fmt == "md":
        doc = _markdown_document(decoded.text)
        (parsed.rejections if isinstance(doc, Rejection) else parsed.documents).append(doc)  # type: ignore[arg-type]
    else:
        title = heading_title(decoded.text)
        parsed.documents.append(
            Document(decoded.text, 0, title=title, fields={"title_source": "text"} if title else {})
        )
    return parsed


def heading_title(text: str) -> str | None:
    """The first line when it reads as a headline: short, followed by more text, no sentence end."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not first or not rest.strip() or len(first) > 200 or len(first.split()) > 30:
        return None
    return None if _TITLE_END.search(first) else first


def _markdown_document(text: str) -> Document | Rejection:
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


# The Markdown helpers below each do what one regex did, in linear time; the regex is in the docstring.
# As regexes they backtracked: a heading with a long run of spaces inside was cubic (5,000 spaces: 6 min),
# unclosed links and emphasis quadratic.
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


def _pick(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)
    return None


def _json_document(obj: Any, index: int) -> Document | Rejection:
    if not isinstance(obj, dict):
        return Rejection(
            Reason.WRONG_SHAPE, f"expected an article object, got {type(obj).__name__}", "parse", index or None
        )
    body = _as_text(_pick(obj, TEXT_KEYS))
    title = _as_text(_pick(obj, TITLE_KEYS))
    text = normalise_text(body) if body is not None else ""
    if not text:  # also a body of only BOMs: not whitespace to strip(), gone once normalised
        keys = ", ".join(sorted(obj)[:8])
        return Rejection(Reason.NO_BODY, f"no article text in keys ({keys})", "parse", index or None)
    found = {name: v for name, keys in META_KEYS.items() if (v := _pick(obj, keys)) is not None}
    fields = {name: value for name, raw in found.items() if (value := _field_text(raw)) is not None}
    fields |= {f"{name}_source": "json" for name in list(fields)}
    title = normalise_text(title) if title else None
    if title:
        fields["title_source"] = "json"
        if not text.startswith(title):
            text = f"{title}\n\n{text}"
    return Document(text, index, title=title, fields=fields)


def _field_text(value: Any) -> str | None:
    """A metadata value as text (a list joined with commas); None when it nests too deep to print."""
    try:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    except RecursionError:  # json.loads can read nesting that str() then cannot print from a deeper frame
        return None


def _loads(text: str) -> Any | Rejection:
    """One JSON value, or a parse_error saying why not (a rejection's detail, without record index)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        return Rejection(Reason.PARSE_ERROR, f"malformed JSON: {error}", "parse")
    except (ValueError, RecursionError) as error:  # an integer past 4,300 digits; nesting past the stack
        return Rejection(Reason.PARSE_ERROR, f"unreadable JSON ({type(error).__name__}): {error}", "parse")


def _parse_json(text: str, parsed: Parsed) -> None:
    obj = _loads(text)
    doc = obj if isinstance(obj, Rejection) else _json_document(obj, 0)
    (parsed.rejections if isinstance(doc, Rejection) else parsed.documents).append(doc)  # type: ignore[arg-type]


def _parse_jsonl(text: str, parsed: Parsed) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        obj = _loads(line)
        if isinstance(obj, Rejection):
            parsed.rejections.append(Rejection(obj.reason_code, f"line {number}: {obj.detail}", "parse", number))
            continue
        doc = _json_document(obj, number)
        (parsed.rejections if isinstance(doc, Rejection) else parsed.documents).append(doc)  # type: ignore[arg-type]


def _parse_html(data: bytes) -> Parsed:
    declared = _META_CHARSET.search(data[:4096])
    decoded = decode_bytes(data, declared=declared.group(1).decode("ascii", "replace") if declared else None)
    if isinstance(decoded, Rejection):
        return Parsed("html", rejections=[decoded])
    parsed = Parsed("html", decoded.encoding)
    doc = html_document(decoded)
    (parsed.rejections if isinstance(doc, Rejection) else parsed.documents).append(doc)  # type: ignore[arg-type]
    return parsed


def html_document(decoded: Decoded) -> Document | Rejection:
    """Main text and metadata of a web page (trafilatura: the extractor the news tools agree on).

    The page is parsed once: trafilatura's extraction, its metadata steps and htmldate (``page_metadata``) read
    the same tree. A page trafilatura extracts text from is an article, unless that text is only the page's
    link texts (a menu); when it extracts nothing, even favouring recall, the visible text outside menus,
    header and footer is kept, and a page with neither has no body.

    trafilatura's time grows faster than the page (it re-joins the tails of every element it removes), so a
    page of more than ``_MAX_EXTRACTED_ELEMENTS`` elements, far beyond any article page, keeps its visible
    text (menus, header, footer dropped) without trafilatura's main text or metadata.
    """
    import trafilatura  # imported here: only workers that meet HTML pay for it

    from tasks.parse.page_metadata import page_metadata

    try:  # third-party parsers on hostile markup: whatever they raise is this page's problem, not the run's
        tree = _html_tree(decoded.text)
        text, found = "", None
        if tree is not None and tree.xpath("count(//*)") <= _MAX_EXTRACTED_ELEMENTS:
            found = page_metadata(tree)
            for recall in (False, True):
                extracted = trafilatura.bare_extraction(
                    tree, favor_recall=recall, include_comments=False, include_tables=False
                )
                text = normalise_text(_extracted_text(extracted))
                if text and not _only_link_texts(text, tree):
                    break
                text = ""
        visible = "" if text else _visible_text(decoded.text, tree)  # strips the tree's chrome: last
    except Exception as error:
        return Rejection(Reason.PARSE_ERROR, f"HTML could not be parsed: {type(error).__name__}: {error}", "parse")
    if not text and not visible:  # the extractor found only a menu or the <title>: that is no article
        return Rejection(Reason.NO_BODY, "HTML page has no text outside its head, menus, header and footer", "parse")
    fields: dict[str, Any] = {}
    if found is not None:
        fields |= {name: value for name, value in found.values.items() if name != "title"}
        fields |= {f"{name}_source": source for name, source in found.sources.items()}
    fields["headings"] = "\n".join(_headings(decoded.text))  # <h1>s: the headline without the site name
    # when og:title is cut short by a stray quote
    page_title = next(_elements(decoded.text[:200_000], _TITLE_OPEN, _TITLE_CLOSE), None)
    fields["page_title"] = " ".join(html.unescape(_strip_tags(page_title, "")).split()) if page_title else None
    title = normalise_text(found.values["title"]) if found is not None and found.values.get("title") else None
    return Document(text or visible, 0, title=title, fields={k: v for k, v in fields.items() if v})


def _extracted_text(extracted: Any) -> str:
    if extracted is None:
        return ""
    value = extracted.get("text") if isinstance(extracted, dict) else getattr(extracted, "text", None)
    return value if isinstance(value, str) else ""


def _only_link_texts(text: str, tree: Any) -> bool:
    """Every line of ``text`` is the text of one of the page's links or its <title>: a menu, not an article."""
    lines = {" ".join(line.split()) for line in text.split("\n") if line.strip()}
    links = {" ".join(str(a.text_content()).split()) for a in tree.iter("a", "title")}
    return lines <= links


_MAX_EXTRACTED_ELEMENTS = 20_000  # trafilatura takes seconds there on hostile markup (minutes at 200,000)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_TITLE_OPEN, _TITLE_CLOSE = re.compile(r"<title\b", re.I), re.compile(r"</title\s*>", re.I)
_H1_OPEN, _H1_CLOSE = re.compile(r"<h1\b", re.I), re.compile(r"</h1\s*>", re.I)
_TAG = re.compile(r"<[^>]+>")
_CHROME_TAGS = ("head", "script", "style", "noscript", "template", "nav", "header", "footer", "aside")
_CHROME_OPEN = re.compile(rf"<({'|'.join(_CHROME_TAGS)})\b", re.I)
_CHROME_CLOSE = {tag: re.compile(rf"</{tag}\s*>", re.I) for tag in _CHROME_TAGS}
_BODY_OPEN = re.compile(r"<body\b", re.I)


def _elements(markup: str, opening: re.Pattern[str], closing: re.Pattern[str]) -> Iterator[str]:
    r"""Inner markup of each element, as ``findall`` of ``<name\b[^>]*>(.*?)</name\s*>`` (re.S) finds it.

    Linear: once an opening tag has no ``>`` or no end tag after it, no later one has either, where the
    regex tried each of many unclosed openers to the end of the markup.
    """
    pos = 0
    while (start := opening.search(markup, pos)) is not None:
        if (inner := markup.find(">", start.end()) + 1) == 0 or (end := closing.search(markup, inner)) is None:
            return
        yield markup[inner : end.start()]
        pos = end.end()


def _strip_tags(markup: str, replacement: str) -> str:
    """Every ``<…>`` replaced. Past the last ``>`` no ``<`` can close, so the regex is not run there (each
    ``<`` would scan to the end and fail: quadratic)."""
    last = markup.rfind(">") + 1
    return _TAG.sub(replacement, markup[:last]) + markup[last:]


def _headings(markup: str) -> list[str]:
    """Text of the page's first few <h1> elements (tags stripped, entities resolved)."""
    found: list[str] = []
    for inner in _elements(markup[:500_000], _H1_OPEN, _H1_CLOSE):
        if heading := " ".join(html.unescape(_strip_tags(inner, "")).split()):
            found.append(heading)
            if len(found) == 5:
                break
    return found


def _html_tree(markup: str) -> Any:
    """The page as an lxml tree; None when lxml finds no document in it."""
    import lxml.etree
    import lxml.html

    try:  # lxml refuses str input that carries an XML encoding declaration: drop it (already decoded)
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", markup, count=1))
    except (ValueError, TypeError, lxml.etree.ParserError):
        return None


def _visible_text(markup: str, tree: Any) -> str:
    """All text a browser would show (scripts and styles dropped), one line per block; "" if unparsable.

    ``tree`` is ``_html_tree(markup)``; its page chrome is removed in place.
    """
    import lxml.etree

    if tree is None:
        return ""
    # Page chrome is not article text: a page of only menus has no body. strip_elements, not drop_tree per
    # element: drop_tree re-joins the tails of removed siblings into one growing string (quadratic).
    lxml.etree.strip_elements(tree, *_CHROME_TAGS, with_tail=False)
    content = tree.text_content()
    if not content.strip() and len(markup) > 1000:  # libxml2 drops everything nested deeper than 255 elements
        content = _stripped_text(markup)
    lines = (" ".join(line.split()) for line in content.split("\n"))
    return normalise_text("\n".join(line for line in lines if line))


def _stripped_text(markup: str) -> str:
    """Text of markup too deeply nested for the parser: chrome elements removed, tags stripped.

    A chrome element runs to its end tag; one never closed runs to the end of the markup (a ``<head>`` to
    ``<body>``), as a browser closes it there. One pass: each end tag is searched once, from its opener.
    """
    markup = markup[:5_000_000]
    kept: list[str] = []
    pos = 0
    while (opening := _CHROME_OPEN.search(markup, pos)) is not None:
        kept.append(markup[pos : opening.start()])
        tag = opening.group(1).lower()
        end = _CHROME_CLOSE[tag].search(markup, opening.end())
        if end is None and tag == "head":
            end = _BODY_OPEN.search(markup, opening.end())
            pos = end.start() if end else len(markup)
        else:
            pos = end.end() if end else len(markup)
    kept.append(markup[pos:])
    return html.unescape(_strip_tags("".join(kept), "\n"))

"""File bytes → articles (Documents): gzip, plain text, Markdown, HTML, JSON and JSONL."""

from __future__ import annotations

import gzip
import html
import json
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from tasks.decode import Decoded, decode_bytes, normalise_text
from tasks.models import Document, Reason, Rejection

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

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_TITLE_END = re.compile(r"[.,;:]$")


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


def gunzip(data: bytes, *, limit: int) -> bytes | Rejection:
    """Decompress in chunks and stop at ``limit`` bytes, so a gzip bomb costs nothing."""
    reader = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    out = bytearray()
    view = memoryview(data)
    try:
        while view:
            out += reader.decompress(view[:65536], limit + 1 - len(out))
            if len(out) > limit:
                return Rejection(Reason.DECOMPRESSION_BOMB, f"decompresses to more than {limit} bytes", "read")
            view = view[65536:] if not reader.unconsumed_tail else memoryview(reader.unconsumed_tail)
            if reader.eof:
                if reader.unused_data:  # concatenated gzip members: decode the rest the slow, capped way
                    rest = gzip.decompress(reader.unused_data)
                    if len(out) + len(rest) > limit:
                        return Rejection(Reason.DECOMPRESSION_BOMB, f"decompresses to more than {limit} bytes", "read")
                    out += rest
                break
    except (zlib.error, OSError, EOFError) as error:
        return Rejection(Reason.GZIP_ERROR, f"corrupt gzip: {error}", "read")
    if not reader.eof:
        return Rejection(Reason.GZIP_ERROR, "truncated gzip stream", "read")
    return bytes(out)


def parse_file(source_path: str, data: bytes, *, max_decompressed_bytes: int) -> Parsed:
    """Turn one file's bytes into documents and per-record rejections; never raises on bad input."""
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
        parsed.documents.append(_markdown_document(decoded.text))
    else:
        parsed.documents.append(Document(decoded.text, 0, title=heading_title(decoded.text)))
    return parsed


def heading_title(text: str) -> str | None:
    """The first line when it reads as a headline: short, followed by more text, no sentence end."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not first or not rest.strip() or len(first) > 200 or len(first.split()) > 30:
        return None
    return None if _TITLE_END.search(first) else first


def _markdown_document(text: str) -> Document:
    title: str | None = None
    lines: list[str] = []
    for line in text.split("\n"):
        heading = _MD_HEADING.match(line)
        if heading:
            line = heading.group(1)
            title = title or line
        lines.append(_MD_EMPHASIS.sub(r"\2", _MD_LINK.sub(r"\1", line)))
    plain = normalise_text("\n".join(lines))
    return Document(plain, 0, title=title or heading_title(plain))


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
    if body is None or not body.strip():
        keys = ", ".join(sorted(obj)[:8])
        return Rejection(Reason.NO_BODY, f"no article text in keys ({keys})", "parse", index or None)
    fields = {name: v for name, keys in META_KEYS.items() if (v := _pick(obj, keys)) is not None}
    fields = {k: (", ".join(map(str, v)) if isinstance(v, list) else str(v)) for k, v in fields.items()}
    title = normalise_text(title) if title else None
    text = normalise_text(body)
    if title and not text.startswith(title):
        text = f"{title}\n\n{text}"
    return Document(text, index, title=title, fields=fields)


def _parse_json(text: str, parsed: Parsed) -> None:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        parsed.rejections.append(Rejection(Reason.PARSE_ERROR, f"malformed JSON: {error}", "parse"))
        return
    doc = _json_document(obj, 0)
    (parsed.rejections if isinstance(doc, Rejection) else parsed.documents).append(doc)  # type: ignore[arg-type]


def _parse_jsonl(text: str, parsed: Parsed) -> None:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            parsed.rejections.append(
                Rejection(Reason.PARSE_ERROR, f"line {number}: malformed JSON: {error}", "parse", number)
            )
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
    """Main text and metadata of a web page (trafilatura: the extractor the news tools agree on)."""
    import trafilatura  # imported here: only workers that meet HTML pay for it

    try:
        extracted = trafilatura.bare_extraction(
            decoded.text, with_metadata=True, include_comments=False, include_tables=False
        )
    except (ValueError, RecursionError, TypeError) as error:
        return Rejection(Reason.PARSE_ERROR, f"HTML could not be parsed: {error}", "parse")
    meta: dict[str, Any] = {}
    if extracted is not None:
        meta = extracted if isinstance(extracted, dict) else extracted.as_dict()
    visible = _visible_text(decoded.text)
    if not visible:  # the extractor would fall back to a menu item or the <title>: that is no article
        return Rejection(Reason.NO_BODY, "HTML page has no text outside its head, menus, header and footer", "parse")
    text = normalise_text(meta.get("text") or "")
    if not text:  # tiny or table-laid-out pages: the main-text extractor finds nothing; keep the visible text
        text = visible
    fields = {
        "author": meta.get("author"),
        "published": meta.get("date"),
        "url": meta.get("url"),
        "site": meta.get("sitename"),
        "description": meta.get("description"),
    }
    fields["headings"] = "\n".join(_headings(decoded.text))  # <h1>s: the headline without the site name
    page_title = _PAGE_TITLE.search(decoded.text[:200_000])  # when og:title is cut short by a stray quote
    fields["page_title"] = " ".join(html.unescape(_TAG.sub("", page_title.group(1))).split()) if page_title else None
    title = normalise_text(meta["title"]) if meta.get("title") else None
    return Document(text, 0, title=title, fields={k: v for k, v in fields.items() if v})


_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_PAGE_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")


def _headings(markup: str) -> list[str]:
    """Text of the page's first few <h1> elements (tags stripped, entities resolved)."""
    found = (" ".join(html.unescape(_TAG.sub("", h)).split()) for h in _H1.findall(markup[:500_000]))
    return [h for h in found if h][:5]


def _visible_text(markup: str) -> str:
    """All text a browser would show (scripts and styles dropped), one line per block; "" if unparsable."""
    import lxml.html

    try:  # lxml refuses str input that carries an XML encoding declaration: drop it (already decoded)
        tree = lxml.html.document_fromstring(_XML_DECLARATION.sub("", markup, count=1))
    except (ValueError, TypeError, lxml.etree.ParserError):
        return ""
    for hidden in tree.xpath("//head|//script|//style|//noscript|//template|//nav|//header|//footer|//aside"):
        hidden.drop_tree()  # page chrome is not article text: a page of only menus has no body
    content = tree.text_content()
    if not content.strip() and len(markup) > 1000:  # libxml2 drops everything nested deeper than 255 elements
        content = _stripped_text(markup)
    lines = (" ".join(line.split()) for line in content.split("\n"))
    return normalise_text("\n".join(line for line in lines if line))


_CHROME = re.compile(r"<(head|script|style|noscript|template|nav|header|footer|aside)\b.*?</\1\s*>", re.I | re.S)


def _stripped_text(markup: str) -> str:
    """Text of markup too deeply nested for the parser: chrome blocks removed, tags stripped."""
    return html.unescape(_TAG.sub("\n", _CHROME.sub("", markup[:5_000_000])))

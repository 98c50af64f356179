"""File bytes → articles (Documents): the file's format from its name, gzip, then the format's parser.

Each format family has its module (text, markdown, json_documents, html_pages); this one chooses and runs it.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from tasks.models import Document, Reason, Rejection
from tasks.parse.decode import decode_bytes
from tasks.parse.html_pages import decode_page, html_document
from tasks.parse.json_documents import META_KEYS, TEXT_KEYS, TITLE_KEYS, json_records, jsonl_records
from tasks.parse.markdown import markdown_document
from tasks.parse.text import heading_title, text_document

__all__ = [
    "FORMATS",
    "META_KEYS",
    "TEXT_KEYS",
    "TITLE_KEYS",
    "Parsed",
    "format_of",
    "gunzip",
    "heading_title",
    "html_document",
    "parse_file",
]

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

_GZIP_MAGIC = b"\x1f\x8b"
_NOT_NUL = re.compile(rb"[^\x00]")


@dataclass(slots=True)
class Parsed:
    format: str
    encoding: str | None = None
    documents: list[Document] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def add(self, record: Document | Rejection) -> None:
        """File a format parser's record as a document or a rejection."""
        if isinstance(record, Rejection):
            self.rejections.append(record)
        else:
            self.documents.append(record)


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
    decoded = decode_page(data) if fmt == "html" else decode_bytes(data)
    if isinstance(decoded, Rejection):
        return Parsed(fmt, rejections=[decoded])
    parsed = Parsed(fmt, decoded.encoding)
    if fmt == "html":
        parsed.add(html_document(decoded))
    elif fmt == "json":
        for record in json_records(decoded.text):
            parsed.add(record)
    elif fmt == "jsonl":
        for record in jsonl_records(decoded.text):
            parsed.add(record)
    elif fmt == "md":
        parsed.add(markdown_document(decoded.text))
    else:
        parsed.add(text_document(decoded.text))
    return parsed

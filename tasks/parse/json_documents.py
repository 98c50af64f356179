"""JSON (one article object) and JSONL (one per line) → Documents, or a Rejection per record that is not one."""

from __future__ import annotations

import json
from typing import Any

from tasks.models import Document, Reason, Rejection
from tasks.parse.decode import normalise_text

TEXT_KEYS = ("body", "text", "content", "articleBody", "article", "maintext", "description")
TITLE_KEYS = ("headline", "title", "name")
META_KEYS = {
    "author": ("author", "authors", "byline", "creator"),
    "published": ("published", "date", "datePublished", "published_at", "publish_date", "pubDate"),
    "url": ("url", "link", "canonical_url"),
    "site": ("source", "site", "sitename", "publisher"),
}


def json_records(text: str) -> list[Document | Rejection]:
    """A JSON file: its one value as an article, or why it is not one."""
    obj = _loads(text)
    return [obj if isinstance(obj, Rejection) else _json_document(obj, 0)]


def jsonl_records(text: str) -> list[Document | Rejection]:
    """A JSONL file: each non-blank line an article or a rejection numbered by its line."""
    records: list[Document | Rejection] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        obj = _loads(line)
        if isinstance(obj, Rejection):
            records.append(Rejection(obj.reason_code, f"line {number}: {obj.detail}", "parse", number))
        else:
            records.append(_json_document(obj, number))
    return records


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

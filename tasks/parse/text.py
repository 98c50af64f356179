"""Plain text → one Document, its first line the title when it reads as a headline."""

from __future__ import annotations

import re

from tasks.models import Document

_TITLE_END = re.compile(r"[.,;:]$")


def text_document(text: str) -> Document:
    """The whole decoded text is the article; a headline-like first line is its title."""
    title = heading_title(text)
    return Document(text, 0, title=title, fields={"title_source": "text"} if title else {})


def heading_title(text: str) -> str | None:
    """The first line when it reads as a headline: short, followed by more text, no sentence end."""
    first, _, rest = text.partition("\n")
    first = first.strip()
    if not first or not rest.strip() or len(first) > 200 or len(first.split()) > 30:
        return None
    return None if _TITLE_END.search(first) else first

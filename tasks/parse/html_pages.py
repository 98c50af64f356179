"""HTML → one Document: the page's main text (trafilatura) and metadata, or its visible text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from tasks.models import Document, Reason, Rejection
from tasks.parse.decode import Decoded, decode_bytes, normalise_text

# Searched in the first 4 KiB only: `[^>]+` backtracking over many `<meta` openers is bounded by that window.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)


def decode_page(data: bytes) -> Decoded | Rejection:
    """The page's text; the charset its ``<meta>`` declares is trusted last, as any declared encoding is."""
    declared = _META_CHARSET.search(data[:4096])
    return decode_bytes(data, declared=declared.group(1).decode("ascii", "replace") if declared else None)


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
    regex tries each of many unclosed openers to the end of the markup.
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

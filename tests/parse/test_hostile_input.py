"""Hostile bytes against decode and parse: every file ends as documents or Rejections, and no path is
super-linear. Outputs only: the timings are bench/hostile.py's job.

The rewritten scanners are checked against the regexes they replace (kept here as the reference).
"""

from __future__ import annotations

import gzip
import random
import re
import tracemalloc
import unicodedata
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tasks.models import Document, Reason, Rejection
from tasks.parse import html_pages, json_documents, markdown
from tasks.parse.decode import Decoded, _utf8_repairing_cp1252, decode_bytes, normalise_text
from tasks.parse.documents import Parsed, gunzip, parse_file

ENGLISH = "The council approved the budget for the new school after a long debate on Tuesday evening."
FRENCH = "Le conseil municipal a approuvé le budget de la nouvelle école après un long débat mardi soir."
CJG = "\u034f"


def _words(seed: int, count: int) -> bytes:
    """Text that compresses poorly (random letters), so its gzip members are long."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ("".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(count))
    return (" ".join(words) + "\n").encode()


def _member(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _zeros_member(size: int) -> bytes:
    """A gzip member of ``size`` NUL bytes, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1_000_000)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.compress(bytes(size % len(block))), packer.flush()])


# --- gzip -------------------------------------------------------------------------------------------


def test_multi_member_gzip_past_the_first_read_lands_whole() -> None:
    first, second = _words(1, 40_000), _words(2, 40_000)
    data = _member(first) + _member(second)  # cat a.gz b.gz > c.gz
    assert len(data) > 4 * 65_536
    assert gunzip(data, limit=10_000_000) == first + second
    parsed = parse_file("c.txt.gz", data, max_decompressed_bytes=10_000_000)
    decoded = decode_bytes(first + second)
    assert isinstance(decoded, Decoded)
    assert not parsed.rejections and [d.text for d in parsed.documents] == [decoded.text]


@pytest.mark.parametrize("bomb_at", [0, 1, 2])
def test_a_bomb_in_any_member_stops_at_the_cap_while_inflating(bomb_at: int) -> None:
    members = [_member(ENGLISH.encode()) for _ in range(3)]
    members[bomb_at] = _zeros_member(60_000_000)  # ~58 KB: all of it fits in the first 64 KiB read
    data = b"".join(members)
    tracemalloc.start()
    try:
        result = gunzip(data, limit=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(result, Rejection) and result.reason_code == Reason.DECOMPRESSION_BOMB
    assert peak < 4_000_000, f"inflated {peak} bytes against a 1 MB cap"


def test_the_cap_counts_all_members_together() -> None:
    first, second = b"a" * 600_000, b"b" * 500_000
    data = _member(first) + _member(second)
    assert gunzip(data, limit=1_100_000) == first + second
    over = gunzip(data, limit=1_099_999)
    assert isinstance(over, Rejection) and over.reason_code == Reason.DECOMPRESSION_BOMB


@settings(max_examples=120, deadline=None)
@given(
    members=st.lists(st.binary(max_size=3000), min_size=1, max_size=5),
    padding=st.lists(st.integers(0, 12), min_size=5, max_size=5),
    chunk=st.sampled_from([1, 7, 512, 65_536]),
    level=st.sampled_from([0, 1, 9]),
)
def test_members_padding_and_chunking_give_the_concatenation(
    members: list[bytes], padding: list[int], chunk: int, level: int
) -> None:
    data = b"".join(
        gzip.compress(m, compresslevel=level, mtime=0) + bytes(pad) for m, pad in zip(members, padding, strict=False)
    )
    whole = b"".join(members)
    assert gunzip(data, limit=len(whole), chunk=chunk) == whole
    if whole:
        over = gunzip(data, limit=len(whole) - 1, chunk=chunk)
        assert isinstance(over, Rejection) and over.reason_code == Reason.DECOMPRESSION_BOMB


GOOD = _member(ENGLISH.encode())


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "truncated"),
        (GOOD[:-10], "truncated"),
        (GOOD + GOOD[:-10], "truncated gzip stream (member 2)"),
        (GOOD + b"\x1f", "not gzip"),
        (GOOD + b"trailing garbage", "not gzip"),
        (GOOD + bytes(100) + b"x", "not gzip"),
        (GOOD + GOOD[:-8] + b"\x00\x00\x00\x00" + GOOD[-4:], "corrupt gzip (member 2)"),  # CRC zeroed
        (b"\x1f\x8b\x08\x00" + bytes(range(200)), "corrupt"),
        (ENGLISH.encode(), "corrupt"),  # not gzip at all
    ],
)
def test_truncated_corrupt_or_trailed_gzip_is_a_gzip_error(data: bytes, detail: str) -> None:
    result = gunzip(data, limit=1_000_000)
    assert isinstance(result, Rejection) and result.reason_code == Reason.GZIP_ERROR
    assert detail in result.detail


def test_nul_padding_after_and_between_members_is_ignored() -> None:
    assert gunzip(GOOD + bytes(4096), limit=1_000_000) == ENGLISH.encode()
    assert gunzip(GOOD + bytes(3) + GOOD + bytes(1), limit=1_000_000) == ENGLISH.encode() * 2


# --- decode -----------------------------------------------------------------------------------------


def _reference_repair(data: bytes) -> str | None:
    """The previous, quadratic implementation: the outputs must not change."""
    parts: list[str] = []
    bad = 0
    pos = 0
    while pos < len(data):
        try:
            parts.append(data[pos:].decode("utf-8"))
            break
        except UnicodeDecodeError as error:
            parts.append(data[pos : pos + error.start].decode("utf-8"))
            parts.append(data[pos + error.start : pos + error.start + 1].decode("cp1252", errors="replace"))
            pos += error.start + 1
            bad += 1
            if bad > max(4, len(data) // 100):
                return None
    return "".join(parts)


_UTF8_PIECES = st.one_of(
    st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=3),
    st.sampled_from([b"\x93", b"\x94", b"\xe9", b"\x81", b"\xed\xa0\x80", b"\xe2\x80", b"\xf0\x9f\x98", b"\xc3"]),
)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(_UTF8_PIECES, max_size=30), filler=st.integers(0, 600))
def test_cp1252_repair_matches_the_byte_by_byte_reference(pieces: list[bytes], filler: int) -> None:
    data = b"".join(pieces) + b"x" * filler  # filler moves the 1% threshold
    assert _utf8_repairing_cp1252(data) == _reference_repair(data)


class _CountingBytes(bytes):
    """Bytes that count how much of themselves slicing copies."""

    copied = 0

    def __getitem__(self, key: Any) -> Any:
        part = super().__getitem__(key)
        if isinstance(key, slice):
            type(self).copied += len(part)
        return part


def test_cp1252_repair_reads_its_input_once() -> None:
    data = (FRENCH.encode() * 4 + b" \x93ok\x94 ") * 250  # 500 stray bytes in 96 KB: 0.5%
    _CountingBytes.copied = 0
    repaired = _utf8_repairing_cp1252(_CountingBytes(data))
    assert repaired is not None and repaired.count("\u201cok\u201d") == 250
    assert _CountingBytes.copied <= len(data), f"copied {_CountingBytes.copied} bytes of a {len(data)}-byte input"


@pytest.mark.parametrize(("strays", "repaired"), [(10, True), (11, False)])
def test_more_than_one_percent_stray_bytes_is_not_utf8(strays: int, repaired: bool) -> None:
    data = "é".encode() + b"a" * 998 + b"\xe9" * strays  # threshold: 1% of the length
    assert (_utf8_repairing_cp1252(data) is not None) is repaired


@pytest.mark.parametrize("declared", ["undefined", "idna", "punycode", "unicode_escape", "base64", "rot13", "nope"])
def test_a_declared_charset_that_is_no_charset_never_raises(declared: str) -> None:
    result = decode_bytes(b"caf\xe9 au lait, cr\xe8me br\xfbl\xe9e " * 20, declared=declared)
    assert isinstance(result, Decoded | Rejection)
    parsed = parse_file(
        "x.html", f'<meta charset="{declared}"><p>'.encode() + b"caf\xe9 cr\xe8me " * 40, max_decompressed_bytes=10**6
    )
    assert parsed.documents or parsed.rejections


_OLD_TRAILING_SPACE = re.compile(r"[ \t\u00a0]+\n")


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=" \t\u00a0\nx", max_size=40))
def test_trailing_space_rule_matches_the_regex_it_replaces(text: str) -> None:
    from tasks.parse.decode import _TRAILING_SPACE

    assert _TRAILING_SPACE.sub("\n", text) == _OLD_TRAILING_SPACE.sub("\n", text)


def test_long_runs_of_spaces_are_kept_inside_a_line_and_dropped_at_its_end() -> None:
    assert normalise_text("word" + " " * 20_000 + "end") == "word" + " " * 20_000 + "end"
    assert normalise_text("word" + " \t\u00a0" * 7_000 + "\nend") == "word\nend"


def _non_starter_runs(text: str) -> list[int]:
    runs, current = [], 0
    for char in text:
        current = current + 1 if unicodedata.combining(char) else 0
        runs.append(current)
    return runs


def test_a_run_of_more_than_30_combining_marks_gets_a_grapheme_joiner_every_30() -> None:
    text = "a" + "\u0316\u0301" * 100  # 200 marks of alternating classes: zalgo
    out = normalise_text(text)
    assert out.count(CJG) == 6 and max(_non_starter_runs(out)) == 30
    pieces = ["a" + "\u0316\u0301" * 15] + ["\u0316\u0301" * 15] * 5 + ["\u0316\u0301" * 10]
    assert out == unicodedata.normalize("NFC", CJG.join(pieces))


@pytest.mark.parametrize("marks", [1, 29, 30])
def test_runs_of_at_most_30_marks_are_plain_nfc(marks: int) -> None:
    text = "e" + "".join("\u0316\u0301"[i % 2] for i in range(marks)) + " x"
    assert normalise_text(text) == unicodedata.normalize("NFC", text)


def test_many_control_characters_are_still_binary() -> None:
    result = decode_bytes(b"\x01\x02" * 5_000 + ENGLISH.encode())
    assert isinstance(result, Rejection) and result.reason_code == Reason.BINARY


# --- Markdown ---------------------------------------------------------------------------------------

_OLD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_OLD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_OLD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_OLD_TAG = re.compile(r"<[^>]+>")


@settings(max_examples=500, deadline=None)
@given(line=st.text(alphabet=" \t\u00a0#ab", max_size=16))
def test_heading_scanner_matches_the_regex(line: str) -> None:
    old = _OLD_HEADING.match(line)
    assert markdown._md_heading(line) == (old.group(1) if old else None)


@settings(max_examples=500, deadline=None)
@given(line=st.text(alphabet="![]()a ", max_size=20))
def test_link_scanner_matches_the_regex(line: str) -> None:
    assert markdown._strip_links(line) == _OLD_LINK.sub(r"\1", line)


@settings(max_examples=500, deadline=None)
@given(line=st.text(alphabet="*_`a \t", max_size=18))
def test_emphasis_scanner_matches_the_regex(line: str) -> None:
    assert markdown._strip_emphasis(line) == _OLD_EMPHASIS.sub(r"\2", line)


HEADING = "Budget" + " " * 3_000 + "approved"
SHORT = "bold and it and code and link and img"


@pytest.mark.parametrize(
    ("markdown", "text", "title"),
    [
        (f"# {HEADING} ##\n\nThe council met.", f"{HEADING}\n\nThe council met.", HEADING),  # was cubic
        ("*x " * 3_000 + "\n\ndone", ("*x " * 3_000).strip() + "\n\ndone", None),  # no closer
        ("[a](b [c](" * 2_000 + "\n\ndone", "[a](b [c](" * 2_000 + "\n\ndone", None),  # no ")"
        ("[" * 5_000 + "]() tail\n\nmore", "[" * 4_999 + " tail\n\nmore", None),
        ("**bold** and *it* and `code` and [link](u) and ![img](p)\n\nrest", f"{SHORT}\n\nrest", SHORT),
    ],
)
def test_hostile_markdown_lines_parse_to_their_text(markdown: str, text: str, title: str | None) -> None:
    [doc] = parse_file("a.md", markdown.encode(), max_decompressed_bytes=10**7).documents
    assert (doc.text, doc.title) == (text, title)


def test_markdown_of_only_syntax_has_no_body() -> None:
    parsed = parse_file("a.md", b"[]() ![]()\n\n[]()", max_decompressed_bytes=10**6)
    assert [r.reason_code for r in parsed.rejections] == [Reason.NO_BODY] and not parsed.documents


# --- HTML -------------------------------------------------------------------------------------------

_OLD_PAGE_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.I | re.S)
_OLD_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.I | re.S)
_MARKUP_TOKENS = st.sampled_from(
    [
        "<title>",
        "<title x>",
        "<TITLE",
        "</title>",
        "</title >",
        "<h1>",
        "<H1 a>",
        "</h1>",
        "</h1\n>",
        "<h10>",
        "x",
        ">",
        "<",
        " ",
        "<b>",
        "</b",
    ]
)


@settings(max_examples=400, deadline=None)
@given(tokens=st.lists(_MARKUP_TOKENS, max_size=25))
def test_element_scanner_matches_the_regexes(tokens: list[str]) -> None:
    markup = "".join(tokens)
    assert list(html_pages._elements(markup, html_pages._H1_OPEN, html_pages._H1_CLOSE)) == _OLD_H1.findall(markup)
    old = _OLD_PAGE_TITLE.search(markup)
    assert next(html_pages._elements(markup, html_pages._TITLE_OPEN, html_pages._TITLE_CLOSE), None) == (
        old.group(1) if old else None
    )


@settings(max_examples=300, deadline=None)
@given(markup=st.text(alphabet="<>a/", max_size=20))
def test_tag_stripping_matches_the_regex(markup: str) -> None:
    assert html_pages._strip_tags(markup, "|") == _OLD_TAG.sub("|", markup)


def test_many_unclosed_title_and_h1_openers_keep_the_real_ones() -> None:
    page = (
        "<html><head><title>Council <b>approves</b> budget</title></head><body>"
        f"<h1>Budget &amp; schools</h1><p>{ENGLISH}</p><p>{ENGLISH}</p>" + "<title x" * 3_000 + "<h1 y>" * 3_000
    )
    [doc] = parse_file("p.html", page.encode(), max_decompressed_bytes=10**7).documents
    assert doc.fields["page_title"] == "Council approves budget"
    assert doc.fields["headings"] == "Budget & schools"


def test_a_menu_only_page_with_unclosed_navs_has_no_body() -> None:
    page = b"<html><body>" + b"<nav><a href='/s'>Section</a> " * 200
    parsed = parse_file("menu.html", page, max_decompressed_bytes=10**6)
    assert [r.reason_code for r in parsed.rejections] == [Reason.NO_BODY] and not parsed.documents


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("a<nav>menu</nav>b<footer>f</footer>c", "abc"),
        ("a<NAV x=1>menu</Nav >b", "ab"),
        ("a<nav>1<nav>2</nav>3</nav>b", "a3b"),  # no nesting: the first end tag closes
        ("a<script>if (x < 1) {}</script>b<style>p{}</style>c", "abc"),
        ("a<header>h<p>never closed", "a"),  # unclosed: to the end
        ("<head><title>t</title><body>article", "article"),  # an unclosed head ends at <body>
        ("a<headline>b</headline>", "ab"),  # not <head>
        ("x &amp; y <b>z", "x & y z"),
    ],
)
def test_stripped_text_drops_chrome_to_its_end_tag_or_the_end(markup: str, text: str) -> None:
    assert "".join(html_pages._stripped_text(markup).split("\n")) == text


def _drop_tree_text(markup: str) -> str:
    """The previous chrome removal (drop_tree per element): the visible text must not change."""
    import lxml.html

    tree = lxml.html.document_fromstring(markup)
    for hidden in tree.xpath("//head|//script|//style|//noscript|//template|//nav|//header|//footer|//aside"):
        hidden.drop_tree()
    return str(tree.text_content())


@pytest.mark.parametrize(
    "markup",
    [
        "<html><head><title>t</title></head><body>a<nav>b<aside>c</aside>d</nav>e<!-- c -->f<p>g<script>x</script>h"
        "</p>i<footer>j</footer>k</body></html>",
        "<nav>x</nav>y<nav>z</nav>w",
        "<div><nav>1</nav>2<nav>3</nav>4<nav>5</nav></div>6",
        "<body><template><p>t</p></template>after</body>",
    ],
)
def test_chrome_removal_keeps_the_same_visible_text(markup: str) -> None:
    lines = (" ".join(line.split()) for line in _drop_tree_text(markup).split("\n"))
    assert html_pages._visible_text(markup, html_pages._html_tree(markup)) == normalise_text(
        "\n".join(filter(None, lines))
    )


def _raise(error: BaseException) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    return fail


@pytest.mark.parametrize("error", [KeyError("boom"), AssertionError("bad tree"), IndexError("list index")])
def test_anything_trafilatura_raises_is_a_parse_error(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", _raise(error))
    parsed = parse_file("p.html", f"<p>{ENGLISH}</p>".encode(), max_decompressed_bytes=10**6)
    [rejection] = parsed.rejections
    assert rejection.reason_code == Reason.PARSE_ERROR and type(error).__name__ in rejection.detail


def test_anything_lxml_raises_is_a_parse_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import lxml.html

    monkeypatch.setattr(lxml.html, "document_fromstring", _raise(AssertionError("libxml2")))
    parsed = parse_file("p.html", f"<p>{ENGLISH}</p>".encode(), max_decompressed_bytes=10**6)
    [rejection] = parsed.rejections
    assert rejection.reason_code == Reason.PARSE_ERROR and "AssertionError" in rejection.detail


def test_a_page_of_more_elements_than_any_article_keeps_its_visible_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    monkeypatch.setattr(trafilatura, "bare_extraction", _raise(AssertionError("trafilatura is not called")))
    page = f"<h1>Budget</h1>\n<p>{ENGLISH}</p>\n" + "<nav></nav>x " * 25_000
    [doc] = parse_file("big.html", page.encode(), max_decompressed_bytes=10**7).documents
    assert doc.text.startswith(f"Budget\n{ENGLISH}\nx x x") and doc.fields["headings"] == "Budget"


def test_deeply_nested_html_lands_its_text() -> None:
    page = "<html><body>" + "<div>" * 5_000 + f"<p>{ENGLISH}</p>" + "</div>" * 5_000
    [doc] = parse_file("deep.html", page.encode(), max_decompressed_bytes=10**7).documents
    assert ENGLISH in doc.text


# --- JSON and JSONL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"body": "text", "views": ' + b"1" * 5_000 + b"}", "ValueError"),  # int's 4,300-digit limit
        (b"[" * 100_000 + b"]" * 100_000, "RecursionError"),
        (b'{"body": ' * 50_000 + b'"x"' + b"}" * 50_000, "RecursionError"),
        (b'{"body": "x"', "malformed JSON"),
    ],
)
def test_unreadable_json_is_a_parse_error(data: bytes, error: str) -> None:
    parsed = parse_file("a.json", data, max_decompressed_bytes=10**7)
    [rejection] = parsed.rejections
    assert rejection.reason_code == Reason.PARSE_ERROR and error in rejection.detail and not parsed.documents


def test_an_unreadable_jsonl_line_is_that_lines_parse_error() -> None:
    lines = [
        b'{"body": "first article"}',
        b'{"body": "x", "n": ' + b"9" * 5_000 + b"}",
        b"[" * 100_000,
        b'{"body": "fourth article"}',
    ]
    parsed = parse_file("a.jsonl", b"\n".join(lines), max_decompressed_bytes=10**7)
    assert [(d.record_index, d.text) for d in parsed.documents] == [(1, "first article"), (4, "fourth article")]
    assert [(r.reason_code, r.record_index) for r in parsed.rejections] == [
        (Reason.PARSE_ERROR, 2),
        (Reason.PARSE_ERROR, 3),
    ]
    assert "ValueError" in parsed.rejections[0].detail and "RecursionError" in parsed.rejections[1].detail


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "obj",
    [
        {"body": {"nested": "x"}},
        {"body": ["a", 1]},
        {"body": ["para"] * 100_000},
        {"body": "x", "title": 5},
        {"body": "x", "title": {"a": 1}},
        {"body": "x", "title": ["Two", "parts"]},
        {"body": "x", "author": {"@type": "Person", "name": "A"}},
        {"body": "x", "author": [1, None, {"a": []}], "date": 1e308, "url": float("nan")},
        {"body": "x", "url": _nested(100_000)},  # str() of it overflows the stack
        {"body": "\ufeff\ufeff"},
        {"body": "   "},
        {},
        [],
        [{"body": "x"}],
        "text",
        None,
        3.5,
    ],
)
def test_odd_json_shapes_are_a_document_or_a_rejection(obj: Any) -> None:
    result = json_documents._json_document(obj, 0)
    assert isinstance(result, Document | Rejection)
    if isinstance(result, Document):
        assert result.text.strip() and all(isinstance(v, str) for v in result.fields.values())


# --- parse_file on anything -------------------------------------------------------------------------

_HOSTILE = st.sampled_from(
    [
        *(b"<nav>", b"</nav>", b"<title ", b"<h1>", b"</h1>", b"<", b">", b"<div>" * 300, b"<script>", b"&amp;"),
        *(b"[", b"](", b")", b"*", b"**", b"_", b"`", b"#", b"# ", b" " * 40, b"\n", b"\n\n", b"\r\n"),
        *(b"{", b"}", b"[" * 50, b'"body":', b'"title":', b'"', b"1" * 5_000, b"\\u0000", b","),
        *(b"\x93", b"\xe9", "é".encode(), "\u0301\u0316".encode() * 40, b"\x00", b"\x1f\x8b", b"\xef\xbb\xbf"),
        *(b'<meta charset="undefined">', b'<meta charset="idna">', ENGLISH.encode(), FRENCH.encode()),
    ]
)
_CONTENT = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=400).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.lists(_HOSTILE, max_size=30).map(b"".join),
    st.lists(st.one_of(_HOSTILE, st.binary(max_size=16)), max_size=30).map(b"".join),
)
_EXTENSIONS = ("txt", "md", "html", "htm", "json", "jsonl", "txt.gz", "md.gz", "html.gz", "json.gz", "jsonl.gz")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_CONTENT, extension=st.sampled_from(_EXTENSIONS), compress=st.booleans())
@example(data=b"1" * 5_000, extension="json", compress=False)  # escaped as ValueError
@example(data=b'{"body": "x"}\n' + b"[" * 100_000, extension="jsonl.gz", compress=True)
@example(data=b'<meta charset="undefined"><p>caf\xe9</p>', extension="html", compress=False)  # as UnicodeError
@example(data=b"[]()", extension="md", compress=False)  # was a document with no text
def test_parse_file_never_raises_on_any_bytes(data: bytes, extension: str, compress: bool) -> None:
    if extension.endswith(".gz") and compress:
        data = _member(data)
    parsed = parse_file(f"random.{extension}", data, max_decompressed_bytes=1_000_000)
    assert isinstance(parsed, Parsed)
    assert parsed.documents or parsed.rejections, "silently dropped"
    if not extension.startswith("jsonl"):
        assert len(parsed.documents) + len(parsed.rejections) == 1
    for doc in parsed.documents:
        assert doc.text.strip() and doc.text.encode("utf-8")
    for rejection in parsed.rejections:
        assert isinstance(rejection.reason_code, Reason) and rejection.detail and rejection.stage

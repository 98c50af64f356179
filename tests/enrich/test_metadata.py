"""Titles without site names, authors without prefixes, bylines and datelines from the text."""

from __future__ import annotations

import pytest

from tasks.enrich.metadata import byline_from_text, clean_author, clean_title, dateline_place


@pytest.mark.parametrize(
    ("title", "kwargs", "expected"),
    [
        ("What is Rust? - Stack Overflow Blog", {"site": "Stack Overflow Blog"}, "What is Rust?"),
        ("La voix des nuls | ARTE Radio", {"headings": ("Menu", "La voix des nuls")}, "La voix des nuls"),
        ("Chronik: Lotte Tobisch ist tot", {"headings": ("Lotte Tobisch ist tot",)}, "Lotte Tobisch ist tot"),
        ("News | Big story", {"headings": ("NEWS",), "site": "News"}, "Big story"),
        ("武汉的声音：有英勇的你-新华网", {}, "武汉的声音：有英勇的你"),
        ("Senador califica a Biden de", {"page_title": 'Senador califica a Biden de "incapacitado"'}, None),
        ("Plain headline", {}, "Plain headline"),
    ],
)
def test_clean_title(title: str, kwargs: dict[str, object], expected: str | None) -> None:
    result = clean_title(title, **kwargs)  # type: ignore[arg-type]
    if expected is None:
        assert result is not None and result.endswith('"incapacitado"')
    else:
        assert result == expected


@pytest.mark.parametrize(
    ("author", "site", "expected"),
    [
        ("Por Alberto Ávila", None, "Alberto Ávila"),
        ("责任编辑：孔德明", None, "孔德明"),
        ("El Espectador; Felipe Morales Sierra", "ELESPECTADOR.COM", "Felipe Morales Sierra"),
        ("L'Opinion", "L'Opinion", None),
        (None, None, None),
    ],
)
def test_clean_author(author: str | None, site: str | None, expected: str | None) -> None:
    assert clean_author(author, site=site) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Headline\nPor Agencia EFE\nEl presidente viajó.", "Agencia EFE"),
        ("Hamburg (dpa/lno) – Trotz eines Gesprächs blieb es still.", "dpa/lno"),
        ("A long paragraph. " * 20 + "\nDenis Clerc\n(1) Ces chiffres sont collectés.", "Denis Clerc"),
        ("Nothing here.\nJust text.", None),
    ],
)
def test_byline_from_text(text: str, expected: str | None) -> None:
    assert byline_from_text(text) == expected


def test_dateline() -> None:
    assert dateline_place("Hamburg (dpa) – Es regnet.") == "Hamburg"
    assert dateline_place("PRISTINA, Kosovo — Tensions rose.") == "PRISTINA"
    assert dateline_place("Title\n\nNo dateline here.", title="Title") is None

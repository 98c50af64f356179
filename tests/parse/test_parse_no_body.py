"""No false ``no_body``: a page trafilatura extracts text from lands, wherever its markup puts the article."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.models import Reason
from tasks.parse.documents import parse_file

# A Korean news paragraph (the reported miss was a Korean page whose article sat inside page chrome).
_KOREAN = (
    "서울시는 17일 내년도 예산안을 발표했다. 시는 복지와 교통 분야에 예산을 집중 배정했다고 밝혔다. "
    "시민들의 반응은 엇갈렸다. 일부 시의원은 재원 마련 방안이 부족하다고 지적했다."
)
_ARTICLE = f"<h2>예산안 발표</h2><p>{_KOREAN}</p><p>{_KOREAN}</p>"


@pytest.mark.parametrize(
    "body",
    [
        f"<header><div>로고</div><div class='article'>{_ARTICLE}</div>",  # an unclosed <header> swallows the page
        f"<aside><article>{_ARTICLE}</article></aside>",
        f"<nav><div id='content'>{_ARTICLE}</div></nav>",
        f"<footer><div>{_ARTICLE}</div></footer>",
        f"<noscript>{_ARTICLE}</noscript>",
        f"<div><header><h1>예산안</h1></header>{_ARTICLE}</div>",  # the ordinary case stays as it was
    ],
    ids=["unclosed-header", "aside", "nav", "footer", "noscript", "plain"],
)
def test_a_page_trafilatura_extracts_text_from_is_an_article(body: str) -> None:
    page = f'<html lang="ko"><head><meta charset="utf-8"><title>예산안 | 뉴스</title></head><body>{body}</body></html>'
    parsed = parse_file("news.html", page.encode(), max_decompressed_bytes=10**6)
    assert not parsed.rejections
    [doc] = parsed.documents
    assert "예산을 집중 배정했다고" in doc.text


def test_recall_is_the_fallback_when_the_balanced_extraction_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import trafilatura

    calls: list[bool] = []
    real = trafilatura.bare_extraction

    def balanced_finds_nothing(tree: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("favor_recall", False))
        return real(tree, **kwargs) if calls[-1] else None

    monkeypatch.setattr(trafilatura, "bare_extraction", balanced_finds_nothing)
    page = f"<html><body><nav><div>{_ARTICLE}</div></nav></body></html>"
    [doc] = parse_file("news.html", page.encode(), max_decompressed_bytes=10**6).documents
    assert calls == [False, True] and "예산을 집중 배정했다고" in doc.text


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a></nav></body></html>",
        b"<html><body>" + b"<nav><a href='/s'>Section</a> " * 200,
    ],
    ids=["home-link", "unclosed-navs"],
)
def test_a_page_of_only_links_still_has_no_body(page: bytes) -> None:
    parsed = parse_file("menu.html", page, max_decompressed_bytes=10**6)
    assert [r.reason_code for r in parsed.rejections] == [Reason.NO_BODY] and not parsed.documents

"""How this set was built (kept for the record; the pages and labels.csv are checked in, nothing runs it).

``python tests/accuracy/extractor_pages/build.py <postlight/parser git dir> <mozilla/readability git dir>``

* postlight/parser (Mercury): every ``fixtures/*.html`` page one of its custom extractors' tests
  (``src/extractors/custom/<site>/index.test.js``) asserts a title, author or ``date_published`` for. The
  labels are those assertions, written by the extractor's authors from the page; ``date_published`` is the
  UTC instant Mercury reports. Bylines that are no person's or agency's name as the page shows it (a URL, an
  e-mail address, a section name, mojibake, "著者：" with a label glued to it) are blanked (``_BLANK_AUTHOR``).
  Social sites and listings (reddit, twitter, youtube, github, pastebin, genius, clinicaltrials) are left out.
* mozilla/readability: the news and blog pages of ``test/test-pages/`` whose ``expected-metadata.json`` names a
  title; its title, byline, siteName and publishedTime are Readability's own output, so each was checked by
  reading the page, and corrected in ``_READABILITY`` where it is not the headline, the byline's names or the
  publication date that the page states (site suffixes, "By", a date glued to a byline).

language: the ``<html lang>`` primary subtag (or Readability's ``lang``), checked by reading; pages without one
were read. Pages over 150 kB (postlight; Readability's, where most languages other than English are, 500 kB) are left out; the rest are stored gzipped, byte for byte as in the source repository.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POSTLIGHT_COMMIT = "e8ba7ece291efa4d915d50dd4deeec17d54359f2"
READABILITY_COMMIT = "ab4027a8b37669745016869a37a504727992b2ba"
MAX_PAGE_BYTES = {"postlight": 150_000, "readability": 500_000}  # the set stays near 3 MB gzipped
_SKIP = re.compile(r"reddit|twitter|youtube|github|pastebin|genius|clinicaltrials|biorxiv|--empty|--splash")
_BLANK_AUTHOR = {
    "www.asahi.com.html",  # a Facebook URL
    "getnews.jp.html",  # an author page URL
    "www.al.com.html",  # name | e-mail
    "www.publickey1.jp.html",  # mojibake
    "news.mynavi.jp.html",  # "著者：" glued to the name
    "www.infoq.com.html",  # author and translator with their labels
    "weekly.ascii.jp.html",  # "文●" and the desk
    "bookwalker.jp.html",  # a book's author and illustrator with their labels
    "www.oreilly.co.jp.html",  # a book's authors and translators
    "ici.radio-canada.ca.html",  # a section name
    "epaper.zeit.de.html",  # section · names
    "www.investmentexecutive.com.html",  # names run together
    "www.newyorker.com--multiple-authors.html",  # author and illustrator run together
    "www.itmedia.co.jp.html",  # [name，desk]
    "www.rbbtoday.com.html",  # initials in brackets
    "www.nytimes.com--feature.html",  # the site's name
    "www.yahoo.com.html",  # the syndicating site's name
}
_LANGUAGE = {"money.cnn.com.html": "en", "phpspot.org.html": "ja", "www.apartmenttherapy.com.html": "en"}
_LANGUAGE |= {"www.bloomberg.com--news.html": "en", "www.eonline.com.html": "en", "www.ndtv.com.html": "en"}
_LANGUAGE |= {"news.nationalgeographic.com.html": "en", "www.qdaily.com.html": "zh", "www.recode.net.html": "en"}
_LANGUAGE |= {"www.slate.com.html": "en"}

# Readability pages: (language, title, author, published, site); None keeps Readability's value, "" blanks it.
_READABILITY: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    "aktualne": ("cs", None, None, None, None),
    "cnet-svg-classes": ("es", "", None, None, None),  # og:title and <h1> differ
    "folha": ("pt", None, "", None, None),  # byline as Readability joined it
    "heise": ("de", None, "", "2015-04-08T12:46:00", None),  # "Mac & i" is the site
    "lemonde-1": ("fr", None, "Martin Untersinger; Damien Leloup; Morgane Tual", None, None),
    "liberation-1": ("fr", None, "Sébastien Farcis", None, None),
    "videos-2": ("fr", None, None, None, None),
    "gmw": ("zh", "宇航员在太空中喝酒会怎么样？后果很严重", None, "2017-03-10", "光明网"),
    "qq": ("zh", "DeepMind新电脑已可利用记忆自学 人工智能迈上新台阶", None, None, "腾讯网"),
    "youth": ("zh", "海外留学生看两会：出国前后关注点大不同", "", "2017-03-10", "中国青年网"),
    "yahoo-4": (
        "ja",
        "トレンドマイクロ、公衆無線LANを安全に使うためのアプリ「フリーWi-Fiプロテクション」",
        "",
        None,
        None,
    ),
    "la-nacion": ("es", None, None, "2017-12-07", "La Nación"),
    "bbc-1": ("en", None, "", None, None),  # "BBC News" is the site
    "aclu": ("en", None, None, None, None),
    "bug-1255978": ("en", "The seven secrets that hotel owners don't want you to know", None, None, None),
    "citylab-1": ("en", "", None, "2019-04-30T13:39:00-04:00", None),  # three different headlines
    "cnn": ("en", None, None, "2016-02-01", None),
    "ars-1": ("en", None, None, None, None),
    "herald-sun-1": ("en", None, "Joe Hildebrand", "2015-03-13", "Herald Sun"),
    "medicalnewstoday": ("en", None, "Ana Sandoiu", None, None),
    "nytimes-1": ("en", None, None, "2017-01-13T00:00:04-05:00", "The New York Times"),
    "nytimes-2": ("en", None, None, "2016-07-29T16:42:34-04:00", "The New York Times"),
    "salon-1": ("en", None, None, None, "Salon"),
    "telegraph": ("en", None, None, "2017-11-16T14:15:00+00:00", None),
    "theverge": ("en", "Apple’s Vision Pro is the Retina display moment for headsets", None, None, None),  # <h1>
    "wapo-1": ("en", None, "Erin Cunningham", None, None),
    "wapo-2": ("en", None, "Steven Mufson", None, None),
    "seattletimes-1": ("en", None, "", None, None),  # the byline Readability found is the dates
    "wordpress": ("en", None, None, None, None),
    "schema-org-context-object": ("en", None, None, None, None),
    "quanta-1": ("en", None, "Joshua Sokol", None, None),
    "keep-images": ("en", None, None, None, None),
    "medium-1": ("en", None, None, None, None),
    "article-author-tag": ("en", None, None, None, None),
    "toc-missing": ("en", None, None, None, None),
    "dropbox-blog": ("en", "How we designed Dropbox ATF: an async task framework", None, None, "Dropbox"),
    "firefox-nightly-blog": ("en", "These Weeks in Firefox: Issue 85", None, None, None),
    "iab-1": ("en", "Getting LEAN with Digital Ad UX", "Scott Cunningham", None, None),
    "cnet": ("en", None, None, None, None),
    "ehow-1": ("en", "How to Build a Terrarium", None, None, None),
}
COLUMNS: tuple[str, ...] = ("file", "kind", "language", "format", "title", "author", "published", "site", "url")
COLUMNS += ("source_repo", "source_path", "license")


def _git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


_STRING = re.compile(r"""\s*(?:'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)"|`((?:\\.|[^`\\])*)`|(null|undefined))\s*""")


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)")


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if len(code) > 1 else {"n": "\n", "t": "\t"}.get(code, code)


def _js_string(source: str, pos: int) -> str | None:
    """A JavaScript string literal (or several joined with ``+``) at ``pos``; None for null/undefined."""
    parts = []
    while (match := _STRING.match(source, pos)) is not None:
        if match.group(4):
            return None
        raw = next(group for group in match.groups()[:3] if group is not None)
        parts.append(_ESCAPE.sub(_unescape, raw))
        pos = match.end()
        if not source.startswith("+", pos):
            break
        pos += 1
    return "".join(parts) or None


def postlight_labels(repo: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    tests = _git(repo, "ls-tree", "-r", "--name-only", POSTLIGHT_COMMIT, "src/extractors/custom").decode().split()
    for test in (t for t in tests if t.endswith("index.test.js")):
        source = _git(repo, "show", f"{POSTLIGHT_COMMIT}:{test}").decode()
        events = [(m.start(), "url", _js_string(source, m.end())) for m in re.finditer(r"\burl\s*=\s*", source)]
        events += [(m.start(), "file", _js_string(source, m.end())) for m in re.finditer(r"readFileSync\(", source)]
        pattern = r"assert\.equal\(\s*(title|author|date_published)\s*,"
        events += [(m.start(), m.group(1), _js_string(source, m.end())) for m in re.finditer(pattern, source)]
        url, current = None, None
        for _, kind, value in sorted(events, key=lambda e: e[0]):
            if kind == "url":
                url = value
            elif kind == "file" and value:
                current = found.setdefault(value.removeprefix("./fixtures/"), {"url": url, "test": test})
            elif current is not None and value and not current.get(kind):
                current[kind] = value
    return found


def main(postlight: Path, readability: Path) -> None:
    rows = []
    pages = HERE / "pages"
    for name, label in sorted(postlight_labels(postlight).items()):
        if _SKIP.search(name) or not any(label.get(k) for k in ("title", "author", "date_published")):
            continue
        data = _git(postlight, "show", f"{POSTLIGHT_COMMIT}:fixtures/{name}")
        if len(data) > MAX_PAGE_BYTES["postlight"]:
            continue
        lang = re.search(rb"<html[^>]*\blang=[\"']?([A-Za-z]+)", data[:5000], re.I)
        target = pages / "postlight" / f"{name}.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(data, 9, mtime=0))
        author = "" if name in _BLANK_AUTHOR else label.get("author") or ""
        language = _LANGUAGE.get(name) or (lang.group(1).decode().lower() if lang else "")
        rows.append(
            {
                "file": f"pages/postlight/{name}.gz",
                "kind": "html",
                "language": language,
                "format": "html",
                "title": label.get("title") or "",
                "author": " ".join(author.split()),
                "published": label.get("date_published") or "",
                "site": "",
                "url": label.get("url") or "",
                "source_repo": "postlight/parser",
                "source_path": f"fixtures/{name}",
                "license": "MIT OR Apache-2.0",
            }
        )
    for name, (language, title, author, published, site) in _READABILITY.items():
        folder = f"test/test-pages/{name}"
        meta = json.loads(_git(readability, "show", f"{READABILITY_COMMIT}:{folder}/expected-metadata.json"))
        data = _git(readability, "show", f"{READABILITY_COMMIT}:{folder}/source.html")
        if len(data) > MAX_PAGE_BYTES["readability"]:
            continue
        target = pages / "readability" / f"{name}.html.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress(data, 9, mtime=0))
        byline = re.sub(r"^(?:By|Par)\s+", "", " ".join((meta.get("byline") or "").split()))
        rows.append(
            {
                "file": f"pages/readability/{name}.html.gz",
                "kind": "html",
                "language": language,
                "format": "html",
                "title": " ".join((meta.get("title") or "").split()) if title is None else title,
                "author": byline if author is None else author,
                "published": (meta.get("publishedTime") or "") if published is None else published,
                "site": (meta.get("siteName") or "") if site is None else site,
                "url": "",
                "source_repo": "mozilla/readability",
                "source_path": f"{folder}/source.html",
                "license": "Apache-2.0",
            }
        )
    with (HERE / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

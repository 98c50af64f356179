"""The floors the enrichment must hold on both labelled sets.

Metadata: wirehouse at least as often right as trafilatura's ``extract_metadata`` and htmldate's ``find_date``
alone, per field and set, on the same pages. The shared corpus's tests skip when it is absent; the extractor
pages are checked in, so theirs always run.
"""

from __future__ import annotations

import pytest

from tests.accuracy.evaluate import EXTRACTOR_PAGES, METADATA, Evaluation, corpus_dir, evaluate, report

shared = pytest.mark.skipif(not (corpus_dir() / "labels.csv").exists(), reason="no labelled corpus")


@pytest.fixture(scope="module")
def result() -> Evaluation:
    outcome = evaluate(corpus_dir(), name="shared corpus")
    print(report(outcome))
    return outcome


@pytest.fixture(scope="module")
def pages() -> Evaluation:
    outcome = evaluate(EXTRACTOR_PAGES, name="extractor pages")
    print(report(outcome))
    return outcome


@shared
@pytest.mark.parametrize("kind", ["article", "html", "legacy_encoding", "short", "awkward"])
def test_language_at_least_raw_langdetect_per_kind(result: Evaluation, kind: str) -> None:
    score = result.kinds[kind]
    assert score.ours >= score.raw, f"{kind}: {score.ours} correct < raw langdetect {score.raw}"
    assert score.ours_wrong <= score.raw_wrong, f"{kind}: more confident wrong answers than raw langdetect"


@shared
def test_fewer_wrong_answers_on_hard_kinds(result: Evaluation) -> None:
    hard = ("short", "awkward")
    assert sum(result.kinds[k].ours_wrong for k in hard) < sum(result.kinds[k].raw_wrong for k in hard)


@shared
@pytest.mark.parametrize(("metric", "floor"), [("title", 0.9), ("date", 0.8), ("author", 0.7)])
def test_metadata_precision(result: Evaluation, metric: str, floor: float) -> None:
    score = getattr(result, metric)
    assert score.precision >= floor, f"{metric}: {score.correct}/{score.labelled}"


@shared
@pytest.mark.parametrize("metric", [m for m in METADATA if m != "site"])  # the shared corpus labels no site
def test_metadata_at_least_the_libraries_alone_on_the_shared_corpus(result: Evaluation, metric: str) -> None:
    score = result.metadata[metric]
    assert score.labelled, f"{metric}: no labelled pages"
    assert score.correct >= score.baseline, f"{metric}: {score.correct} < trafilatura/htmldate {score.baseline}"


@pytest.mark.parametrize("metric", METADATA)
def test_metadata_at_least_the_libraries_alone_on_the_extractor_pages(pages: Evaluation, metric: str) -> None:
    score = pages.metadata[metric]
    assert score.labelled, f"{metric}: no labelled pages"
    assert score.correct >= score.baseline, f"{metric}: {score.correct} < trafilatura/htmldate {score.baseline}"


def test_language_at_least_raw_langdetect_on_the_extractor_pages(pages: Evaluation) -> None:
    score = pages.kinds["html"]
    assert score.ours >= score.raw and score.ours_wrong <= score.raw_wrong

"""The floors the enrichment must hold on the labelled corpus (skipped when the corpus is absent)."""

from __future__ import annotations

import pytest

from tests.accuracy.evaluate import Evaluation, corpus_dir, evaluate, report

pytestmark = pytest.mark.skipif(not (corpus_dir() / "labels.csv").exists(), reason="no labelled corpus")


@pytest.fixture(scope="module")
def result() -> Evaluation:
    outcome = evaluate()
    print(report(outcome))
    return outcome


@pytest.mark.parametrize("kind", ["article", "html", "legacy_encoding", "short", "awkward"])
def test_language_at_least_raw_langdetect_per_kind(result: Evaluation, kind: str) -> None:
    score = result.kinds[kind]
    assert score.ours >= score.raw, f"{kind}: {score.ours} correct < raw langdetect {score.raw}"
    assert score.ours_wrong <= score.raw_wrong, f"{kind}: more confident wrong answers than raw langdetect"


def test_fewer_wrong_answers_on_hard_kinds(result: Evaluation) -> None:
    hard = ("short", "awkward")
    assert sum(result.kinds[k].ours_wrong for k in hard) < sum(result.kinds[k].raw_wrong for k in hard)


@pytest.mark.parametrize(("metric", "floor"), [("title", 0.9), ("date", 0.8), ("author", 0.7)])
def test_metadata_precision(result: Evaluation, metric: str, floor: float) -> None:
    score = getattr(result, metric)
    assert score.precision >= floor, f"{metric}: {score.correct}/{score.labelled}"

"""The masker on the labelled PII corpus (tests/data/pii_corpus): recall and false changes.

Synthetic cases: every kind in several written forms and positions, recall ≥ 0.99. Real appeals
(500 drawn from data/raw, labelled by reading): the masker changes nothing that is not personal
data in ≥ 99 % of them. The gates (cheap pre-checks) and the OpenCC trigger set never change a result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "data" / "pii_corpus"))
import corpus  # noqa: E402

from minyi_nlp.text import find_pii  # noqa: E402


def spans(text: str) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in find_pii(text)]


@pytest.fixture(scope="module")
def real_cases() -> list[corpus.Case]:
    return corpus.real()


def test_synthetic_corpus_is_large_and_covers_every_kind() -> None:
    from minyi_nlp.text.pii import PII_KINDS

    cases = corpus.synthetic()
    kinds = {it.kind for c in cases for it in c.items}
    assert len(cases) >= 300
    assert kinds == set(PII_KINDS)


def test_recall_on_synthetic_cases() -> None:
    result = corpus.score(corpus.synthetic(), spans, count_false_changes=False)
    assert result.recall >= 0.99, result.examples[:20]


def test_real_appeals_keep_what_is_not_personal(real_cases: list[corpus.Case]) -> None:
    result = corpus.score(real_cases, spans, count_false_changes=True)
    assert result.texts == 500
    assert result.false_change_rate <= 0.01, [e for e in result.examples if e.startswith("false")]


def test_real_appeals_recall_is_reported_honestly(real_cases: list[corpus.Case]) -> None:
    # Names with no cue at all (a list of villagers, a name in the middle of a story) are missed: the
    # figure (0.77 of 331 labelled items) is printed by bench/pii.py; this floor catches a regression.
    result = corpus.score(real_cases, spans, count_false_changes=False)
    assert result.items > 300
    assert result.recall >= 0.75, result.examples[:20]


def test_gates_change_no_result(real_cases: list[corpus.Case]) -> None:
    texts = [c.text for c in corpus.synthetic()] + [c.text for c in real_cases]
    assert all(find_pii(t) == find_pii(t, gated=False) for t in texts)

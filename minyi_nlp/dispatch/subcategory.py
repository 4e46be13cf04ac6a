"""The sub-category part of a suggestion, and the keys the duty and SLA lists are read with.

For every appeal: the tree head's node probabilities reconciled with the category head
(:func:`minyi_nlp.models.subcategories.subcategory_proba`), the best 二级/三级 paths to show, and under
each 一级 the decided key — its most specific node whose probability reaches the threshold
(``routing.subcategory_threshold``), else the 一级 itself. The duty list then routes each 一级's whole
probability through its decided key::

    duty(d) = Σ_一级 P(一级) · P(d | decided key of that 一级)        (职责清单 of the most specific listed key)

and the SLA list (deadline, urgency) is read with the decided key of the most probable 一级. Without a
sub-category head, the category head's probabilities are used as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from minyi_nlp.models.bundle import Bundle
from minyi_nlp.models.subcategories import DecidedKey, decided_columns, ranked, subcategory_proba

HEAD = "subcategory"


@dataclass(slots=True)
class SubcategoryReading:
    """One appeal's sub-categories (``paths``: best first) and decided keys (one per 一级, most probable first),
    kept as columns: each key's path, its probability and its 一级's (see :attr:`keys`)."""

    paths: list[tuple[str, float]]
    key_paths: list[str]
    key_scores: list[float]
    key_masses: list[float]

    @property
    def keys(self) -> list[DecidedKey]:
        """The decided keys, most probable 一级 first."""
        return [DecidedKey(*k) for k in zip(self.key_paths, self.key_scores, self.key_masses, strict=True)]

    @property
    def decided(self) -> DecidedKey:
        """The key of the most probable 一级: what the SLA list and the deadline are read with."""
        return DecidedKey(self.key_paths[0], self.key_scores[0], self.key_masses[0])

    def duty_probs(self) -> tuple[dict[str, float], dict[str, float]]:
        """({decided key: its 一级's probability}, {decided key: its own probability}) for the duty list."""
        return dict(zip(self.key_paths, self.key_masses, strict=True)), dict(zip(self.key_paths, self.key_scores,
                                                                                  strict=True))


def read_subcategories(bundle: Bundle, X: sp.csr_matrix, category_proba: np.ndarray, category_labels: Sequence[str],
                       *, threshold: float, top_k: int = 5) -> list[SubcategoryReading] | None:
    """Every row's :class:`SubcategoryReading`, or None when the bundle has no sub-category head."""
    if HEAD not in bundle.heads:
        return None
    tree = bundle.heads[HEAD]
    proba = subcategory_proba(tree, X, category_proba, category_labels)  # type: ignore[arg-type]
    paths = ranked(proba, tree, top_k)  # type: ignore[arg-type]
    keys = decided_columns(proba, tree, threshold)  # type: ignore[arg-type]
    return [SubcategoryReading(p, *k) for p, *k in zip(paths, *keys, strict=True)]


def duty_inputs(bundle: Bundle, X: sp.csr_matrix, category_proba: np.ndarray, category_labels: Sequence[str],
                threshold: float) -> list[dict[str, float]]:
    """Per row, the probabilities the duty list is read with: decided keys when the bundle has a
    sub-category head, else the category head's labels."""
    readings = read_subcategories(bundle, X, category_proba, category_labels, threshold=threshold, top_k=0)
    if readings is None:
        return [dict(zip(category_labels, row.tolist(), strict=True)) for row in np.asarray(category_proba)]
    return [r.duty_probs()[0] for r in readings]

"""Similar pairs, the site-aware union-find, and the alternatives it was compared with."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from minyi_nlp.hotspots.heat import NO_TIME
from minyi_nlp.hotspots.linking import SiteLinker, average_groups, hdbscan_groups, similar_pairs


def _unit(rows: list[list[float]]) -> sp.csr_matrix:
    m = np.asarray(rows, np.float32)
    return sp.csr_matrix(m / np.linalg.norm(m, axis=1, keepdims=True))


def test_pairs_above_threshold_within_the_time_gap() -> None:
    v = _unit([[1, 0], [1, 0.1], [0, 1], [1, 0]])
    times = np.array([0, 86400, 0, 200 * 86400], np.int64)
    i, j, s = similar_pairs(v, 0.9, times=times, max_gap_s=90 * 86400, block=2)
    # 0 and 3 are identical but 200 days apart; 2 is about something else
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == {(0, 1)}
    assert s[0] > 0.99
    unknown = np.array([0, NO_TIME, 0, NO_TIME], np.int64)
    i, j, _ = similar_pairs(v, 0.9, times=unknown, max_gap_s=86400)
    assert (0, 3) in set(zip(i.tolist(), j.tolist(), strict=True))  # an unknown time does not block a link


def test_linker_never_joins_groups_naming_different_sites() -> None:
    a, b = frozenset({"魅力"}), frozenset({"润芳"})
    sigs = {0: a, 1: a, 2: b}
    linker = SiteLinker(4)
    # 3 names no site: it links to the 魅力 group first (strongest), then the link to 2 is refused
    linker.add(np.array([0, 1, 3, 3]), np.array([1, 3, 2, 0]), np.array([0.9, 0.8, 0.7, 0.95]), sigs)
    labels = linker.labels()
    assert labels[0] == labels[1] == labels[3]
    assert labels[2] != labels[0]
    assert linker.refused == 1


def test_average_and_hdbscan_alternatives_run_on_a_small_matrix() -> None:
    v = _unit([[1, 0, 0], [0.95, 0.05, 0], [0, 1, 0], [0, 0.97, 0.03], [0, 0, 1]])
    labels = average_groups(v, 0.5)
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]
    sites = [frozenset({"甲"}), frozenset({"乙"}), frozenset(), frozenset(), frozenset()]
    assert average_groups(v, 0.5, sites)[0] != average_groups(v, 0.5, sites)[1]
    assert len(hdbscan_groups(v, min_cluster_size=2, min_samples=1)) == 5

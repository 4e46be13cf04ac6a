"""Evaluate the similar-appeal search on real data; ``python -m minyi_nlp.similar.evaluate run``.

1. The hand-labelled 附件3 pairs (``data/labels/similar/pairs_fj3.csv``): every message of 附件3 is indexed,
   each pair is scored by querying the later message (any window); the threshold is the one with the best
   precision at recall ≥ 0.85 on the development half (even pair numbers: the target recall 0.8 plus a
   margin for the sampling noise of 130 positives), reported on the test half (odd).
2. Perturbed copies of every 附件3 message (formatting, greeting, phone number, all three, reworded):
   query the copy one day after the original, default window; recall = original found at the threshold.
3. The duplicate groups ``prepare`` finds in 附件2 (raw vs segmented copies, minyi_nlp/dedup.py).
4. The duplicated texts of 附件3 and 附件4 (the loader's content-duplicate groups), with their dates.

Vectors come from the stand-in encoder (TF-IDF + LSA fitted on 附件2, cached under data/interim/) or,
with ``--encoder shared``, from the shared ``minyi_nlp.models.encoder.Encoder`` fitted on the same texts.
Never fits anything on the labelled pairs except the one threshold.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import scipy.sparse as sp
import typer

from minyi_nlp.config import get_settings
from minyi_nlp.similar.index import SimilarIndex
from minyi_nlp.similar.perturb import PERTURBATIONS
from minyi_nlp.similar.settings import SimilarSettings

log = logging.getLogger(__name__)
app = typer.Typer(help=__doc__.split("\n")[0], no_args_is_help=True, add_completion=False)

LABELS_FILE = "similar/pairs_fj3.csv"
ANY_WINDOW = 36_500.0  # days: "no window"
DEV_MIN_RECALL = 0.85  # the target's 0.8 + a margin (recall of 130 dev positives has a standard error ~0.035)


class Encoder:
    """What the evaluation needs from an encoder: sparse rows and their dense projection."""

    def __init__(self, transform: Callable[[Sequence[str]], sp.csr_matrix],
                 embed_sparse: Callable[[sp.csr_matrix], np.ndarray], name: str) -> None:
        self.transform, self.embed_sparse, self.name = transform, embed_sparse, name


def standin_encoder(refit: bool = False, projection: str = "lsa") -> Encoder:
    """The stand-in encoder fitted on every 附件2 text (raw and segmented), cached in data/interim/;
    ``projection`` ``lsa`` (its TruncatedSVD) or ``random`` (:func:`~minyi_nlp.similar.standin.random_projection`)."""
    import joblib

    from minyi_nlp.prepare import read_labelled_sources
    from minyi_nlp.similar.standin import StandInEncoder, random_projection

    path = get_settings().data_dir / "interim" / "similar_standin.joblib"
    if path.exists() and not refit:
        enc = joblib.load(path)
    else:
        enc = StandInEncoder().fit(read_labelled_sources()["text"].astype(str).tolist())
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(enc, path)
    name = "stand-in TF-IDF (word 1-2 + char 1-3 grams, fitted on 附件2)"
    if projection == "random":
        return Encoder(enc.transform, lambda X: random_projection(X, enc.dim), f"{name} + random projection 256")
    return Encoder(enc.transform, enc.embed_sparse, f"{name} + LSA 256")


def shared_encoder() -> Encoder:
    """The shared encoder (``minyi_nlp.models.encoder``, params.yaml ``encoder``) fitted on every 附件2 text."""
    from minyi_nlp.models.encoder import Encoder as SharedEncoder
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import read_labelled_sources

    enc = SharedEncoder(load_params().encoder).fit(read_labelled_sources()["text"].astype(str).tolist())
    return Encoder(enc.transform, enc.embed, f"shared Encoder (params.yaml encoder, fitted on 附件2), "
                   f"embed {enc.params.embed_dim}")


@dataclass
class Corpus:
    """Appeals as the index sees them: ids, texts, times, places, sparse and dense rows."""

    ids: list[str]
    texts: list[str]
    times: pd.Series
    places: list[str | None]
    marks: list[frozenset[str]]
    sparse: sp.csr_matrix
    dense: np.ndarray

    @classmethod
    def build(cls, enc: Encoder, ids: Sequence[str], texts: Sequence[str], times: pd.Series) -> Corpus:
        X = enc.transform(list(texts))
        return cls(list(ids), list(texts), times.reset_index(drop=True), [place_of(t) for t in texts],
                   [marks_of(t) for t in texts], X, enc.embed_sparse(X))

    def index(self, settings: SimilarSettings) -> SimilarIndex:
        idx = SimilarIndex(self.dense.shape[1], settings)
        idx.add(self.ids, self.dense, self.times, self.places, [None] * len(self.ids), sparse=self.sparse,
                landmarks=self.marks)
        return idx

    def query(self, idx: SimilarIndex, i: int, **kwargs) -> list:
        """Query with appeal ``i`` itself (its place, landmarks and sparse row), excluding it."""
        return idx.query(self.dense[i], at=self.times[i], jurisdiction=self.places[i], sparse=self.sparse[i],
                         landmarks=self.marks[i], exclude=self.ids[i], **kwargs)


def place_of(text: str) -> str | None:
    """The district/street an appeal names (``find_jurisdiction``); None when it names only a city."""
    from minyi_nlp.routing.jurisdiction import find_jurisdiction
    from minyi_nlp.text import normalize_text

    found = find_jurisdiction(normalize_text(text))
    return None if found.level == "city" else found.full_name


def marks_of(text: str) -> frozenset[str]:
    """The landmarks of a raw text (after preprocessing, as the service stores it)."""
    from minyi_nlp.similar.landmarks import landmarks
    from minyi_nlp.text import preprocess

    return landmarks(preprocess(text))


def _joined(frame: pd.DataFrame) -> list[str]:
    return (frame["title"].fillna("").astype(str) + "\n" + frame["content"].fillna("").astype(str)).tolist()


def precision_recall(y: np.ndarray, predicted: np.ndarray) -> dict[str, float | int]:
    tp = int((y & predicted).sum())
    return {"precision": round(tp / max(1, int(predicted.sum())), 4), "recall": round(tp / max(1, int(y.sum())), 4),
            "n": len(y), "positives": int(y.sum())}


def choose_threshold(y: np.ndarray, scores: np.ndarray, min_recall: float = DEV_MIN_RECALL) -> float:
    """The threshold in 0.05 … 0.95 (step 0.01) with the best precision while recall stays ≥ ``min_recall``
    (the target's operating point; ties: the lower threshold)."""
    best, best_p = 0.05, -1.0
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        pr = precision_recall(y, scores >= t)
        if pr["recall"] >= min_recall and pr["precision"] > best_p:
            best, best_p = float(t), pr["precision"]
    return best


def precision_at_recall(y: np.ndarray, scores: np.ndarray, recall: float = 0.8) -> dict[str, float]:
    """The best precision among thresholds that keep recall ≥ ``recall`` (a point of the PR curve)."""
    from sklearn.metrics import precision_recall_curve

    p, r, t = precision_recall_curve(y, scores)
    i = int(np.argmax(np.where(r[:-1] >= recall, p[:-1], -1)))
    return {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4), "threshold": round(float(t[i]), 3)}


def dense_candidate_recall(corpus: Corpus, pairs: pd.DataFrame, y: np.ndarray, candidates: int) -> dict:
    """Share of same-event pairs whose earlier message is among the ``candidates`` dense nearest earlier
    messages of the later one (all of 附件3, and only the last 30 days): what the ANN stage can hand on."""
    pos = {appeal_id: i for i, appeal_id in enumerate(corpus.ids)}
    t = corpus.times.to_numpy()
    out = {"any_window": 0, "30_days": 0}
    positives = [(pos[a], pos[b]) for a, b, keep in zip(pairs["id_a"], pairs["id_b"], y, strict=True) if keep]
    for a, b in positives:
        later, earlier = (a, b) if t[a] >= t[b] else (b, a)
        sims = corpus.dense @ corpus.dense[later]
        earlier_ok = t <= t[later]
        earlier_ok[later] = False
        recent = earlier_ok & (t >= t[later] - np.timedelta64(30, "D"))
        for name, ok in (("any_window", earlier_ok), ("30_days", recent)):
            out[name] += int((sims[ok] > sims[earlier]).sum() < candidates)
    return {k: round(v / max(1, len(positives)), 4) for k, v in out.items()} | {"candidates": candidates}


def pair_scores(corpus: Corpus, idx: SimilarIndex, pairs: pd.DataFrame) -> np.ndarray:
    """The index's score of each pair, querying the later message over any window (0 if not returned)."""
    pos = {appeal_id: i for i, appeal_id in enumerate(corpus.ids)}
    cache: dict[str, dict[str, float]] = {}
    out = np.zeros(len(pairs))
    for n, (a, b) in enumerate(zip(pairs["id_a"], pairs["id_b"], strict=True)):
        ia, ib = pos[a], pos[b]
        later, earlier = (ia, ib) if corpus.times[ia] >= corpus.times[ib] else (ib, ia)
        key = corpus.ids[later]
        if key not in cache:
            found = corpus.query(idx, later, window_days=ANY_WINDOW, k=100_000, min_score=0.0)
            cache[key] = {m.id: m.score for m in found}
        out[n] = cache[key].get(corpus.ids[earlier], 0.0)
    return out


def eval_pairs(corpus: Corpus, settings: SimilarSettings, labels_path: Path) -> tuple[dict, float]:
    pairs = pd.read_csv(labels_path, dtype={"id_a": str, "id_b": str})
    pairs = pairs[pairs["label"] != "unsure"].reset_index(drop=True)
    scores = pair_scores(corpus, corpus.index(settings), pairs)
    y = (pairs["label"] == "same_event").to_numpy()
    dev = (pairs["pair"] % 2 == 0).to_numpy()
    threshold = choose_threshold(y[dev], scores[dev], DEV_MIN_RECALL)
    from sklearn.metrics import average_precision_score, roc_auc_score

    report = {
        "threshold": threshold,
        "threshold_chosen_on": f"dev half (even pair numbers): best precision at recall >= {DEV_MIN_RECALL}",
        "test": precision_recall(y[~dev], scores[~dev] >= threshold),
        "dev": precision_recall(y[dev], scores[dev] >= threshold),
        "all": precision_recall(y, scores >= threshold),
        "best_precision_at_recall_0.8": {"test": precision_at_recall(y[~dev], scores[~dev]),
                                         "all": precision_at_recall(y, scores)},
        "roc_auc_all": round(float(roc_auc_score(y, scores)), 4),
        "average_precision_all": round(float(average_precision_score(y, scores)), 4),
        "by_stratum": {s: precision_recall(y[m], scores[m] >= threshold)
                       for s, m in ((s, (pairs["stratum"] == s).to_numpy()) for s in pairs["stratum"].unique())},
        "dense_candidate_recall": dense_candidate_recall(corpus, pairs, y, settings.candidates),
    }
    return report, threshold


def eval_perturbed(enc: Encoder, corpus: Corpus, idx: SimilarIndex, seed: int = 0) -> dict:
    """Recall of the original when querying a perturbed copy one day later (default window and k)."""
    report = {}
    one_day = pd.Timedelta(days=1)
    for name, fn in PERTURBATIONS.items():
        rng = np.random.default_rng(seed)
        copies = [fn(t, rng) for t in corpus.texts]
        X = enc.transform(copies)
        D = enc.embed_sparse(X)
        found = others = 0
        for i in range(len(copies)):
            hits = idx.query(D[i], at=corpus.times[i] + one_day, jurisdiction=place_of(copies[i]), sparse=X[i],
                             landmarks=marks_of(copies[i]))
            ids = [m.id for m in hits]
            found += corpus.ids[i] in ids
            others += len(ids) - (corpus.ids[i] in ids)
        report[name] = {"recall": round(found / len(copies), 4), "n": len(copies),
                        "other_matches_per_query": round(others / len(copies), 3)}
    return report


def _group_recall(corpus: Corpus, idx: SimilarIndex, groups: np.ndarray, window_days: float | None) -> dict:
    """Each member of a duplicate group queries the index at its own time: recall of the earlier members
    (same time counts), precision = returned matches in the same group / all returned."""
    expected = found = returned = in_group = 0
    for i in np.flatnonzero(pd.Series(groups).duplicated(keep=False).to_numpy()):
        window = ANY_WINDOW if window_days is None else window_days
        lo = corpus.times[i] - pd.Timedelta(days=window)
        mates = {corpus.ids[j] for j in np.flatnonzero(groups == groups[i])
                 if j != i and lo <= corpus.times[j] <= corpus.times[i]}
        hits = corpus.query(idx, i, window_days=window, k=max(5, len(mates)))
        ids = {m.id for m in hits}
        expected += len(mates)
        found += len(mates & ids)
        returned += len(ids)
        in_group += len(ids & {corpus.ids[j] for j in np.flatnonzero(groups == groups[i])})
    return {"pairs": expected, "recall": round(found / max(1, expected), 4),
            "precision": round(in_group / max(1, returned), 4), "returned": returned}


def eval_prepare_groups(enc: Encoder, settings: SimilarSettings) -> dict:
    """附件2's raw/segmented duplicate groups (no dates: every row at one time)."""
    from minyi_nlp.dedup import duplicate_groups
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import read_labelled_sources
    from minyi_nlp.text import mask_pii

    p = load_params().prepare
    rows = read_labelled_sources()
    groups = duplicate_groups(rows["text"].tolist(), rows["pretokenized"].tolist(), containment=p.containment,
                              coverage=p.coverage, same_kind_cosine=p.same_kind_cosine)
    texts = [mask_pii(t) for t in rows["text"].astype(str)]
    times = pd.Series([pd.Timestamp("2020-01-01")] * len(rows))
    corpus = Corpus.build(enc, [f"{s}:{i}" for s, i in zip(rows["source"], rows["id"], strict=True)], texts, times)
    out = _group_recall(corpus, corpus.index(settings), groups, None)
    out["groups"] = int((pd.Series(groups).value_counts() > 1).sum())
    return out


def eval_file_duplicates(enc: Encoder, settings: SimilarSettings, source: str) -> dict:
    """The loader's content-duplicate groups of one file, each message at its own date."""
    from minyi_nlp.data import load_source

    res = load_source(source)
    frame = res.frame.reset_index(drop=True)
    dup = res.duplicates[res.duplicates["kind"] == "content"]
    group_of = dict(zip(dup["id"].astype(str), dup["group"], strict=True))
    ids = frame["id"].astype(str).tolist()
    groups = np.array([group_of.get(i, -1 - n) for n, i in enumerate(ids)])
    corpus = Corpus.build(enc, ids, _joined(frame), pd.to_datetime(frame["submitted_at"]))
    idx = corpus.index(settings)
    return {"groups": int(dup["group"].nunique()), "rows": len(dup),
            "default_window": _group_recall(corpus, idx, groups, settings.window_days),
            "any_window": _group_recall(corpus, idx, groups, None)}


PARTS = ("perturbed", "prepare", "files")


def evaluate(enc: Encoder, labels_path: Path, settings: SimilarSettings | None = None,
             parts: Sequence[str] = PARTS) -> dict:
    """The labelled pairs, then ``parts`` of the other three evaluations with the threshold chosen on the
    development pairs."""
    from minyi_nlp.data import load_source

    settings = settings or SimilarSettings()
    fj3 = load_source("teddy_fj3_hot_issues").frame.reset_index(drop=True)
    corpus = Corpus.build(enc, fj3["id"].astype(str).tolist(), _joined(fj3), pd.to_datetime(fj3["submitted_at"]))
    pairs, threshold = eval_pairs(corpus, settings, labels_path)
    tuned = settings.model_copy(update={"threshold": threshold})
    report = {"encoder": enc.name, "settings": json.loads(tuned.model_dump_json()), "labelled_pairs_fj3": pairs}
    if "perturbed" in parts:
        report["perturbed_fj3"] = eval_perturbed(enc, corpus, corpus.index(tuned))
    if "prepare" in parts:
        report["prepare_groups_fj2"] = eval_prepare_groups(enc, tuned)
    if "files" in parts:
        report["duplicates_fj3"] = eval_file_duplicates(enc, tuned, "teddy_fj3_hot_issues")
        report["duplicates_fj4"] = eval_file_duplicates(enc, tuned, "teddy_fj4_replies")
    return report


@app.command("run")
def run_command(
    out: Annotated[Path, typer.Option(help="where the JSON report goes")] = Path("reports/similar_eval.json"),
    refit: Annotated[bool, typer.Option(help="refit the stand-in encoder, not the cached one")] = False,
    projection: Annotated[str, typer.Option(help="dense projection of the stand-in: lsa or random")] = "lsa",
    encoder: Annotated[str, typer.Option(help="standin, or shared (minyi_nlp.models.encoder)")] = "standin",
    part: Annotated[list[str] | None, typer.Option(help=f"only these of {PARTS} (repeatable)")] = None,
) -> None:
    """Run every evaluation (the labelled pairs always) and write the report."""
    logging.basicConfig(level=logging.INFO)
    labels = get_settings().data_dir / "labels" / LABELS_FILE
    enc = shared_encoder() if encoder == "shared" else standin_encoder(refit, projection)
    report = evaluate(enc, labels, parts=part or PARTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))


@app.command("draw-pairs")
def draw_pairs_command(
    out: Annotated[Path, typer.Option()] = Path("data/interim/similar_pair_candidates.csv"),
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Draw the candidate pairs of 附件3 that were read and labelled (see data/labels/similar/README.md)."""
    from minyi_nlp.similar.pairs import draw_pairs, fj3_frame

    pairs = draw_pairs(fj3_frame(), {"high": 100, "mid": 80, "topic": 80, "topic_other": 110}, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    pairs.to_csv(out, index=False)
    typer.echo(f"{len(pairs)} pairs → {out}")


if __name__ == "__main__":
    app()

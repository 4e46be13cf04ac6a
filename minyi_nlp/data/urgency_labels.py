"""Urgency data: the pool of real appeals, the hand-labelled evaluation set and weak training labels.

* :func:`appeal_pool` — every raw appeal of the declared sources that carry raw text (Teddy fj2 raw,
  附件3, 附件4, the official test set, Shangluo, Fuzhou), preprocessed (normalised, PII-masked), one row
  per distinct text, with the Teddy evaluation fold marked.
* :func:`draw_candidates` — which appeals to read and label: a uniform random draw from the pool plus
  draws from the lexicon's strata (flagged, weak hit, generic risk word without a hit), so that the
  recall measured on the labels is not the lexicon's own selection.
* :func:`read_urgency_labels` — the hand-labelled set (``data/labels/urgency/labels.csv``), validated.
* :func:`weak_labels` — rule-labelled training rows (id, source, text, urgent, rule, confidence) that
  never include a hand-labelled appeal or a copy of one.

The lexicon is a dispatch-layer object: functions here take its per-text scores as plain arrays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from minyi_nlp.data.loader import load_source
from minyi_nlp.data.schema import DataError
from minyi_nlp.data.validate import content_key

__all__ = [
    "LABEL_COLUMNS",
    "POOL_SOURCES",
    "RISK_WORDS",
    "STRATA",
    "appeal_pool",
    "draw_candidates",
    "labels_path",
    "lexicon_stratum",
    "lexicon_verdicts",
    "read_training_labels",
    "read_urgency_labels",
    "training_labels_path",
    "weak_labels",
]

#: declared sources with raw citizen text (the segmented fj2 copy is not readable text)
POOL_SOURCES: tuple[str, ...] = (
    "teddy_fj2_raw",
    "teddy_fj4_replies",
    "teddy_fj2_test_unlabelled",
    "teddy_fj3_hot_issues",
    "shangluo_mailbox",
    "fuzhou_river",
)
#: the partition of the pool used to draw and to weight: lexicon flagged / weak hit only /
#: a generic risk word but no lexicon hit / nothing
STRATA: tuple[str, ...] = ("flagged", "weak_hit", "risk_word", "other")
#: generic words of danger, independent of the hazard lexicon's entries
RISK_WORDS = re.compile(r"危险|隐患|安全|紧急|生命|伤|死|救|急|怕|威胁")
LABEL_COLUMNS: tuple[str, ...] = (
    "id", "source", "row", "urgent", "draw", "stratum", "round", "teddy_eval", "note", "text"
)
TRAINING_COLUMNS: tuple[str, ...] = ("id", "source", "row", "urgent", "note", "text")


def labels_path() -> Path:
    """``data/labels/urgency/labels.csv`` of the project."""
    from minyi_nlp.config import get_settings

    return get_settings().data_dir / "labels" / "urgency" / "labels.csv"


def _title_and_content(title: object, content: object) -> str:
    return " ".join(p.strip() for p in (title, content) if isinstance(p, str) and p.strip())


def appeal_pool(sources: Sequence[str] = POOL_SOURCES, processed_dir: Path | None = None) -> pd.DataFrame:
    """One row per distinct appeal text: ``id, source, row, text, key, teddy_eval``.

    ``text`` = ``preprocess(title + " " + content)``; ``key`` the duplicate key of that text (the first
    row of each key is kept, in ``sources`` order); ``teddy_eval`` marks rows of the Teddy evaluation
    fold (``eval.parquet`` of ``minyi prepare``; all False when it has not been run).
    """
    from minyi_nlp.config import get_settings
    from minyi_nlp.text import preprocess

    frames = []
    for name in sources:
        frame = load_source(name).frame
        texts = [preprocess(_title_and_content(t, c)) for t, c in zip(frame["title"], frame["content"], strict=True)]
        frames.append(pd.DataFrame({"id": frame["id"].astype(str), "source": name, "row": frame["row"], "text": texts}))
    pool = pd.concat(frames, ignore_index=True)
    pool["key"] = [content_key(t, t) for t in pool["text"]]
    pool = pool.drop_duplicates("key", keep="first").reset_index(drop=True)
    eval_file = (processed_dir or get_settings().processed_dir) / "eval.parquet"
    eval_ids = set(pd.read_parquet(eval_file, columns=["id"])["id"]) if eval_file.is_file() else set()
    pool["teddy_eval"] = pool["id"].isin(eval_ids)
    return pool


def lexicon_stratum(
    texts: Sequence[str], scores: Sequence[float], any_hit: Sequence[bool], flag_at: float
) -> list[str]:
    """The stratum of each text (see :data:`STRATA`) from the lexicon's score and whether it hit at all."""
    out = []
    for text, score, hit in zip(texts, scores, any_hit, strict=True):
        if score >= flag_at:
            out.append("flagged")
        elif hit:
            out.append("weak_hit")
        elif RISK_WORDS.search(text):
            out.append("risk_word")
        else:
            out.append("other")
    return out


def draw_candidates(pool: pd.DataFrame, strata: Sequence[str], sizes: dict[str, int], seed: int) -> pd.DataFrame:
    """Appeals to label: ``sizes["random"]`` uniformly from the pool, then ``sizes[stratum]`` more from
    each stratum (without repeats). Returns the pool rows with ``stratum`` and ``draw`` (random or the
    stratum's name), shuffled, so the reader does not see which draw a text came from.
    """
    unknown = set(sizes) - {"random", *STRATA}
    if unknown:
        raise ValueError(f"unknown draw sizes {sorted(unknown)}; expected 'random' and {list(STRATA)}")
    rng = np.random.default_rng(seed)
    frame = pool.assign(stratum=list(strata))
    chosen: dict[int, str] = {}
    n_random = min(sizes.get("random", 0), len(frame))
    for i in rng.choice(len(frame), size=n_random, replace=False):
        chosen[int(i)] = "random"
    for stratum in STRATA:
        rest = [i for i in np.flatnonzero(frame["stratum"].to_numpy() == stratum) if int(i) not in chosen]
        for i in rng.permutation(rest)[: sizes.get(stratum, 0)]:
            chosen[int(i)] = stratum
    order = rng.permutation(sorted(chosen))
    out = frame.iloc[order].copy()
    out["draw"] = [chosen[int(i)] for i in order]
    return out.reset_index(drop=True)


def training_labels_path() -> Path:
    """``data/labels/urgency_train/labels.csv``: appeals read and labelled to TRAIN the urgency head."""
    return labels_path().parents[1] / "urgency_train" / "labels.csv"


def read_urgency_labels(path: Path | None = None, *, columns: Sequence[str] = LABEL_COLUMNS) -> pd.DataFrame:
    """The hand-labelled urgency set, validated: :class:`DataError` naming the row and field at fault.
    ``columns``: those the file must have (:data:`TRAINING_COLUMNS` for the hand-read training rows)."""
    from minyi_nlp.text import preprocess

    path = path or labels_path()
    if not path.is_file():
        raise DataError(f"{path}: urgency labels not found")
    frame = pd.read_csv(path, dtype={"id": str, "note": str}, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}")
    design = "stratum" in columns
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        where = f"{path.name}: row {i} (id {row.id!r})"
        if str(row.urgent) not in ("0", "1"):
            raise DataError(f"{where}: field 'urgent' must be 0 or 1, got {row.urgent!r}")
        if row.source not in POOL_SOURCES:
            raise DataError(f"{where}: field 'source' {row.source!r} is not one of {list(POOL_SOURCES)}")
        if design and row.stratum not in STRATA:
            raise DataError(f"{where}: field 'stratum' {row.stratum!r} is not one of {list(STRATA)}")
        if design and row.draw not in ("random", *STRATA):
            raise DataError(f"{where}: field 'draw' {row.draw!r} is not 'random' or a stratum")
        if not isinstance(row.text, str) or not row.text.strip():
            raise DataError(f"{where}: field 'text' is empty")
        if preprocess(row.text) != row.text:
            raise DataError(f"{where}: field 'text' is not preprocessed (masked) text")
    dup = frame["id"].duplicated(keep=False)
    if dup.any():
        raise DataError(f"{path}: duplicated ids {sorted(frame.loc[dup, 'id'].unique())[:5]}")
    frame["urgent"] = frame["urgent"].astype(int)
    frame["row"] = frame["row"].astype(int)
    if "teddy_eval" in frame:
        frame["teddy_eval"] = frame["teddy_eval"].astype(str).str.lower().isin(("true", "1"))
    return frame


def read_training_labels(path: Path | None = None) -> pd.DataFrame:
    """The hand-read TRAINING rows of the urgency head (``data/labels/urgency_train``), validated."""
    return read_urgency_labels(path or training_labels_path(), columns=TRAINING_COLUMNS)


#: hit statuses meaning "named, but not a present danger" (see :mod:`minyi_nlp.routing.hazards`)
CUED_STATUSES: frozenset[str] = frozenset({"negated", "resolved", "hedged", "historical"})
#: below this best-hit score a text is a negative (the lexicon's generic words only, or damped hits)
NEGATIVE_BELOW = 0.3


def lexicon_verdicts(results: Sequence[object]) -> dict[str, np.ndarray]:
    """Per text, from the hazard lexicon's results (``HazardResult``): ``scores`` (best hit), ``any_hit``,
    ``negative_context`` (a document context such as 赔偿 or 噪音 was found) and ``cued`` (some hit was
    negated, resolved, hedged or historical): the arrays :func:`weak_labels` takes."""
    return {
        "scores": np.array([r.score for r in results], float),  # type: ignore[attr-defined]
        "any_hit": np.array([bool(r.hits) for r in results]),  # type: ignore[attr-defined]
        "negative_context": np.array([bool(r.context) for r in results]),  # type: ignore[attr-defined]
        "cued": np.array([any(h.status in CUED_STATUSES for h in r.hits) for r in results]),  # type: ignore[attr-defined]
    }


def weak_labels(
    pool: pd.DataFrame,
    scores: Sequence[float],
    any_hit: Sequence[bool],
    *,
    flag_at: float,
    exclude_keys: set[str],
    negative_context: Sequence[bool] | None = None,
    cued: Sequence[bool] | None = None,
    urgent_category: Sequence[bool] | None = None,
    read: pd.DataFrame | None = None,
    negatives_per_positive: float = 3.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Rule-labelled training rows: ``id, source, text, urgent, rule, confidence``.

    ``scores``/``any_hit``/``negative_context``/``cued`` are the hazard lexicon's verdict per pool row
    (:func:`lexicon_verdicts`). Rules, first match wins:

    * ``lexicon_strong`` (urgent 1): score ≥ ``max(flag_at, 0.75)``; confidence = score;
    * ``lexicon_flag`` (1): score ≥ ``flag_at``; confidence = score;
    * ``sla_urgent_category`` (1): ``urgent_category`` is true (a category whose ``sla.yaml`` entry is urgent,
      e.g. from a sub-category model); confidence 0.6;
    * ``hazard_in_negative_context`` (0): hazard words, but score < 0.3 after a context (aftermath of an
      accident, a policy question, a nuisance); confidence 0.8: the hard negatives;
    * ``hazard_not_present`` (0): a strong hazard word that a cue cancelled or damped below 0.3 (防止, 已修好,
      去年, 一旦 …), no context; confidence 0.8: hard negatives too;
    * ``weak_hit_only`` (0): only the lexicon's weak words (score < 0.3: 裂缝, 井盖, 老鼠 …), no context, no cue;
      confidence 0.8; as many as positives;
    * ``no_hazard`` (0): no hit and no generic risk word (:data:`RISK_WORDS`); confidence 0.95; a random
      ``negatives_per_positive`` × (positives) of them;
    * ``risk_word_only`` (0): a risk word but no hit; confidence 0.8; as many as positives.

    Texts scoring between 0.3 and ``flag_at`` are left out (too uncertain either way). Rows whose duplicate
    key is in ``exclude_keys`` (the hand-labelled evaluation set) never appear. ``read`` (columns ``id, source,
    text, urgent``: appeals read and labelled for training, :func:`read_training_labels`) replaces the rules
    for those texts (rule ``hand_read``, confidence 1).
    """
    n = len(pool)
    frame = pool.assign(
        score=np.asarray(scores, float),
        any_hit=np.asarray(any_hit, bool),
        neg=np.zeros(n, bool) if negative_context is None else np.asarray(negative_context, bool),
        cued=np.zeros(n, bool) if cued is None else np.asarray(cued, bool),
        cat=np.zeros(n, bool) if urgent_category is None else np.asarray(urgent_category, bool),
    )
    frame = frame[~frame["key"].isin(exclude_keys)]
    hand = pd.DataFrame(columns=["id", "source", "text", "urgent", "rule", "confidence"])
    if read is not None and len(read):
        keys = [content_key(t, t) for t in read["text"]]
        hand = read.assign(key=keys)[~pd.Series(keys, index=read.index).isin(exclude_keys)]
        hand = hand.assign(rule="hand_read", confidence=1.0, urgent=hand["urgent"].astype(int))
        frame = frame[~frame["key"].isin(set(keys))]
    risk = frame["text"].str.contains(RISK_WORDS)
    strong = frame["score"] >= max(flag_at, 0.75)
    flagged = (frame["score"] >= flag_at) & ~strong
    by_category = frame["cat"] & ~strong & ~flagged
    low = frame["any_hit"] & (frame["score"] < NEGATIVE_BELOW) & ~frame["cat"]
    hard = low & frame["neg"]
    not_present = low & ~frame["neg"] & frame["cued"]
    weak_only = low & ~frame["neg"] & ~frame["cued"]
    positives = pd.concat([
        frame[strong].assign(rule="lexicon_strong", confidence=frame.loc[strong, "score"]),
        frame[flagged].assign(rule="lexicon_flag", confidence=frame.loc[flagged, "score"]),
        frame[by_category].assign(rule="sla_urgent_category", confidence=0.6),
    ]).assign(urgent=1)
    rng = np.random.default_rng(seed)

    def sample(part: pd.DataFrame, k: int) -> pd.DataFrame:
        return part.iloc[rng.permutation(len(part))[: min(k, len(part))]]

    n_pos = len(positives) + int((hand["urgent"] == 1).sum())
    quiet = ~frame["any_hit"] & ~frame["cat"]
    negatives = pd.concat([
        frame[hard].assign(rule="hazard_in_negative_context", confidence=0.8),
        frame[not_present].assign(rule="hazard_not_present", confidence=0.8),
        sample(frame[weak_only], n_pos).assign(rule="weak_hit_only", confidence=0.8),
        sample(frame[quiet & ~risk], int(round(negatives_per_positive * n_pos))).assign(rule="no_hazard",
                                                                                       confidence=0.95),
        sample(frame[quiet & risk], n_pos).assign(rule="risk_word_only", confidence=0.8),
    ]).assign(urgent=0)
    out = pd.concat([df for df in (positives, hand, negatives) if len(df)], ignore_index=True)
    return out[["id", "source", "text", "urgent", "rule", "confidence"]].reset_index(drop=True)

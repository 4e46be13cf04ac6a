"""The labelled data of each head, in one shape: ``id, source, text, label, split, group``.

``split`` is ``train`` (fits the head), ``val`` (tunes what sits on top of it, then fits it too) or
``test`` (held out: every figure reported for the bundle). ``group``: rows sharing a group are copies of
one appeal and stay on one side of every split. A head differs from another only in this data, its
labels and its ``params.yaml`` section.

* ``category``: the Teddy Cup labelled appeals from ``minyi prepare`` (training rows: every copy of the
  appeals outside the evaluation fold; test: the fold's raw texts).
* ``department``: department types derived from the replying unit (Teddy 附件4 replies, Shangluo
  agencies; :mod:`minyi_nlp.routing.departments`), generic offices excluded, near-duplicates collapsed.
* ``appeal_type``: the Fuzhou 12345 work orders' 诉求性质 (投诉/咨询/建议/举报/求助).
* ``urgency``: ``urgent`` / ``ordinary``, weak labels from the hazard lexicon over every raw appeal
  (:func:`minyi_nlp.data.urgency_labels.weak_labels`), never an appeal of the hand-labelled urgency set
  (that set only chooses the flag threshold and scores the head: :mod:`minyi_nlp.dispatch.urgency`).
* ``subcategory``: weak 一级/二级/三级 labels of appeals from every source
  (:mod:`minyi_nlp.data.weak_labels`); never the hand-labelled set, the category evaluation fold, or the
  department head's validation and test appeals (their weak labels may come from the replying unit).
  Training rows only: the head is scored on the hand-labelled set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from minyi_nlp.params import Params

log = logging.getLogger(__name__)

COLUMNS = ("id", "source", "text", "label", "split", "group")
DEPARTMENT_SOURCES = ("teddy_fj4", "shangluo")
APPEAL_TYPES = ("投诉", "咨询", "建议", "举报", "求助")


@dataclass
class TaskData:
    """One head's rows (:data:`COLUMNS` plus task-specific columns) and how they were built."""

    name: str
    frame: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)

    def part(self, *splits: str) -> pd.DataFrame:
        return self.frame[self.frame["split"].isin(splits)].reset_index(drop=True)


def compose_text(title: Any, content: Any) -> str:
    """One appeal's text: title then content (as in the Teddy Cup raw file)."""
    parts = [p.strip() for p in (title, content) if isinstance(p, str) and p.strip()]
    return " ".join(parts)


def assign_split(labels: Sequence[str], *, seed: int, val_share: float, test_share: float) -> np.ndarray:
    """'train' / 'val' / 'test' per row, stratified by label (each label shuffled with ``seed``).

    A label with too few rows to give one to a part keeps them in training.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(list(labels), dtype=object)
    out = np.full(len(labels), "train", dtype=object)
    for label in sorted(set(labels)):
        idx = np.flatnonzero(labels == label)
        rng.shuffle(idx)
        n_test = int(round(test_share * len(idx)))
        n_val = int(round(val_share * len(idx)))
        out[idx[:n_test]] = "test"
        out[idx[n_test : n_test + n_val]] = "val"
    return out


def deduplicate(
    frame: pd.DataFrame, *, same_kind_cosine: float = 0.9, label_col: str = "label"
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per appeal: near-identical ``text`` (CJK-bigram cosine, :mod:`minyi_nlp.dedup`) keeps its
    first row; groups whose rows disagree on ``label_col`` are counted."""
    from minyi_nlp.dedup import duplicate_groups

    groups = duplicate_groups(frame["text"].tolist(), [False] * len(frame), same_kind_cosine=same_kind_cosine)
    frame = frame.assign(_group=groups)
    conflicts = int((frame.groupby("_group")[label_col].nunique() > 1).sum())
    kept = frame.drop_duplicates("_group", keep="first").drop(columns="_group").reset_index(drop=True)
    return kept, {"rows": len(frame), "kept": len(kept), "dropped": len(frame) - len(kept),
                  "groups_with_conflicting_labels": conflicts}


# --------------------------------------------------------------------------- category


def category_rows(appeals: pd.DataFrame, copies: pd.DataFrame | None, fold: int, train_copies: str) -> pd.DataFrame:
    """Training rows (outside ``fold``; every copy when ``train_copies == "all"``) and the fold's raw texts."""
    pool = copies if train_copies == "all" and copies is not None else appeals
    train = pool[pool["fold"] != fold]
    test = appeals[appeals["fold"] == fold]
    out = pd.concat([train.assign(split="train"), test.assign(split="test")], ignore_index=True)
    out["group"] = [f"a{int(a)}" for a in out["appeal"]]
    return out[[*COLUMNS, "appeal", "fold", "is_raw"]]


def category_task(params: Params, *, processed_dir: Path | None = None, fold: int | None = None) -> TaskData:
    """The prepared Teddy Cup appeals (``minyi prepare`` runs first when its output is missing)."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.prepare import APPEALS_FILE, COPIES_FILE, PreparedData, run_prepare

    processed_dir = processed_dir or get_settings().processed_dir
    if not all((processed_dir / f).exists() for f in (APPEALS_FILE, COPIES_FILE)):
        log.info("no prepared data in %s: running prepare", processed_dir)
        run_prepare(params.prepare, processed_dir)
    data = PreparedData.read(processed_dir)
    fold = params.prepare.eval_fold if fold is None else fold
    frame = category_rows(data.appeals, data.copies, fold, params.prepare.train_copies)
    return TaskData("category", frame, {"eval_fold": fold, "train_copies": params.prepare.train_copies})


# --------------------------------------------------------------------------- department


class DepartmentData(BaseModel):
    """``heads.department.data``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 42
    val_share: float = Field(0.15, gt=0, lt=0.5)
    test_share: float = Field(0.15, gt=0, lt=0.5)
    same_kind_cosine: float = Field(0.9, gt=0, le=1)  # near-duplicate appeals (dedup.duplicate_groups)


def load_department_data(*, lists: Any | None = None, raw_dir: Path | None = None) -> pd.DataFrame:
    """Every appeal with a derived department label, one row per raw row.

    Columns: ``id`` (``<source>:<row in the raw file>``), ``appeal_id``, ``source``, ``text``, ``label``
    (the department type), ``generic``, ``jurisdiction`` (place written with the unit), ``level``, ``kind``,
    ``rule``.
    """
    from minyi_nlp.data import load_source
    from minyi_nlp.routing import derive_labels, load_lists

    lists = lists or load_lists()
    teddy = load_source("teddy_fj4_replies", raw_dir=raw_dir).frame
    teddy = teddy.drop(columns=["department"]).rename(columns={"reply": "答复意见"})
    shangluo = load_source("shangluo_mailbox", raw_dir=raw_dir).frame.rename(columns={"department": "reply_agency"})
    frames = [("teddy_fj4", derive_labels(teddy, source="teddy", lists=lists)),
              ("shangluo", derive_labels(shangluo, source="shangluo", default_city="商洛市", lists=lists))]
    out = []
    for source, f in frames:
        f = f[f["department"].notna()]
        out.append(pd.DataFrame({
            "id": [f"{source}:{r}" for r in f["row"]],  # the raw file's row: unique, stable
            "appeal_id": f["id"].astype(str).to_numpy(),
            "source": source,
            "text": [compose_text(t, c) for t, c in zip(f["title"], f["content"], strict=True)],
            "label": f["department"].astype(str).to_numpy(),
            "generic": f["dept_generic"].astype(bool).to_numpy(),
            "jurisdiction": f["dept_jurisdiction"].to_numpy(),
            "level": f["dept_level"].to_numpy(),
            "kind": f["dept_kind"].to_numpy(),
            "rule": f["dept_rule"].to_numpy(),
        }))
    return pd.concat(out, ignore_index=True)


def department_task(params: Params, **kwargs: Any) -> TaskData:
    """Derived labels, generic offices removed, de-duplicated, split train / val / test by label."""
    p = DepartmentData.model_validate(params.heads["department"].data)
    data = load_department_data(**kwargs)
    report: dict[str, Any] = {"labelled": {s: int((data["source"] == s).sum()) for s in DEPARTMENT_SOURCES}}
    report["generic_excluded"] = {s: int(((data["source"] == s) & data["generic"]).sum())
                                  for s in DEPARTMENT_SOURCES}
    data = data[~data["generic"]].reset_index(drop=True)
    data, report["dedup"] = deduplicate(data, same_kind_cosine=p.same_kind_cosine)
    data["split"] = assign_split(data["label"], seed=p.seed, val_share=p.val_share, test_share=p.test_share)
    data["group"] = data["id"]
    report["split"] = {k: int(v) for k, v in data["split"].value_counts().items()}
    return TaskData("department", data, report)


# --------------------------------------------------------------------------- appeal type


class AppealTypeData(BaseModel):
    """``heads.appeal_type.data``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 42
    test_share: float = Field(0.2, gt=0, lt=0.5)


def appeal_type_task(params: Params, **kwargs: Any) -> TaskData:
    """Fuzhou work orders with an appeal type, near-duplicates collapsed, split train / test by label."""
    from minyi_nlp.data import load_source

    p = AppealTypeData.model_validate(params.heads["appeal_type"].data)
    frame = load_source("fuzhou_river", **kwargs).frame
    frame = frame[frame["appeal_type"].isin(APPEAL_TYPES)]
    data = pd.DataFrame({
        "id": [f"fuzhou_river:{i}" for i in frame["id"]],
        "source": "fuzhou_river",
        "text": [compose_text(t, c) for t, c in zip(frame["title"], frame["content"], strict=True)],
        "label": frame["appeal_type"].astype(str).to_numpy(),
    })
    data, dedup = deduplicate(data, same_kind_cosine=0.95)
    data["split"] = assign_split(data["label"], seed=p.seed, val_share=0.0, test_share=p.test_share)
    data["group"] = data["id"]
    report = {"dedup": dedup, "labels": {k: int(v) for k, v in data["label"].value_counts().items()},
              "split": {k: int(v) for k, v in data["split"].value_counts().items()},
              "note": "Fuzhou 12345 river work orders only (one topic); 求助 has a handful of rows."}
    return TaskData("appeal_type", data, report)


# --------------------------------------------------------------------------- urgency

URGENT, ORDINARY = "urgent", "ordinary"


class UrgencyData(BaseModel):
    """``heads.urgency.data``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 42
    val_share: float = Field(0.1, ge=0, lt=0.5)
    test_share: float = Field(0.15, gt=0, lt=0.5)
    negatives_per_positive: float = Field(3.0, gt=0)  # random no-hazard negatives per weak positive
    hand_read: bool = True  # data/labels/urgency_train (appeals read for training) replaces the rules there


def urgency_task(params: Params, **kwargs: Any) -> TaskData:
    """Weak urgency labels over the pool of raw appeals (hand-labelled appeals and their exact copies left
    out), split train / val / test by label; ``test`` is a weak-label sanity check, not the evaluation."""
    from minyi_nlp.data.urgency_labels import (
        appeal_pool,
        lexicon_verdicts,
        read_training_labels,
        read_urgency_labels,
        training_labels_path,
        weak_labels,
    )
    from minyi_nlp.data.validate import content_key
    from minyi_nlp.routing.hazards import load_hazards

    p = UrgencyData.model_validate(params.heads["urgency"].data)
    lexicon = load_hazards()
    pool = appeal_pool()
    labelled = {content_key(t, t) for t in read_urgency_labels()["text"]}
    read = read_training_labels() if p.hand_read and training_labels_path().is_file() else None
    weak = weak_labels(pool, **lexicon_verdicts(lexicon.match_many(pool["text"])), flag_at=lexicon.flag_at,
                       exclude_keys=labelled, read=read, negatives_per_positive=p.negatives_per_positive,
                       seed=p.seed)
    data = pd.DataFrame({
        "id": [f"{s}:{i}" for s, i in zip(weak["source"], weak["id"], strict=True)],
        "source": weak["source"].to_numpy(),
        "text": weak["text"].to_numpy(),
        "label": np.where(weak["urgent"].to_numpy() == 1, URGENT, ORDINARY),
        "rule": weak["rule"].to_numpy(),
    })
    data["split"] = assign_split(data["label"], seed=p.seed, val_share=p.val_share, test_share=p.test_share)
    data["group"] = data["id"]
    report = {"pool": len(pool), "lexicon_version": lexicon.version, "excluded_hand_labelled": len(labelled),
              "rules": {k: int(v) for k, v in data["rule"].value_counts().items()},
              "labels": {k: int(v) for k, v in data["label"].value_counts().items()},
              "split": {k: int(v) for k, v in data["split"].value_counts().items()}}
    return TaskData("urgency", data, report)
# --------------------------------------------------------------------------- sub-categories

#: department task source → the appeal pool's source name (keys ``<source>:<row in the raw file>``)
POOL_SOURCE = {"teddy_fj4": "teddy_fj4_replies", "shangluo": "shangluo_mailbox"}


def held_out_pool_keys(tasks: Iterable[TaskData]) -> set[str]:
    """Pool keys of the department head's ``val`` and ``test`` rows: the sub-category head never trains
    on them (a weak label may come from the replying unit, i.e. the department label)."""
    keys: set[str] = set()
    for task in tasks:
        if task.name != "department":
            continue
        held = task.frame[task.frame["split"].isin(("val", "test"))]
        for ident in held["id"].astype(str):
            source, _, row = ident.partition(":")
            keys.add(f"{POOL_SOURCE.get(source, source)}:{row}")
    return keys


def subcategory_task(params: Params, *, processed_dir: Path | None = None,
                     held_out: Iterable[str] = ()) -> TaskData:
    """Weakly labelled appeals (``label``: the path), without the ``held_out`` pool keys and their
    near-duplicates. The training frame is read from ``processed_dir``, and built there (a few minutes; also
    ``python -m minyi_nlp.data.weak_labels build``) when it is missing or stale: when the keyword lexicon, the
    lists, the hand-labelled set or ``minyi prepare``'s output changed since it was built."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.weak_labels import TRAINING_FILE, stale_inputs, write_training_frame

    processed_dir = processed_dir or get_settings().processed_dir
    path = processed_dir / TRAINING_FILE
    changed = stale_inputs(path, processed_dir)
    if not changed:
        weak = pd.read_parquet(path)
    else:
        log.info("weak sub-category labels in %s to build (%s)", processed_dir, ", ".join(changed))
        _, weak = write_training_frame(processed_dir)
    held = set(held_out)
    held_groups = set(weak.loc[weak["key"].isin(held), "group"])
    dropped = weak["key"].isin(held) | weak["group"].isin(held_groups)
    kept = weak[~dropped].reset_index(drop=True)
    frame = pd.DataFrame({"id": kept["key"].astype(str), "source": kept["source"].astype(str),
                          "text": kept["text"].astype(str), "label": kept["path"].astype(str), "split": "train",
                          "group": [f"w{g}" for g in kept["group"]], "rule": kept["rule"].astype(str)})
    depth = frame["label"].str.count("/") + 1
    report = {"weak_labels": str(path.name), "rows": len(weak), "held_out_dropped": int(dropped.sum()),
              "kept": len(frame), "reaching": {f"l{k}": int((depth >= k).sum()) for k in (1, 2, 3)},
              "by_rule": {k: int(v) for k, v in frame["rule"].value_counts().items()},
              "note": "trained on weak labels only; scored on the hand-labelled set (reports/subcategory_eval.json)"}
    return TaskData("subcategory", frame, report)


TASKS: dict[str, Callable[..., TaskData]] = {
    "category": category_task,
    "department": department_task,
    "appeal_type": appeal_type_task,
    "urgency": urgency_task,
    "subcategory": subcategory_task,
}


def load_task(name: str, params: Params, **kwargs: Any) -> TaskData:
    """The data of head ``name`` (a key of :data:`TASKS`)."""
    try:
        builder = TASKS[name]
    except KeyError:
        raise ValueError(f"no task {name!r}; known: {sorted(TASKS)}") from None
    return builder(params, **kwargs)

"""Build the training and evaluation sets from ``data/raw`` without leaking between them.

The Teddy Cup raw file mostly repeats rows of the segmented file. We group duplicates across
both files first (:mod:`minyi_nlp.dedup`), keep one row per appeal (the raw text when there is
one), and only then split: the evaluation set is raw text only, one fold of the appeals that have
raw text, and no appeal in it has any copy in the training set.

With ``train_copies: all`` the training set holds every copy of each training appeal (its raw and
its segmented text), tagged with the appeal's number so that the model's internal calibration
splits keep the copies of one appeal together.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

import minyi_nlp.progress as progress
from minyi_nlp.config import get_settings
from minyi_nlp.dedup import duplicate_groups
from minyi_nlp.params import PrepareParams

log = logging.getLogger(__name__)

RAW_SOURCE = "teddy_fj2_raw"
SEGMENTED_SOURCE = "teddy_fj2_segmented"
TRAIN_FILE = "train.parquet"
COPIES_FILE = "copies.parquet"
EVAL_FILE = "eval.parquet"
EVAL_CSV = "eval.csv"
APPEALS_FILE = "appeals.parquet"


@dataclass
class PreparedData:
    """All de-duplicated appeals with their fold, and the report of how they were built."""

    appeals: pd.DataFrame
    copies: pd.DataFrame
    report: dict

    @classmethod
    def read(cls, processed_dir: Path) -> PreparedData:
        """The appeals and copies that :func:`run_prepare` wrote to ``processed_dir`` (the report is not read)."""
        return cls(appeals=pd.read_parquet(processed_dir / APPEALS_FILE),
                   copies=pd.read_parquet(processed_dir / COPIES_FILE), report={})

    def train_eval(self, eval_fold: int, train_copies: str = "one") -> tuple[pd.DataFrame, pd.DataFrame]:
        """Training rows (outside the fold) and raw-text evaluation rows (the fold).

        ``train_copies="all"``: every copy of each training appeal; else one row per appeal.
        Both carry the ``appeal`` column, the appeal's number, to use as a group.
        """
        train = self.copies if train_copies == "all" else self.appeals
        evaluation = self.appeals[self.appeals["fold"] == eval_fold]
        return train[train["fold"] != eval_fold].reset_index(drop=True), evaluation.reset_index(drop=True)


def read_labelled_sources(raw_dir: Path | None = None, rejects_dir: Path | None = None) -> pd.DataFrame:
    """Load both Teddy Cup labelled files into one frame: text, label, pretokenized, source, row."""
    from minyi_nlp.data import load_source

    frames = []
    for name, pretok in ((RAW_SOURCE, False), (SEGMENTED_SOURCE, True)):
        rejects = rejects_dir / f"{name}.rejects.csv" if rejects_dir else None
        res = load_source(name, raw_dir=raw_dir, rejects_path=rejects)
        if len(res.rejects):
            log.warning("%s: %d rows rejected (see %s)", name, len(res.rejects), rejects)
        f = res.frame
        frames.append(
            pd.DataFrame(
                {
                    "id": f["id"].astype(str),
                    "text": f["content"].astype(str),
                    "label": f["category"].astype(str),
                    "pretokenized": pretok,
                    "source": name,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _group_label(labels: pd.Series, is_raw: pd.Series) -> str:
    counts = labels.value_counts()
    top = counts[counts == counts.max()].index
    if len(top) == 1:
        return str(top[0])
    raw_labels = labels[is_raw]
    for lab in raw_labels:
        if lab in top:
            return str(lab)
    return str(sorted(top)[0])


def build_appeals(rows: pd.DataFrame, params: PrepareParams) -> PreparedData:
    """De-duplicate across files, keep one row per appeal, assign folds to raw-text appeals."""
    from minyi_nlp.text import mask_pii

    groups = duplicate_groups(
        rows["text"].tolist(),
        rows["pretokenized"].tolist(),
        containment=params.containment,
        coverage=params.coverage,
        same_kind_cosine=params.same_kind_cosine,
    )
    # masked once, after de-duplication (which compares the texts as given): appeals and copies share it
    rows = rows.assign(group=groups, is_raw=~rows["pretokenized"], text=[mask_pii(t) for t in rows["text"]])
    kept = []
    conflicts = 0
    for number, (_, g) in enumerate(rows.groupby("group", sort=True)):
        label = _group_label(g["label"], g["is_raw"])
        conflicts += int(g["label"].nunique() > 1)
        rep = g[g["is_raw"]].iloc[0] if g["is_raw"].any() else g.iloc[0]
        kept.append({**rep.to_dict(), "appeal": number, "label": label, "copies": len(g)})
    appeals = pd.DataFrame(kept).reset_index(drop=True)
    # every copy, numbered and labelled as its appeal (groups are numbered in sorted order above)
    rows["appeal"] = np.searchsorted(np.unique(rows["group"].to_numpy()), rows["group"].to_numpy())
    rows["label"] = appeals["label"].to_numpy()[rows["appeal"].to_numpy()]

    appeals["fold"] = -1
    raw_idx = np.flatnonzero(appeals["is_raw"].to_numpy())
    skf = StratifiedKFold(n_splits=params.n_folds, shuffle=True, random_state=params.seed)
    raw_labels = appeals.loc[raw_idx, "label"].to_numpy()
    for k, (_, test) in enumerate(skf.split(raw_idx, raw_labels)):
        appeals.loc[raw_idx[test], "fold"] = k

    copies = rows.drop(columns=["group"])
    copies["fold"] = appeals["fold"].to_numpy()[copies["appeal"].to_numpy()]
    copies = copies.sort_values(["appeal", "pretokenized"], kind="stable").reset_index(drop=True)
    sizes = rows.groupby("group").size()
    report = {
        "rows_in": {s: int(n) for s, n in rows["source"].value_counts().items()},
        "appeals": len(appeals),
        "appeals_with_raw_text": int(appeals["is_raw"].sum()),
        "duplicate_groups": int((sizes > 1).sum()),
        "rows_in_duplicate_groups": int(sizes[sizes > 1].sum()),
        "largest_group": int(sizes.max()),
        "groups_with_conflicting_labels": conflicts,
        "labels": {k: int(v) for k, v in appeals["label"].value_counts().items()},
    }
    return PreparedData(appeals=appeals.drop(columns=["group"]), copies=copies, report=report)


def run_prepare(params: PrepareParams, out_dir: Path | None = None) -> PreparedData:
    """The ``prepare`` stage: read raw data, write appeals/train/eval files and a report.

    The report goes to ``reports/prepare.json`` for the default output folder, else beside the data.
    """
    settings = get_settings()
    report_path = settings.reports_dir / "prepare.json" if out_dir is None else out_dir / "prepare.json"
    out_dir = out_dir or settings.processed_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    if not 0 <= params.eval_fold < params.n_folds:
        raise ValueError(f"eval_fold must be in [0, {params.n_folds}), got {params.eval_fold}")
    with progress.stage("prepare", total=3):
        with progress.step("read the labelled raw files"):
            rows = read_labelled_sources(rejects_dir=out_dir)
        with progress.step(f"de-duplicate {len(rows):,} rows, mask, assign folds"):
            data = build_appeals(rows, params)
        with progress.step("write the splits"):
            train, evaluation = data.train_eval(params.eval_fold, params.train_copies)
            data.appeals.to_parquet(out_dir / APPEALS_FILE, index=False)
            data.copies.to_parquet(out_dir / COPIES_FILE, index=False)
            train.to_parquet(out_dir / TRAIN_FILE, index=False)
            evaluation.to_parquet(out_dir / EVAL_FILE, index=False)
            evaluation[["id", "text", "label"]].to_csv(out_dir / EVAL_CSV, index=False)
    data.report.update({"train_rows": len(train), "train_copies": params.train_copies, "eval_rows": len(evaluation)})
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(
        json.dumps(data.report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    log.info("prepared %d appeals: %d train, %d eval (raw text)", len(data.appeals), len(train), len(evaluation))
    return data

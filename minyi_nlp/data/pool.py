"""Every appeal of every declared source in one frame, masked, with its fold and duplicate group.

The sub-category labels (hand-labelled evaluation set and weak training labels) draw on all sources
at once, so they need one view of them that says which rows the category model trains on:

* Teddy 附件2 appeals come from ``minyi prepare``'s ``appeals.parquet`` (one row per appeal, the raw
  text where there is one, with its ``fold``; fold ``eval_fold`` is the category evaluation set);
* every other source (附件4, 附件3, the official test set, Shangluo, Fuzhou) is read with
  :func:`minyi_nlp.data.load_source` (valid rows only);
* ``group`` links near-duplicates across all of them (:func:`minyi_nlp.dedup.duplicate_groups`, the
  rule ``prepare`` uses), so that an 附件4 message repeating a Teddy training appeal is known as such.

``text`` is :func:`minyi_nlp.text.preprocess` (normalised, PII-masked) of title + content; nothing
unmasked leaves this module.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from minyi_nlp.params import PrepareParams

log = logging.getLogger(__name__)

TEDDY_LABELLED = "teddy_fj2_raw"
TEDDY_SEGMENTED = "teddy_fj2_segmented"
#: the unlabelled sources, in the order their rows enter the pool
OTHER_SOURCES: tuple[str, ...] = (
    "teddy_fj4_replies",
    "teddy_fj2_test_unlabelled",
    "teddy_fj3_hot_issues",
    "shangluo_mailbox",
    "fuzhou_river",
)
POOL_COLUMNS: tuple[str, ...] = (
    "key", "source", "id", "row", "text", "pretokenized", "teddy_label", "appeal", "fold",
    "reply", "agency", "group",
)


def compose(title: object, content: object) -> str:
    """Title then content, joined by a space (the order the service and the Teddy raw file use)."""
    parts = [p.strip() for p in (title, content) if isinstance(p, str) and p.strip()]
    return " ".join(parts)


def _teddy_rows(processed_dir: Path, raw_dir: Path | None) -> pd.DataFrame:
    """Teddy 附件2 appeals (one per appeal) with raw text re-read and preprocessed, fold and label."""
    from minyi_nlp.data import load_source
    from minyi_nlp.prepare import PreparedData
    from minyi_nlp.text import preprocess

    appeals = PreparedData.read(processed_dir).appeals
    raw = load_source(TEDDY_LABELLED, raw_dir=raw_dir).frame.set_index("id")
    texts, sources, rows = [], [], []
    for ident, source, masked in zip(appeals["id"], appeals["source"], appeals["text"], strict=True):
        if source == TEDDY_LABELLED:
            texts.append(preprocess(str(raw.at[ident, "content"])))
            rows.append(int(raw.at[ident, "row"]))
        else:  # segmented only: already masked by prepare; keep its tokens
            texts.append(preprocess(str(masked)))
            rows.append(int(str(ident).rsplit(":", 1)[1]))
        sources.append(source)
    return pd.DataFrame({
        "source": sources,
        "id": appeals["id"].astype(str).to_numpy(),
        "row": rows,
        "text": texts,
        "pretokenized": appeals["pretokenized"].astype(bool).to_numpy(),
        "teddy_label": appeals["label"].astype(str).to_numpy(),
        "appeal": appeals["appeal"].astype("int64").to_numpy(),
        "fold": appeals["fold"].astype("int64").to_numpy(),
    })


def _other_rows(name: str, raw_dir: Path | None) -> pd.DataFrame:
    from minyi_nlp.data import load_source
    from minyi_nlp.text import preprocess

    frame = load_source(name, raw_dir=raw_dir).frame
    reply = frame["reply"] if "reply" in frame.columns else pd.Series([None] * len(frame))
    return pd.DataFrame({
        "source": name,
        "id": frame["id"].astype(str).to_numpy(),
        "row": frame["row"].astype("int64").to_numpy(),
        "text": [preprocess(compose(t, c)) for t, c in zip(frame["title"], frame["content"], strict=True)],
        "pretokenized": False,
        "reply": [preprocess(r) if isinstance(r, str) else None for r in reply],
        "agency": frame["department"].to_numpy(),
    })


def _other_copies(processed_dir: Path) -> pd.DataFrame:
    """Teddy 附件2 copies whose text is not their appeal's (mostly the segmented copy of a raw appeal)."""
    from minyi_nlp.prepare import PreparedData

    data = PreparedData.read(processed_dir)
    shown = data.appeals.set_index("appeal")["text"]
    copies = data.copies
    return copies[copies["text"].to_numpy() != shown.loc[copies["appeal"]].to_numpy()]


def load_pool(
    processed_dir: Path | None = None,
    params: PrepareParams | None = None,
    raw_dir: Path | None = None,
    *,
    with_copies: bool = True,
) -> pd.DataFrame:
    """All appeals of all sources (columns :data:`POOL_COLUMNS`), near-duplicates sharing ``group``.

    ``key`` (``"<source>:<row>"``) is unique; ``id`` is the source's own id (not unique in Shangluo).
    ``teddy_label``/``appeal``/``fold`` are set for Teddy 附件2 appeals only (``fold`` -1: no raw text,
    training only); ``reply`` (附件4, Fuzhou) is the masked official reply; ``agency`` the Shangluo
    replying unit as written. Needs ``minyi prepare``'s output in ``processed_dir``.

    ``with_copies``: the duplicate search also compares with every other copy of each Teddy appeal (its
    segmented text), so a message repeating only that copy joins the appeal's group. The hand-labelled
    draw was made without (``False``); the weak-label training frame uses it.
    """
    from minyi_nlp.config import get_settings
    from minyi_nlp.dedup import duplicate_groups
    from minyi_nlp.params import load_params
    from minyi_nlp.text import preprocess

    processed_dir = processed_dir or get_settings().processed_dir
    params = params or load_params().prepare
    parts = [_teddy_rows(processed_dir, raw_dir)] + [_other_rows(n, raw_dir) for n in OTHER_SOURCES]
    pool = pd.concat(parts, ignore_index=True)
    pool["key"] = pool["source"] + ":" + pool["row"].astype(str)
    extra = _other_copies(processed_dir) if with_copies else pd.DataFrame({"text": [], "pretokenized": []})
    groups = duplicate_groups(
        pool["text"].tolist() + [preprocess(str(t)) for t in extra["text"]],
        pool["pretokenized"].tolist() + extra["pretokenized"].astype(bool).tolist(),
        containment=params.containment, coverage=params.coverage, same_kind_cosine=params.same_kind_cosine,
    )
    pool["group"] = groups[: len(pool)]
    pool["fold"] = pool["fold"].astype("Int64")
    pool["appeal"] = pool["appeal"].astype("Int64")
    pool = pool.astype({"reply": object, "agency": object, "teddy_label": object})
    log.info("appeal pool: %d rows from %d sources, %d duplicate groups", len(pool),
             pool["source"].nunique(), int((pool.groupby("group").size() > 1).sum()))
    return pool[list(POOL_COLUMNS)]


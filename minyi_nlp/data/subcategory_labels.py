"""The hand-labelled sub-category evaluation set: how its rows are drawn, and how the labels are read.

``python -m minyi_nlp.data.subcategory_labels draw`` writes ``data/labels/subcategories/draw.csv``:

* a **random** part, stratified by source with fixed quotas (:data:`RANDOM_QUOTAS`), from the
  candidates of :func:`candidates`;
* a **targeted** part for the 一级 the Teddy labels lack (:data:`TARGETED`): rows whose masked text
  matches a cue regex, drawn at random among the matches that are not drawn yet.

Candidates: Teddy 附件2 appeals of the category evaluation fold only, and rows of the other sources
that duplicate no Teddy 附件2 appeal (one row per duplicate group, one text per appeal, as the draw was
first made); drawn rows that duplicate any copy of a Teddy training appeal are then dropped
(:func:`drop_training_duplicates`). The draw is reproducible: the same seed, data and prepare parameters
give the same rows.

``labels.csv`` (same rows, plus ``path`` and ``note``) is what a person wrote after reading each
text; :func:`read_labels` validates it against ``taxonomy.yaml`` and splits ``path`` into levels.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from minyi_nlp.config import PROJECT_DIR
from minyi_nlp.data.pool import OTHER_SOURCES, TEDDY_LABELLED, TEDDY_SEGMENTED
from minyi_nlp.data.schema import DataError

log = logging.getLogger(__name__)

LABELS_DIR = PROJECT_DIR / "data" / "labels" / "subcategories"
DRAW_FILE = "draw.csv"
LABELS_FILE = "labels.csv"
SEED = 20261203
OTHER = "其他"
SEP = "/"
DRAW_COLUMNS: tuple[str, ...] = ("key", "source", "id", "row", "draw", "cue", "teddy_label", "text")
LABEL_COLUMNS: tuple[str, ...] = (*DRAW_COLUMNS, "path", "note")

#: rows drawn at random per source (Teddy 附件2: evaluation fold only)
RANDOM_QUOTAS: Mapping[str, int] = {
    TEDDY_LABELLED: 70,
    "teddy_fj4_replies": 60,
    "teddy_fj2_test_unlabelled": 50,
    "teddy_fj3_hot_issues": 50,
    "shangluo_mailbox": 90,
    "fuzhou_river": 40,
}
#: 一级 absent from the Teddy labels → (cue regex, rows to draw); the cue must occur in the first
#: :data:`CUE_HEAD` characters (the title and the opening), searched in the non-Teddy-附件2 sources, in
#: this order, among candidates not drawn yet
CUE_HEAD = 60
TARGETED: Mapping[str, tuple[str, int]] = {
    "政法": (r"派出所|公安|民警|警察|报警|(?<!\d)110(?!\d)|治安|诈骗|户口|户籍|身份证|交警|驾驶证|驾照|律师|"
           r"法院|判决|仲裁|司法|刑事|犯罪|赌博|吸毒|黑恶", 25),
    "民政": (r"低保|民政|五保|特困|殡葬|公墓|墓地|婚姻登记|养老院|敬老院|救助|退伍|退役军人|优抚|残疾人|"
           r"社区建设|居委会|村委会选举|地名|慈善", 20),
    "农村农业": (r"土地承包|宅基地|扶贫|贫困户|耕地|林地|退耕还林|种粮|农资|种子|化肥|养殖|水库|移民|农田|灌溉|"
             r"防汛|村集体|村务|村干部|合作社", 20),
    "国土资源": (r"征地|土地征收|矿山|采矿|采砂|挖沙|地质灾害|滑坡|气象|地震|土地证", 10),
    "纪检监察": (r"贪污|受贿|腐败|挪用|以权谋私|吃拿卡要|打击报复|违纪|作风|不作为|乱作为|形式主义|官僚主义", 10),
    "经济管理": (r"税务|纳税|发票|非法集资|集资|P2P|理财|银行|贷款|保险公司|证券|股票|国企|改制|破产|电价", 10),
    "党务政务": (r"党员|党组织|党支部|党费|宗教|民族|人大代表|政协|网络谣言|工会|共青团|妇联", 8),
    "科技与信息产业": (r"电信|移动公司|联通|宽带|光纤|信号|基站|5G|专利|知识产权", 8),
}
#: a second targeted round, drawn after the first was read: its cues for these four 一级 found too few
#: of them (党务政务 0 of 8, 纪检监察 3 of 10, 经济管理 1 of 10, 科技与信息产业 6 of 8); same rules
TARGETED_MORE: Mapping[str, tuple[str, int]] = {
    "党务政务": (r"宗教|寺庙|教堂|广电|有线电视|数字电视|机顶盒|电视信号|征兵|兵役|民兵|少数民族|华侨|台湾|港澳|工会|"
             r"妇联|共青团|网络谣言|编制|政务公开|信息公开|文明城市|创文|精神文明|政协", 12),
    "纪检监察": (r"贪污|受贿|索贿|腐败|挪用|以权谋私|公款|公车私用|吃拿卡要|打击报复|违纪|处分|优亲厚友|保护伞|失职|"
             r"渎职|纪委", 10),
    "经济管理": (r"税务|纳税|偷税|发票|集资|P2P|理财|银行|贷款|保险公司|证券|股票|国企|改制|破产|加油站|油价|安全生产|"
             r"营商环境|招商", 8),
    "科技与信息产业": (r"信号|宽带|网络|光纤|基站|移动|联通|电信|话费|流量|专利|知识产权", 6),
}


def candidates(pool: pd.DataFrame, eval_fold: int = 0) -> pd.DataFrame:
    """Rows that may be hand-labelled: Teddy 附件2 appeals of ``eval_fold`` (raw text) and rows of the
    other sources whose duplicate group holds no Teddy 附件2 appeal (the first row of each group)."""
    teddy = pool["source"].isin([TEDDY_LABELLED, TEDDY_SEGMENTED]).to_numpy()
    in_eval = teddy & (pool["fold"].fillna(-1).to_numpy() == eval_fold)
    teddy_groups = set(pool.loc[teddy, "group"].tolist())
    other = pool["source"].isin(OTHER_SOURCES).to_numpy() & ~pool["group"].isin(teddy_groups).to_numpy()
    rest = pool[other].drop_duplicates("group", keep="first")
    return pd.concat([pool[in_eval], rest]).reset_index(drop=True)


def draw(
    pool: pd.DataFrame,
    *,
    seed: int = SEED,
    quotas: Mapping[str, int] = RANDOM_QUOTAS,
    targeted: Sequence[Mapping[str, tuple[str, int]]] = (TARGETED, TARGETED_MORE),
    eval_fold: int = 0,
) -> pd.DataFrame:
    """The rows to label (:data:`DRAW_COLUMNS`): a random part per source, then the targeted rounds."""
    cands = candidates(pool, eval_fold)
    rng = np.random.default_rng(seed)
    parts = []
    for source, n in quotas.items():
        rows = cands[cands["source"] == source]
        if len(rows) < n:
            raise DataError(f"source {source!r}: {len(rows)} candidates, quota {n}")
        picked = rows.iloc[np.sort(rng.choice(len(rows), size=n, replace=False))]
        parts.append(picked.assign(draw="random", cue=""))
    taken = set(pd.concat(parts)["key"])
    searchable = cands[cands["source"].isin(OTHER_SOURCES)]
    for l1, (pattern, n) in ((k, v) for cues in targeted for k, v in cues.items()):
        found = searchable["text"].str[:CUE_HEAD].str.contains(pattern, regex=True)
        hits = searchable[found & ~searchable["key"].isin(taken)]
        size = min(n, len(hits))
        picked = hits.iloc[np.sort(rng.choice(len(hits), size=size, replace=False))]
        taken |= set(picked["key"])
        parts.append(picked.assign(draw="targeted", cue=l1))
        log.info("targeted %s: %d matches, %d drawn", l1, len(hits), size)
    out = pd.concat(parts, ignore_index=True)
    out["teddy_label"] = out["teddy_label"].fillna("")
    return out[list(DRAW_COLUMNS)]


def drop_training_duplicates(
    drawn: pd.DataFrame, processed_dir: Path | None = None, eval_fold: int = 0
) -> pd.DataFrame:
    """``drawn`` without the rows that duplicate any copy (raw or segmented) of a Teddy training appeal.

    :func:`candidates` compares with one text per Teddy appeal; this catches a message that repeats only
    an appeal's segmented copy. Dropped rows are logged; the order of the others is kept.
    """
    from minyi_nlp.config import get_settings
    from minyi_nlp.dedup import duplicate_groups
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import PreparedData

    params = load_params().prepare
    copies = PreparedData.read(processed_dir or get_settings().processed_dir).copies
    training = copies[copies["fold"] != eval_fold]
    groups = duplicate_groups(
        training["text"].tolist() + drawn["text"].tolist(),
        training["pretokenized"].tolist() + [False] * len(drawn),
        containment=params.containment, coverage=params.coverage, same_kind_cosine=params.same_kind_cosine,
    )
    trained = set(groups[: len(training)].tolist())
    keep = [g not in trained for g in groups[len(training):]]
    dropped = drawn.loc[[not k for k in keep], "key"].tolist()
    if dropped:
        log.info("dropped %d drawn rows that duplicate a Teddy training copy: %s", len(dropped), dropped)
    return drawn[keep].reset_index(drop=True)


def split_path(path: str) -> tuple[str, ...]:
    """``"一级/二级/三级"`` → its parts (1 to 3 non-empty names)."""
    parts = tuple(p.strip() for p in str(path).split(SEP))
    if not 1 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"{path!r} is not 一级[/二级[/三级]]")
    return parts


def check_path(path: str, keys: frozenset[str]) -> str | None:
    """Why ``path`` is not a valid label (``None`` when it is): a taxonomy key, or ``其他`` alone."""
    try:
        parts = split_path(path)
    except ValueError as err:
        return str(err)
    if parts == (OTHER,):
        return None
    for n in range(1, len(parts) + 1):
        if SEP.join(parts[:n]) not in keys:
            return f"{SEP.join(parts[:n])!r} is not in taxonomy.yaml"
    return None


def read_labels(path: Path | None = None, keys: frozenset[str] | None = None) -> pd.DataFrame:
    """The hand-labelled set, validated: unique keys, every ``path`` in the taxonomy (or ``其他``).

    Adds ``l1``, ``l2``, ``l3`` (``None`` where the label stops above that level). Raises
    :class:`DataError` naming the file, the row and the field.
    """
    path = path or LABELS_DIR / LABELS_FILE
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in LABEL_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; found {list(frame.columns)}")
    if keys is None:
        from minyi_nlp.routing.lists import load_lists

        keys = load_lists().category_keys
    dup = frame["key"][frame["key"].duplicated()].tolist()
    if dup:
        raise DataError(f"{path}: key repeated: {dup[:5]}")
    problems = []
    for i, (key, value) in enumerate(zip(frame["key"], frame["path"], strict=True), start=1):
        why = check_path(value, keys)
        if why:
            problems.append(f"row {i} ({key}): field 'path': {why}")
    if problems:
        raise DataError(f"{path}: {len(problems)} invalid labels: " + "; ".join(problems[:10]))
    parts = [split_path(p) for p in frame["path"]]
    for level in range(3):
        frame[f"l{level + 1}"] = [p[level] if len(p) > level else None for p in parts]
    frame["row"] = frame["row"].astype("int64")
    return frame


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m minyi_nlp.data.subcategory_labels", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="draw the rows to hand-label (needs `minyi prepare` output)")
    d.add_argument("--out", type=Path, default=LABELS_DIR / DRAW_FILE)
    d.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from minyi_nlp.data.pool import load_pool

    out = drop_training_duplicates(draw(load_pool(with_copies=False), seed=args.seed))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    counts = out.groupby(["draw", "source"]).size()
    print(f"{len(out)} rows → {args.out}: " + ", ".join(f"{d}/{s} {n}" for (d, s), n in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

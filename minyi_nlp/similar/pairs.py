"""Draw candidate pairs of 附件3 messages for hand-labelling (same event vs same category, other event).

Pairs are drawn from a TF-IDF (word 1-2-grams + character 1-3-grams) fitted on 附件3 itself: this only
decides which pairs a person reads, never how they are labelled. Exact duplicates (same content key) and
pairs by the same user are left out: the labelled set is about *different citizens*. Strata:

* ``high``: cosine ≥ 0.5 (near-copies and the same event told by another citizen);
* ``mid``: cosine in [0.3, 0.5);
* ``topic``: cosine in [0.12, 0.3) and both titles share a topic word (物业, 噪音, 拆迁 …): the same kind
  of matter; in 附件3 these turned out to be mostly more messages of the two biggest hot issues;
* ``topic_other``: cosine in [0.08, 0.35), a shared topic word, titles without a common 4-character run
  and every message in at most one pair: the same kind of matter, mostly at another place (drawn second,
  because the first three strata gave too few pairs of the second class).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from minyi_nlp.data.validate import content_key
from minyi_nlp.text import Segmenter, preprocess

TOPIC_WORDS = (
    "物业", "噪音", "扰民", "拆迁", "安置", "学校", "小学", "幼儿园", "车位", "停车", "公交", "地铁", "油烟",
    "垃圾", "违建", "违章", "工资", "社保", "医保", "房产", "产权", "燃气", "供水", "停水", "道路", "施工",
    "污染", "补偿", "教师", "培训", "退费", "传销", "非法集资", "户口", "电梯", "出租车", "医院",
)
STRATA = {"high": (0.5, 1.01), "mid": (0.3, 0.5), "topic": (0.12, 0.3), "topic_other": (0.08, 0.35)}
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")


def fj3_frame() -> pd.DataFrame:
    """附件3 as loaded (``teddy_fj3_hot_issues``), with ``text`` = preprocessed title + content."""
    from minyi_nlp.data import load_source

    frame = load_source("teddy_fj3_hot_issues").frame.reset_index(drop=True)
    joined = frame["title"].fillna("").astype(str) + "\n" + frame["content"].fillna("").astype(str)
    return frame.assign(text=[preprocess(t) for t in joined])


def _sparse(texts: list[str]):
    union = FeatureUnion([
        ("words", TfidfVectorizer(tokenizer=Segmenter(backend="rjieba"), lowercase=False, token_pattern=None,
                                  ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)),
        ("chars", TfidfVectorizer(analyzer="char", lowercase=False, ngram_range=(1, 3), sublinear_tf=True,
                                  dtype=np.float32)),
    ])
    return normalize(union.fit_transform(texts)).tocsr()


def _topic_of(title: str) -> frozenset[str]:
    return frozenset(w for w in TOPIC_WORDS if w in title)


def _share_run(a: str, b: str, n: int = 4) -> bool:
    """Whether two titles share a run of ``n`` CJK characters (a place or a name, mostly)."""
    grams = {run[i : i + n] for run in _CJK_RUN.findall(a) for i in range(len(run) - n + 1)}
    return any(run[i : i + n] in grams for run in _CJK_RUN.findall(b) for i in range(len(run) - n + 1))


def _once_each(idx: np.ndarray, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random subset of pairs in which every message occurs at most once."""
    used: set[int] = set()
    out = []
    for i in rng.permutation(idx):
        if a[i] not in used and b[i] not in used:
            used |= {int(a[i]), int(b[i])}
            out.append(i)
    return np.array(out, dtype=np.int64)


def draw_pairs(frame: pd.DataFrame, per_stratum: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """Sample pairs per stratum; columns stratum, cosine, id_a, id_b (留言编号), row_a, row_b (0-based)."""
    X = _sparse(frame["text"].tolist())
    sims = (X @ X.T).tocoo()
    keep = (sims.row < sims.col) & (sims.data >= min(lo for lo, _ in STRATA.values()))
    a, b, cos = sims.row[keep], sims.col[keep], sims.data[keep]
    keys = pd.factorize(pd.Series([content_key(str(t)) for t in frame["content"]]))[0]
    users = pd.factorize(frame["user"].astype(str))[0]
    ok = (keys[a] != keys[b]) & (users[a] != users[b])
    a, b, cos = a[ok], b[ok], cos[ok]
    topics = [_topic_of(str(t)) for t in frame["title"]]
    rng = np.random.default_rng(seed)
    out = []
    for name, (lo, hi) in STRATA.items():
        idx = np.flatnonzero((cos >= lo) & (cos < hi))
        if name.startswith("topic"):
            idx = np.array([i for i in idx if topics[a[i]] & topics[b[i]]], dtype=np.int64)
        if name == "topic_other":
            titles = frame["title"].fillna("").astype(str).to_numpy()
            idx = _once_each(np.array([i for i in idx if not _share_run(titles[a[i]], titles[b[i]])],
                                      dtype=np.int64), a, b, rng)
        take = rng.choice(idx, size=min(per_stratum.get(name, 0), len(idx)), replace=False)
        out += [(name, float(cos[i]), int(a[i]), int(b[i])) for i in sorted(take, key=lambda i: -cos[i])]
    pairs = pd.DataFrame(out, columns=["stratum", "cosine", "row_a", "row_b"])
    pairs["id_a"] = frame["id"].to_numpy()[pairs["row_a"]]
    pairs["id_b"] = frame["id"].to_numpy()[pairs["row_b"]]
    return pairs[["stratum", "cosine", "id_a", "id_b", "row_a", "row_b"]]

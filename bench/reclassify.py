"""Benchmark ``minyi reclassify``: throughput of the local and Ray engines, peak memory, segmenter ratio.

Input: N rows resampled (with replacement, fixed seed) from the real Teddy Cup texts —
``fj2_raw_labeled.csv`` ``text`` (with its label as the previous category) and ``fj4`` ``留言主题`` (title)
+ ``留言详情`` (content) — written as one CSV. Each engine runs the real job as a subprocess
(``python -m minyi_nlp.batch``) and is measured from outside:

* appeals/s while predicting (from the job's summary) and per core (÷ workers);
* peak RSS: of the job process (the larger of its own ``VmHWM`` reported in its summary and the
  sampled RSS; ``getrusage`` is not used because a child inherits its parent's ``ru_maxrss`` across
  fork and exec), and the peak sum over its
  whole process tree (psutil, sampled every 0.2 s; Ray's raylet/GCS/actors included; shared pages
  are counted once per process, so this overstates);
* memory bound: the local engine also runs on N/4 rows; equal peaks at N/4 and N show that memory is
  set by the batch size, not the input size, so the projection to 1M rows is the same peak.

It also times, on a sample of the same texts, in this process and on one core: jieba-rs alone
(``rjieba.Jieba().cut`` on the raw title + content, each text's tokens dropped once cut: the segmenter's own
speed; best of 5, before and after the jobs, the faster of the two counts; kept in one list it runs ≈ ⅓
slower, from fresh memory, and that figure is reported too but not used for the ratio), the model's
``Segmenter`` on the model input (``prepare_texts`` = ``preprocess`` + clip) and the bare
``Dispatcher.suggest_many``, and reports the job's appeals/s as a share of each (``÷ jieba-rs``: the
whole job, all workers, against one core of jieba-rs — the issue's ratio). Those passes take ≈ 0.1 s each, and
the best of ten catches the machine at its fastest moment while the job's rate is a mean over half a minute, so
jieba-rs is also timed over the job's whole input, every row once (seconds; before and after the jobs, the faster
counts): ``÷ jieba-rs over the whole input``, reported beside the issue's ratio.

    python bench/reclassify.py [--rows 200000] [--workers 2] [--batch-size 1000] [--engines local,ray]
                               [--sample 3000] [--json out.json] [--bundle models/bundles/default]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from minyi_nlp.batch.job import side_paths  # noqa: E402
from minyi_nlp.config import get_settings  # noqa: E402
from minyi_nlp.data.tasks import compose_text  # noqa: E402


def load_pool(raw_dir: Path) -> pd.DataFrame:
    """Real appeals: title, content, previous category (fj2 labelled texts + fj4 messages)."""
    teddy = raw_dir / "teddy2020_c"
    fj2 = pd.read_csv(teddy / "fj2_raw_labeled.csv", dtype=str).dropna(subset=["text"])
    fj4 = pd.read_excel(teddy / "fj4_messages_with_replies.xlsx", dtype=str).dropna(subset=["留言详情"])
    return pd.concat(
        [
            pd.DataFrame({"title": None, "content": fj2["text"], "category": fj2["label"]}),
            pd.DataFrame({"title": fj4["留言主题"], "content": fj4["留言详情"], "category": None}),
        ],
        ignore_index=True,
    )


def resample(pool: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    idx = np.random.default_rng(seed).integers(0, len(pool), size=n)
    frame = pool.iloc[idx].reset_index(drop=True)
    frame.insert(0, "id", [f"b{i:08d}" for i in range(n)])
    return frame


def _tree_rss(proc: Any) -> tuple[int, int]:
    """(RSS of the process, RSS summed over it and all its descendants), bytes."""
    import psutil

    try:
        own = proc.memory_info().rss
        total = own
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return own, total
    except psutil.Error:
        return 0, 0


def run_job(args: argparse.Namespace, input_csv: Path, out: Path, engine: str, workers: int) -> dict[str, Any]:
    """Run one reclassify job as a subprocess; its summary plus measured wall time and memory."""
    import psutil

    cmd = [sys.executable, "-m", "minyi_nlp.batch", "--input", str(input_csv), "--output", str(out),
           "--engine", engine, "--workers", str(workers), "--batch-size", str(args.batch_size),
           "--no-progress", "--restart"]
    if args.bundle:
        cmd += ["--bundle", str(args.bundle)]
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        ps = psutil.Process(proc.pid)
        peak_own = peak_tree = 0
        while proc.poll() is None:
            own, tree = _tree_rss(ps)
            peak_own, peak_tree = max(peak_own, own), max(peak_tree, tree)
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} job failed ({proc.returncode}):\n{stderr[-3000:]}")
    summary = json.loads(side_paths(out)["summary"].read_text(encoding="utf-8"))
    rate = summary["rows_per_s"]
    return {
        "engine": engine,
        "workers": workers,
        "rows": summary["rows_read"],
        "predicted": summary["predicted"],
        "rejected": summary["rejected"],
        "wall_s": round(wall, 1),
        "processing_s": summary["processing_s"],
        "appeals_per_s": rate,
        "appeals_per_s_per_core": round(rate / workers, 1),
        "startup_s": summary["warmup_s"],
        "steady_appeals_per_s": summary["steady_rows_per_s"],
        "steady_appeals_per_s_per_core": round((summary["steady_rows_per_s"] or 0) / workers, 1),
        "peak_rss_job_mb": max(summary["peak_rss_mb"] or 0, round(peak_own / 2**20, 1)),
        "peak_rss_tree_mb": round(peak_tree / 2**20, 1),
    }


def sample_pairs(pool: pd.DataFrame, sample: int) -> list[tuple[str | None, str]]:
    """(title, content) of the texts the in-process timings use (seed 1)."""
    return frame_pairs(resample(pool, sample, seed=1))


def frame_pairs(frame: pd.DataFrame) -> list[tuple[str | None, str]]:
    """(title, content) of every row of a resampled frame (a missing title is None)."""
    titles = [t if isinstance(t, str) else None for t in frame["title"]]
    return list(zip(titles, frame["content"].astype(str), strict=True))


def raw_texts(pairs: list[tuple[str | None, str]]) -> list[str]:
    """Each appeal as the citizen wrote it, title then content: what jieba-rs is timed on."""
    return [compose_text(t, c) for t, c in pairs]


def time_components(pairs: list[tuple[str | None, str]], raw: list[str], batch_size: int, bundle: Path | None
                    ) -> dict[str, Any]:
    """One core, in this process, on the sample ``pairs`` (``raw``: their :func:`raw_texts`): jieba-rs alone, the
    model's segmenter on the model input, bare suggest_many."""
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.models.encoder import prepare_texts
    from minyi_nlp.text import Segmenter

    dispatcher = Dispatcher.load(bundle)
    params = dispatcher.bundle.encoder.params
    seg = Segmenter(backend=params.segmenter)
    model_input = prepare_texts(raw, params.max_chars)
    for text in model_input[:50]:
        seg(text)
    dispatcher.suggest_many(pairs[:50], explain=False)

    def best_rate(fn: Any, repeats: int = 2) -> float:  # best of N: the machine is shared
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return len(pairs) / best

    rs_rate, rs_kept = jieba_rs_rates(raw)
    seg_rate = best_rate(lambda: [seg(text) for text in model_input])
    batches = [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
    disp_rate = best_rate(lambda: [dispatcher.suggest_many(b, explain=False) for b in batches])
    return {
        "sample": len(pairs),
        "jieba_rs_texts_per_s_before": round(rs_rate, 1),
        "jieba_rs_texts_per_s_kept_before": round(rs_kept, 1),
        "mean_chars": round(statistics.mean(map(len, raw)), 1),
        "segmenter": f"Segmenter(backend={seg.backend!r}) on prepare_texts(title + content)",
        "segmenter_texts_per_s": round(seg_rate, 1),
        "dispatcher_appeals_per_s": round(disp_rate, 1),
        "model_version": dispatcher.version,
    }


def _warm_jieba_rs(raw: list[str]) -> Any:
    """A jieba-rs segmenter, its dictionary loaded and warmed on the first texts of ``raw``."""
    import rjieba

    jieba_rs = rjieba.Jieba()
    for text in raw[:50]:
        jieba_rs.cut(text, hmm=True)
    return jieba_rs


def _seconds_dropping_tokens(jieba_rs: Any, raw: list[str]) -> float:
    """Seconds to cut every text of ``raw`` once, each text's tokens dropped once cut."""
    t0 = time.perf_counter()
    for text in raw:
        jieba_rs.cut(text, hmm=True)
    return time.perf_counter() - t0


def jieba_rs_rates(raw: list[str]) -> tuple[float, float]:
    """jieba-rs texts/s on ``raw``, best of 5: (each text's tokens dropped once cut: the segmenter's own speed;
    every text's tokens kept in one list, which costs it ≈ ⅓ in fresh memory and so flatters a ratio)."""
    jieba_rs = _warm_jieba_rs(raw)
    dropped = kept = float("inf")
    for _ in range(5):
        dropped = min(dropped, _seconds_dropping_tokens(jieba_rs, raw))
        t0 = time.perf_counter()
        tokens = [jieba_rs.cut(text, hmm=True) for text in raw]
        kept = min(kept, time.perf_counter() - t0)
        del tokens
    return len(raw) / dropped, len(raw) / kept


def jieba_rs_input_rate(raw: list[str]) -> float:
    """jieba-rs texts/s over ``raw`` once, each text's tokens dropped once cut: every row of the job's own input,
    timed over a span like the job's (seconds, not the best of short passes)."""
    return len(raw) / _seconds_dropping_tokens(_warm_jieba_rs(raw), raw)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="processes (local) or Ray actors")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--sample", type=int, default=3000, help="texts for the in-process component timings")
    parser.add_argument("--no-memory-check", action="store_true", help="skip the local run on rows/4")
    parser.add_argument("--bundle", type=Path, default=None, help="bundle folder (default: the served one)")
    parser.add_argument("--raw-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)
    if args.rows < 2 * args.batch_size:  # the steady rate (and so every ratio) is measured after the first chunk
        parser.error(f"--rows {args.rows} is under two batches of {args.batch_size}: the steady rate is measured "
                     "after the first chunk, so give at least two")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    pool = load_pool(args.raw_dir or get_settings().raw_dir)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "input": f"{args.rows:,} rows resampled (seed 0) from {len(pool):,} real Teddy Cup appeals (fj2 + fj4)",
        "batch_size": args.batch_size,
    }
    print(f"timing the segmenter and the dispatcher on {args.sample} texts …", file=sys.stderr)
    sample = sample_pairs(pool, min(args.sample, args.rows))
    sample_raw = raw_texts(sample)
    comp = time_components(sample, sample_raw, args.batch_size, args.bundle)
    report["components"] = comp
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-reclassify-") as tmp:
        root = Path(tmp)
        sizes = [args.rows]
        if "local" in engines and not args.no_memory_check:
            sizes.insert(0, max(args.rows // 4, 2 * args.batch_size))
        for n in sizes:
            frame = resample(pool, n)
            frame.to_csv(root / f"in-{n}.csv", index=False)
        job_texts = raw_texts(frame_pairs(frame))  # the last size: the jobs' --rows
        del frame
        comp["jieba_rs_input_texts_per_s_before"] = round(jieba_rs_input_rate(job_texts), 1)
        plan = []
        for engine in engines:
            if engine == "local":
                plan += [("local", 1, n) for n in sizes]
                if args.workers > 1:
                    plan.append(("local", args.workers, args.rows))
            else:
                plan.append((engine, args.workers, args.rows))
        for engine, workers, n in plan:
            print(f"running {engine} × {workers} on {n:,} rows …", file=sys.stderr)
            res = run_job(args, root / f"in-{n}.csv", root / f"out-{engine}-{workers}-{n}.parquet", engine, workers)
            runs.append(res)
            print(json.dumps(res, ensure_ascii=False), file=sys.stderr)
        comp["jieba_rs_input_texts_per_s_after"] = round(jieba_rs_input_rate(job_texts), 1)
        del job_texts
    comp["jieba_rs_input_texts_per_s"] = max(comp["jieba_rs_input_texts_per_s_before"],
                                             comp["jieba_rs_input_texts_per_s_after"])
    # the machine's speed drifts over minutes: jieba-rs is timed before and after the jobs, and the faster
    # of the two is the denominator (the ratio is never flattered by a slow moment of the segmenter)
    after, after_kept = jieba_rs_rates(sample_raw)
    comp["jieba_rs_texts_per_s_after"] = round(after, 1)
    comp["jieba_rs_texts_per_s_kept_after"] = round(after_kept, 1)
    comp["jieba_rs_texts_per_s"] = round(max(comp["jieba_rs_texts_per_s_before"], after), 1)
    comp["jieba_rs_texts_per_s_kept"] = round(max(comp["jieba_rs_texts_per_s_kept_before"], after_kept), 1)
    for res in runs:
        per_core = res["steady_appeals_per_s_per_core"]
        res["jieba_rs_ratio"] = round(res["steady_appeals_per_s"] / comp["jieba_rs_texts_per_s"], 3)
        res["jieba_rs_ratio_whole_run"] = round(res["appeals_per_s"] / comp["jieba_rs_texts_per_s"], 3)
        res["jieba_rs_kept_ratio"] = round(res["steady_appeals_per_s"] / comp["jieba_rs_texts_per_s_kept"], 3)
        res["jieba_rs_input_ratio"] = round(res["steady_appeals_per_s"] / comp["jieba_rs_input_texts_per_s"], 3)
        res["segmenter_ratio"] = round(per_core / comp["segmenter_texts_per_s"], 3)
        res["dispatcher_ratio"] = round(per_core / comp["dispatcher_appeals_per_s"], 3)
    report["runs"] = runs
    local = [r for r in runs if r["engine"] == "local" and r["workers"] == 1]
    if len(local) == 2:
        small, big = local
        report["memory_bound"] = {
            "rows": [small["rows"], big["rows"]],
            "peak_rss_job_mb": [small["peak_rss_job_mb"], big["peak_rss_job_mb"]],
            "growth_mb_per_100k_rows": round(
                (big["peak_rss_job_mb"] - small["peak_rss_job_mb"]) / (big["rows"] - small["rows"]) * 1e5, 1
            ),
        }
        growth = max(report["memory_bound"]["growth_mb_per_100k_rows"], 0.0)
        report["memory_bound"]["projected_peak_1m_rows_mb"] = round(
            big["peak_rss_job_mb"] + growth * (1_000_000 - big["rows"]) / 1e5, 1
        )
    _print_table(report)
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


def _print_table(report: dict[str, Any]) -> None:
    comp = report["components"]
    print(f"\n{report['input']}; batch {report['batch_size']}; {report['machine']['cpus']} CPUs")
    print(f"jieba-rs alone: {comp['jieba_rs_texts_per_s']:.1f} texts/s on one core (tokens dropped once cut; best of "
          f"5, the faster of {comp['jieba_rs_texts_per_s_before']:.1f} before and "
          f"{comp['jieba_rs_texts_per_s_after']:.1f} after the jobs); {comp['jieba_rs_texts_per_s_kept']:.1f} "
          f"texts/s keeping every text's tokens in a list")
    print(f"model segmenter: "
          f"{comp['segmenter_texts_per_s']:.1f} texts/s/core; bare dispatcher: "
          f"{comp['dispatcher_appeals_per_s']:.1f} appeals/s/core (mean {comp['mean_chars']} chars)")
    print("appeals/s: whole run incl. start-up; steady: after the first chunk; ÷ jieba-rs: steady appeals/s of the "
          "whole job ÷ jieba-rs texts/s (one core) (whole run in brackets); ÷ seg, ÷ disp: per core")
    print(f"jieba-rs over the job's whole input (every row once, tokens dropped): "
          f"{comp['jieba_rs_input_texts_per_s']:.1f} texts/s (the faster of "
          f"{comp['jieba_rs_input_texts_per_s_before']:.1f} before and {comp['jieba_rs_input_texts_per_s_after']:.1f} "
          f"after the jobs)")
    for r in report["runs"]:
        print(f"  {r['engine']} × {r['workers']}: steady ÷ jieba-rs keeping its tokens {r['jieba_rs_kept_ratio']:.3f}; "
              f"÷ jieba-rs over the whole input {r['jieba_rs_input_ratio']:.3f}")
    head = f"{'engine':<7}{'workers':>8}{'rows':>10}{'appeals/s':>11}{'start s':>9}{'steady':>9}{'per core':>10}"
    head += f"{'÷ jieba-rs':>14}{'÷ seg':>8}{'÷ disp':>8}{'peak job MB':>13}{'peak tree MB':>14}"
    print(head)
    for r in report["runs"]:
        print(f"{r['engine']:<7}{r['workers']:>8}{r['rows']:>10,}{r['appeals_per_s']:>11.1f}{r['startup_s']:>9.1f}"
              f"{r['steady_appeals_per_s']:>9.1f}{r['steady_appeals_per_s_per_core']:>10.1f}"
              f"{r['jieba_rs_ratio']:>6.3f} ({r['jieba_rs_ratio_whole_run']:.3f})"
              f"{r['segmenter_ratio']:>8.3f}{r['dispatcher_ratio']:>8.3f}"
              f"{r['peak_rss_job_mb']:>13.1f}{r['peak_rss_tree_mb']:>14.1f}")
    mem = report.get("memory_bound")
    if mem:
        print(f"memory: peak job RSS {mem['peak_rss_job_mb'][0]} MB at {mem['rows'][0]:,} rows, "
              f"{mem['peak_rss_job_mb'][1]} MB at {mem['rows'][1]:,} rows → projected "
              f"{mem['projected_peak_1m_rows_mb']} MB at 1M rows")


if __name__ == "__main__":
    main()

"""Benchmark ``minyi hotspots`` at scale: wall time, appeals/s and peak memory, local and on Ray.

Input: N rows resampled (with replacement, seed 0) from the real Teddy Cup messages that have a title, a user
and a time (附件3 hot-issue messages, 附件4 messages with replies, 附件2's official test set: 9,943 appeals),
each with a new id, a random citizen (one per three rows) and a random time in 2019–2020, written as Parquet
files of ``--file-rows`` rows in one directory. Resampling makes every text occur N / 9,943 times, so the
grouping meets many near-identical appeals: a harder case for memory than real data, not a quality test.

Each run is the real command (``python -m minyi_nlp.cli hotspots --input DIR …``) in a subprocess, measured from
outside: wall time, and peak RSS of the command and of its whole process tree (psutil, sampled every 0.2 s; Ray's
workers included, shared pages counted once per process, so the tree figure overstates; ``bench/measure.py``).
The local engine also
runs on N/4 rows: equal peaks at N/4 and N show that memory is set by the chunk, window and file sizes, not by N.

    python bench/hotspots_scale.py [--rows 1000000] [--engines local,ray] [--workers 2] [--file-rows 50000]
                                   [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from measure import run_measured  # noqa: E402

from minyi_nlp.config import get_settings  # noqa: E402

_COLUMNS = {"留言主题": "title", "留言详情": "content", "留言用户": "user", "点赞数": "likes", "反对数": "dislikes"}


def load_pool(raw_dir: Path) -> pd.DataFrame:
    """Real messages with title, content, user and votes (0 where the file has none)."""
    teddy = raw_dir / "teddy2020_c"
    files = ["fj3_hot_issue_messages_4326.xlsx", "fj4_messages_with_replies.xlsx",
             "fj2_official_test_unlabeled_2801.xlsx"]
    parts = []
    for name in files:
        frame = pd.read_excel(teddy / name, dtype=str)
        frame = frame[[c for c in _COLUMNS if c in frame.columns]].rename(columns=_COLUMNS)
        parts.append(frame.dropna(subset=["content"]))
    pool = pd.concat(parts, ignore_index=True)
    for col in ("likes", "dislikes"):
        pool[col] = pd.to_numeric(pool[col], errors="coerce").fillna(0).astype(int)
    return pool


def write_input(pool: pd.DataFrame, n: int, folder: Path, file_rows: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pool.iloc[rng.integers(0, len(pool), size=n)].reset_index(drop=True)
    start = pd.Timestamp("2019-01-01").value // 10**9
    seconds = rng.integers(0, 2 * 365 * 86400, size=n) + start
    frame.insert(0, "id", [f"s{i:08d}" for i in range(n)])
    frame["user"] = [f"u{u:07d}" for u in rng.integers(0, max(1, n // 3), size=n)]
    frame["submitted_at"] = pd.to_datetime(seconds, unit="s").strftime("%Y-%m-%d %H:%M:%S")
    folder.mkdir(parents=True, exist_ok=True)
    for k, first in enumerate(range(0, n, file_rows)):
        frame.iloc[first : first + file_rows].to_parquet(folder / f"part-{k:04d}.parquet", index=False)
    return folder


def run(folder: Path, out: Path, engine: str, workers: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "minyi_nlp.cli", "hotspots", "--input", str(folder), "--out", str(out),
           "--engine", engine, "--workers", str(workers), "--top", "10", "--format", "json"]
    measured = run_measured(cmd)
    if measured.returncode != 0:
        raise RuntimeError(f"{engine} run failed ({measured.returncode}):\n{measured.stderr[-3000:]}")
    summary = json.loads((out / "hotspots.json").read_text(encoding="utf-8"))["summary"]
    return {
        "engine": engine,
        "workers": workers if engine == "ray" else 1,
        "rows": summary["rows"],
        "groups_of_2+": summary["groups"],
        "wall_s": round(measured.wall_s, 1),
        "appeals_per_s": round(summary["rows"] / measured.wall_s, 1),
        "phases_s": summary["seconds"],
        "peak_rss_mb": round(measured.peak_rss_mb),
        "peak_private_mb": round(measured.peak_private_mb),
        "peak_rss_tree_mb": round(measured.peak_rss_tree_mb),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--workers", type=int, default=2, help="Ray actors")
    parser.add_argument("--file-rows", type=int, default=50_000)
    parser.add_argument("--no-memory-check", action="store_true", help="skip the local run on rows/4")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    pool = load_pool(get_settings().raw_dir)
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "input": f"{args.rows:,} rows resampled (seed 0) from {len(pool):,} real Teddy Cup messages "
                 f"(附件2 test, 3, 4), Parquet files of {args.file_rows:,} rows",
        "runs": [],
    }
    engines = [e for e in args.engines.split(",") if e]
    sizes = [args.rows] if args.no_memory_check or "local" not in engines else [max(args.rows // 4, 1), args.rows]
    with tempfile.TemporaryDirectory(prefix="bench-hotspots-") as tmp:
        for n in sizes:
            folder = write_input(pool, n, Path(tmp) / f"in-{n}", args.file_rows)
            for engine in engines if n == args.rows else ["local"]:
                print(f"{engine}: {n:,} rows …", file=sys.stderr)
                result = run(folder, Path(tmp) / f"out-{engine}-{n}", engine, args.workers)
                report["runs"].append(result)
                print(json.dumps(result, ensure_ascii=False), file=sys.stderr)
    local = [r for r in report["runs"] if r["engine"] == "local"]
    if len(local) == 2:
        report["peak_ratio_full_vs_quarter"] = round(local[1]["peak_rss_mb"] / max(local[0]["peak_rss_mb"], 1), 2)
        report["private_ratio_full_vs_quarter"] = round(
            local[1]["peak_private_mb"] / max(local[0]["peak_private_mb"], 1), 2)
    print(f"{'engine':<7} {'workers':>7} {'rows':>10} {'wall s':>8} {'appeals/s':>10} {'peak MB':>8} "
          f"{'private':>8} {'tree MB':>8}  phases")
    for r in report["runs"]:
        print(f"{r['engine']:<7} {r['workers']:>7} {r['rows']:>10,} {r['wall_s']:>8} {r['appeals_per_s']:>10} "
              f"{r['peak_rss_mb']:>8} {r['peak_private_mb']:>8} {r['peak_rss_tree_mb']:>8}  {r['phases_s']}")
    if "peak_ratio_full_vs_quarter" in report:
        print(f"peak RSS at {args.rows:,} rows / at {args.rows // 4:,} rows: {report['peak_ratio_full_vs_quarter']} "
              f"(private memory: {report['private_ratio_full_vs_quarter']})")
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report


if __name__ == "__main__":
    main()

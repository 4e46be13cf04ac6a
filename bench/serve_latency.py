"""Latency and throughput of ``POST /v1/suggestions`` on loopback, and where one request's time goes.

    .venv/bin/python bench/serve_latency.py                 # 1 and 32 clients, SQLite, 1 uvicorn process
    .venv/bin/python bench/serve_latency.py --workers 2 --clients 32 --requests 3000

Starts the service (uvicorn in a child process, a fresh SQLite file in a temporary directory, the
project's models/), sends real appeal texts (``data/processed/eval.csv``) with a minimal keep-alive
HTTP/1.1 client (so the load generator costs little CPU next to the server on a small machine), and
prints p50/p90/p99 latency and throughput per concurrency level, the ratio to the targets (p99 ≤ 10 ms
at 1 client; ≥ 1,000 suggestions/s at 32 clients on 2 cores) and an in-process profile of one request
(model, segmentation, explanation, masking, database write, JSON). Bounded: ``--requests`` per level
and ``--max-seconds`` per level; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
KEY = "bench-dispatcher-key-0001"
ADMIN_KEY = "bench-admin-key-0001"
TARGET_P99_MS = 10.0
TARGET_RPS = 1_000.0
FALLBACK_TEXTS = [
    "A3区某小区门口路灯损坏多日，夜间出行不便，请尽快维修。",
    "孩子所在学校违规收取补课费，每学期两千元，希望教育部门查处。",
    "公交车总是晚点，早高峰等车半小时，请交通部门调整班次。",
    "公司拖欠工资三个月，老板避而不见，请劳动监察部门帮忙。",
]


def load_texts(path: Path | None, limit: int = 2_000) -> list[str]:
    path = path or PROJECT / "data" / "processed" / "eval.csv"
    if not path.exists():
        print(f"note: {path} not found, using {len(FALLBACK_TEXTS)} built-in texts", file=sys.stderr)
        return FALLBACK_TEXTS
    import pandas as pd

    texts = pd.read_csv(path)["text"].dropna().astype(str).str.slice(0, 20_000).tolist()
    return [t for t in texts if t.strip()][:limit]


# --------------------------------------------------------------------------- the server


def start_server(port: int, workers: int, database_url: str, explain: bool) -> subprocess.Popen:
    env = {**os.environ, "MINYI_DATABASE_URL": database_url, "MINYI_API_KEYS": f"dispatcher:{KEY},admin:{ADMIN_KEY}",
           "MINYI_SERVE_EXPLAIN": "true" if explain else "false"}
    code = ("import logging, sys; logging.basicConfig(level=logging.WARNING); from serve.main import run; "
            f"run('127.0.0.1', {port}, workers={workers}, log_level='warning', access_log=False)")
    return subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT, env=env)


def wait_ready(port: int, proc: subprocess.Popen, timeout_s: float = 300) -> dict:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server not ready in time")


async def first_request(port: int, body: bytes) -> tuple[int, bytes]:
    conn = await Conn.open(port)
    try:
        return await conn.post("/v1/suggestions", body)
    finally:
        conn.writer.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- a lean HTTP/1.1 client


class Conn:
    """One keep-alive connection; ``post`` returns (status, body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, key: str = KEY) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        m = re.search(rb"(?i)content-length:\s*(\d+)", raw)
        data = await self.reader.readexactly(int(m.group(1))) if m else b""
        return status, data

    def close(self) -> None:
        self.writer.close()


async def run_level(port: int, bodies: list[bytes], clients: int, requests: int, max_seconds: float) -> dict:
    conns = [await Conn.open(port) for _ in range(clients)]
    latencies: list[float] = []
    errors: dict[int, int] = {}
    counter = iter(range(requests))
    deadline = time.perf_counter() + max_seconds

    async def worker(conn: Conn) -> None:
        for i in counter:
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            status, _ = await conn.post("/v1/suggestions", bodies[i % len(bodies)])
            latencies.append(time.perf_counter() - t0)
            if status != 201:
                errors[status] = errors.get(status, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - start
    for c in conns:
        c.close()
    lat = sorted(latencies)

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1_000 if lat else float("nan")

    return {"clients": clients, "requests": len(lat), "seconds": round(elapsed, 2),
            "throughput_rps": round(len(lat) / elapsed, 1), "p50_ms": round(q(0.50), 2),
            "p90_ms": round(q(0.90), 2), "p99_ms": round(q(0.99), 2), "max_ms": round(lat[-1] * 1_000, 2),
            "errors": errors}


# layers of a sampled stack: the first three by any frame of the stack (what runs inside them), the others by
# the innermost frame (a frame's text is "function (file:line)"); the first that matches wins
STACK_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("model (Dispatcher.suggest_many)", ("suggest_many",)),
    ("database write", ("add_suggestions",)),
    ("suggestion to JSON, masking (_compute)", ("_compute",)),
)
LEAF_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("JSON encode/decode", ("serve/responses.py", "json/", "orjson")),
    ("request validation (pydantic)", ("pydantic",)),
    ("HTTP (uvicorn, httptools)", ("uvicorn/", "httptools")),
    ("FastAPI, Starlette, the service's middleware", ("fastapi/", "starlette/", "serve/")),
    ("event loop, threads", ("asyncio/", "anyio/", "threading", "queue.py", "uvloop")),
)


def layer_of(stack: str) -> str:
    """The layer of one sampled stack (frames joined by ';', outermost first)."""
    for name, keys in STACK_LAYERS:
        if any(k in stack for k in keys):
            return name
    leaf = stack.rsplit(";", 1)[-1]
    return next((name for name, keys in LEAF_LAYERS if any(k in leaf for k in keys)), "other")


def start_spy(proc: subprocess.Popen, seconds: float) -> tuple[subprocess.Popen, Path] | None:
    """py-spy recording one serving process (the first worker when there are several), or None."""
    import shutil

    import psutil

    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("note: py-spy not installed, no layer profile", file=sys.stderr)
        return None
    children = psutil.Process(proc.pid).children(recursive=True)
    workers = [c for c in children if "multiprocessing" in " ".join(c.cmdline())] or children
    pid = workers[0].pid if workers else proc.pid
    out = Path(tempfile.mkdtemp(prefix="minyi-spy-")) / "stacks.txt"
    rec = subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "250", "--gil",
                            "-f", "raw", "-o", str(out), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return rec, out


def finish_spy(rec: subprocess.Popen, out: Path) -> dict[str, float]:
    """Share (%) of the recorded samples per layer (:func:`layer_of`)."""
    rec.wait(120)
    counts: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines() if out.exists() else []:
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        layer = layer_of(stack)
        counts[layer] = counts.get(layer, 0) + int(n)
        total += int(n)
    return {k: round(100 * v / total, 1) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])} if total else {}


def rss_parts(pid: int) -> dict:
    """Anonymous (heap) and file-backed (mapped weights, libraries) parts of a process's RSS, in MB."""
    parts = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("RssAnon:", "RssFile:")):
                parts[line.split(":")[0].lower().replace("rss", "rss_") + "_mb"] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    if os.environ.get("MINYI_BENCH_SMAPS"):  # the largest mappings, for finding what grows
        sizes: dict[str, int] = {}
        name = ""
        try:
            for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    fields = line.split()
                    name = fields[5] if len(fields) > 5 else "[anon]"
                elif line.startswith("Rss:"):
                    sizes[name] = sizes.get(name, 0) + int(line.split()[1])
        except OSError:
            pass
        parts["largest"] = {k: round(v / 1024, 1) for k, v in sorted(sizes.items(), key=lambda kv: -kv[1])[:12]}
    return parts


def memory(proc: subprocess.Popen) -> dict:
    """RSS and PSS (MB) of the server's processes: the parent and, with several workers, each child."""
    import psutil

    root = psutil.Process(proc.pid)
    procs = [root, *root.children(recursive=True)]
    out = []
    for p in procs:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        out.append({"pid": p.pid, "rss_mb": round(info.rss / 2**20, 1), "pss_mb": round(info.pss / 2**20, 1),
                    **rss_parts(p.pid)})
    serving = [m for m in out if m["rss_mb"] > 100] or out  # uvicorn's supervisor is small
    return {"processes": out, "max_rss_mb": max(m["rss_mb"] for m in serving),
            "sum_pss_mb": round(sum(m["pss_mb"] for m in out), 1)}


async def reload_under_load(port: int, bodies: list[bytes], reloads: int, clients: int = 8) -> dict:
    """``reloads`` × POST /v1/admin/reload while ``clients`` keep posting suggestions; counts failures."""
    conns = [await Conn.open(port) for _ in range(clients)]
    admin = await Conn.open(port)
    stop = asyncio.Event()
    sent, failed = [0], {}

    async def load(conn: Conn, k: int) -> None:
        i = k
        while not stop.is_set():
            status, _ = await conn.post("/v1/suggestions", bodies[i % len(bodies)])
            sent[0] += 1
            i += clients
            if status != 201:
                failed[status] = failed.get(status, 0) + 1

    tasks = [asyncio.create_task(load(c, k)) for k, c in enumerate(conns)]
    statuses = []
    for _ in range(reloads):
        status, _ = await admin.post("/v1/admin/reload", b"", key=ADMIN_KEY)
        statuses.append(status)
        await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*tasks)
    for c in [*conns, admin]:
        c.close()
    return {"reloads": reloads, "reload_statuses": statuses, "requests_during": sent[0], "failed": failed}


def model_counters(port: int) -> tuple[float, float, float]:
    """(model calls, appeals, model seconds) so far, from /metrics (one worker process)."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text

    def value(name: str) -> float:
        m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
        return float(m.group(1)) if m else 0.0

    return (value("minyi_model_batch_size_count"), value("minyi_model_batch_size_sum"),
            value("minyi_model_call_duration_seconds_sum"))


def batch_stats(before: tuple[float, float, float], after: tuple[float, float, float]) -> dict:
    calls, appeals, seconds = (a - b for a, b in zip(after, before, strict=True))
    if not calls:
        return {}
    return {"model_calls": int(calls), "mean_batch": round(appeals / calls, 2),
            "mean_model_call_ms": round(seconds / calls * 1_000, 2)}


# --------------------------------------------------------------------------- profile of one request


def profile(texts: list[str], n: int, explain: bool) -> dict[str, float]:
    """Median milliseconds per step for one appeal, measured in-process on ``n`` texts."""
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.routing import find_jurisdiction
    from minyi_nlp.text import preprocess
    from serve.db import make_engine, migrate, utcnow
    from serve.responses import dumps
    from serve.schemas import AppealIn
    from serve.store import NewSuggestion, Store

    dispatcher = Dispatcher.load()
    bundle = dispatcher.bundle
    encoder = bundle.encoder
    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='minyi-prof-')}/p.db")
    migrate(engine)
    store = Store(engine)
    texts = texts[:n]
    dispatcher.suggest_many([(None, texts[0])])  # warm-up
    steps: dict[str, list[float]] = {}

    def suggest_one(text: str):
        return dispatcher.suggest_many([(None, text)], explain=explain)[0]

    def clock(name: str, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        steps.setdefault(name, []).append((time.perf_counter() - t0) * 1_000)
        return out

    for text in texts:
        clock("validate input (pydantic)", AppealIn.model_validate_json, json.dumps({"content": text}))
        masked = clock("mask PII for storage", preprocess, text)
        prepared = clock("encoder: normalise+mask+clip", encoder.prepare, [text])
        clock("encoder: segment (jieba-rs)", encoder.segment, prepared[0])
        X = clock("encoder: all three blocks", encoder.transform_prepared, prepared)
        for head in bundle.heads:
            clock(f"head: {head}", bundle.predict_proba, head, X, prepared)
        if explain:
            clock("explain (same vector)", bundle.explain, X, "category", [dispatcher.category_labels[0]], 5)
        clock("find_jurisdiction", find_jurisdiction, prepared[0])
        s = clock("dispatcher.suggest_many total", suggest_one, text)
        data = s.as_dict()
        new = NewSuggestion(uuid.uuid4(), utcnow(), None, masked, "web", data)
        clock("DB write (1 row, SQLite WAL)", store.add_suggestions, [new])
        clock("JSON response (orjson)", dumps, {"id": str(new.id), **data})
    engine.dispose()
    return {k: round(statistics.median(v), 3) for k, v in steps.items()}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="1,32", help="comma-separated concurrency levels (default 1,32)")
    ap.add_argument("--requests", type=int, default=0,
                    help="requests per level (default: 300 at 1 client, 2,000 above)")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="cap per level (default 60)")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn processes (default 1)")
    ap.add_argument("--no-explain", action="store_true", help="serve without keywords (MINYI_SERVE_EXPLAIN=false)")
    ap.add_argument("--data", type=Path, default=None, help="CSV with a text column (default data/processed/eval.csv)")
    ap.add_argument("--database-url", default=None, help="default: a new SQLite file in a temporary directory")
    ap.add_argument("--profile", type=int, default=200, help="texts for the per-step profile (0: skip)")
    ap.add_argument("--reloads", type=int, default=5, help="reloads under load after the levels (0: skip)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--py-spy", type=float, default=0.0, metavar="SECONDS",
                    help="sample one server process with py-spy (GIL holder only) for SECONDS during the last "
                         "level and print where its time goes by layer (needs py-spy, a dev dependency)")
    args = ap.parse_args(argv)

    texts = load_texts(args.data)
    bodies = [json.dumps({"content": t, "channel": "web"}, ensure_ascii=False).encode() for t in texts]
    tmp = tempfile.mkdtemp(prefix="minyi-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    port = free_port()
    explain = not args.no_explain
    print(f"cpus={os.cpu_count()} workers={args.workers} explain={explain} db={url.split(':')[0]} "
          f"texts={len(texts)} (median {statistics.median(len(t) for t in texts):.0f} chars)")
    proc = start_server(port, args.workers, url, explain)
    results: dict = {"levels": []}
    try:
        ready = wait_ready(port, proc)
        results["model_version"] = ready.get("model_version")
        time.sleep(2)
        results["memory_after_startup"] = memory(proc)
        status, body = asyncio.run(first_request(port, bodies[0]))
        if status != 201:  # a benchmark of error responses measures nothing
            raise SystemExit(f"the service answers {status} to the benchmark's request: {body[:300]!r}")
        asyncio.run(run_level(port, bodies, 1, args.warmup, 60))
        for clients in (int(c) for c in args.clients.split(",")):
            n = args.requests or (300 if clients == 1 else 2_000)
            before = model_counters(port)
            last = clients == int(args.clients.split(",")[-1])
            spy = start_spy(proc, args.py_spy) if args.py_spy and last else None
            level = asyncio.run(run_level(port, bodies, clients, n, args.max_seconds))
            if spy is not None:
                results["layers_pct"] = finish_spy(*spy)
            if args.workers == 1:  # with several processes /metrics shows one of them
                level["batching"] = batch_stats(before, model_counters(port))
            results["levels"].append(level)
            print(f"{clients:>3} clients: {level['requests']} req in {level['seconds']}s → "
                  f"{level['throughput_rps']} req/s; p50 {level['p50_ms']} ms, p90 {level['p90_ms']} ms, "
                  f"p99 {level['p99_ms']} ms, max {level['max_ms']} ms; errors {level['errors'] or 'none'}")
            if level.get("batching"):
                print(f"           micro-batching: {level['batching']}")
        results["memory_after_load"] = memory(proc)
        if args.reloads:
            results["reloads"] = asyncio.run(reload_under_load(port, bodies, args.reloads))
            results["memory_after_reloads"] = memory(proc)
        mem = {k: results[k] for k in ("memory_after_startup", "memory_after_load", "memory_after_reloads")
               if k in results}
        print("memory (MB): " + "; ".join(f"{k.removeprefix('memory_')}: max RSS {v['max_rss_mb']}, "
                                           f"sum PSS {v['sum_pss_mb']}" for k, v in mem.items()))
        if "reloads" in results:
            r = results["reloads"]
            print(f"reloads under load: statuses {r['reload_statuses']}, {r['requests_during']} requests during, "
                  f"failed {r['failed'] or 'none'}")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()

    print("\nagainst the targets:")
    for level in results["levels"]:
        if level["clients"] == 1:
            print(f"  p99 at 1 client: {level['p99_ms']} ms / target {TARGET_P99_MS} ms "
                  f"= {level['p99_ms'] / TARGET_P99_MS:.2f}× the budget")
        else:
            print(f"  throughput at {level['clients']} clients: {level['throughput_rps']} req/s / target "
                  f"{TARGET_RPS:.0f} = {level['throughput_rps'] / TARGET_RPS:.2f} of the target")
    if results.get("layers_pct"):
        print("\nwhere one server process's time goes under the last level (py-spy, samples holding the GIL):")
        for layer, pct in results["layers_pct"].items():
            print(f"  {layer:<44} {pct:5.1f} %")
    if args.profile:
        prof = profile(texts, args.profile, explain)
        results["profile_ms"] = prof
        print(f"\nprofile of one request (median ms over {min(args.profile, len(texts))} texts, in-process):")
        for step, ms in prof.items():
            print(f"  {step:<32} {ms:8.3f}")
        print("  (suggest_many includes the encoder, every head, the explanation, the place and the duty-list")
        print("   routing: each appeal is encoded once)")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

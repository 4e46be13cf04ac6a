"""Latency of the work queue (``GET /v1/appeals``) with 100k stored appeals, on SQLite and PostgreSQL.

    .venv/bin/python bench/queue_latency.py                          # SQLite (temporary file)
    .venv/bin/python bench/queue_latency.py --postgres-url postgresql://postgres@127.0.0.1:55432/minyi_test

Fills a fresh database (migrated with the service's Alembic migrations) with ``--appeals`` synthetic
appeals — 30 % pending, 65 % decided, 5 % merged, about 17 % urgent, received over 180 days, masked text
built from templates, segmented search words — then times each list query ``--repeats`` times, twice:
the store alone, in process (SQL + rows → dicts), and the whole API over HTTP/1.1 keep-alive to the
service in its own uvicorn process (auth, validation, SQL, JSON, the socket). Prints wall-clock p50/p99 in
ms, the ratio of p99 to the target (20 ms), the CPU time per request (store: median of this process; http:
mean of the server process) and the load average: on a shared machine the wall clock includes waiting for a
core, the CPU time does not. The PostgreSQL variant creates and drops its own database on the given
server. The text is synthetic: the figures depend on the number of rows and the indexes, not on the words.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

TARGET_P99_MS = 20.0
KEY = "bench-dispatcher-key-0001"
PLACES = ["A1区北路街道", "A2区大托街道", "A3区洋湖街道", "A3区含浦镇", "A4区", "A5区", "A6区", "A7县", "A市",
          "B9市", "A2区先锋街道", "A1区东岸街道"]
MATTERS = [("环境保护", "工地夜间施工噪音扰民，凌晨还在施工，老人小孩无法休息"),
           ("城乡建设", "小区物业乱收停车费，业主多次反映没有结果"),
           ("交通运输", "公交车经常晚点，早高峰等车半小时"),
           ("教育文体", "学校违规收取补课费，每学期两千元"),
           ("劳动和社会保障", "公司拖欠工资三个月，老板避而不见"),
           ("卫生计生", "医院排队时间太长，挂号难"),
           ("商贸旅游", "超市销售过期食品，退货被拒"),
           ("城乡建设/城市建设和市政管理/燃气供应", "楼道燃气管道漏气，气味很重，担心爆炸")]
DEPARTMENTS = ["生态环境局", "住房和城乡建设局", "交通运输局", "教育局", "人力资源和社会保障局", "卫生健康委员会",
               "市场监督管理局", "燃气企业"]
OPENERS = ["", "您好，", "领导好！", "尊敬的领导：", "你好，我要反映一个问题。"]
ENDINGS = ["", "请尽快处理。", "希望有关部门重视，谢谢！", "联系电话<PHONE>。", "此事已持续一个月。"]


def synthetic(rng: random.Random, n: int) -> Iterator[dict]:
    """``n`` appeals as the columns the store writes (ordered by received time)."""
    now = datetime.now(UTC)
    for i in range(n):
        place, k = rng.choice(PLACES), rng.randrange(len(MATTERS))
        category, matter = MATTERS[k]
        content = f"{rng.choice(OPENERS)}{place}某小区{matter}。{rng.choice(ENDINGS)}"
        received = now - timedelta(seconds=(n - i) * 180 * 86400 / n)
        urgent = category.endswith("燃气供应") or rng.random() < 0.05
        roll = rng.random()
        status = "pending" if roll < 0.30 else ("decided" if roll < 0.95 else "merged")
        yield {"i": i, "place": place, "category": category, "department": DEPARTMENTS[k], "content": content,
               "received": received, "urgent": urgent, "status": status,
               "due": received + timedelta(days=1 if urgent else 5 + rng.randrange(3))}


def fill(database_url: str, n: int, seed: int = 0) -> None:
    """Migrate and insert ``n`` appeals (suggestion, appeal, decision when decided, search words)."""
    from sqlalchemy import insert

    from serve import appeal_search
    from serve.db import DecisionRow, SuggestionRow, make_engine, migrate
    from serve.db_appeals import AppealRow

    engine = make_engine(database_url)
    migrate(engine)
    rng = random.Random(seed)
    words_of: dict[str, list[str]] = {}
    t0 = time.perf_counter()
    chunk: list[dict] = []
    parents: list[uuid.UUID] = []

    def flush() -> None:
        with engine.begin() as conn:
            sugg, appeals, decisions = [], [], []
            for a in chunk:
                s = {"model_version": "bench", "categories": [{"label": a["category"], "score": 0.8}],
                     "departments": [{"department": a["department"], "jurisdiction": a["place"], "level": "district",
                                      "score": 0.7, "reasons": []}], "due_at": a["due"].isoformat(),
                     "urgent": a["urgent"], "needs_review": False, "review_reasons": [], "keywords": [],
                     "jurisdiction": a["place"], "jurisdiction_level": "district"}
                sugg.append({"id": a["id"], "created_at": a["received"], "title": None, "content": a["content"],
                             "channel": "12345", "model_version": "bench", "top_category": a["category"],
                             "suggestion": s, "needs_review": False})
                decided = a["received"] + timedelta(hours=2) if a["status"] == "decided" else None
                merged_into = rng.choice(parents) if a["status"] == "merged" and parents else None
                status = a["status"] if a["status"] != "merged" or merged_into else "pending"
                appeals.append({"id": a["id"], "channel": "12345", "external_id": f"E{a['i']}",
                                "received_at": a["received"], "status": status, "priority": 0 if a["urgent"] else 1,
                                "urgent": a["urgent"], "due_at": a["due"], "category": a["category"],
                                "jurisdiction": a["place"], "top_department": a["department"],
                                "top_jurisdiction": a["place"], "top_score": 0.7, "decided_at": decided,
                                "merged_into": merged_into, "merged_at": a["received"] if merged_into else None,
                                "similar": []})
                if decided:
                    decisions.append({"suggestion_id": a["id"], "department": a["department"],
                                      "jurisdiction": a["place"], "dispatcher": "bench", "accepted_rank": 1,
                                      "decided_at": decided})
            conn.execute(insert(SuggestionRow), sugg)
            seqs = conn.execute(insert(AppealRow).returning(AppealRow.seq, sort_by_parameter_order=True),
                                appeals).scalars().all()
            if decisions:
                conn.execute(insert(DecisionRow), decisions)
            for seq, a in zip(seqs, chunk, strict=True):
                appeal_search.add(conn, seq, a["words"])
        chunk.clear()

    for a in synthetic(rng, n):
        a["id"] = uuid.uuid4()
        if a["status"] == "decided" and len(parents) < 5_000:
            parents.append(a["id"])
        a["words"] = words_of.get(a["content"]) or words_of.setdefault(
            a["content"], appeal_search.index_words([a["content"]]))
        chunk.append(a)
        if len(chunk) >= 2_000:
            flush()
    if chunk:
        flush()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        from sqlalchemy import text

        conn.execute(text("ANALYZE"))
    engine.dispose()
    print(f"filled {n:,} appeals in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def timings(fn: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """Wall-clock p50 and p99 and the median CPU time of this process (ms)."""
    for _ in range(max(5, repeats // 10)):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    wall.sort()
    return statistics.median(wall), wall[min(len(wall) - 1, int(round(0.99 * len(wall))) - 1)], statistics.median(cpu)


def queries(store: object) -> dict[str, dict]:
    """The list queries a dispatcher's day makes (API query parameters)."""
    from serve.appeal_store import ListQuery

    first = store.list(ListQuery(limit=50))  # type: ignore[attr-defined]
    cursor = first[1]
    for _ in range(20):  # a cursor 20 pages deep
        cursor = store.list(ListQuery(limit=50, cursor=cursor))[1]  # type: ignore[attr-defined]
    midnight = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "pending, first page": {},
        "pending, page 21 (cursor)": {"cursor": cursor},
        "pending, urgent only": {"urgent": "true"},
        "pending, category": {"category": "交通运输"},
        "pending, jurisdiction A3区": {"jurisdiction": "A3区"},
        "decided today": {"status": "decided", "decided_since": midnight.isoformat()},
        "decided, last 7 days": {"status": "decided", "decided_since": (midnight - timedelta(days=7)).isoformat()},
        "all, newest first": {"status": "all"},
        "search q=燃气 (pending)": {"q": "燃气"},
        "search q=补课费 (all)": {"status": "all", "q": "补课费"},
        "search q=噪音 洋湖 (all)": {"status": "all", "q": "噪音 洋湖"},
    }


def query_of(params: dict) -> object:
    from serve.appeal_store import ListQuery
    from serve.appeals import to_utc

    kw = {k: v for k, v in params.items() if k != "urgent"}
    for name in ("decided_since",):
        if name in kw:
            kw[name] = to_utc(datetime.fromisoformat(kw[name]))
    return ListQuery(limit=50, urgent=True if params.get("urgent") else None, **kw)


def process_cpu_ms(pid: int) -> float:
    """CPU time (user + system) used so far by process ``pid``, in ms (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


@contextmanager
def http_server(database_url: str, tmp: Path) -> Iterator[tuple[int, int]]:
    """The service in a child uvicorn process on a free loopback port (no model: lists need none)."""
    import socket
    import subprocess

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "MINYI_DATABASE_URL": database_url, "MINYI_API_KEYS": f"dispatcher:{KEY}",
           "MINYI_API_KEYS_FILE": str(tmp / "keys"), "MINYI_PII_KEY_FILE": str(tmp / "pii.key")}
    code = ("import logging, uvicorn; logging.basicConfig(level=logging.ERROR); from serve.main import create_app; "
            f"uvicorn.run(create_app(loader=lambda: None), host='127.0.0.1', port={port}, log_level='error', "
            "access_log=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the service did not start")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure(database_url: str, repeats: int) -> list[tuple]:
    """Each query through the store in process, then as ``GET /v1/appeals`` over HTTP/1.1 keep-alive to the
    service in its own process (auth, validation, SQL, JSON; the client's CPU is not counted)."""
    from http.client import HTTPConnection
    from urllib.parse import urlencode

    from serve.appeal_store import AppealStore
    from serve.db import make_engine

    engine = make_engine(database_url)
    store = AppealStore(engine)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, http_server(database_url, Path(tmp)) as (port, pid):
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {KEY}"}
        conn.request("GET", "/v1/appeals?q=%E5%99%AA%E9%9F%B3", headers=headers)  # loads the segmenter once
        conn.getresponse().read()
        for name, params in queries(store).items():
            query = query_of(params)
            n = len(store.list(query)[0])
            rows.append((name, "store", *timings(lambda q=query: store.list(q), repeats), n))
            path = f"/v1/appeals?{urlencode(params)}"

            def call(p: str = path) -> None:
                conn.request("GET", p, headers=headers)
                r = conn.getresponse()
                body = r.read()
                assert r.status == 200, body[:300]

            before = process_cpu_ms(pid)
            wall_p50, wall_p99, _client_cpu = timings(call, repeats)
            calls = repeats + max(5, repeats // 10)
            rows.append((name, "http", wall_p50, wall_p99, (process_cpu_ms(pid) - before) / calls, n))
        conn.close()
    engine.dispose()
    return rows


def report(backend: str, n: int, rows: list) -> dict:
    load = os.getloadavg()[0]
    print(f"\n{backend}: {n:,} appeals, limit 50 per page (ms); {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"{'query':34} {'layer':6} {'rows':>5} {'p50':>7} {'p99':>7} {'p99/target':>10} {'cpu':>8}")
    for name, layer, p50, p99, cpu, count in rows:
        print(f"{name:34} {layer:6} {count:5d} {p50:7.2f} {p99:7.2f} {p99 / TARGET_P99_MS:10.2f} {cpu:8.2f}")
    worst = max(r[3] for r in rows)
    print(f"worst p99 {worst:.2f} ms = {worst / TARGET_P99_MS:.2f} × the 20 ms target")
    keys = ("query", "layer", "p50_ms", "p99_ms", "cpu_p50_ms", "rows")
    return {"backend": backend, "appeals": n, "load_average": load,
            "rows": [dict(zip(keys, r, strict=True)) for r in rows]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--postgres-url", help="also run on PostgreSQL (a database is created and dropped)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/queue.db"
            fill(url, args.appeals)
            results.append(report("SQLite (WAL)", args.appeals, measure(url, args.repeats)))
    if args.postgres_url:
        sys.path.insert(0, str(PROJECT / "tests" / "serve"))
        from serve_helpers import fresh_postgres_database

        with fresh_postgres_database(args.postgres_url, prefix="minyi_bench", reuse_if_denied=False) as url:
            fill(url, args.appeals)
            results.append(report("PostgreSQL", args.appeals, measure(url, args.repeats)))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

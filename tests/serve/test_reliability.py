"""The service as a real server process, attacked (issue 13): schemathesis with every check against
``minyi serve`` for each role, decisions posted while the process is SIGKILLed, a bounded load, and
model reloads under that load.

Everything runs on 127.0.0.1 with bounded counts and times. ``minyi serve`` serves the session's real
bundle (tests/conftest.py); the SIGKILL and load tests use ``stub_server.py`` (the same app, the tiny
test bundle: starts in seconds).
Figures are printed (``pytest -s``) and quoted in the README's Reliability section.
Knobs: ``MINYI_TEST_LOAD_SECONDS`` (default 20), ``MINYI_TEST_SCHEMATHESIS_EXAMPLES`` (default 15).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from serve_helpers import ADMIN_KEY, API_KEYS, DISPATCHER_KEY, free_port

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
LOAD_SECONDS = float(os.environ.get("MINYI_TEST_LOAD_SECONDS", "20"))
EXAMPLES = int(os.environ.get("MINYI_TEST_SCHEMATHESIS_EXAMPLES", "15"))
TEXTS = ["A3区洋湖街道某小区门口路灯坏了半个月,晚上出行不便,请尽快维修。",
         "孩子所在学校乱收补课费,每人每学期800元,请教育局调查。", "公交12路经常不按时发车,早高峰等车40分钟。",
         "楼下烧烤店油烟和噪音扰民到凌晨两点,多次反映无果。", "单位拖欠工资三个月,联系电话13812345678,请劳动监察处理。",
         "医院排队挂号要等两小时,希望增加自助机。", "小区物业乱收停车费,业主意见很大。"]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def rss_mib(self) -> float:
        """Resident memory of the server process (Linux)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _env(db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINYI_")}
    return {**env, "MINYI_API_KEYS": API_KEYS, "MINYI_DATABASE_URL": f"sqlite:///{db}",
            "MINYI_SERVE_ACCESS_LOG": "false", "PYTHONUNBUFFERED": "1", **extra}


@contextlib.contextmanager
def server(cmd: list[str], env: dict[str, str], port: int, log: Path, start_timeout: float) -> Iterator[Server]:
    """Start ``cmd`` (listening on 127.0.0.1:``port``), wait until /readyz answers 200, stop it after."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + start_timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}: {log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server was not ready in {start_timeout:.0f} s: {log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Server(proc, url, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def stub_server(db: Path, log: Path, port: int | None = None) -> contextlib.AbstractContextManager[Server]:
    port = port or free_port()
    return server([sys.executable, str(HERE / "stub_server.py"), str(port)], _env(db), port, log, 120)


@pytest.fixture(scope="module")
def minyi_serve(bundle_dir: Path, isolated_models: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[Server]:
    """``minyi serve`` itself, serving the session's real bundle, on a fresh SQLite database."""
    root = tmp_path_factory.mktemp("minyi-serve")
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("minyi")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = _env(root / "minyi.db", MINYI_MODELS=str(isolated_models), MINYI_BUNDLE_DIR=str(bundle_dir))
    with server(cmd, env, port, root / "server.log", start_timeout=300) as s:
        yield s


# --------------------------------------------------------------------------- schemathesis


@pytest.mark.parametrize("key", [DISPATCHER_KEY, ADMIN_KEY], ids=["dispatcher", "admin"])
def test_schemathesis_finds_nothing(minyi_serve: Server, key: str, tmp_path: Path) -> None:
    cmd = [str(Path(sys.executable).with_name("st")), "run", f"{minyi_serve.url}/openapi.json",
           "--checks", "all", "--max-response-time", "60", "--request-timeout", "120",
           "-H", f"Authorization: Bearer {key}", "--max-examples", str(EXAMPLES), "--seed", "13", "--workers", "1",
           "--phases", "examples,coverage,fuzzing,stateful", "--suppress-health-check", "all",
           "--report", "junit", "--report-dir", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env={**os.environ, "NO_COLOR": "1"})
    out = run.stdout + run.stderr
    cases = re.search(r"(\d+) generated", out)
    print(f"\nschemathesis ({'admin' if key == ADMIN_KEY else 'dispatcher'}): "
          f"{cases.group(1) if cases else '?'} cases, exit {run.returncode}\n{out[-1500:]}")
    assert run.returncode == 0, out[-6000:]
    assert cases and int(cases.group(1)) > 100


# --------------------------------------------------------------------------- SIGKILL


@dataclass
class Acknowledged:
    decisions: dict[str, dict] = field(default_factory=dict)  # suggestion id → the 201/200 body
    errors: int = 0


async def _post_decisions(url: str, until: float, ack: Acknowledged, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {DISPATCHER_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        while time.monotonic() < until:
            try:
                s = await client.post("/v1/suggestions", json={"content": rng.choice(TEXTS)})
                if s.status_code != 201:
                    continue
                body = {"dispatcher": f"d{seed}", "accepted_rank": 1} if rng.random() < 0.7 else {
                    "dispatcher": f"d{seed}", "department": "教育局", "jurisdiction": "A3区"}
                r = await client.post(f"/v1/suggestions/{s.json()['id']}/decision", json=body)
                if r.status_code in (200, 201):
                    ack.decisions[s.json()["id"]] = r.json()
            except httpx.HTTPError:  # the server was killed under us: nothing was acknowledged
                ack.errors += 1
                await asyncio.sleep(0.05)


async def _decide_then_kill(url: str, proc: subprocess.Popen, seconds: float, clients: int) -> Acknowledged:
    ack = Acknowledged()
    until = time.monotonic() + seconds + 5
    tasks = [asyncio.create_task(_post_decisions(url, until, ack, seed)) for seed in range(clients)]
    await asyncio.sleep(seconds)
    os.killpg(proc.pid, signal.SIGKILL)  # no shutdown, no flush: the process is gone
    await asyncio.gather(*tasks)
    return ack


def test_acknowledged_decisions_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "minyi.db"
    total, rounds = 0, 3
    for n in range(rounds):
        with stub_server(db, tmp_path / "server.log") as s:
            ack = asyncio.run(_decide_then_kill(s.url, s.process, seconds=4, clients=8))
            s.process.wait(timeout=10)
            assert s.process.returncode == -signal.SIGKILL
        assert len(ack.decisions) > 10, "too few decisions were acknowledged to test anything"
        with stub_server(db, tmp_path / "server.log") as s:
            lost = []
            with httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {DISPATCHER_KEY}"}) as client:
                for sid, decision in ack.decisions.items():
                    stored = client.get(f"/v1/suggestions/{sid}").json().get("decision")
                    if not stored or (stored["department"], stored["accepted_rank"]) != (
                            decision["department"], decision["accepted_rank"]):
                        lost.append(sid)
        total += len(ack.decisions)
        print(f"\nSIGKILL round {n + 1}: {len(ack.decisions)} decisions acknowledged, {len(lost)} lost, "
              f"{ack.errors} connection errors around the kill")
        assert lost == []
    print(f"SIGKILL: {rounds} rounds, {total} acknowledged decisions, 0 lost")


# --------------------------------------------------------------------------- load and reloads


@dataclass
class LoadResult:
    requests: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


async def _client(url: str, until: float, result: LoadResult, seed: int) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {DISPATCHER_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            start = time.perf_counter()
            try:
                r = await client.post("/v1/suggestions", json={"content": rng.choice(TEXTS), "channel": "web"})
                ok = r.status_code == 201
                if ok and rng.random() < 0.3:
                    sid = r.json()["id"]
                    d = await client.post(f"/v1/suggestions/{sid}/decision",
                                          json={"dispatcher": "x", "accepted_rank": 1})
                    g = await client.get(f"/v1/suggestions/{sid}")
                    result.requests += 2
                    ok = d.status_code == 201 and g.status_code == 200
                result.requests += 1
                if not ok:
                    result.errors[f"status {r.status_code}"] += 1
            except httpx.HTTPError as exc:
                result.requests += 1
                result.errors[type(exc).__name__] += 1
            result.latencies.append(time.perf_counter() - start)


async def run_load(url: str, seconds: float, clients: int = 32) -> LoadResult:
    result = LoadResult()
    until = time.monotonic() + seconds
    await asyncio.gather(*(_client(url, until, result, seed) for seed in range(clients)))
    return result


def _summary(name: str, result: LoadResult, seconds: float) -> str:
    lat = sorted(result.latencies) or [0.0]
    return (f"{name}: 32 clients, {seconds:.0f} s, {result.requests} requests ({result.requests / seconds:.0f}/s), "
            f"{sum(result.errors.values())} errors {dict(result.errors)}, p50 {lat[len(lat) // 2] * 1000:.0f} ms, "
            f"p99 {lat[int(len(lat) * 0.99)] * 1000:.0f} ms")


def test_bounded_load_has_no_errors(tmp_path: Path) -> None:
    with stub_server(tmp_path / "minyi.db", tmp_path / "server.log") as s:
        result = asyncio.run(run_load(s.url, LOAD_SECONDS))
    print("\n" + _summary("load", result, LOAD_SECONDS))
    assert result.requests > 100 and not result.errors


def test_five_reloads_under_load_fail_no_request(minyi_serve: Server) -> None:
    async def scenario() -> tuple[LoadResult, list[int]]:
        load = asyncio.create_task(run_load(minyi_serve.url, LOAD_SECONDS))
        codes = []
        async with httpx.AsyncClient(base_url=minyi_serve.url, timeout=300,
                                     headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as admin:
            for _ in range(5):
                await asyncio.sleep(LOAD_SECONDS / 7)
                codes.append((await admin.post("/v1/admin/reload")).status_code)
        return await load, codes

    before = minyi_serve.rss_mib()
    result, codes = asyncio.run(scenario())
    after = minyi_serve.rss_mib()
    print("\n" + _summary("load during 5 reloads", result, LOAD_SECONDS)
          + f"; reloads {codes}; server memory {before:.0f} MiB before, {after:.0f} MiB after")
    assert codes == [200] * 5
    assert result.requests > 50 and not result.errors


# --------------------------------------------------------------------------- several worker processes


def test_two_workers_serve_one_bundle_and_share_its_weights(bundle_dir: Path, isolated_models: Path,
                                                            tmp_path: Path) -> None:
    """``minyi serve --workers 2``: two uvicorn processes answer, each loads the bundle once, and the
    memory-mapped weight files are mapped by both (shared pages, not two private copies)."""
    import psutil

    port = free_port()
    cmd = [str(Path(sys.executable).with_name("minyi")), "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "2"]
    env = _env(tmp_path / "minyi.db", MINYI_MODELS=str(isolated_models), MINYI_BUNDLE_DIR=str(bundle_dir))
    with server(cmd, env, port, tmp_path / "server.log", start_timeout=300) as s:
        headers = {"Authorization": f"Bearer {DISPATCHER_KEY}"}
        with httpx.Client(base_url=s.url, timeout=30) as client:
            for i in range(40):
                r = client.post("/v1/suggestions", json={"content": TEXTS[i % len(TEXTS)]}, headers=headers)
                assert r.status_code == 201, r.text
        processes = psutil.Process(s.process.pid).children(recursive=True)
        weight_maps = [[m for m in p.memory_maps() if m.path.endswith("heads/category/W.npy")] for p in processes]
        mapping = [maps[0] for maps in weight_maps if maps]
        assert len(mapping) == 2, [p.cmdline() for p in processes]
        # read-only file pages: the kernel shares them between the workers, nothing is copied privately
        assert all(m.private_dirty == 0 for m in mapping)

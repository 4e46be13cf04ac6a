"""Helpers shared by the service tests (a unique module name: importable from any test file)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DISPATCHER_KEY = "dispatcher-test-key-0001"
ADMIN_KEY = "admin-test-key-0001"
INTAKE_KEY = "intake-test-key-0001"
API_KEYS = f"dispatcher:{DISPATCHER_KEY},admin:{ADMIN_KEY},intake:{INTAKE_KEY}"
AS_DISPATCHER = {"Authorization": f"Bearer {DISPATCHER_KEY}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
AS_INTAKE = {"Authorization": f"Bearer {INTAKE_KEY}"}
ARTIFACTS = Path(__file__).parent / "artifacts"


# --------------------------------------------------------------------------- a tiny category model


class _Ranked:
    def __init__(self, label: str, score: float) -> None:
        self.label, self.score = label, score


class StubCategory:
    """Deterministic stand-in for ``CategoryPredictor``: keyword rules over the seven labels (燃气: an urgent item)."""

    RULES = (("学校", "教育文体"), ("噪音", "环境保护"), ("公交", "交通运输"), ("工资", "劳动和社会保障"),
             ("医院", "卫生计生"), ("物业", "城乡建设"), ("燃气", "城乡建设/城市建设和市政管理/燃气供应"))
    labels = ["城乡建设", "环境保护", "教育文体", "交通运输", "劳动和社会保障", "卫生计生", "商贸旅游"]

    def __init__(self, version: str = "stub-category-1", fail_on: str | None = None) -> None:
        self.version = version
        self.fail_on = fail_on

    def rank(self, texts: list[str], top_k: int | None = None) -> list[list[_Ranked]]:
        out = []
        for text in texts:
            if self.fail_on and self.fail_on in text:
                raise RuntimeError("stub model failure")
            top = next((label for word, label in self.RULES if word in text), "商贸旅游")
            second = "城乡建设" if top != "城乡建设" else "环境保护"
            rest = [lb for lb in self.labels if lb not in (top, second)]
            scores = [(top, 0.8), (second, 0.1)] + [(lb, 0.1 / len(rest)) for lb in rest]
            out.append([_Ranked(lb, s) for lb, s in scores][: top_k or None])
        return out

    def explain(self, text: str, label: str, k: int = 5) -> list[tuple[str, float]]:
        return [(w, 1.0) for w, lb in self.RULES if w in text and lb == label][:k]


def stub_embed(texts: list[str], dim: int = 128) -> Any:
    """A stand-in for the shared encoder: hashed character bigrams of the Han characters, unit rows."""
    import re
    import zlib

    import numpy as np

    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        han = "".join(re.findall(r"[\u4e00-\u9fff]", text))
        for j in range(len(han) - 1):
            out[i, zlib.crc32(han[j : j + 2].encode()) % dim] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def make_stub_dispatcher(**kwargs: Any) -> Any:
    """The real :class:`Dispatcher` around :class:`StubCategory`, with an ``embed`` like the shared encoder's."""
    from minyi_nlp.dispatch import Dispatcher

    class StubDispatcher(Dispatcher):
        embed_version = "stub-embed-1"

        def embed(self, texts: list[str]) -> Any:
            return stub_embed(texts)

    return StubDispatcher(StubCategory(**kwargs))


# --------------------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app: Any, timeout_s: float = 60.0) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yields the base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# --------------------------------------------------------------------------- appeals


NOISE = "A3区洋湖街道某小区旁边的工地每天夜间施工到凌晨两点，噪音很大，老人小孩无法休息，请尽快处理。"
CALLER = {"name": "张三", "phone": "13812345678"}


def take_in(client: Any, content: str = NOISE, *, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    """``POST /v1/appeals`` (channel ``web`` unless given); returns the response."""
    body = {"content": content, "channel": "web", **fields}
    return client.post("/v1/appeals", json=body, headers=headers or AS_DISPATCHER)

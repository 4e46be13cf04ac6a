"""Helpers shared by the service tests (a unique module name: importable from any test file)."""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DISPATCHER_KEY = "dispatcher-test-key-0001"
ADMIN_KEY = "admin-test-key-0001"
API_KEYS = f"dispatcher:{DISPATCHER_KEY},admin:{ADMIN_KEY}"
AS_DISPATCHER = {"Authorization": f"Bearer {DISPATCHER_KEY}"}
AS_ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ARTIFACTS = Path(__file__).parent / "artifacts"


# --------------------------------------------------------------------------- a tiny real dispatcher


@functools.cache
def _tiny_bundle() -> Any:
    """The tiny real bundle of ``bundle_helpers``, built once per test process."""
    import tempfile

    from bundle_helpers import build_tiny_bundle

    from minyi_nlp.models.bundle import load_bundle

    return load_bundle(build_tiny_bundle(Path(tempfile.mkdtemp(prefix="minyi-tiny-")) / "tiny"))


def make_stub_dispatcher(version: str = "stub-category-1", fail_on: str | None = None) -> Any:
    """The real :class:`Dispatcher` around the tiny bundle (labels follow keywords: 学校 → 教育文体, 噪音 →
    环境保护 …); ``version`` names it, ``fail_on`` makes any batch holding that text raise."""
    from minyi_nlp.dispatch import Dispatcher

    class StubDispatcher(Dispatcher):
        @property
        def version(self) -> str:
            return version

        def suggest_many(self, appeals, **kwargs):  # type: ignore[override]
            if fail_on and any(fail_on in (c or "") for _, c in appeals):
                raise RuntimeError("stub model failure")
            return super().suggest_many(appeals, **kwargs)

    return StubDispatcher(_tiny_bundle())


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

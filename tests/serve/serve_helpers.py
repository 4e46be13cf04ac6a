"""Helpers shared by the service tests (a unique module name: importable from any test file)."""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import time
import uuid
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


# --------------------------------------------------------------------------- databases


@contextlib.contextmanager
def fresh_postgres_database(base_url: str, *, prefix: str = "minyi_t", reuse_if_denied: bool = True) -> Iterator[str]:
    """A new, empty database on the server of ``base_url`` (dropped afterwards). Without the right to
    create databases, the given database itself is emptied and used (unless ``reuse_if_denied`` is False:
    then the error is raised)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from serve.settings import normalise_database_url

    url = make_url(normalise_database_url(base_url))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no CREATEDB: reuse the given database, emptied
        if not reuse_if_denied:
            raise
        with admin.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS appeal_search, appeal_events, appeal_contacts, appeals, decisions, "
                              "suggestions, alembic_version CASCADE"))
        admin.dispose()
        yield url.render_as_string(hide_password=False)
        return
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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


NOISE = "A3区洋湖街道旁边的工地每天夜间施工到凌晨两点，噪音很大，粉尘也多，老人孩子无法休息，请尽快处理。"
CALLER = {"name": "张三", "phone": "13812345678"}


# The similar-appeal threshold (MINYI_SIMILAR_THRESHOLD, 0.29) is tuned for the real encoder; the tiny
# bundle knows a few hundred words, so unrelated appeals share a third of their sketch (A3区, 请 …) there.
TINY_SIMILAR_THRESHOLD = "0.6"


def urgent_lists(tmp_path: Path) -> Any:
    """The packaged lists, except that the SLA list makes 城乡建设 (the tiny bundle's 燃气, 物业, 小区 …)
    urgent with one working day."""
    import shutil

    from minyi_nlp.routing.lists import default_lists_dir, load_lists

    folder = tmp_path / "lists"
    shutil.copytree(default_lists_dir(), folder)
    sla = folder / "sla.yaml"
    urgent = "\nsla:\n  城乡建设: {working_days: 1, urgent: true}\n"
    sla.write_text(sla.read_text(encoding="utf-8").replace("\nsla:\n", urgent, 1), encoding="utf-8")
    return load_lists(folder)


def take_in(client: Any, content: str = NOISE, *, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    """``POST /v1/appeals`` (channel ``web`` unless given); returns the response."""
    body = {"content": content, "channel": "web", **fields}
    return client.post("/v1/appeals", json=body, headers=headers or AS_DISPATCHER)

"""Local engine: one process streaming chunk by chunk, or a pool of ``workers`` processes.

With ``workers > 1`` each worker process loads the model once (``Dispatcher.load(bundle_dir)``) and
predicts whole chunks; the parent reads, validates, writes rejects and parts, and keeps at most
``2 × workers`` chunks in flight, so memory stays bounded by the batch size.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from minyi_nlp.batch.plan import Plan, Work, iter_work
from minyi_nlp.batch.predict import predict_rows, ready_for_batches
from minyi_nlp.batch.store import PartStore

if TYPE_CHECKING:
    import pandas as pd

    from minyi_nlp.dispatch import Dispatcher

OnDone = Callable[[int], None]


def run_local(
    plan: Plan,
    store: PartStore,
    *,
    dispatcher: Dispatcher | None,
    workers: int = 1,
    bundle_dir: Path | None = None,
    model_version: str | None = None,
    on_done: OnDone = lambda rows: None,
) -> None:
    """Predict every pending chunk of ``plan`` into ``store``."""
    if workers <= 1:
        if dispatcher is None:
            raise ValueError("the in-process local engine needs a dispatcher")
        for work in iter_work(plan):
            store.write_rejects(work.key, work.checked.rejects)
            table, errors = predict_rows(dispatcher, work.checked.valid, plan.top_k)
            store.write_errors(work.key, errors)
            store.write_part(work.key, table)
            on_done(work.checked.rows_read)
        return
    if bundle_dir is None:
        raise ValueError("local engine with workers > 1 needs bundle_dir (each worker loads the model)")
    _run_pool(plan, store, workers=workers, bundle_dir=bundle_dir, model_version=model_version, on_done=on_done)


# -- process pool ------------------------------------------------------------------------------------
_WORKER_DISPATCHER: Dispatcher | None = None


def _exit_with_parent(parent: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:  # the job was killed: do not linger holding a model in memory
            os._exit(1)


def _init_worker(bundle_dir: str, model_version: str | None, parent: int) -> None:
    global _WORKER_DISPATCHER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    from minyi_nlp.dispatch import Dispatcher

    _WORKER_DISPATCHER = Dispatcher.load(Path(bundle_dir))
    ready_for_batches(_WORKER_DISPATCHER)
    if model_version is not None and _WORKER_DISPATCHER.version != model_version:
        raise RuntimeError(
            f"worker loaded model {_WORKER_DISPATCHER.version!r}, the job expects {model_version!r}"
        )


def _predict_in_worker(valid: pd.DataFrame, top_k: int) -> tuple[pa.Table, pd.DataFrame]:
    assert _WORKER_DISPATCHER is not None, "worker not initialised"
    return predict_rows(_WORKER_DISPATCHER, valid, top_k)


def _run_pool(
    plan: Plan, store: PartStore, *, workers: int, bundle_dir: Path, model_version: str | None, on_done: OnDone
) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded parent holding a model
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(str(bundle_dir), model_version, os.getpid()),
    )
    inflight: dict[Future[tuple[pa.Table, pd.DataFrame]], Work] = {}

    def finish(done: set[Future[tuple[pa.Table, pd.DataFrame]]]) -> None:
        for fut in done:
            work = inflight.pop(fut)
            table, errors = fut.result()
            store.write_errors(work.key, errors)
            store.write_part(work.key, table)
            on_done(work.checked.rows_read)

    try:
        for work in iter_work(plan):
            store.write_rejects(work.key, work.checked.rejects)
            inflight[pool.submit(_predict_in_worker, work.checked.valid, plan.top_k)] = work
            if len(inflight) >= 2 * workers:
                finish(wait(inflight, return_when=FIRST_COMPLETED).done)
        while inflight:
            finish(wait(inflight, return_when=FIRST_COMPLETED).done)
    finally:
        pool.shutdown(wait=not inflight, cancel_futures=True)

"""Suggest and store: the one path from an appeal to a stored suggestion.

Single requests are **micro-batched**: while the model is busy, arriving appeals queue up and the next
model call takes all of them (up to ``max_batch``), so under load the fixed per-call cost of the
model (vectoriser set-up, calibration, sklearn input checks) is paid once per batch, and a batch is
written in one transaction. An idle server takes a lone request at once (no waiting window).
Model work and database writes run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio

from minyi_nlp.text import preprocess
from serve.db import utcnow
from serve.metrics import Metrics
from serve.schemas import AppealIn
from serve.store import NewSuggestion, Store

log = logging.getLogger(__name__)


# a name by a title ("王经理") makes the name finder load its word list (≈ 13 MB, ≈ 80 ms) now, not in a request
WARM_UP_TEXT = "A3区某小区门口路灯损坏多日，夜间出行不便，物业王经理说没人管，请尽快维修。"


def warm_up(dispatcher: Any, *, prefault: bool = True) -> Any:
    """One suggestion on a fixed text, so that lazy initialisation (the jieba dictionary, caches)
    happens now and not in the first citizen's request; with ``prefault``, every page of the bundle's
    memory-mapped weights is mapped too (no page faults in requests, and the process's footprint is
    known once it is ready). Returns ``dispatcher``."""
    bundle = getattr(dispatcher, "bundle", None)
    if prefault and bundle is not None and hasattr(bundle, "prefault"):
        log.info("weights mapped: %.0f MB", bundle.prefault() / 2**20)
    dispatcher.suggest_many([(None, WARM_UP_TEXT)])
    return dispatcher


class ShuttingDown(RuntimeError):
    pass


def aware_due_at(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``due_at`` as an ISO date-time with an offset. The dispatcher gives one; suggestions
    stored before it did hold the server's local time without one, read here as local time."""
    value = data.get("due_at")
    if not value:
        return data
    due = datetime.fromisoformat(value)
    return data if due.tzinfo is not None else {**data, "due_at": due.astimezone().isoformat()}


def mask(text: str | None) -> str | None:
    """Normalised text with PII replaced (what is stored and what may be logged)."""
    return None if text is None else preprocess(text)


@dataclass
class _Job:
    dispatcher: Any
    appeal: AppealIn
    explain: bool
    future: asyncio.Future = field(repr=False)


class SuggestionService:
    """Owns the micro-batching queue; ``start``/``stop`` from the app lifespan."""

    def __init__(self, store: Store, metrics: Metrics, *, max_batch: int = 32, chunk: int = 100) -> None:
        self.store = store
        self.metrics = metrics
        self.max_batch = max_batch
        self.chunk = chunk
        self._queue: deque[_Job] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._inflight: list[_Job] = []

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._worker(), name="minyi-suggest-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pending = self._inflight + list(self._queue)
        self._queue.clear()
        for job in pending:
            if not job.future.done():
                job.future.set_exception(ShuttingDown("the service is shutting down"))

    # -- public ---------------------------------------------------------------------------------
    async def suggest_one(self, dispatcher: Any, appeal: AppealIn, *, explain: bool = True) -> dict[str, Any]:
        """Suggest for one appeal via the shared queue; returns the stored suggestion as a dict."""
        if self._wake is None or self._task is None or self._task.done():
            raise ShuttingDown("the suggestion worker is not running")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._queue.append(_Job(dispatcher, appeal, explain, future))
        self._wake.set()
        return await future

    async def suggest_batch(
        self, dispatcher: Any, appeals: Sequence[AppealIn], *, explain: bool = True
    ) -> list[dict[str, Any]]:
        """Suggest for many appeals in model calls of ``chunk``; all are stored in one transaction."""
        done: list[tuple[NewSuggestion, dict[str, Any]]] = []
        for start in range(0, len(appeals), self.chunk):
            part = appeals[start : start + self.chunk]
            done += await anyio.to_thread.run_sync(self._compute, dispatcher, part, explain)
        await anyio.to_thread.run_sync(self.store.add_suggestions, [new for new, _ in done])
        self._count(done, "batch")
        return [out for _, out in done]

    # -- work -----------------------------------------------------------------------------------
    def _compute(
        self, dispatcher: Any, appeals: Sequence[AppealIn], explain: bool
    ) -> list[tuple[NewSuggestion, dict[str, Any]]]:
        """Model call + masking (in a worker thread)."""
        t0 = time.perf_counter()
        pairs = [(a.title, a.content) for a in appeals]
        suggestions = dispatcher.suggest_many(pairs, explain=explain)
        self.metrics.model_seconds.observe(time.perf_counter() - t0)
        self.metrics.model_batch.observe(len(appeals))
        created = utcnow()
        out = []
        for appeal, s in zip(appeals, suggestions, strict=True):
            data = aware_due_at(s.as_dict())
            title, content = s.masked if s.masked is not None else (mask(appeal.title), mask(appeal.content) or "")
            new = NewSuggestion(uuid.uuid4(), created, title, content,
                                appeal.channel, data)
            out.append((new, {"id": str(new.id), "created_at": created.isoformat(), **data}))
        return out

    def _compute_and_store(self, dispatcher: Any, appeals: Sequence[AppealIn], explain: bool) -> list[Any]:
        """For a micro-batch: one model call, one transaction; if the model call fails, each appeal
        is retried alone so that one bad input cannot fail the others. Returns results or exceptions."""
        try:
            done: list[Any] = self._compute(dispatcher, appeals, explain)
        except Exception:
            if len(appeals) == 1:
                raise
            done = []
            for appeal in appeals:
                try:
                    done.append(self._compute(dispatcher, [appeal], explain)[0])
                except Exception as exc:  # reported to that request only
                    log.exception("suggestion failed for one appeal of a batch of %d", len(appeals))
                    done.append(exc)
        self.store.add_suggestions([d[0] for d in done if not isinstance(d, Exception)])
        self._count([d for d in done if not isinstance(d, Exception)], "single")
        return [d if isinstance(d, Exception) else d[1] for d in done]

    def _count(self, done: Sequence[tuple[NewSuggestion, dict[str, Any]]], endpoint: str) -> None:
        self.metrics.suggestions.labels(endpoint).inc(len(done))
        self.metrics.needs_review.inc(sum(1 for _, out in done if out.get("needs_review")))

    def _take(self) -> list[_Job]:
        """The next micro-batch: queued jobs for the same dispatcher (model) and explain flag."""
        first = self._queue.popleft()
        batch = [first]
        while (self._queue and len(batch) < self.max_batch and self._queue[0].dispatcher is first.dispatcher
               and self._queue[0].explain == first.explain):
            batch.append(self._queue.popleft())
        return [j for j in batch if not j.future.done()]

    async def _worker(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            while self._queue:
                batch = self._inflight = self._take()
                if not batch:
                    continue
                try:
                    results = await anyio.to_thread.run_sync(
                        self._compute_and_store, batch[0].dispatcher, [j.appeal for j in batch], batch[0].explain
                    )
                except Exception as exc:  # handed to every waiting request
                    log.exception("suggestion batch of %d failed", len(batch))
                    results = [exc] * len(batch)
                for job, result in zip(batch, results, strict=True):
                    if job.future.done():
                        continue
                    if isinstance(result, Exception):
                        job.future.set_exception(result)
                    else:
                        job.future.set_result(result)
                self._inflight = []
            self._wake.clear()

"""The work of a job: which chunks exist, which are still to do, and the stream of validated chunks.

A :class:`Plan` is small and picklable (the Ray engine ships it to its read task); :func:`iter_work`
reads the pending chunks one at a time, so memory is bounded by ``batch_size``, not the input.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from minyi_nlp.batch.sources import ColumnMap, InputFile, iter_chunks
from minyi_nlp.batch.store import chunk_key
from minyi_nlp.batch.validation import CheckedChunk, validate_chunk


@dataclass(frozen=True)
class Work:
    """One validated chunk to predict: ``key`` names its part."""

    key: str
    checked: CheckedChunk


@dataclass(frozen=True)
class Plan:
    files: tuple[InputFile, ...]
    columns: ColumnMap
    batch_size: int
    max_content_chars: int
    top_k: int
    pending: frozenset[str] = frozenset()

    def chunk_sizes(self) -> dict[str, int]:
        """Rows of every chunk by key, in output order."""
        out: dict[str, int] = {}
        for fi, f in enumerate(self.files):
            rows = f.rows or 0
            for ci in range(math.ceil(rows / self.batch_size)):
                out[chunk_key(fi, ci)] = min(self.batch_size, rows - ci * self.batch_size)
        return out

    @property
    def total_rows(self) -> int:
        return sum(f.rows or 0 for f in self.files)


def iter_work(plan: Plan) -> Iterator[Work]:
    """Validated pending chunks in input order (done chunks are read past, not validated)."""
    for fi, f in enumerate(plan.files):
        todo = {chunk_key(fi, ci) for ci in range(math.ceil((f.rows or 0) / plan.batch_size))} & plan.pending
        if not todo:
            continue
        for chunk in iter_chunks(f, plan.columns, plan.batch_size):
            key = chunk_key(fi, chunk.index)
            if key not in todo:
                continue
            todo.discard(key)
            checked = validate_chunk(
                chunk, source=f.name, columns=plan.columns, max_content_chars=plan.max_content_chars
            )
            yield Work(key, checked)
            if not todo:
                break

"""Arrays on disk: ``.npy`` files written without pickling and read back memory-mapped."""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

HEAD_FILE = "head.json"


def save_array(path: Path, arr: np.ndarray) -> Path:
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
    return path


def save_head(directory: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> list[Path]:
    """A head's files in ``directory``: ``<name>.npy`` per array and ``head.json`` (``meta``); returns them."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [save_array(directory / f"{name}.npy", arr) for name, arr in arrays.items()]
    path = directory / HEAD_FILE
    path.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return [path, *files]


def load_array(path: Path, mmap: bool = True) -> np.ndarray:
    """A ``.npy`` array, memory-mapped read-only when ``mmap`` (returned as a plain ndarray view: slicing
    an ``np.memmap`` costs a Python-level ``__getitem__`` per call). Processes that map the same file
    share its pages."""
    arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    return arr.view(np.ndarray) if isinstance(arr, np.memmap) else arr


def is_mapped(arr: np.ndarray) -> bool:
    """Whether ``arr`` is a view of a memory-mapped file (as :func:`load_array` returns with ``mmap``)."""
    base = arr
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, mmap.mmap)


def mapped_arrays(obj: object, _depth: int = 0) -> Iterator[np.ndarray]:
    """The memory-mapped arrays held by ``obj``'s attributes (and by its dicts, lists, sparse matrices and
    member objects, a few levels deep)."""
    if _depth > 4:
        return
    if isinstance(obj, np.ndarray):
        if is_mapped(obj):
            yield obj
        return
    if isinstance(obj, dict):
        values: list = list(obj.values())
    elif isinstance(obj, list | tuple):
        values = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        values = list(vars(obj).values())
    else:
        return
    for value in values:
        yield from mapped_arrays(value, _depth + 1)


def prefault(arrays: Iterable[np.ndarray], page: int = 4096) -> int:
    """Read one byte of every page of ``arrays`` so that the OS maps them now rather than in a request
    (a serving process's footprint is then known at start-up). Returns the bytes covered."""
    total = 0
    seen: set[int] = set()
    for arr in arrays:
        if id(arr) in seen or not arr.flags.c_contiguous or arr.nbytes == 0:
            continue
        seen.add(id(arr))
        int(np.asarray(arr).reshape(-1).view(np.uint8)[::page].sum())
        total += arr.nbytes
    return total

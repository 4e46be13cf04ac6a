"""Arrays on disk: ``.npy`` files written without pickling and read back memory-mapped."""

from __future__ import annotations

import json
from collections.abc import Mapping
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

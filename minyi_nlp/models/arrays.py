"""Arrays on disk: ``.npy`` files written without pickling and read back memory-mapped."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def save_array(path: Path, arr: np.ndarray) -> Path:
    np.save(path, np.ascontiguousarray(arr), allow_pickle=False)
    return path


def load_array(path: Path, mmap: bool = True) -> np.ndarray:
    """A ``.npy`` array, memory-mapped read-only when ``mmap`` (returned as a plain ndarray view: slicing
    an ``np.memmap`` costs a Python-level ``__getitem__`` per call). Processes that map the same file
    share its pages."""
    arr = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    return arr.view(np.ndarray) if isinstance(arr, np.memmap) else arr

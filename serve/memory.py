"""Give freed heap memory back to the operating system after a model swap."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def release_freed_memory() -> bool:
    """Collect garbage, then ask glibc to return free heap pages (``malloc_trim``); False where there is no
    glibc. Python frees an old model's arrays at once, but the allocator keeps the pages for reuse, so
    without this a process's RSS grows by most of a model with every reload."""
    gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True

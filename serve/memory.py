"""Memory of a serving process: keep the loaded model out of garbage collections, and give the heap of a
swapped-out model back to the operating system."""

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


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's mallopt parameters (malloc.h)


def tune_allocator(*, arena_max: int, mmap_threshold: int) -> bool:
    """Keep glibc's heap from holding what a serving process frees: at most ``arena_max`` malloc arenas (each
    thread that loads a model or serves a batch would otherwise get its own, and keep its pages), and a fixed
    ``mmap_threshold`` (bytes): larger blocks, such as a batch's score and feature arrays, are mapped and
    unmapped on free, instead of glibc raising the threshold to the largest block freed so far and keeping
    such blocks in the heap. 0 leaves a parameter at glibc's default. Call before the serving threads start;
    False where there is no glibc or a parameter was refused."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    ok = True
    for param, value in ((M_ARENA_MAX, arena_max), (M_MMAP_THRESHOLD, mmap_threshold)):
        if value > 0:
            ok = bool(libc.mallopt(param, value)) and ok
    return ok


def freeze_long_lived() -> int:
    """Collect, then move every object alive now (the model, the lists, the similar-appeal index) to the
    permanent generation, so that the collections requests trigger no longer walk them (a full collection
    over a loaded model is a latency spike of a request). Objects frozen earlier are unfrozen first, so a
    model swapped out since is collected. Returns how many objects are frozen."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def release_freed_memory(*, freeze: bool = False) -> bool:
    """Collect garbage (``freeze``: unfreeze first and freeze what is alive after, see
    :func:`freeze_long_lived`), then ask glibc to return free heap pages (``malloc_trim``); False where there
    is no glibc. Python frees an old model's arrays at once, but the allocator keeps the pages for reuse, so
    without this a process's RSS grows by most of a model with every reload."""
    if freeze:
        freeze_long_lived()
    else:
        gc.collect()
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True

"""After a model swap the freed heap goes back to the operating system (glibc's malloc_trim)."""

from __future__ import annotations

import platform

import numpy as np
import psutil
import pytest

from serve.memory import release_freed_memory

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")


@glibc
def test_freed_small_objects_are_returned():
    proc = psutil.Process()
    before = proc.memory_info().rss
    # many small blocks (a model's vocabulary dicts and lists) land on the heap, not in their own mmaps
    junk = [np.zeros(64) for _ in range(400_000)]
    grown = proc.memory_info().rss
    pinned = [np.zeros(64) for _ in range(10)]  # the heap's top stays in use: free() alone returns nothing
    del junk
    assert release_freed_memory() is True
    after = proc.memory_info().rss
    assert grown - before > 50 * 2**20
    assert after - before < (grown - before) / 2
    assert len(pinned) == 10

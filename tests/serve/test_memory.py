"""After a model swap the freed heap goes back to the operating system (glibc's malloc_trim)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")

# in a fresh process: a test run's own large heap would absorb the allocations without growing
SCRIPT = """
import json, numpy as np, psutil
from serve.memory import release_freed_memory
proc = psutil.Process()
before = proc.memory_info().rss
junk = [np.zeros(64) for _ in range(400_000)]  # many small blocks, like a model's vocabulary: on the heap
grown = proc.memory_info().rss
pinned = [np.zeros(64) for _ in range(10)]  # the heap's top stays in use: free() alone returns nothing
del junk
released = release_freed_memory()
print(json.dumps({"before": before, "grown": grown, "after": proc.memory_info().rss, "released": released,
                  "pinned": len(pinned)}))
"""


@glibc
def test_freed_small_objects_are_returned():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    m = json.loads(run.stdout.strip().splitlines()[-1])
    assert m["released"] is True
    assert m["grown"] - m["before"] > 50 * 2**20
    assert m["after"] - m["before"] < (m["grown"] - m["before"]) / 2


# glibc raises its mmap threshold to the largest mapped block freed (here 16 MiB); 1 MiB blocks then come from
# the heap and stay there when freed under a live block. A fixed threshold maps and unmaps them instead.
TUNED = """
import json, sys, numpy as np, psutil
from serve.memory import tune_allocator
tuned = tune_allocator(arena_max=2, mmap_threshold=256 * 1024) if sys.argv[1] == "tuned" else None
proc = psutil.Process()
large = np.ones(16 * 2**20, np.uint8)
del large  # a large block freed: glibc's dynamic threshold rises to it
before = proc.memory_info().rss
blocks, pins = [], []
for _ in range(150):
    blocks.append(np.ones(2**20, np.uint8))
    pins.append(np.ones(64))  # small live blocks between the large ones: the heap cannot shrink from its top
grown = proc.memory_info().rss
del blocks
print(json.dumps({"before": before, "grown": grown, "after": proc.memory_info().rss, "tuned": tuned}))
"""


@glibc
def test_a_fixed_mmap_threshold_returns_freed_batch_arrays_without_a_trim():
    def run(mode: str) -> dict:
        out = subprocess.run([sys.executable, "-c", TUNED, mode], capture_output=True, text=True, timeout=120,
                             check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    tuned, default = run("tuned"), run("default")
    assert tuned["tuned"] is True
    for m in (tuned, default):
        assert m["grown"] - m["before"] > 100 * 2**20
    assert tuned["after"] - tuned["before"] < 20 * 2**20  # returned at free()
    assert default["after"] - default["before"] > 100 * 2**20  # glibc's default keeps them: the test can fail

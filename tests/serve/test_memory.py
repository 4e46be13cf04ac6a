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

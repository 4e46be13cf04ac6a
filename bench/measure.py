"""Run a command as a subprocess and measure it from outside: wall time and peak RSS (psutil, every 0.2 s).

The peak is sampled for the process itself and summed over it and all its descendants (Ray's raylet, GCS and
workers included; pages shared between processes are counted once per process, so the sum overstates).
``getrusage`` is not used because a child inherits its parent's ``ru_maxrss`` across fork and exec.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Measured:
    returncode: int
    wall_s: float
    peak_rss_mb: float
    peak_rss_tree_mb: float
    peak_private_mb: float  # the process's resident memory that is not backed by a file (RSS − shared)
    stderr: str


def tree_rss(proc: Any) -> tuple[int, int, int]:
    """(RSS of a psutil process, RSS summed over it and its descendants, the process's RSS minus its shared
    (file-backed) pages), bytes; zeros once it is gone."""
    import psutil

    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0, 0, 0
    sizes, private = [], 0
    for k, p in enumerate(procs):
        try:
            info = p.memory_info()
        except psutil.Error:
            sizes.append(0)
            continue
        sizes.append(info.rss)
        if k == 0:
            private = info.rss - getattr(info, "shared", 0)
    return sizes[0], sum(sizes), private


def run_measured(cmd: list[str], interval: float = 0.2) -> Measured:
    """Run ``cmd`` (stdout discarded) until it exits; its wall time, peak RSS and stderr."""
    import psutil

    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        watched = psutil.Process(proc.pid)
        peak_own = peak_tree = peak_private = 0
        while proc.poll() is None:
            own, tree, private = tree_rss(watched)
            peak_own, peak_tree, peak_private = max(peak_own, own), max(peak_tree, tree), max(peak_private, private)
            time.sleep(interval)
        wall = time.perf_counter() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    mb = 2**20
    return Measured(proc.returncode, wall, round(peak_own / mb, 1), round(peak_tree / mb, 1),
                    round(peak_private / mb, 1), stderr)

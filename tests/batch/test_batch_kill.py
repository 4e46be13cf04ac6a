"""Really interrupt a reclassify process (SIGKILL, SIGINT), re-run the same command, check exactly-once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.batch import reclassify

pytestmark = pytest.mark.slow

ROWS, BATCH = 3000, 100
CHUNKS = ROWS // BATCH


def _out(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("id").reset_index(drop=True)


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, real_texts, real_dispatcher) -> dict[str, Path]:
    """The input CSV and the output of an uninterrupted run of it."""
    root = tmp_path_factory.mktemp("kill")
    frame = pd.DataFrame(
        {
            "id": [f"k{i:05d}" for i in range(ROWS)],
            "content": [real_texts[i % len(real_texts)][1][:40] for i in range(ROWS)],
            "category": [real_texts[i % len(real_texts)][0] for i in range(ROWS)],
        }
    )
    frame.loc[[10, 1500], "content"] = "。。。"  # two rejects, in different chunks
    frame.to_csv(root / "in.csv", index=False)
    reclassify(root / "in.csv", root / "ref.parquet", batch_size=BATCH, dispatcher=real_dispatcher, progress=False)
    return {"input": root / "in.csv", "ref": root / "ref.parquet", "root": root}


def _command(job: dict[str, Path], out: Path, bundle_dir: Path) -> list[str]:
    return [sys.executable, "-m", "minyi_nlp.batch", "--input", str(job["input"]), "--output", str(out),
            "--batch-size", str(BATCH), "--bundle", str(bundle_dir), "--no-progress"]


def _parts(out: Path) -> list[Path]:
    return sorted(out.with_name(out.name + ".parts").glob("part-*.parquet"))


def _start_and_interrupt(cmd: list[str], out: Path, sig: int, min_parts: int = 3) -> subprocess.CompletedProcess:
    # Ctrl-C as a terminal sends it, whatever this run inherited: a shell starts background commands with SIGINT
    # ignored, and a Python started so never turns SIGINT into KeyboardInterrupt
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while len(_parts(out)) < min_parts:
        if proc.poll() is not None:
            raise AssertionError(f"job ended before it was interrupted: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("no parts written within the deadline")
        time.sleep(0.02)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def _resume_and_check(cmd: list[str], out: Path, job: dict[str, Path], parts_before: int) -> None:
    assert 0 < parts_before < CHUNKS, "the interrupted run should have left some, not all, parts"
    assert not out.exists()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{parts_before * BATCH:,} rows resumed" in done.stdout
    result = _out(out)
    expected_ids = set(pd.read_csv(job["input"], dtype=str)["id"]) - {"k00010", "k01500"}
    assert result["id"].is_unique and set(result["id"]) == expected_ids
    pd.testing.assert_frame_equal(result, _out(job["ref"]))
    rejects = pd.read_csv(out.with_name("out.rejects.csv"))
    assert rejects["row"].tolist() == [11, 1501]
    assert not out.with_name(out.name + ".parts").exists()


def test_sigkill_then_resume_gives_every_row_exactly_once(job, bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    cmd = _command(job, out, bundle_dir)
    killed = _start_and_interrupt(cmd, out, signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    _resume_and_check(cmd, out, job, len(_parts(out)))


def test_sigint_then_resume_gives_every_row_exactly_once(job, bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    cmd = _command(job, out, bundle_dir)
    stopped = _start_and_interrupt(cmd, out, signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr
    assert "re-run the same command to resume" in stopped.stderr
    _resume_and_check(cmd, out, job, len(_parts(out)))

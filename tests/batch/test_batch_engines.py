"""Every engine gives the same output row for row: local (1 process), local (2 processes), Ray (2 actors)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.batch import reclassify

pytestmark = pytest.mark.slow


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("id").reset_index(drop=True)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, real_texts, real_dispatcher) -> dict:
    """300 rows (two rejected) and the single-process local engine's output."""
    root = tmp_path_factory.mktemp("engines")
    frame = pd.DataFrame(
        {
            "id": [f"e{i:04d}" for i in range(300)],
            "title": [None if i % 3 else f"标题{i}" for i in range(300)],
            "content": [real_texts[i % len(real_texts)][1][:120] for i in range(300)],
            "category": [real_texts[i % len(real_texts)][0] for i in range(300)],
        }
    )
    frame.loc[[7, 250], "content"] = "？？"
    frame.to_csv(root / "in.csv", index=False)
    summary = reclassify(root / "in.csv", root / "local.parquet", batch_size=40, dispatcher=real_dispatcher,
                         progress=False)
    return {"input": root / "in.csv", "output": root / "local.parquet", "summary": summary}


def _same(reference: dict, out: Path, summary) -> None:
    local = reference["output"]
    assert len(_read(local)) == 298
    pd.testing.assert_frame_equal(_read(local), _read(out))
    rejects = [pd.read_csv(p.with_name(p.stem + ".rejects.csv")) for p in (local, out)]
    pd.testing.assert_frame_equal(*rejects)
    ref = reference["summary"]
    assert (ref.predicted, ref.rejected, ref.changes) == (summary.predicted, summary.rejected, summary.changes)


def test_ray_output_equals_local(reference, real_dispatcher, bundle_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    out = tmp_path / "ray.parquet"
    summary = reclassify(reference["input"], out, engine="ray", workers=2, batch_size=40,
                         dispatcher=real_dispatcher, bundle_dir=bundle_dir, progress=False)
    assert summary.engine == "ray" and summary.workers == 2
    _same(reference, out, summary)


def test_local_process_pool_equals_single_process(reference, real_dispatcher, bundle_dir: Path,
                                                  tmp_path: Path) -> None:
    out = tmp_path / "pool.parquet"
    summary = reclassify(reference["input"], out, workers=2, batch_size=40, dispatcher=real_dispatcher,
                         bundle_dir=bundle_dir, progress=False)
    assert summary.workers == 2
    _same(reference, out, summary)

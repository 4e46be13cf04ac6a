"""The scaled hot-issue path: chunks, time windows and the Ray engine give the in-memory result (slow)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.config import get_settings
from minyi_nlp.hotspots import HotspotParams, InputReader, find_hotspots

pytestmark = pytest.mark.slow
FJ3 = get_settings().raw_dir / "teddy2020_c" / "fj3_hot_issue_messages_4326.xlsx"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,400 real 附件3 messages in three Parquet files, their times spread evenly over two years."""
    if not FJ3.exists():
        pytest.skip(f"raw data not present at {FJ3}")
    raw = pd.read_excel(FJ3, dtype=str).head(2400)
    raw["留言时间"] = pd.date_range("2018-01-01", periods=len(raw), freq="7h").strftime("%Y-%m-%d %H:%M:%S")
    root = tmp_path_factory.mktemp("hotspots-in")
    for k in range(3):
        raw.iloc[k * 800 : (k + 1) * 800].to_parquet(root / f"part-{k}.parquet", index=False)
    return root


def _run(folder: Path, out: Path, params: HotspotParams, **kwargs) -> tuple[list, pd.DataFrame]:
    result = find_hotspots(InputReader(folder).frames(), params, top=15, assignments=out, **kwargs)
    return [(h.rank, round(h.heat, 6), h.ids, h.description) for h in result.hotspots], pd.read_parquet(out)


@pytest.fixture(scope="module")
def reference(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list, pd.DataFrame]:
    """Everything in one chunk and one window."""
    params = HotspotParams(fit_rows=2400, chunk_rows=2400, window_rows=20000)
    return _run(folder, tmp_path_factory.mktemp("ref") / "a.parquet", params)


def test_chunks_and_windows_give_the_in_memory_result(folder: Path, reference, tmp_path: Path) -> None:
    # 1,000 rows span 290 days, more than the 60-day gap: every linkable pair meets in some window
    params = HotspotParams(fit_rows=2400, chunk_rows=300, window_rows=1000, window_overlap=500)
    hotspots, assigned = _run(folder, tmp_path / "a.parquet", params)
    assert hotspots == reference[0]
    pd.testing.assert_frame_equal(assigned, reference[1])
    assert reference[1]["rank"].notna().sum() == sum(len(h[2]) for h in reference[0])


def test_ray_engine_equals_local(folder: Path, reference, tmp_path: Path) -> None:
    pytest.importorskip("ray")
    params = HotspotParams(fit_rows=600, chunk_rows=300)
    local = _run(folder, tmp_path / "local.parquet", params)
    ray = _run(folder, tmp_path / "ray.parquet", params, engine="ray", workers=2)
    assert ray[0] == local[0]
    pd.testing.assert_frame_equal(ray[1], local[1])

"""Rejects files (minyi evaluate, minyi reclassify, any load with rejects_path) hold masked text only
and are readable by their owner only."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pandas as pd

from minyi_nlp.data import load_file
from minyi_nlp.data.private import open_private, readable_by_others

PHONE = "13812345678"
ROWS = pd.DataFrame({
    "text": [f"我叫张伟,电话{PHONE},路灯坏了", "噪音扰民", f"我是刘洋,手机{PHONE}"],
    "label": ["城乡建设", "环境保护", "不存在的类别"],
    "submitted": ["2020-01-01", f"电话{PHONE}", "2020-01-02"],
})


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_load_file_rejects_are_masked_and_private(tmp_path: Path) -> None:
    src = tmp_path / "appeals.csv"
    ROWS.to_csv(src, index=False)
    rejects = tmp_path / "appeals.rejects.csv"
    result = load_file(src, {"content": "text", "category": "label", "submitted_at": "submitted"},
                       rejects_path=rejects, labels=["城乡建设", "环境保护"])
    assert set(result.rejects["rule"]) == {"category_unknown", "date_unparseable"}
    written = rejects.read_text(encoding="utf-8")
    assert PHONE not in written and "刘洋" not in written
    assert "<PHONE>" in written and "我是<NAME>" in written
    assert _mode(rejects) == 0o600


def test_reclassify_rejects_are_masked_and_private(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "batch"))
    from batch_fakes import FakeDispatcher

    from minyi_nlp.batch import reclassify

    frame = pd.DataFrame({"id": ["a", None, "c"], "content": ["路灯坏了很久", f"我叫张伟,电话{PHONE}", "噪音"]})
    frame.to_csv(tmp_path / "in.csv", index=False)
    reclassify(tmp_path / "in.csv", tmp_path / "out.parquet", batch_size=2, top_k=1, dispatcher=FakeDispatcher(),
               progress=False)
    rejects = tmp_path / "out.rejects.csv"
    written = rejects.read_text(encoding="utf-8")
    assert "id_empty" in written and PHONE not in written and "<PHONE>" in written
    assert _mode(rejects) == 0o600


def test_open_private_narrows_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text("x", encoding="utf-8")
    path.chmod(0o644)
    assert readable_by_others(path)
    with open_private(path) as fh:
        fh.write("y")
    assert _mode(path) == 0o600 and not readable_by_others(path)

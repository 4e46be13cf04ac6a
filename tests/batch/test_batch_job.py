"""The reclassify job end to end with a fast fake dispatcher: exactly-once output, rejects, resume, summary."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from batch_fakes import FakeDispatcher

from minyi_nlp.batch import ColumnMap, JobLocked, ResumeMismatch, reclassify
from minyi_nlp.batch.store import PartStore
from minyi_nlp.data import DataError


def _out(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path).sort_values("id").reset_index(drop=True)


def test_every_valid_row_once_with_rejects_and_summary(tmp_path: Path, appeals: Callable, fake) -> None:
    frame = appeals(230)
    frame.loc[5, "content"] = " "
    frame.loc[77, "content"] = "……！！"
    frame.loc[140, "id"] = None
    frame.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.parquet"
    summary = reclassify(tmp_path / "in.csv", out, batch_size=40, top_k=2, dispatcher=fake, progress=False)

    result = _out(out)
    assert len(result) == 227 and result["id"].is_unique
    assert set(result["id"]) == set(frame["id"].dropna()) - {"r000005", "r000077"}
    assert list(result.columns[:7]) == ["id", "source", "row", "category_1", "category_1_score", "category_2",
                                        "category_2_score"]
    assert {"department_2_jurisdiction", "needs_review", "model_version", "changed"} <= set(result.columns)
    assert (result["model_version"] == "fake-1").all()
    prev = result["previous_category"]
    assert result.loc[prev.isna(), "changed"].isna().all()
    assert (result.loc[prev.notna(), "changed"] == (prev != result["category_1"])[prev.notna()]).all()

    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects[["row", "rule"]].values.tolist() == [[6, "content_empty"], [78, "content_no_text"],
                                                         [141, "id_empty"]]
    assert summary.rows_read == 230 and summary.predicted == 227 and summary.rejected == 3
    assert summary.changed == int(result["changed"].fillna(False).sum())
    assert sum(c["rows"] for c in summary.changes) == summary.changed
    saved = json.loads((tmp_path / "out.summary.json").read_text(encoding="utf-8"))
    assert saved["changes"] == summary.changes and saved["rows_read"] == 230
    assert (tmp_path / "out.summary.png").stat().st_size > 5000
    assert not (tmp_path / "out.parquet.parts").exists()
    text = summary.format_text()
    assert "→" in text and "rows/s" in text


def test_directory_of_mixed_formats(tmp_path: Path, appeals: Callable, fake) -> None:
    src = tmp_path / "in"
    (src / "2020").mkdir(parents=True)
    appeals(30, prefix="c").to_csv(src / "a.csv", index=False)
    appeals(25, prefix="j").to_json(src / "b.jsonl", orient="records", lines=True, force_ascii=False)
    appeals(20, prefix="p").to_parquet(src / "2020" / "c.parquet", index=False)
    appeals(15, prefix="x").drop(columns=["category"]).to_excel(src / "2020" / "d.xlsx", index=False)
    out = tmp_path / "out.parquet"
    summary = reclassify(src, out, batch_size=8, dispatcher=fake, progress=False)
    result = _out(out)
    assert len(result) == 90 and result["id"].is_unique
    assert result.groupby("source").size().to_dict() == {"2020/c.parquet": 20, "2020/d.xlsx": 15, "a.csv": 30,
                                                         "b.jsonl": 25}
    assert result.loc[result["source"] == "2020/d.xlsx", "previous_category"].isna().all()
    assert summary.files == 4


def test_missing_columns_are_named_with_a_hint(tmp_path: Path, fake) -> None:
    pd.DataFrame({"ID": ["1"], "contents": ["路灯坏了"]}).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError, match=r"missing required column.*did you mean 'contents'"):
        reclassify(tmp_path / "in.csv", tmp_path / "out.parquet", dispatcher=fake, progress=False)
    summary = reclassify(tmp_path / "in.csv", tmp_path / "out.parquet", dispatcher=fake, progress=False,
                         columns=ColumnMap(id="ID", content="contents"))
    assert summary.predicted == 1


def test_interrupted_run_resumes_to_the_same_output(tmp_path: Path, appeals: Callable) -> None:
    appeals(200).to_csv(tmp_path / "in.csv", index=False)
    ref = tmp_path / "ref.parquet"
    reclassify(tmp_path / "in.csv", ref, batch_size=30, dispatcher=FakeDispatcher(), progress=False)

    out = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        reclassify(tmp_path / "in.csv", out, batch_size=30, dispatcher=FakeDispatcher(fail_after=3), progress=False)
    parts = sorted(p.name for p in (tmp_path / "out.parquet.parts").glob("part-*.parquet"))
    assert len(parts) == 3 and not out.exists()

    again = FakeDispatcher()
    summary = reclassify(tmp_path / "in.csv", out, batch_size=30, dispatcher=again, progress=False)
    assert again.calls == 7 - 3  # only the missing chunks were predicted
    assert summary.resumed_rows == 90 and summary.rows_this_run == 110
    pd.testing.assert_frame_equal(_out(out), _out(ref))


def test_resume_refused_for_other_model_input_or_params(tmp_path: Path, appeals: Callable) -> None:
    src = tmp_path / "in.csv"
    appeals(100).to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        reclassify(src, out, batch_size=20, dispatcher=FakeDispatcher(fail_after=2), progress=False)

    with pytest.raises(ResumeMismatch, match=r"model: parts were written by 'fake-1', now 'fake-2'.*--restart"):
        reclassify(src, out, batch_size=20, dispatcher=FakeDispatcher("fake-2"), progress=False)
    with pytest.raises(ResumeMismatch, match=r"batch_size 20 → 25"):
        reclassify(src, out, batch_size=25, dispatcher=FakeDispatcher(), progress=False)
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(ResumeMismatch, match=r"input: in.csv changed"):
        reclassify(src, out, batch_size=20, dispatcher=FakeDispatcher(), progress=False)

    summary = reclassify(src, out, batch_size=20, dispatcher=FakeDispatcher("fake-2"), progress=False, restart=True)
    assert summary.resumed_rows == 0 and summary.predicted == 100
    assert set(_out(out)["model_version"]) == {"fake-2"}


def test_second_job_on_the_same_output_is_locked(tmp_path: Path, appeals: Callable, fake) -> None:
    appeals(10).to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / "out.parquet"
    holder = PartStore(out)
    holder.open({"x": 1})
    try:
        with pytest.raises(JobLocked, match="another reclassify job"):
            reclassify(tmp_path / "in.csv", out, dispatcher=fake, progress=False)
    finally:
        holder.close()


def test_a_row_the_dispatcher_fails_on_is_rejected_and_the_job_goes_on(tmp_path: Path, appeals: Callable,
                                                                       fake) -> None:
    frame = appeals(50)
    frame.loc[[12, 31], "content"] = ["路灯 BOOM 坏了", "BOOM"]
    frame.loc[40, "content"] = ""
    frame.to_csv(tmp_path / "in.csv", index=False)
    summary = reclassify(tmp_path / "in.csv", tmp_path / "out.parquet", batch_size=20, dispatcher=fake,
                         progress=False)
    assert summary.predicted == 47 and summary.rejected == 3
    assert summary.rejected_by_rule == {"content_empty": 1, "predict_error": 2}
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    errors = rejects[rejects["rule"] == "predict_error"]
    assert errors["row"].tolist() == [13, 32] and errors["id"].tolist() == ["r000012", "r000031"]
    assert errors["reason"].str.contains("ValueError: cannot handle BOOM").all()
    assert set(_out(tmp_path / "out.parquet")["id"]).isdisjoint({"r000012", "r000031", "r000040"})


def test_a_run_stopped_before_any_part_does_not_block_a_changed_input(tmp_path: Path, appeals: Callable) -> None:
    src = tmp_path / "in.csv"
    appeals(30).to_csv(src, index=False)
    out = tmp_path / "out.parquet"
    with pytest.raises(KeyboardInterrupt):
        reclassify(src, out, batch_size=10, dispatcher=FakeDispatcher(fail_after=0), progress=False)
    appeals(40).to_csv(src, index=False)
    assert reclassify(src, out, batch_size=10, dispatcher=FakeDispatcher(), progress=False).predicted == 40

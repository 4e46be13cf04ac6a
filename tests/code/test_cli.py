"""The ``minyi`` CLI end to end on the real trained bundle (slow: uses the session bundle)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from minyi_nlp.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture()
def cli_env(bundle_dir, monkeypatch):
    from minyi_nlp.config import get_settings

    monkeypatch.setenv("MINYI_BUNDLE", str(bundle_dir))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def _labelled(tmp_path, rows, name="eval.csv", encoding="utf-8"):
    path = tmp_path / name
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False, encoding=encoding)
    return path


ROWS = [
    ("公司拖欠工资三个月了，老板一直不发", "劳动和社会保障"),
    ("小区门口路灯不亮一个多月了，晚上出行很危险", "城乡建设"),
    ("学校违规收取补课费，孩子入学难", "教育文体"),
    ("工厂夜间偷排污水，河道黑臭", "环境保护"),
]


def test_evaluate_contract_last_line_is_json(cli_env, tmp_path):
    data = _labelled(tmp_path, ROWS)
    res = runner.invoke(app, ["evaluate", "--data", str(data), "--text-col", "text", "--label-col", "label",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    m = _last_json(res.stdout)
    assert {"n", "accuracy", "macro_f1", "ece", "per_class"} <= set(m)
    assert m["n"] == 4
    assert m["accuracy"] >= 0.75


def test_evaluate_reads_a_gbk_csv(cli_env, tmp_path):
    data = _labelled(tmp_path, ROWS, encoding="gbk")
    res = runner.invoke(app, ["evaluate", "--data", str(data), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert _last_json(res.stdout)["n"] == 4


def test_evaluate_rejects_labels_outside_the_taxonomy(cli_env, tmp_path):
    data = _labelled(tmp_path, [*ROWS, ("路上有个坑", "外星事务")])
    res = runner.invoke(app, ["evaluate", "--data", str(data), "--format", "json"])
    assert res.exit_code == 0, res.output
    m = _last_json(res.stdout)
    assert m["n"] == 4 and m["rejected"] == 1
    rejects = pd.read_csv(tmp_path / "eval.rejects.csv")
    assert "外星事务" in rejects.to_string()
    assert rejects["row"].tolist() == [5]


def test_evaluate_missing_column_is_a_clear_error(cli_env, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"content": ["路灯不亮"], "label": ["城乡建设"]}).to_csv(path, index=False)
    res = runner.invoke(app, ["evaluate", "--data", str(path), "--text-col", "text", "--format", "json"])
    assert res.exit_code == 2
    assert "text" in res.output and "bad.csv" in res.output


def test_predict_one_text_shows_the_whole_suggestion(cli_env):
    res = runner.invoke(app, ["predict", "--text", "公司拖欠工资三个月了"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("1. 劳动和社会保障")
    assert "routes:" in lines and any("人力资源和社会保障局" in line for line in lines)
    assert any(line.startswith("due: ") for line in lines) and any("because of:" in line for line in lines)


def test_predict_json_is_the_service_suggestion(cli_env, real_dispatcher):
    res = runner.invoke(app, ["predict", "--text", "A3区洋湖街道路灯不亮", "--format", "json"])
    out = _last_json(res.stdout)
    assert out["categories"][0]["label"] == "城乡建设"
    assert out["categories"][0]["score"] >= out["categories"][1]["score"]
    same = real_dispatcher.suggest(None, "A3区洋湖街道路灯不亮").as_dict()
    assert {k: v for k, v in out.items() if k != "due_at"} == {k: v for k, v in same.items() if k != "due_at"}
    assert out["departments"][0]["jurisdiction"].startswith("A3区")


@pytest.mark.parametrize("text", ["", "   ", "？？？！！！"])
def test_predict_refuses_empty_or_punctuation_only(cli_env, text):
    res = runner.invoke(app, ["predict", "--text", text])
    assert res.exit_code == 2
    assert "empty" in res.output or "punctuation" in res.output


def test_predict_refuses_a_100k_character_text(cli_env):
    text = "公司拖欠工资。" * 14_286  # 100,002 characters
    res = runner.invoke(app, ["predict", "--text", text, "--format", "json"])
    assert res.exit_code == 2
    assert "100002 characters, limit 20000" in res.output


def test_the_model_itself_clips_a_100k_character_text(real_dispatcher):
    text = "公司拖欠工资。" * 14_286
    assert real_dispatcher.suggest(None, text).categories[0].label == "劳动和社会保障"


def test_predict_file_with_rejects(cli_env, tmp_path):
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "content": ["路灯不亮", "", "拖欠工资"]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    res = runner.invoke(app, ["predict", "--data", str(src), "--out", str(out), "--id-col", "id"])
    assert res.exit_code == 0, res.output
    pred = pd.read_csv(out)
    assert pred["id"].tolist() == ["a", "c"]
    assert pred.loc[0, "category_1"] == "城乡建设"
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects["row"].tolist() == [2]
    assert "empty" in rejects["reason"][0]

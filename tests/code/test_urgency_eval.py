"""Urgency evaluation: threshold for a recall target, pool weighting, reports, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from minyi_nlp.cli import app
from minyi_nlp.config import RESOURCES_DIR
from minyi_nlp.routing.hazards import parse_hazards
from minyi_nlp.routing.urgency_eval import (
    Targets,
    binary_report,
    evaluate_scorer,
    in_test_half,
    threshold_at_recall,
    urgency_report,
    write_report,
)

SIZES = {"flagged": 100, "weak_hit": 200, "risk_word": 300, "other": 400}


def _labels() -> pd.DataFrame:
    rows = [
        ("a1", "小区燃气泄漏，闻到很浓的煤气味", 1, "flagged"),
        ("a2", "电梯困人半小时没人管", 1, "flagged"),
        ("a3", "化工厂偷排危化品废水，河里的鱼全死了", 1, "flagged"),
        ("a4", "房屋开裂越来越严重，随时可能倒塌", 1, "weak_hit"),
        ("b1", "楼下烧烤店噪音扰民", 0, "other"),
        ("b2", "去年的燃气费太贵", 0, "other"),
        ("b3", "消防通道被占用，一旦发生火灾后果不堪设想", 0, "weak_hit"),
        ("b4", "请问危房改造补贴怎么申请", 0, "risk_word"),
        ("b5", "去年小区起火，至今没有赔偿", 0, "flagged"),
        ("b6", "路灯不亮好几天了", 0, "other"),
    ]
    return pd.DataFrame(rows, columns=["id", "text", "urgent", "stratum"])


def test_threshold_keeps_the_recall_target() -> None:
    y = [1, 1, 1, 1, 0, 0]
    s = [0.9, 0.8, 0.4, 0.1, 0.5, 0.05]
    assert threshold_at_recall(y, s, 0.5) == 0.8
    assert threshold_at_recall(y, s, 0.75) == 0.4
    assert threshold_at_recall(y, s, 1.0) == 0.1
    with pytest.raises(ValueError, match="no urgent"):
        threshold_at_recall([0, 0], [0.1, 0.2], 0.9)


def test_binary_report_counts_and_pool_weights() -> None:
    y = [1, 1, 0, 0, 1, 0]
    flags = [True, False, True, False, False, False]
    strata = ["flagged", "flagged", "flagged", "weak_hit", "weak_hit", "other"]
    report = binary_report(y, flags, strata, {"flagged": 30, "weak_hit": 100, "risk_word": 0, "other": 1000})
    assert (report["tp"], report["fp"], report["fn"]) == (1, 1, 2)
    assert report["recall"] == pytest.approx(1 / 3, abs=1e-4)
    assert report["precision"] == 0.5
    # flagged: 3 labelled stand for 30 (w=10); weak_hit: 2 for 100 (w=50); other: 1 for 1000
    assert report["pool_weighted"]["recall"] == pytest.approx(10 / (10 + 10 + 50), abs=1e-4)
    assert report["recall_by_stratum"]["weak_hit"] == {"urgent": 1, "found": 0}


def test_a_perfect_scorer_meets_the_target_and_a_flat_one_does_not() -> None:
    labels = _labels()
    perfect = evaluate_scorer(labels, labels["urgent"] * 0.9 + 0.05, sizes=SIZES)
    assert perfect["meets_target"] and perfect["at_threshold"]["precision"] == 1.0
    assert perfect["precision_at_recall"]["0.95"] == 1.0
    flat = evaluate_scorer(labels, np.full(len(labels), 0.5), sizes=SIZES)
    assert not flat["meets_target"] and flat["at_threshold"]["precision"] == 0.4
    with pytest.raises(ValueError, match="scores for"):
        evaluate_scorer(labels, [0.1], sizes=SIZES)


def test_report_on_lexicon_and_scorer(tmp_path: Path) -> None:
    labels = _labels()
    lexicon = parse_hazards(RESOURCES_DIR / "lists" / "hazards.yaml")
    def oracle(texts: list[str]) -> list[float]:
        return [0.9 if "泄漏" in t else 0.1 for t in texts]

    report = urgency_report(labels, {"": lexicon}, {"oracle": oracle}, sizes=SIZES,
                            targets=Targets(recall=0.95, precision=0.7), notes=["toy"])
    own = report["results"][f"lexicon {lexicon.version}"]
    assert own["urgent"] == 4
    assert own["recall"] == 1.0  # every toy urgent appeal has a strong, present hit
    assert own["fp"] == 0  # the negated, hedged, historical and policy ones stay below flag_at
    assert report["results"]["oracle"]["at_threshold"]["recall"] >= 0.95
    assert set(report["test_half"]) == {"n", "urgent"}
    write_report(report, tmp_path / "u.json", tmp_path / "u.md")
    assert json.loads((tmp_path / "u.json").read_text(encoding="utf-8"))["n"] == len(labels)
    md = (tmp_path / "u.md").read_text(encoding="utf-8")
    assert "| oracle" in md and "P@R≥0.95" in md and "toy" in md


def test_halves_are_stable_and_split() -> None:
    ids = [str(i) for i in range(200)]
    half = in_test_half(ids)
    assert 60 < half.sum() < 140
    assert (half == in_test_half(ids)).all()


def test_cli_match_prints_hits() -> None:
    result = CliRunner().invoke(app, ["urgency", "match", "燃气泄漏，随时可能爆炸", "楼下烧烤店噪音扰民"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.strip().splitlines())
    assert first["urgent"] and "gas" in first["kinds"] and first["hits"][0]["term"] == "燃气泄漏"
    assert not second["urgent"] and second["hits"] == []
    assert first["responders"][:2] == ["燃气企业", "住房和城乡建设局"] and second["responders"] == []

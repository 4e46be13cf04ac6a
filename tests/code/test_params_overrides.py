"""``--set KEY=VALUE`` overrides of params.yaml: what they change, and clear errors before any work."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from minyi_nlp.cli import app
from minyi_nlp.params import load_params, with_overrides

runner = CliRunner()


def test_bare_keys_go_to_the_category_head_or_the_encoder():
    p = with_overrides(load_params(), ["C=1", "min_df=3", "calibration=temperature"])
    assert p.heads["category"].model.C == 1.0
    assert p.heads["category"].model.calibration == "temperature"
    assert p.encoder.min_df == 3
    assert p.heads["department"].model.C == load_params().heads["department"].model.C


def test_dotted_paths_reach_any_section():
    p = with_overrides(load_params(), ["heads.department.model.C=2", "prepare.train_copies=one",
                                       "heads.appeal_type.keywords.weight=null"])
    assert p.heads["department"].model.C == 2.0
    assert p.prepare.train_copies == "one"
    assert p.heads["appeal_type"].keywords.weight is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cv", "--set", "linear=tree"], "linear"),
        (["cv", "--set", "bogus=1"], "bogus"),
        (["cv", "--set", "C"], "KEY=VALUE"),
        (["cv", "--set", "heads.nothing.model.C=1"], "nothing"),
        (["train", "--set", "calibration=platt"], "calibration"),
        (["cv", "--set", "prepare.train_copies=some"], "train_copies"),
        (["train", "--set", "encoder.max_features=0"], "max_features"),
    ],
)
def test_bad_overrides_fail_before_any_work(args, message):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert message in res.output

"""Choosing the category model: --set overrides, MINYI_CATEGORY_MODEL, alternatives never trained silently."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from minyi_nlp.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cv", "--set", "linear=tree"], "linear"),
        (["cv", "--set", "bogus=1"], "bogus"),
        (["cv", "--set", "C"], "KEY=VALUE"),
        (["cv", "--set", "prepare.n_folds=3"], "prepare.train_copies"),
        (["train", "--set", "calibration=platt"], "calibration"),
        (["cv", "--set", "prepare.train_copies=some"], "train_copies"),
    ],
)
def test_bad_overrides_fail_before_any_work(args, message):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert message in res.output


@pytest.fixture()
def project(tmp_path, monkeypatch):
    from minyi_nlp.config import get_settings

    monkeypatch.setenv("MINYI_PROJECT_DIR", str(tmp_path))
    monkeypatch.delenv("MINYI_MODEL_DIR", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _tiny_model(model_dir):
    from minyi_nlp.artifacts import save_model
    from minyi_nlp.classifier import AppealClassifier

    texts = ["小区路灯不亮", "路面坑洼没人修", "楼道灯坏了", "学校乱收补课费", "老师体罚学生", "幼儿园收费太高"]
    labels = ["城乡建设"] * 3 + ["教育文体"] * 3
    clf = AppealClassifier(min_df=1, calibration="temperature", calibration_cv=3, max_features=None)
    clf.fit(texts, labels)
    save_model(clf, model_dir, kind="category", data_hash="0" * 64, labels=list(clf.classes_), params={})


def test_category_model_setting_chooses_the_folder(project, monkeypatch):
    from minyi_nlp.config import get_settings
    from minyi_nlp.predict import CategoryPredictor

    _tiny_model(project / "models" / "category-small")
    monkeypatch.setenv("MINYI_CATEGORY_MODEL", "category-small")
    get_settings.cache_clear()
    assert get_settings().category_model_dir == project / "models" / "category-small"
    predictor = CategoryPredictor.load()
    assert predictor.rank(["路灯坏了"])[0][0].label == "城乡建设"


def test_a_missing_alternative_is_an_error_not_a_silent_training(project, monkeypatch):
    from minyi_nlp.artifacts import ModelNotFoundError
    from minyi_nlp.config import get_settings
    from minyi_nlp.train import ensure_category_model

    monkeypatch.setenv("MINYI_CATEGORY_MODEL", "category-e5")
    get_settings.cache_clear()
    with pytest.raises(ModelNotFoundError, match="minyi train --model-name category-e5"):
        ensure_category_model()
    assert not (project / "models" / "category-e5").exists()


def test_models_without_explanations_give_none():
    from minyi_nlp.artifacts import LoadedModel
    from minyi_nlp.predict import CategoryPredictor

    class Bare:
        classes_ = ["a", "b"]

        def predict_proba(self, texts):
            return [[0.3, 0.7] for _ in texts]

    predictor = CategoryPredictor(LoadedModel(model=Bare(), manifest={"version": "v"}, path=None))
    assert predictor.explain("任何文本", "b") == []

"""Dispatcher.load with and without the optional department / appeal-type models (tiny models, seconds)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from minyi_nlp.appeal_type import AppealTypeModel, save_appeal_type_model
from minyi_nlp.artifacts import ModelIntegrityError, save_model
from minyi_nlp.classifier import AppealClassifier
from minyi_nlp.department import DepartmentModel, save_department_model
from minyi_nlp.dispatch import Dispatcher

TEXTS = {
    "城乡建设": ["小区路灯不亮", "物业乱收费", "小区电梯坏了", "路面坑洼没人修", "小区垃圾没人清理", "楼道灯坏了"],
    "教育文体": ["学校乱收补课费", "老师体罚学生", "幼儿园收费太高", "学校食堂卫生差", "孩子入学难", "学位不够"],
    "交通运输": ["公交车不进站", "出租车拒载", "公交司机态度差", "公交线路太少", "出租车绕路", "公交站牌损坏"],
}
DEPARTMENT = {"城乡建设": "城市管理和行政执法局", "教育文体": "教育局", "交通运输": "交通运输局"}
TYPES = {"城乡建设": "投诉", "教育文体": "咨询", "交通运输": "投诉"}
SUGGESTION_KEYS = {"model_version", "categories", "departments", "appeal_type", "appeal_type_score", "due_at",
                   "urgent", "needs_review", "review_reasons", "keywords", "jurisdiction", "jurisdiction_level"}


def _fit(labels_of: dict[str, str] | None) -> AppealClassifier:
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [(labels_of or {}).get(c, c) for c, ts in TEXTS.items() for _ in ts]
    if labels_of is TYPES:  # two types only: make 咨询 a real minority
        labels = ["咨询" if "学" in t else "投诉" for t in texts]
    return AppealClassifier(min_df=1, calibration_cv=2, max_features=None).fit(texts, labels)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny_models")
    cat = _fit(None)
    save_model(cat, root / "category", kind="category", data_hash="0" * 64, labels=list(cat.classes_), params={})
    dept = DepartmentModel(_fit(DEPARTMENT), blend=0.6, temperature=1.0)
    split = pd.DataFrame({"id": ["x:1"], "source": ["x"], "department": ["教育局"], "split": ["test"]})
    save_department_model(dept, root / "department", split=split, data_hash="1" * 64, params={})
    save_appeal_type_model(AppealTypeModel(_fit(TYPES), keyword_weight=0.5), root / "appeal_type",
                           data_hash="2" * 64, params={})
    return root


def _only_category(models: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(models / "category", tmp_path / "category")
    return tmp_path


def test_load_without_optional_models_uses_the_duty_list(models, tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        d = Dispatcher.load(_only_category(models, tmp_path))
    assert d.department_model is None and d.appeal_type_model is None
    assert "no department model" in caplog.text and "no appeal-type model" in caplog.text
    s = d.suggest("路灯", "小区路灯不亮")
    assert s.appeal_type is None and s.appeal_type_score is None
    assert s.departments and all(r.reasons for r in s.departments)
    assert set(s.as_dict()) == SUGGESTION_KEYS
    assert d.version.startswith(d.category.version + "+lists-")


def test_load_with_all_models(models):
    d = Dispatcher.load(models)
    assert isinstance(d.department_model, DepartmentModel) and d.department_model.blend == 0.6
    assert isinstance(d.appeal_type_model, AppealTypeModel) and d.appeal_type_model.keyword_weight == 0.5
    parts = d.version.split("+")
    assert parts[1] == d.department_model.version and parts[2] == d.appeal_type_model.version
    assert parts[1].startswith("department-") and parts[2].startswith("appeal_type-")
    out = d.suggest_many([("", "学校乱收补课费"), (None, "请问公交线路怎么查询")], explain=False)
    assert [s.appeal_type for s in out][1] == "咨询"  # keyword rule 请问
    for s in out:
        scores = [r.score for r in s.departments]
        assert scores == sorted(scores, reverse=True) and sum(scores) <= 1.0 + 1e-9
        assert 0.0 <= s.appeal_type_score <= 1.0
        assert set(s.as_dict()) == SUGGESTION_KEYS
    assert out[0].departments[0].department == "教育局"


def test_empty_batch(models):
    assert Dispatcher.load(models).suggest_many([]) == []


def test_tampered_optional_model_is_refused_not_ignored(models, tmp_path):
    import shutil

    shutil.copytree(models, tmp_path / "m")
    with (tmp_path / "m" / "department" / "routing.json").open("a", encoding="utf-8") as fh:
        fh.write(" ")
    with pytest.raises(ModelIntegrityError):
        Dispatcher.load(tmp_path / "m")


class ScoresOnly:
    """The minimal department-model contract: ``scores``, ``blend``, ``version`` (no batch, no temperature)."""

    version = "stub-dept"
    blend = 1.0

    def scores(self, text: str) -> dict[str, float]:
        return {"信访局": 1.0}


def test_duck_typed_department_model_drives_the_ranking(models):
    from minyi_nlp.predict import CategoryPredictor

    d = Dispatcher(CategoryPredictor.load(models / "category"), department_model=ScoresOnly())
    s = d.suggest(None, "小区路灯不亮")
    assert [r.department for r in s.departments] == ["信访局"]
    assert s.departments[0].score == pytest.approx(1.0)
    assert "stub-dept" in d.version


def test_ensure_dispatch_models_trains_nothing_when_all_are_there(models, monkeypatch):
    import minyi_nlp.appeal_type
    import minyi_nlp.department
    import minyi_nlp.train
    from minyi_nlp.dispatch import ensure_dispatch_models

    def refuse(*args, **kwargs):
        raise AssertionError("should not train")

    for module, name in ((minyi_nlp.train, "train_category"), (minyi_nlp.department, "train_department"),
                         (minyi_nlp.appeal_type, "train_appeal_type")):
        monkeypatch.setattr(module, name, refuse)
    dirs = ensure_dispatch_models(models)
    assert dirs == {"category": models / "category", "department": models / "department",
                    "appeal_type": models / "appeal_type"}

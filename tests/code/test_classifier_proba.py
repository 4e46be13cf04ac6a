"""The fast calibrated-probability path of AppealClassifier equals scikit-learn's own."""

import pytest

from minyi_nlp.classifier import AppealClassifier, calibrated_proba, prepare_texts

TEXTS = {
    "城乡建设": ["小区路灯不亮", "物业乱收费", "小区电梯坏了", "路面坑洼没人修", "小区垃圾没人清理", "楼道灯坏了"],
    "教育文体": ["学校乱收补课费", "老师体罚学生", "幼儿园收费太高", "学校食堂卫生差", "孩子入学难", "学位不够"],
    "交通运输": ["公交车不进站", "出租车拒载", "公交司机态度差", "公交线路太少", "出租车绕路", "公交站牌损坏"],
}


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
@pytest.mark.parametrize("binary", [False, True])
def test_fast_calibrated_proba_equals_sklearn(calibration, binary):
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [c for c, ts in TEXTS.items() for _ in ts]
    if binary:
        labels = ["教育" if c == "教育文体" else "其他" for c in labels]
    clf = AppealClassifier(min_df=1, calibration=calibration, calibration_cv=2, max_features=None).fit(texts, labels)
    probe = ["小区路灯坏了", "学校收费", "公交车", "完全无关的话", ""]
    fast = clf.predict_proba(probe)
    assert fast.shape == (len(probe), len(clf.classes_))
    slow = clf.pipeline_.predict_proba(prepare_texts(probe, clf.max_chars))  # scikit-learn's own path
    assert fast == pytest.approx(slow, abs=1e-12)


def test_fast_calibrated_proba_falls_back_for_other_models():
    class Other:
        def predict_proba(self, X):
            return [[1.0] for _ in X]

    assert calibrated_proba(Other(), ["x"]) == [[1.0]]


@pytest.mark.parametrize("linear", ["svm", "logreg"])
def test_temperature_calibration_keeps_one_model_and_explains(linear):
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [c for c, ts in TEXTS.items() for _ in ts]
    clf = AppealClassifier(min_df=1, linear=linear, C=10, calibration="temperature", calibration_cv=3,
                           max_features=None).fit(texts, labels)
    proba = clf.predict_proba(["小区路灯坏了", "学校乱收费", ""])
    assert proba.sum(axis=1) == pytest.approx([1.0, 1.0, 1.0])
    assert list(clf.predict(["小区路灯坏了", "学校乱收费"])) == ["城乡建设", "教育文体"]
    assert "路灯" in [w for w, _ in clf.explain("小区路灯坏了", "城乡建设", k=5)]


def test_groups_are_accepted_for_every_calibration():
    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [c for c, ts in TEXTS.items() for _ in ts]
    twins = texts + [" ".join(t) for t in texts]  # a segmented copy of each appeal
    groups = list(range(len(texts))) * 2
    for calibration in ("isotonic", "temperature"):
        clf = AppealClassifier(min_df=1, calibration=calibration, calibration_cv=2, max_features=None)
        clf.fit(twins, labels * 2, groups=groups)
        assert clf.predict(["公交车不进站"])[0] == "交通运输"
    with pytest.raises(ValueError, match="groups"):
        AppealClassifier().fit(texts, labels, groups=[0, 1])


def test_unknown_calibration_is_refused():
    with pytest.raises(ValueError, match="calibration must be"):
        AppealClassifier(calibration="platt").fit(["a", "b"], ["x", "y"])


@pytest.mark.parametrize(
    ("text", "head"),
    [
        ("D12市砖厂协会违规操控市场价格尊敬的政府相关部门，今年以来", "D12市砖厂协会违规操控市场价格"),
        ("市 西湖 建筑 集团 占 道 施工 安全隐患 A3 区 大道", "市西湖建筑集团占道施工安全隐患A3区大道"),
        ("您好，我想问一下社保怎么交，谢谢", "您好，我想问一下社保怎么交"),
        ("路灯坏了", "路灯坏了"),
        ("一" * 100, "一" * 40),
    ],
)
def test_head_text_is_the_title(text, head):
    from minyi_nlp.classifier import HeadText

    assert HeadText(40)(text) == head


def test_title_block_adds_features_and_pickles():
    import pickle

    texts = [t for ts in TEXTS.values() for t in ts]
    labels = [c for c, ts in TEXTS.items() for _ in ts]
    plain = AppealClassifier(min_df=1, calibration_cv=2, max_features=None).fit(texts, labels)
    titled = AppealClassifier(min_df=1, calibration_cv=2, max_features=None, head_chars=40, head_weight=0.5)
    titled.fit(texts, labels)
    names = titled.pipeline_.named_steps["features"].get_feature_names_out()
    assert any(n.startswith("head__") for n in names)
    assert len(names) > len(plain.pipeline_.named_steps["features"].get_feature_names_out())
    again = pickle.loads(pickle.dumps(titled))
    assert again.predict_proba(["公交车不进站"]) == pytest.approx(titled.predict_proba(["公交车不进站"]))

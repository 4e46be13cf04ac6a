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

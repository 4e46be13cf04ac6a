"""Behavioural tests of the trained bundle's category head on Chinese appeals (slow: trains once)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def predictor(real_dispatcher):
    return real_dispatcher


def top(dispatcher, text: str) -> str:
    return dispatcher.suggest(None, text).categories[0].label

MINIMUM_FUNCTIONALITY = [
    ("公司拖欠工资三个月了，老板一直不发，我们农民工怎么办", "劳动和社会保障"),
    ("单位不给缴纳社保和养老保险，请劳动部门处理", "劳动和社会保障"),
    ("A3区洋湖街道某小区门口路灯不亮一个多月了，晚上出行很危险", "城乡建设"),
    ("小区物业乱收费，楼盘烂尾多年房产证办不下来", "城乡建设"),
    ("孩子入学学位紧张，学校违规收取补课费", "教育文体"),
    ("工厂夜间偷排污水，河道黑臭，空气里都是刺鼻气味", "环境保护"),
    ("医院乱收费，医生态度恶劣，医保报销手续繁琐", "卫生计生"),
    ("公交车绕路不进站，司机开车太猛，出租车拒载", "交通运输"),
    ("超市销售过期食品，商家虚假宣传欺骗消费者", "商贸旅游"),
]


@pytest.mark.parametrize(("text", "label"), MINIMUM_FUNCTIONALITY)
def test_obvious_appeals_get_the_obvious_category(predictor, text, label):
    assert top(predictor, text) == label


def _proba(predictor, text):
    return predictor.category_proba([text])[0]


def test_full_width_and_half_width_give_the_same_answer(predictor):
    half = "A3区洋湖街道路灯不亮,电话13812345678,已经3天了!"
    full = "Ａ３区洋湖街道路灯不亮，电话１３８１２３４５６７８，已经３天了！"
    assert _proba(predictor, half) == pytest.approx(_proba(predictor, full), abs=1e-9)


def test_traditional_and_simplified_give_the_same_answer(predictor):
    simp = "公司拖欠工资三个月了，老板一直不发，请劳动部门帮帮我们"
    trad = "公司拖欠工資三個月了，老闆一直不發，請勞動部門幫幫我們"
    assert _proba(predictor, simp) == pytest.approx(_proba(predictor, trad), abs=1e-6)


def test_personal_data_does_not_change_the_answer(predictor):
    a = "我叫张三，电话13812345678，小区物业乱收费，请相关部门处理"
    b = "我叫李四，电话13998765432，小区物业乱收费，请相关部门处理"
    assert _proba(predictor, a) == pytest.approx(_proba(predictor, b), abs=1e-9)


def test_wage_words_push_towards_labour(predictor):
    base = "我在A市一家公司上班，想反映一个情况"
    more = base + "，公司拖欠工资半年不发"
    i = predictor.category_labels.index("劳动和社会保障")
    assert _proba(predictor, more)[i] > _proba(predictor, base)[i] + 0.2


def test_probabilities_are_a_distribution(predictor):
    p = _proba(predictor, "路灯不亮")
    assert p.sum() == pytest.approx(1.0)
    assert (p >= 0).all()


def test_explanations_name_words_from_the_text(predictor):
    text = "公司拖欠工资三个月了，老板一直不发"
    s = predictor.suggest(None, text)
    assert s.categories[0].label == "劳动和社会保障"
    words = s.keywords
    assert words
    assert any("工资" in w or "拖欠" in w for w in words)


def test_quality_on_held_out_raw_text(bundle_dir):
    """The figure in the README: macro-F1 on the raw-text eval split that shares no appeal with training."""
    from minyi_nlp.models.bundle import read_manifest

    metrics = read_manifest(bundle_dir)["metrics"]["category"]
    assert metrics["n"] >= 300
    assert metrics["macro_f1"] >= 0.90
    assert metrics["ece"] <= 0.05


ROBUSTNESS = [
    # (original, variant that means the same)
    ("公司拖欠工资三个月了，老板一直不发", "您好！公司拖欠工资三个月了，老板一直不发。谢谢领导！市民 张三 13812345678"),
    ("小区门口路灯不亮一个多月了", "尊敬的领导：小区门口路燈不亮一個多月了，麻煩盡快處理，謝謝"),
    ("2019年3月起单位未缴纳社保", "２０１９年３月起单位未缴纳社保"),
    ("学校违规收取补课费", "学校违规收取补课费！！！"),
    # common typos: homophones and slips of the input method
    ("公司拖欠工资三个月了，老板一直不发", "公司托欠工资三个月了，老板一直不发"),
    ("学校违规收取补课费", "学校违规收取补课废"),
    ("工厂夜间偷排污水，河道黑臭", "工厂夜间偷拍污水，河道黑臭"),
    ("出租车拒载，司机态度恶劣", "出租车拒栽，司机态度恶略"),
    ("小区门口路灯不亮一个多月了", "小区门口路灯不亮一个多月了了"),
]


@pytest.mark.parametrize(("original", "variant"), ROBUSTNESS)
def test_greetings_signatures_script_width_and_typos_do_not_change_the_answer(predictor, original, variant):
    assert top(predictor, variant) == top(predictor, original)


# Note: "公交…" alone goes to 城乡建设, as 76 of 132 training appeals mentioning 公交 are labelled (the 事项清单
# files bus routes under urban construction); taxis and driving go to 交通运输.
@pytest.mark.parametrize(
    ("text", "label"),
    [("拖欠工资", "劳动和社会保障"), ("路灯不亮", "城乡建设"), ("学校乱收费", "教育文体"), ("出租车拒载", "交通运输"),
     ("噪音扰民", "环境保护"), ("医院乱收费", "卫生计生")],
)
def test_very_short_texts(predictor, text, label):
    assert len(text) <= 10
    assert top(predictor, text) == label

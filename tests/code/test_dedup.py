"""Cross-file duplicate grouping (raw text vs jieba-segmented text)."""

from minyi_nlp.dedup import bigram_set, duplicate_groups

RAW = "E7县人民医院医务人员职称晋升好难我是E7县人民医院的一个普通医务人员，我想请问一下人事科的有关领导"
SEG = "E7 县 医院 医务人员 职称 晋升 好难 E7 县 医院 一个 普通 医务人员 想 请问 一下 人事科 领导"
OTHER = "A3区洋湖街道某小区门口路灯连续一个月不亮，晚上出行很不方便，请尽快维修"


def test_bigrams_of_segmented_text_stay_inside_tokens():
    assert "院医" not in bigram_set("医院 医务人员", pretokenized=True)
    assert "院医" in bigram_set("医院医务人员", pretokenized=False)


def test_raw_and_segmented_copy_of_one_appeal_are_grouped():
    groups = duplicate_groups([RAW, SEG, OTHER], [False, True, False])
    assert groups[0] == groups[1]
    assert groups[2] != groups[0]


def test_identical_rows_of_the_same_kind_are_grouped():
    groups = duplicate_groups([OTHER, OTHER + "。", RAW], [False, False, False])
    assert groups[0] == groups[1] != groups[2]


def test_a_short_segmented_text_is_not_glued_to_every_raw_text():
    # "医院" alone is contained in RAW but covers too little of it to be the same appeal
    groups = duplicate_groups([RAW, "医院 领导"], [False, True])
    assert groups[0] != groups[1]


def test_empty_input():
    assert len(duplicate_groups([], [])) == 0

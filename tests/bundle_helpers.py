"""A tiny real bundle for fast tests: the real encoder and heads, fitted in about a second on a small
synthetic corpus whose labels follow keywords (学校 → 教育文体, 噪音 → 环境保护 …; sub-categories: 燃气 →
城乡建设/城市建设和市政管理/燃气供应, 派出所 → 政法/社会治安/治安案件 …); its urgency head learns hazards
(燃气泄漏, 电梯困人 …) against the ordinary corpus and is mixed half and half with the hazard lexicon."""

from __future__ import annotations

from pathlib import Path

from minyi_nlp.models.bundle import Bundle
from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.heads import KeywordRules, LinearHead
from minyi_nlp.models.training import read_keyword_rules
from minyi_nlp.models.tree_head import TreeHead
from minyi_nlp.params import EncoderParams, HeadParams

CATEGORY_WORDS = {
    "教育文体": ["学校", "老师", "学生", "幼儿园", "招生"],
    "环境保护": ["噪音", "污水", "垃圾焚烧", "粉尘", "异味"],
    "交通运输": ["公交", "出租车", "红绿灯", "道路拥堵", "地铁"],
    "劳动和社会保障": ["工资", "社保", "养老金", "劳动合同", "医保"],
    "卫生计生": ["医院", "医生", "疫苗", "药店", "诊所"],
    "城乡建设": ["物业", "路灯", "小区", "房屋", "燃气"],
    "商贸旅游": ["商场", "景区", "超市", "快递", "价格"],
}
DEPARTMENT_OF = {
    "教育文体": "教育局", "环境保护": "生态环境局", "交通运输": "交通运输局", "劳动和社会保障": "人力资源和社会保障局",
    "卫生计生": "卫生健康委员会", "城乡建设": "住房和城乡建设局", "商贸旅游": "市场监督管理局",
}
#: the sub-category of each keyword (paths of taxonomy.yaml); the 政法 words are not Teddy categories
SUBCATEGORY_OF = {
    "学校": "教育文体/教育行政管理/教学管理", "老师": "教育文体/教师队伍和待遇/师资力量",
    "学生": "教育文体/教育行政管理/学生负担", "幼儿园": "教育文体/教育收费/乱收费",
    "招生": "教育文体/考试招生/招生录取",
    "噪音": "环境保护/环境污染/噪音污染", "污水": "环境保护/环境污染/水污染", "垃圾焚烧": "环境保护/环境污染/大气污染",
    "粉尘": "环境保护/环境污染/大气污染", "异味": "环境保护/环境污染/大气污染",
    "公交": "交通运输/客货运输/旅客运输", "出租车": "交通运输/出租车管理/行业监管",
    "红绿灯": "交通运输/建设管理/设施维护", "道路拥堵": "交通运输/建设管理/规划建设",
    "地铁": "交通运输/客货运输/旅客运输",
    "工资": "劳动和社会保障/工资福利/工资发放", "社保": "劳动和社会保障/城镇职工社会保险/职工养老保险",
    "养老金": "劳动和社会保障/退休政策及待遇/退休金发放", "劳动合同": "劳动和社会保障/劳动关系/劳动合同纠纷",
    "医保": "劳动和社会保障/城镇职工社会保险/职工医疗保险",
    "医院": "卫生计生/医政监管/医疗机构管理", "医生": "卫生计生/医政监管/医务人员管理",
    "疫苗": "卫生计生/公共卫生/疾病预防控制", "药店": "卫生计生/食品药品监管/药品和医疗器械管理",
    "诊所": "卫生计生/医政监管/非法行医",
    "物业": "城乡建设/住房保障与房地产/物业服务", "路灯": "城乡建设/城市建设和市政管理/城市公共设施",
    "小区": "城乡建设/城市建设和市政管理/小区管理", "房屋": "城乡建设/住房保障与房地产/房屋租赁",
    "燃气": "城乡建设/城市建设和市政管理/燃气供应",
    "商场": "商贸旅游/市场监管/商品质量", "景区": "商贸旅游/旅游管理/景区管理", "超市": "商贸旅游/市场监管/商品质量",
    "快递": "交通运输/邮政管理/快递市场管理", "价格": "商贸旅游/市场监管/物价监督",
}
POLICE_WORDS = {"派出所": "政法/社会治安/治安案件", "报警": "政法/社会治安/治安案件", "交警": "政法/交通管理/交通事故",
                "户口": "政法/户籍证件/户籍管理"}
TYPE_PREFIX = {"投诉": "投诉", "咨询": "请问", "建议": "建议", "举报": "举报", "求助": "求助"}
PLACES = ["A3区", "A7县", "A1区洋湖街道", "A5区", "A2区"]
HAZARDS = ["燃气泄漏，闻到很浓的煤气味", "电梯突然下坠，把人困在里面", "外墙瓷砖脱落，随时砸到行人",
           "电线裸露在路边，小孩经常经过", "化工厂偷排危化品废水，河里的鱼死了"]
URGENCY = {"weight": 0.5, "threshold": 0.5}
FILLERS = ["长期得不到解决", "希望相关部门尽快处理", "影响居民正常生活", "已经多次反映", "请给予答复"]


def tiny_corpus() -> list[tuple[str, str, str, str]]:
    """(text, category, department, appeal type) rows, deterministic."""
    rows = []
    types = list(TYPE_PREFIX)
    for c, words in CATEGORY_WORDS.items():
        for i, word in enumerate(words):
            for j in range(2):
                kind = types[(i + j) % len(types)]
                text = f"{TYPE_PREFIX[kind]}{PLACES[(i + j) % len(PLACES)]}{word}的问题，{FILLERS[(i * 2 + j) % 5]}"
                rows.append((text, c, DEPARTMENT_OF[c], kind))
    return rows


def urgency_corpus() -> list[tuple[str, str]]:
    """(text, urgent/ordinary) rows: each hazard at every place, and the ordinary corpus."""
    rows = [(f"{place}某小区{h}，{FILLERS[i % 5]}", "urgent") for i, place in enumerate(PLACES) for h in HAZARDS]
    return rows + [(text, "ordinary") for text, *_ in tiny_corpus()]


def tiny_subcategory_corpus() -> list[tuple[str, str]]:
    """(text, sub-category path) rows: the category corpus, and a few 政法 appeals the category head lacks."""
    rows = [(text, SUBCATEGORY_OF[word]) for (text, *_), word in
            zip(tiny_corpus(), [w for ws in CATEGORY_WORDS.values() for w in ws for _ in range(2)], strict=True)]
    for i, (word, path) in enumerate(POLICE_WORDS.items()):
        for j in range(3):
            rows.append((f"{PLACES[(i + j) % len(PLACES)]}{word}的问题，{FILLERS[(i + j) % 5]}", path))
    return rows


def build_tiny_bundle(out_dir: Path, *, name: str = "tiny") -> Path:
    """Fit and save the tiny bundle into ``out_dir``; returns it."""
    rows = tiny_corpus()
    texts = [r[0] for r in rows]
    urgency = urgency_corpus()
    subs = tiny_subcategory_corpus()
    encoder = Encoder(EncoderParams(min_df=1, max_features=None, embed_dim=64)).fit(
        texts + [u[0] for u in urgency] + [t for t, _ in subs])
    X = encoder.transform(texts)
    params = HeadParams(calibration="temperature", calibration_cv=3, C=10.0)
    rules = KeywordRules(weight=0.5, rules=read_keyword_rules("appeal_type"))
    heads = {
        "category": LinearHead(params).fit(X, [r[1] for r in rows]),
        "department": LinearHead(params).fit(X, [r[2] for r in rows]),
        "appeal_type": LinearHead(params, rules).fit(X, [r[3] for r in rows]),
        "urgency": LinearHead(HeadParams(calibration="sigmoid", calibration_cv=3, C=10.0)).fit(
            encoder.transform([u[0] for u in urgency]), [u[1] for u in urgency]),
        "subcategory": TreeHead(params.model_copy(update={"calibration_cv": 2, "max_weights": 50})).fit(
            encoder.transform([t for t, _ in subs]), [p for _, p in subs]),
    }
    bundle = Bundle(encoder, heads, {"dispatch": {"blend": 0.5, "temperature": 1.0, "subcategory_threshold": 0.5},
                                     "urgency": URGENCY,
                                     "splits": {h: {"test": []} for h in heads}})
    bundle.save(out_dir, name=name, data_hashes={"tiny": "0" * 64}, params={"tiny": True})
    return out_dir

"""A tiny real bundle for fast tests: the real encoder and heads, fitted in about a second on a small
synthetic corpus whose labels follow keywords (学校 → 教育文体, 噪音 → 环境保护 …)."""

from __future__ import annotations

from pathlib import Path

from minyi_nlp.models.bundle import Bundle
from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.heads import KeywordRules, LinearHead
from minyi_nlp.models.training import read_keyword_rules
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
TYPE_PREFIX = {"投诉": "投诉", "咨询": "请问", "建议": "建议", "举报": "举报", "求助": "求助"}
PLACES = ["A3区", "A7县", "A1区洋湖街道", "A5区", "A2区"]
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


def build_tiny_bundle(out_dir: Path, *, name: str = "tiny") -> Path:
    """Fit and save the tiny bundle into ``out_dir``; returns it."""
    rows = tiny_corpus()
    texts = [r[0] for r in rows]
    encoder = Encoder(EncoderParams(min_df=1, max_features=None, embed_dim=64)).fit(texts)
    X = encoder.transform(texts)
    params = HeadParams(calibration="temperature", calibration_cv=3, C=10.0)
    rules = KeywordRules(weight=0.5, rules=read_keyword_rules("appeal_type"))
    heads = {
        "category": LinearHead(params).fit(X, [r[1] for r in rows]),
        "department": LinearHead(params).fit(X, [r[2] for r in rows]),
        "appeal_type": LinearHead(params, rules).fit(X, [r[3] for r in rows]),
    }
    bundle = Bundle(encoder, heads, {"dispatch": {"blend": 0.5, "temperature": 1.0},
                                     "splits": {h: {"test": []} for h in heads}})
    bundle.save(out_dir, name=name, data_hashes={"tiny": "0" * 64}, params={"tiny": True})
    return out_dir

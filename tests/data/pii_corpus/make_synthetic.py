"""Write ``synthetic.jsonl``: made-up appeals, each holding personal data of known kind and place.

    .venv/bin/python tests/data/pii_corpus/make_synthetic.py

Every kind the masker knows comes in several written forms (a phone as 13812345678, 138 1234 5678,
+86-138-1234-5678, (010)62345678 …) and at the start, in the middle and at the end of an ordinary
appeal sentence. All values are invented: ID numbers and bank cards get a valid check digit, phone
numbers follow the Chinese number plan, names are common surname + given-name pairs. Deterministic
(seed 2026): rerunning writes the same file.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).with_name("synthetic.jsonl")
SEED = 2026

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
         "秀英", "霞", "平", "刚", "桂英", "建华", "晓东", "海燕", "志强", "丽华", "文静", "雨晴", "子涵", "浩然",
         "国庆", "红梅", "玉兰", "春生", "德明", "思琪", "佳慧", "宏伟", "淑珍"]
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "东方"]
FILLERS = [
    "A3区洋湖街道的路灯坏了半个月", "3号线施工噪音扰民", "2019年12月5日物业又涨价了", "小区门口垃圾堆放多日",
    "A市A7县某学校乱收费200元", "楼下烧烤店油烟很大", "公交12路经常不按时发车", "我们单位拖欠工资三个月",
    "医院排队挂号要等两小时", "洋湖街道的下水道堵了", "房款1138424元已经付清但迟迟不交房", "D12市砖厂扬尘严重",
]
MOBILE_PREFIX = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
                 "157", "158", "159", "166", "176", "177", "180", "181", "186", "187", "188", "189", "198", "199"]
AREA = [("010", 8), ("021", 8), ("020", 8), ("0731", 8), ("0914", 7), ("0591", 8), ("0746", 7), ("0755", 8)]


def id18(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    area = rng.choice(["110105", "430102", "310104", "440305", "612525", "320106", "350102"])
    born = f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = area + born + f"{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def luhn_card(rng: random.Random, length: int) -> str:
    body = rng.choice(["622202", "621700", "622848", "436742", "524047"]) + "".join(
        str(rng.randint(0, 9)) for _ in range(length - 7))
    total = 0
    for i, ch in enumerate(reversed(body + "0")):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def digits(rng: random.Random, n: int, first: str = "23456789") -> str:
    return rng.choice(first) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def name(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return rng.choice(COMPOUND) + rng.choice(GIVEN)
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


# ------------------------------------------------------------------ one generator per kind: (context, value)
def gen_phone(rng: random.Random) -> tuple[str, str]:
    m = rng.choice(MOBILE_PREFIX) + digits(rng, 8, "0123456789")
    area, n = rng.choice(AREA)
    local = digits(rng, n)
    forms = [m, f"{m[:3]} {m[3:7]} {m[7:]}", f"{m[:3]}-{m[3:7]}-{m[7:]}", f"+86 {m[:3]} {m[3:7]} {m[7:]}",
             f"+86-{m}", f"86{m}", f"(+86){m}", f"0086 {m}", f"{area}-{local}", f"({area}){local}",
             f"{area} {local[:-4]} {local[-4:]}", f"{area}—{local}", f"+86 {area[1:]} {local[:-4]} {local[-4:]}",
             f"+86-{area[1:]}-{local}"]
    cue = rng.choice(["电话", "手机", "联系电话:", "电话号码是", "请拨打", "", "联系方式:"])
    return cue, rng.choice(forms)


def gen_intl_phone(rng: random.Random) -> tuple[str, str]:
    value = rng.choice(["+852 9123 4567", "+852 6123 8899", "+886 912 345 678", "+1 415 555 2671",
                        "+44 20 7946 0958", "+65 6123 4567", "+81 3 1234 5678", "+853 6612 3456"])
    return rng.choice(["我在国外的电话", "境外号码", "联系"]), value


def gen_local_phone(rng: random.Random) -> tuple[str, str]:
    local = digits(rng, rng.choice([7, 8]))
    return rng.choice(["电话:", "座机", "电话号码", "拨打"]), rng.choice([local, f"{local[:-4]} {local[-4:]}"])


def gen_id(rng: random.Random) -> tuple[str, str]:
    v = id18(rng)
    forms = [v, v.lower(), f"{v[:6]} {v[6:14]} {v[14:]}", f"{v[:6]}-{v[6:14]}-{v[14:]}",
             f"{v[:6]} {v[6:10]} {v[10:14]} {v[14:]}", f"{v[:6]}-{v[6:10]}-{v[10:14]}-{v[14:]}"]
    return rng.choice(["身份证号", "身份证号码:", "证件号", "身份证", "", "公民身份号码"]), rng.choice(forms)


def gen_id_cued(rng: random.Random) -> tuple[str, str]:
    v = id18(rng)
    forms = [v[:-1] + str((int(v[-1]) + 1) % 10 if v[-1] != "X" else 1), v[:12] + "******",
             v[:14] + "****", v[:6] + v[8:17]]  # mistyped check digit, starred, old 15-digit
    return rng.choice(["身份证号", "身份证号码:", "身份证", "证件号码"]), rng.choice(forms)


def gen_passport(rng: random.Random) -> tuple[str, str]:
    return rng.choice(["护照号", "护照号码:", "港澳通行证"]), rng.choice("EGPK") + digits(rng, 8, "0123456789")


def gen_card(rng: random.Random) -> tuple[str, str]:
    v = luhn_card(rng, rng.choice([16, 19]))
    grouped = " ".join(v[i : i + 4] for i in range(0, len(v), 4))
    return rng.choice(["银行卡号", "卡号:", "工资卡", "账号", ""]), rng.choice([v, grouped, grouped.replace(" ", "-")])


def gen_email(rng: random.Random) -> tuple[str, str]:
    user = rng.choice(["zhang.wei1949", "liuyang88", "sun_lili", "wangfang.2020", "chen-jing", "li.na+gov"])
    host = rng.choice(["example.com", "qq.com", "163.com", "126.com", "sina.cn", "mail.gov.cn"])
    h, _, tld = host.rpartition(".")
    forms = [f"{user}@{host}", f"{user} at {host}", f"{user}(at){host}", f"{user}[at]{h}[dot]{tld}",
             f"{user}#{host}", f"{user} 艾特 {host}", f"{user.upper()} AT {h.upper()} DOT {tld.upper()}",
             f"{user}@{h} 点 {tld}" if rng.random() < 0.3 else f"{user}@{host}"]
    return rng.choice(["邮箱", "电子邮箱:", "邮件发到", "email:", ""]), rng.choice(forms)


def gen_qq(rng: random.Random) -> tuple[str, str]:
    cue = rng.choice(["QQ:", "qq号", "QQ ", "扣扣:", "QQ号码是", "加我qq"])
    return cue, digits(rng, rng.randint(6, 11), "123456789")


def gen_wechat(rng: random.Random) -> tuple[str, str]:
    value = rng.choice(["zhang_wei1949", "wxid_a1b2c3d4e5", "liuyang-88", "Sunlili2020", "wf19880808", "chenjing_hb"])
    return rng.choice(["微信号:", "微信", "VX:", "vx号 ", "wx:", "加微信", "微信号码是"]), value


def gen_plate(rng: random.Random) -> tuple[str, str]:
    p = rng.choice("湘粤京沪陕鄂川浙苏") + rng.choice("ABCDEFGHJK")
    value = rng.choice([p + digits(rng, 5, "0123456789"), p + "·" + digits(rng, 5, "0123456789"),
                        p + "D" + digits(rng, 5, "0123456789"), p + digits(rng, 2, "123456789") + "A" + digits(rng, 2)])
    return rng.choice(["车牌号", "车牌", "牌照为", "一辆"]), value


def gen_address(rng: random.Random) -> tuple[str, str]:
    b, u, r = rng.randint(1, 30), rng.randint(1, 6), rng.randint(1, 32) * 100 + rng.randint(1, 4)
    cn = "一二三四五六七八九"
    value = rng.choice([f"{b}栋{u}单元{r}室", f"{b}号楼{u}单元{r}", f"{b}栋{r}室", f"{rng.choice('ABCDEF')}座{r}室",
                        f"{b}-{u}-{r}", f"{cn[b % 9]}栋{cn[u % 9]}单元{r}", f"{b}幢{u}单元{r}房", f"{u}单元{r}室",
                        f"{b}栋{u}单元{rng.randint(2, 30)}楼{r}"])
    estate = rng.choice(["幸福小区", "阳光花园", "碧桂园翡翠湾", "景塘家园", "金色康城", "月湖小区二期"])
    return rng.choice(["家住", "住在", "我是", "地址:"]) + estate, value


def gen_name(rng: random.Random) -> tuple[str, str]:
    n = name(rng)
    cue = rng.choice(["我是", "我叫", "本人", "业主", "联系人:", "联系人", "投诉人:", "申请人", "举报人:", "姓名:",
                      "我的名字叫", "患者", "我父亲", "我儿子", "村民", "居民", "户主", "租户", "我老婆叫", "班主任"])
    return cue, n


def gen_titled_name(rng: random.Random) -> tuple[str, str]:
    full = rng.random() < 0.5
    value = name(rng) if full else rng.choice(SURNAMES)
    return "", value


GENERATORS: dict[str, list[Callable[[random.Random], tuple[str, str]]]] = {
    "PHONE": [gen_phone, gen_phone, gen_intl_phone, gen_local_phone],
    "ID": [gen_id, gen_id, gen_id_cued, gen_passport],
    "BANKCARD": [gen_card],
    "EMAIL": [gen_email],
    "QQ": [gen_qq],
    "WECHAT": [gen_wechat],
    "PLATE": [gen_plate],
    "ADDRESS": [gen_address],
    "NAME": [gen_name, gen_name, gen_titled_name],
}
TITLES = ["先生", "女士"]
NAME_ENDS = ["反映", ",男,", ",今年45岁,", "。", "在A3区工作,", ",电话", "说"]


def piece(rng: random.Random, kind: str) -> tuple[str, str, str]:
    """(text before the value, the value, text after it)."""
    gen = rng.choice(GENERATORS[kind])
    cue, value = gen(rng)
    after = rng.choice([",", "。", ", ", ",谢谢", "。请尽快处理", ";"])
    if gen is gen_titled_name:
        after = rng.choice(TITLES) + rng.choice(["反映", "说", ",", "。"])
        cue = rng.choice(["", "小区的", "物业公司", "请联系", "投诉人"])
    elif gen is gen_name:
        after = rng.choice(NAME_ENDS)
    return cue, value, after


def case(rng: random.Random, kinds: list[str]) -> dict[str, object]:
    text = ""
    pii = []
    position = rng.choice(["start", "middle", "end"])
    filler = rng.sample(FILLERS, 2)
    if position != "start":
        text += filler[0] + ","
    for kind in kinds:
        before, value, after = piece(rng, kind)
        text += before
        pii.append({"kind": kind, "start": len(text), "end": len(text) + len(value), "value": value})
        text += value + after
    if position != "end":
        text += filler[1] + "。"
    return {"text": text, "pii": pii, "position": position}


def main() -> None:
    rng = random.Random(SEED)
    cases = []
    for kind in GENERATORS:  # every kind alone, 30 times (several forms and positions each)
        cases += [case(rng, [kind]) for _ in range(30)]
    kinds = list(GENERATORS)
    cases += [case(rng, rng.sample(kinds, rng.randint(2, 3))) for _ in range(120)]  # mixed
    with OUT.open("w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{OUT}: {len(cases)} cases, {sum(len(c['pii']) for c in cases)} items")


if __name__ == "__main__":
    main()

"""``minyi hotspots`` end to end on a small hand-written set of Chinese appeals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from minyi_nlp.cli import app

runner = CliRunner()
INPUT_ENCODER = ["--encoder", "input"]  # the encoder fitted on the input: the same result with or without a bundle
CONTRACT = {"rank", "heat", "place", "description", "start", "end", "n", "ids"}
PHONE = "13812345678"

MIXER = [  # one event: a concrete mixing plant next to 丽发新城, reported by eight citizens
    ("A2区丽发新城附近建搅拌站噪音扰民", "丽发新城小区附近新建了搅拌站，每天噪音和粉尘扰民，严重影响休息。"),
    ("丽发新城小区旁边建搅拌站粉尘大", "丽发新城小区旁边的搅拌站粉尘大、噪音扰民，孩子老人都受不了。"),
    ("投诉丽发新城小区附近违建搅拌站噪音扰民", f"丽发新城小区附近违建搅拌站，噪音粉尘扰民，我叫张三，电话{PHONE}。"),
    ("丽发新城社区搅拌站灰尘噪音污染严重", "丽发新城小区附近的搅拌站灰尘和噪音污染严重，居民无法休息。"),
    ("丽发新城小区附近搅拌站粉尘大无法呼吸", "丽发新城小区附近的搅拌站粉尘太大，噪音扰民，开窗就是灰。"),
    ("丽发新城小区旁建搅拌站严重扰民", "丽发新城小区旁新建搅拌站，噪音和粉尘严重扰民，请撤走搅拌站。"),
    ("丽发新城小区附近的搅拌站噪音严重扰民", "丽发新城小区附近搅拌站昼夜运行，噪音粉尘严重扰民。"),
    ("A2区丽发新城附近修建搅拌站噪音粉尘污染", "丽发新城小区附近修建搅拌站，噪音粉尘污染，居民不能正常休息。"),
]
SMOKE = "小区临街门面餐馆油烟直排，烧烤夜宵摊营业到凌晨，油烟和噪音严重影响楼上居民生活。"
ESTATES = {"B": "A5区劳动东路魅力之城小区", "C": "A3区梅溪湖看云路润芳园小区"}  # same complaint, two estates
OTHERS = [  # one appeal each, about other things
    ("A4区北辰小区路灯不亮", "北辰小区门口路灯不亮一个多月了，晚上出行很危险。"),
    ("A市德鸿餐饮店拖欠工资", "德鸿餐饮店拖欠员工三个月工资，老板一直不发。"),
    ("A7县204公交车班次太少", "204路公交车高峰期十二分钟一趟，上班太难等了。"),
    ("A市温斯顿英语培训学校拖延退费", "温斯顿英语培训学校一直拖延退费，已经半年了。"),
    ("A6区干源国际广场停车场乱建", "干源国际广场停车场违章乱建现象严重。"),
    ("咨询A市人才购房补贴政策", "请问人才购房补贴申请需要哪些材料？"),
    ("A3区青青家园电梯经常故障", "青青家园三栋电梯一个月坏了四次，物业修不好。"),
    ("A1区纬二路积水严重", "纬二路一下雨就积水，车辆无法通行。"),
    ("A市地铁3号线出入口设置不合理", "星沙大道站出入口离小区太远，居民进站要绕一公里。"),
    ("A7县春华镇金鼎村自来水问题", "金鼎村七里组还没有通自来水，冬季用水紧张。"),
    ("A2区佳兆业水新都小区垃圾无人处理", "小区垃圾堆了一周没人清运，臭气熏天。"),
    ("A市社保卡补办太慢", "社保卡丢失补办要等两个月，看病报销很不方便。"),
    ("A5区洞井街道鸿运佳苑出行难", "鸿运佳苑门口没有公交站，老人出行不便。"),
    ("A4区四方坪商贸城早上高音喇叭卖菜", "商贸城的菜贩每天早上六点用高音喇叭叫卖，吵得睡不着。"),
    ("A市中航城三期栏杆太低", "复式楼高层栏杆只有一米二，存在安全隐患。"),
    ("A3区枫林三路夜间渣土车扰民", "凌晨一点还有渣土车轰鸣而过，附近居民无法入睡。"),
]
def _rows() -> list[dict]:
    rows = []
    for k, (title, content) in enumerate(MIXER):
        rows.append({"留言编号": f"A{k:02d}", "留言用户": f"U{k}", "留言主题": title, "留言详情": content,
                     "留言时间": f"2019/11/{10 + 2 * k} 10:00:00", "点赞数": str(k), "反对数": "0"})
    for group, estate in ESTATES.items():
        for k in range(4):
            rows.append({"留言编号": f"{group}{k:02d}", "留言用户": f"{group}U{k}",
                         "留言主题": f"{estate}临街门面油烟扰民{'，急需处理' if k % 2 else ''}",
                         "留言详情": f"{estate}{SMOKE}", "留言时间": f"2019/08/{10 + k} 20:00:00", "点赞数": "0",
                         "反对数": "0"})
    for k, (title, content) in enumerate(OTHERS):
        rows.append({"留言编号": f"Z{k:02d}", "留言用户": f"Z{k}", "留言主题": title, "留言详情": content,
                     "留言时间": f"2019/{k % 9 + 1:02d}/{k + 1:02d} 09:00:00", "点赞数": "1", "反对数": "0"})
    return rows


BAD = [  # rows 33, 34, 35 of the file: each fails one rule
    {"留言编号": "X1", "留言用户": "X", "留言主题": "空白", "留言详情": "   ", "留言时间": "2019/08/01 10:00:00",
     "点赞数": "0", "反对数": "0"},
    {"留言编号": "X2", "留言用户": "X", "留言主题": "点赞数不对", "留言详情": f"联系我{PHONE}",
     "留言时间": "2019/08/01", "点赞数": "很多", "反对数": "0"},
    {"留言编号": "X3", "留言用户": "X", "留言主题": "时间不对", "留言详情": "有内容的留言", "留言时间": "上个月",
     "点赞数": "0", "反对数": "0"},
]


@pytest.fixture(scope="module")
def appeals_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hotspots") / "appeals.xlsx"
    pd.DataFrame(_rows() + BAD).to_excel(path, index=False)
    return path


@pytest.fixture(scope="module")
def json_run(appeals_file: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("out")
    res = runner.invoke(app, ["hotspots", "--input", str(appeals_file), "--out", str(out), "--top", "5",
                              "--format", "json", *INPUT_ENCODER])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1]), out


def test_last_line_is_the_json_contract(json_run) -> None:
    doc, _ = json_run
    assert set(doc) == {"hotspots"}
    assert [h["rank"] for h in doc["hotspots"]] == list(range(1, len(doc["hotspots"]) + 1))
    for h in doc["hotspots"]:
        assert set(h) == CONTRACT
        assert h["n"] == len(h["ids"])
    heats = [h["heat"] for h in doc["hotspots"]]
    assert heats == sorted(heats, reverse=True)


def test_the_hottest_is_the_mixing_plant_with_all_its_reports(json_run) -> None:
    top = json_run[0]["hotspots"][0]
    assert sorted(top["ids"]) == [f"A{k:02d}" for k in range(len(MIXER))]  # the input's own ids
    assert "丽发新城" in top["place"]
    assert "搅拌" in top["description"] and "8位市民" in top["description"]
    assert top["start"].startswith("2019-11-10") and top["end"].startswith("2019-11-24")


def test_the_same_complaint_at_two_estates_is_two_hot_issues(json_run) -> None:
    groups = [set(h["ids"]) for h in json_run[0]["hotspots"]]
    for letter in ESTATES:
        members = {f"{letter}{k:02d}" for k in range(4)}
        assert members in groups, groups
    places = " ".join(h["place"] for h in json_run[0]["hotspots"])
    assert "魅力之城" in places and "润芳园" in places


def test_reports_are_written_and_masked(json_run) -> None:
    _, out = json_run
    for kind in ("csv", "xlsx", "json", "png"):
        assert (out / f"hotspots.{kind}").stat().st_size > 0
    sheets = pd.read_excel(out / "hotspots.xlsx", sheet_name=None)
    assert set(sheets) == {"热点问题", "留言明细"}
    assert len(sheets["留言明细"]) == sum(len(h["ids"]) for h in json_run[0]["hotspots"])
    report = json.loads((out / "hotspots.json").read_text(encoding="utf-8"))
    assert "support" in report["heat_index"] and report["summary"]["rows"] == 32
    for path in out.iterdir():
        if path.suffix in (".csv", ".json"):
            assert PHONE not in path.read_text(encoding="utf-8"), path
    assert PHONE not in sheets["留言明细"].to_string()


def test_bad_rows_go_to_the_rejects_file_masked(json_run) -> None:
    _, out = json_run
    rejects = pd.read_csv(out / "hotspots.rejects.csv", dtype=str)
    by_row = dict(zip(rejects["row"].astype(int), rejects["field"], strict=True))
    assert by_row == {33: "content", 34: "likes", 35: "submitted_at"}
    assert "likes '很多' is not a number" in " ".join(rejects["reason"])
    assert PHONE not in (out / "hotspots.rejects.csv").read_text(encoding="utf-8")


def test_since_and_until_keep_the_time_range(appeals_file: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["hotspots", "-i", str(appeals_file), "-o", str(tmp_path), "--since", "2019-11-01",
                              "--until", "2019-11-16", "--format", "json",
                              *INPUT_ENCODER])
    assert res.exit_code == 0, res.output
    ids = [i for h in json.loads(res.stdout.strip().splitlines()[-1])["hotspots"] for i in h["ids"]]
    assert sorted(ids) == ["A00", "A01", "A02"]  # A03 was written on 2019-11-16 at 10:00
    assert "29 outside the time range" in res.stderr


def test_table_format(appeals_file: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["hotspots", "-i", str(appeals_file), "-o", str(tmp_path), "--top", "3", *INPUT_ENCODER])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["#", "heat"] and len(lines) == 4
    assert re.match(r"\s+1\s+\d+\.\d", lines[1])


def test_a_file_without_a_text_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "no_text.csv"
    pd.DataFrame({"编号": ["1"], "标题": ["路灯不亮"]}).to_csv(path, index=False)
    res = runner.invoke(app, ["hotspots", "-i", str(path), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "no_text.csv" in res.stderr and "no content column" in res.stderr and "标题" in res.stderr


def test_asking_for_the_bundle_encoder_without_a_bundle_is_refused(appeals_file: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from minyi_nlp.config import get_settings

    monkeypatch.setenv("MINYI_MODELS", str(tmp_path / "no-models"))
    monkeypatch.delenv("MINYI_BUNDLE", raising=False)
    get_settings.cache_clear()
    try:
        res = runner.invoke(app, ["hotspots", "-i", str(appeals_file), "-o", str(tmp_path), "--encoder", "bundle"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 2
    assert "no bundle is served yet" in res.stderr and "minyi train" in res.stderr


def test_a_text_column_alone_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "texts.csv"
    pd.DataFrame({"text": [c for _, c in MIXER] + [c for _, c in OTHERS]}).to_csv(path, index=False)
    res = runner.invoke(app, ["hotspots", "-i", str(path), "-o", str(tmp_path / "out"), "--top", "3",
                              "--format", "json", *INPUT_ENCODER])
    assert res.exit_code == 0, res.output
    top = json.loads(res.stdout.strip().splitlines()[-1])["hotspots"][0]
    assert top["ids"][0].startswith("texts.csv:") and top["n"] >= 6  # generated ids: file and row
    assert top["start"] is None and "搅拌" in top["description"]

"""The feedback loop end to end on the real bundle: dispatchers correct a route → export → train with the
feedback → compare → promote → reload → the same kind of appeal now gets the corrected route first.

Elevator faults (电梯故障): the real bundle routes them to 住房和城乡建设局 or 街道办事处 first, while the
special-equipment safety duty (特种设备) is 市场监督管理局's; the dispatchers correct every one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_helpers import AS_ADMIN, AS_DISPATCHER
from typer.testing import CliRunner

from minyi_nlp.cli import app

CORRECT = "市场监督管理局"
PLACES = ["A3区", "A5区", "A7县", "A2区", "A1区洋湖街道"]
WHAT = ["电梯经常故障停运", "电梯困人", "电梯年检过期仍在运行", "电梯运行时异响抖动", "电梯突然下坠",
        "电梯门关不上", "电梯按键失灵", "电梯维保单位长期不来保养"]
WHO = ["小区", "安置小区", "商住楼", "老旧小区的加装"]
APPEALS = [f"{PLACES[i % 5]}{who}{what}，存在安全隐患，请相关部门检查处理"
           for i, (who, what) in enumerate((w, x) for w in WHO for x in WHAT)]
NEW_APPEAL = "A5区某小区2栋的电梯这个月坏了三次，还把老人困在里面，维保公司敷衍了事，请求检查电梯安全"


@pytest.fixture
def models_home(tmp_path: Path) -> Iterator[Path]:
    from minyi_nlp.config import get_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINYI_MODELS", str(tmp_path / "models"))
        get_settings.cache_clear()
        yield tmp_path / "models"
    get_settings.cache_clear()


def first_route(client, content: str) -> dict:
    return client.post("/v1/suggestions", json={"content": content}, headers=AS_DISPATCHER).json()["departments"][0]


@pytest.mark.slow
def test_overrides_are_learnt_and_served_after_promotion(trained, prepared_dir, models_home, make_client,
                                                         database_url, tmp_path):
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.dispatch.build import train_bundle
    from minyi_nlp.feedback import feedback_info, feedback_rows
    from minyi_nlp.models.registry import set_served
    from minyi_nlp.params import load_params

    champion = set_served(str(trained.bundle_dir), reason="the session's bundle", verdict=None, forced=False)
    client = make_client(Dispatcher.load())  # reloads load the served bundle again
    assert first_route(client, NEW_APPEAL)["department"] != CORRECT

    not_first = 0
    for content in APPEALS:
        s = client.post("/v1/suggestions", json={"content": content}, headers=AS_DISPATCHER).json()
        ranks = [i for i, d in enumerate(s["departments"], 1) if d["department"] == CORRECT]
        not_first += ranks[:1] != [1]
        decision = {"accepted_rank": ranks[0]} if ranks else \
            {"department": CORRECT, "jurisdiction": s["departments"][0]["jurisdiction"]}  # an override
        r = client.post(f"/v1/suggestions/{s['id']}/decision", headers=AS_DISPATCHER,
                        json={"dispatcher": "李班长", **decision})
        assert r.status_code == 201, r.text
    assert not_first >= len(APPEALS) // 4  # the champion puts many of them elsewhere first

    export = client.get("/v1/decisions/export", headers=AS_ADMIN)
    rows = [json.loads(line) for line in export.text.splitlines()]
    assert len(rows) == len(APPEALS) and {r["department"] for r in rows} == {CORRECT}
    assert sum(r["predicted_department"] != CORRECT for r in rows) == not_first

    feedback = feedback_rows(database_url)  # what `minyi train --with-feedback` reads (a fifth held out)
    assert 0 < len(feedback) < len(APPEALS) and set(feedback["department"]) == {CORRECT}
    params = load_params()
    params = params.model_copy(update={"heads": {h: params.heads[h] for h in ("category", "department")}})
    candidate = train_bundle(params, processed_dir=prepared_dir, feedback=feedback,
                             feedback_info=feedback_info(feedback), reports_dir=tmp_path / "reports", track=False)
    assert not candidate.served and candidate.manifest["feedback"]["rows"] == len(feedback)

    runner = CliRunner()
    compared = runner.invoke(app, ["--quiet", "models", "compare", candidate.bundle_dir.name, "--database-url",
                                   database_url, "--replicates", "300", "--format", "json"])
    assert compared.exit_code == 0, compared.output
    report = json.loads(compared.stdout.strip().splitlines()[-1])
    held = len(APPEALS) - len(feedback)
    assert report["data"]["decisions"]["n"] == held  # only decisions neither bundle trained on
    on_decisions = report["deltas"]["decisions"]["department"]["top1"]
    # the held-out fifth may hold only appeals the champion already routed right (then both score 1.0)
    assert on_decisions["candidate"] == 1.0 or on_decisions["candidate"] > on_decisions["champion"]
    assert report["verdict"] in ("better", "no worse"), report["outcomes"]

    promoted = runner.invoke(app, ["--quiet", "models", "promote", candidate.bundle_dir.name, "--no-track",
                                   "--database-url", database_url, "--format", "json"])
    assert promoted.exit_code == 0, promoted.output
    assert json.loads(promoted.stdout.strip().splitlines()[-1])["previous"] == champion["bundle"]

    reload = client.post("/v1/admin/reload", headers=AS_ADMIN)
    assert reload.status_code == 200, reload.text
    assert reload.json()["model_version"].startswith(candidate.manifest["version"] + "+")  # + the lists
    assert first_route(client, NEW_APPEAL)["department"] == CORRECT

"""``minyi models compare / promote / rollback / list`` on tiny real bundles, scored on dispatcher decisions.

A good tiny bundle is promoted first (nothing to compare it with); a deliberately worse one (C=0.0005, the
issue's example) is compared with it on decisions stored by the service, refused, then forced (recorded);
a rollback serves the good one again with exactly the scores it had. The MLflow alias ``champion`` follows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import CATEGORY_WORDS, DEPARTMENT_OF
from serve_helpers import AS_DISPATCHER
from typer.testing import CliRunner

from minyi_nlp.cli import app

# appeals of the tiny corpus' kinds, worded differently from its training rows
APPEALS = [(f"反映{place}{word}方面的情况，{tail}", category)
           for category, words in CATEGORY_WORDS.items() for word in words[:3]
           for place, tail in (("A3区", "请尽快处理"), ("A7县", "多次反映无果"))]


@pytest.fixture
def models_home(tmp_path: Path) -> Iterator[Path]:
    """A models folder of this test only (the session's served bundle is left alone)."""
    from minyi_nlp.config import get_settings

    home = tmp_path / "models"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINYI_MODELS", str(home))
        get_settings.cache_clear()
        yield home
    get_settings.cache_clear()


def minyi(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["--quiet", *args])
    assert result.exit_code == code, result.output
    return result


def last_json(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout.strip().splitlines()[-1])


def decide_all(client: Any) -> None:
    """Every appeal suggested by the service, and decided by a dispatcher: the department its kind belongs to."""
    for content, category in APPEALS:
        s = client.post("/v1/suggestions", json={"content": content}, headers=AS_DISPATCHER).json()
        r = client.post(f"/v1/suggestions/{s['id']}/decision", headers=AS_DISPATCHER,
                        json={"dispatcher": "张工", "department": DEPARTMENT_OF[category],
                              "jurisdiction": s["departments"][0]["jurisdiction"]})
        assert r.status_code == 201, r.text


def scores(dispatcher: Any) -> list[tuple[str, float, str, float]]:
    out = []
    for s in dispatcher.suggest_many([(None, c) for c, _ in APPEALS]):
        out.append((s.categories[0].label, s.categories[0].score, s.departments[0].department,
                    s.departments[0].score))
    return out


def test_a_worse_candidate_is_refused_forced_with_a_record_and_rolled_back_exactly(models_home, make_client,
                                                                                      database_url):
    from bundle_helpers import build_tiny_bundle

    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.models.registry import read_events, read_served
    from minyi_nlp.models.tracking import alias_version, find_model_version

    build_tiny_bundle(models_home / "bundles" / "good", name="good")
    first = last_json(minyi("models", "promote", "good", "--format", "json"))
    assert first["previous"] is None and first["verdict"] is None  # nothing to compare with yet
    good_version = first["served"]
    assert read_served()["bundle"] == good_version and (models_home / "bundles" / good_version).is_dir()
    assert alias_version() == find_model_version(good_version) is not None
    served_before = Dispatcher.load()
    before = scores(served_before)

    decide_all(make_client(served_before))
    build_tiny_bundle(models_home / "bundles" / "worse", name="worse", C=0.0005)

    result = minyi("models", "compare", "worse", "--database-url", database_url, "--replicates", "300",
                   "--format", "json")
    report = last_json(result)
    assert set(report) >= {"candidate", "champion", "deltas", "verdict"}
    assert report["candidate"]["version"].startswith("worse-") and report["champion"]["version"] == good_version
    top1 = report["deltas"]["decisions"]["department"]["top1"]
    assert report["data"]["decisions"]["n"] == len(APPEALS)
    assert top1["champion"] > top1["candidate"] and top1["ci95"][1] < 0 and top1["outcome"] == "worse"
    assert report["verdict"] == "worse"

    refused = minyi("models", "promote", "worse", "--database-url", database_url, code=1)
    assert "refused" in refused.output and read_served()["bundle"] == good_version

    forced = last_json(minyi("models", "promote", "worse", "--force", "--reason", "演练", "--format", "json"))
    assert forced["forced"] is True and forced["previous"] == good_version
    event = read_events()[-1]
    assert event["event"] == "promote" and event["forced"] is True and "decisions.department.top1" in event["worse"]
    assert alias_version() == find_model_version(forced["served"])
    assert scores(Dispatcher.load()) != before

    listed = last_json(minyi("models", "list", "--format", "json"))
    assert listed["served"] == forced["served"] and listed["rollback_target"] == good_version
    assert [b["name"] for b in listed["bundles"] if b["served"]] == [forced["served"]]

    back = last_json(minyi("models", "rollback", "--reason", "演练结束", "--format", "json"))
    assert back["served"] == good_version and read_events()[-1]["event"] == "rollback"
    assert scores(Dispatcher.load()) == before  # exactly the scores served before
    assert alias_version() == find_model_version(good_version)
    minyi("models", "rollback", code=2)  # nothing further back


def test_training_never_writes_into_the_served_bundle(models_home):
    from bundle_helpers import build_tiny_bundle

    from minyi_nlp.models.registry import check_trainable, set_served

    build_tiny_bundle(models_home / "bundles" / "good", name="good")
    served = set_served("good", reason="test", verdict=None, forced=False)["bundle"]
    with pytest.raises(ValueError, match="served"):
        check_trainable(served)
    result = minyi("train", "--model-name", served, "--no-track", code=2)
    assert "training never overwrites it" in result.output
    assert check_trainable("good") == models_home / "bundles" / "good"  # the name trained as is free again

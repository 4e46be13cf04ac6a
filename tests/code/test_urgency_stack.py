"""The urgent flag's second stage: features from the head and the lexicon, fitted on training rows with the
head's P cross-fitted, stored in ``urgency.json`` and applied by the one scorer the dispatcher uses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bundle_helpers import urgency_corpus

from minyi_nlp.dispatch.urgency import UrgencyConfig, UrgencyScorer
from minyi_nlp.dispatch.urgency_stack import FEATURES, Stacker, features, fit_stacker
from minyi_nlp.models.bundle import load_bundle
from minyi_nlp.models.training import Encoded
from minyi_nlp.params import HeadParams, HeadSection, StackParams
from minyi_nlp.routing.hazards import load_hazards

HAZARD = "A3区某小区楼道里燃气泄漏，味道很大，随时可能爆炸"
PAST = "A3区某小区去年发生过燃气泄漏，现在已经修好了，咨询一下燃气费怎么交"
NUISANCE = "A2区楼下烧烤店噪音扰民，每天闹到凌晨"
SMOKY = "A2区楼下饭店油烟很大，烟道里都是油，容易着火"


def test_features_read_the_hit_statuses_and_the_context():
    lexicon = load_hazards()
    rows = features([0.5, 0.5, 0.5, 0.5], lexicon.match_many([HAZARD, PAST, SMOKY, NUISANCE]))
    assert rows.shape == (4, len(FEATURES))
    col = {name: i for i, name in enumerate(FEATURES)}
    assert rows[0, col["status_present"]] == 1 and rows[0, col["lexicon"]] >= 0.75
    assert rows[1, col["status_present"]] == 0 and rows[1, col["lexicon"]] < 0.3  # resolved / historical
    assert rows[1, col["context_policy"]] == 1  # 咨询
    assert rows[2, col["any_hit"]] == 1 and rows[2, col["context_nuisance"]] == 1  # 油烟: the nuisance context
    assert rows[2, col["status_weak"]] == 1 and rows[2, col["status_present"]] == 0
    assert rows[3, col["any_hit"]] == 0 and not rows[3, col["status_present"]:].any()  # no hit: no status, no context
    assert rows[0, col["head_logit"]] == pytest.approx(0.0)


@pytest.fixture(scope="module")
def fitted(tiny_bundle_dir):
    bundle = load_bundle(tiny_bundle_dir)
    corpus = urgency_corpus()
    texts = [t for t, _ in corpus]
    prepared = bundle.encoder.prepare(texts)
    frame = pd.DataFrame({"text": texts, "label": [lab for _, lab in corpus], "group": range(len(corpus))})
    rows = Encoded(frame, prepared, bundle.encoder.transform_prepared(prepared))
    section = HeadSection(model=HeadParams(calibration="sigmoid", calibration_cv=3, C=10.0))
    stack, report = fit_stacker(section, StackParams(C=[0.1, 1.0], folds=3), rows, bundle.encoder, load_hazards())
    return bundle, stack, report


def test_fit_stacker_chooses_c_on_training_rows_and_ranks_a_leak_above_a_nuisance(fitted):
    bundle, stack, report = fitted
    assert report["C"] in (0.1, 1.0) and set(report["C_tried"]) == {"0.1", "1.0"}
    assert report["rows"] == len(urgency_corpus()) and report["features"] == list(FEATURES)
    scorer = UrgencyScorer(bundle)
    X, prepared, _ = bundle.encode_pairs([(None, t) for t in (HAZARD, PAST, NUISANCE)])
    s = stack.score(scorer.model_proba(X), scorer.lexicon.match_many(prepared))
    assert s[0] > 0.5 > s[2] and s[0] > s[1]


def test_the_scorer_applies_a_stack_from_urgency_json(fitted):
    bundle, stack, _ = fitted
    config = UrgencyConfig.from_extra({"threshold": 0.5, "stack": stack.as_dict()}, flag_at=0.5)
    assert config.stack == stack
    bundle.extras["urgency"] = {"threshold": 0.5, "stack": stack.as_dict()}
    scorer = UrgencyScorer(bundle)
    X, prepared, _ = bundle.encode_pairs([(None, HAZARD), (None, NUISANCE)])
    urgent, ordinary = scorer.score_many(X, prepared)
    expected = stack.score(scorer.model_proba(X), scorer.lexicon.match_many(prepared))
    assert np.allclose([urgent.score, ordinary.score], expected)
    assert urgent.urgent and "gas" in urgent.kinds and not ordinary.urgent


def test_a_stack_with_other_features_is_refused():
    data = {**Stacker((1.0,) * len(FEATURES), 0.0, 1.0).as_dict(), "features": ["head_logit", "lexicon"]}
    with pytest.raises(ValueError, match="retrain"):
        Stacker.from_dict(data)

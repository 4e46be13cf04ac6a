"""One bundle, one code path: the service, the batch job, ``minyi evaluate`` and ``minyi predict`` give the same
scores for the same texts (slow: the session's real bundle)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from serve_helpers import AS_DISPATCHER

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def texts(prepared_dir) -> list[str]:
    return pd.read_csv(prepared_dir / "eval.csv")["text"].astype(str).head(40).tolist()


@pytest.fixture(scope="module")
def reference(real_dispatcher, texts) -> np.ndarray:
    """P(category | text) from the bundle's encoder and category head, columns in the head's label order."""
    X, prepared = real_dispatcher.bundle.encode(texts)
    return real_dispatcher.bundle.predict_proba("category", X, prepared)


def _matrix(rows: list[list[tuple[str, float]]], labels: list[str]) -> np.ndarray:
    out = np.full((len(rows), len(labels)), np.nan)
    for i, row in enumerate(rows):
        for label, score in row:
            out[i, labels.index(label)] = score
    return out


def test_the_service_scores_equal_the_bundle(make_client, real_dispatcher, texts, reference):
    client = make_client(real_dispatcher)
    r = client.post("/v1/suggestions:batch?explain=false", json=[{"content": t} for t in texts],
                    headers=AS_DISPATCHER)
    assert r.status_code == 201, r.text
    rows = [[(c["label"], c["score"]) for c in s["categories"]] for s in r.json()["items"]]
    assert _matrix(rows, real_dispatcher.category_labels) == pytest.approx(reference, abs=5e-5)  # rounded to 4


def test_the_batch_job_scores_equal_the_bundle(real_dispatcher, bundle_dir, texts, reference, tmp_path):
    from minyi_nlp.batch import reclassify

    src = tmp_path / "in.csv"
    pd.DataFrame({"id": [f"t{i:03d}" for i in range(len(texts))], "content": texts}).to_csv(src, index=False)
    for workers in (1, 2):
        out = tmp_path / f"out{workers}.parquet"
        reclassify(src, out, workers=workers, top_k=7, batch_size=16, bundle_dir=bundle_dir, progress=False)
        frame = pd.read_parquet(out).sort_values("id").reset_index(drop=True)
        rows = [[(frame.loc[i, f"category_{k}"], frame.loc[i, f"category_{k}_score"]) for k in range(1, 8)]
                for i in range(len(frame))]
        assert _matrix(rows, real_dispatcher.category_labels) == pytest.approx(reference, abs=1e-9)


def test_evaluate_and_predict_read_the_same_numbers(real_dispatcher, bundle_dir, texts, reference, tmp_path):
    from typer.testing import CliRunner

    from minyi_nlp.cli import app
    from minyi_nlp.models.evaluate import evaluate_texts
    from minyi_nlp.models.metrics import classification_report

    labels = real_dispatcher.category_labels
    truth = [labels[int(np.argmax(row))] for row in reference]
    mine = evaluate_texts(real_dispatcher.bundle, "category", texts, truth)
    assert mine == classification_report(truth, reference, labels)
    res = CliRunner().invoke(app, ["predict", "--bundle", str(bundle_dir), "--text", texts[0], "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    got = _matrix([[(c["label"], c["score"]) for c in out["categories"]]], labels)
    assert got == pytest.approx(reference[:1], abs=5e-5)

"""Model directories: manifest, hashes, refusal to load a tampered artefact."""

import pytest

from minyi_nlp.artifacts import ModelIntegrityError, ModelNotFoundError, load_model, save_model


def test_roundtrip_and_manifest(tmp_path):
    manifest = save_model({"w": [1, 2, 3]}, tmp_path / "m", kind="category", data_hash="ab" * 32,
                          labels=["x", "y"], params={"C": 1.0})
    loaded = load_model(tmp_path / "m")
    assert loaded.model == {"w": [1, 2, 3]}
    assert loaded.version == manifest["version"].strip()
    assert manifest["training_data_sha256"] == "ab" * 32
    assert set(manifest["artifacts"]) == {"model.joblib"}
    assert len(manifest["artifacts"]["model.joblib"]) == 64


def test_tampered_artifact_is_refused(tmp_path):
    save_model([1], tmp_path / "m", kind="category", data_hash="0" * 64, labels=[], params={})
    with (tmp_path / "m" / "model.joblib").open("ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        load_model(tmp_path / "m")


def test_missing_model_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelNotFoundError, match="minyi train"):
        load_model(tmp_path / "nothing")


def test_save_replaces_existing_directory(tmp_path):
    save_model([1], tmp_path / "m", kind="category", data_hash="0" * 64, labels=[], params={})
    save_model([2], tmp_path / "m", kind="category", data_hash="1" * 64, labels=[], params={})
    assert load_model(tmp_path / "m").model == [2]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]

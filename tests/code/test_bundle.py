"""Bundles: one manifest with SHA-256 per file, refusal of a tampered or incomplete bundle, atomic saves."""

from __future__ import annotations

import json
import shutil

import pytest

from minyi_nlp.models.bundle import ModelIntegrityError, ModelNotFoundError, load_bundle, read_manifest


def test_manifest_lists_every_file_with_its_hash(tiny_bundle_dir):
    m = read_manifest(tiny_bundle_dir)
    files = {p.relative_to(tiny_bundle_dir).as_posix() for p in tiny_bundle_dir.rglob("*")
             if p.is_file() and p.name != "manifest.json"}
    assert set(m["artifacts"]) == files
    assert all(len(h) == 64 for h in m["artifacts"].values())
    assert set(m["heads"]) == {"category", "department", "appeal_type", "urgency", "subcategory"}
    assert m["version"].startswith("tiny-")


@pytest.mark.parametrize("victim", ["encoder/chars.keys.npy", "heads/category/W.npy", "dispatch.json",
                                    "encoder/encoder.json"])
def test_a_tampered_file_is_refused(tiny_bundle_dir, tmp_path, victim):
    copy = tmp_path / "b"
    shutil.copytree(tiny_bundle_dir, copy)
    with (copy / victim).open("ab") as fh:
        fh.write(b" ")
    with pytest.raises(ModelIntegrityError, match="SHA-256"):
        load_bundle(copy)


def test_a_missing_file_is_refused(tiny_bundle_dir, tmp_path):
    copy = tmp_path / "b"
    shutil.copytree(tiny_bundle_dir, copy)
    (copy / "heads" / "department" / "W.npy").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        load_bundle(copy)


def test_no_bundle_says_how_to_make_one(tmp_path):
    with pytest.raises(ModelNotFoundError, match="minyi train"):
        load_bundle(tmp_path / "nothing")


def test_an_old_model_folder_is_not_taken_for_a_bundle(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text(json.dumps({"version": "category-1"}), encoding="utf-8")
    with pytest.raises(ModelNotFoundError, match="minyi train"):
        load_bundle(tmp_path / "old")


def test_saving_again_replaces_the_folder_atomically(tiny_bundle_dir, tmp_path):
    b = load_bundle(tiny_bundle_dir, mmap=False)
    first = b.save(tmp_path / "x", name="x", data_hashes={"a": "1"}, params={})
    second = b.save(tmp_path / "x", name="x", data_hashes={"a": "2"}, params={})
    assert first["version"] != second["version"]
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
    assert load_bundle(tmp_path / "x").version == second["version"]


def test_nothing_is_pickled(tiny_bundle_dir):
    suffixes = {p.suffix for p in tiny_bundle_dir.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".npy"}

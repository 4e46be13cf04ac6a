"""Save and load a model directory with a manifest; loading verifies every artefact's SHA-256."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

MANIFEST = "manifest.json"
MODEL_FILE = "model.joblib"


class ModelNotFoundError(FileNotFoundError):
    """No trained model where one was expected."""


class ModelIntegrityError(RuntimeError):
    """An artefact does not match the hash recorded in its manifest."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_frame_text(values: list[str]) -> str:
    """A stable hash of training data (texts and labels in order)."""
    h = hashlib.sha256()
    for v in values:
        h.update(v.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class LoadedModel:
    model: Any
    manifest: dict[str, Any]
    path: Path

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def new_version(kind: str, data_hash: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{kind}-{stamp}-{data_hash[:8]}"


def save_model(
    model: Any,
    out_dir: Path,
    *,
    kind: str,
    data_hash: str,
    labels: list[str],
    params: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    extra_files: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Write ``model.joblib`` (+ extra files) and ``manifest.json`` atomically into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        joblib.dump(model, tmp / MODEL_FILE, compress=3)
        for name, src in (extra_files or {}).items():
            shutil.copyfile(src, tmp / name)
        files = sorted(p.name for p in tmp.iterdir())
        manifest = {
            "version": new_version(kind, data_hash),
            "kind": kind,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "training_data_sha256": data_hash,
            "labels": labels,
            "params": params,
            "metrics": metrics or {},
            "artifacts": {name: sha256_file(tmp / name) for name in files},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old-{os.getpid()}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_manifest(model_dir: Path) -> dict[str, Any]:
    path = Path(model_dir) / MANIFEST
    if not path.exists():
        raise ModelNotFoundError(f"no model at {model_dir} (missing {MANIFEST}); run `minyi train` first")
    return json.loads(path.read_text(encoding="utf-8"))


def update_metrics(model_dir: Path, metrics: dict[str, Any]) -> None:
    """Record evaluation metrics in the manifest (the manifest itself is not hashed)."""
    manifest = read_manifest(model_dir)
    manifest["metrics"] = metrics
    (Path(model_dir) / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def verify(model_dir: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest.get("artifacts", {}).items():
        path = Path(model_dir) / name
        if not path.exists():
            raise ModelIntegrityError(f"{path} is listed in the manifest but missing")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{path} has SHA-256 {actual[:12]}…, manifest says {expected[:12]}…: refusing to load"
            )


def load_model(model_dir: Path) -> LoadedModel:
    """Load a model directory after checking its artefacts against the manifest."""
    model_dir = Path(model_dir)
    manifest = read_manifest(model_dir)
    verify(model_dir, manifest)
    return LoadedModel(model=joblib.load(model_dir / MODEL_FILE), manifest=manifest, path=model_dir)

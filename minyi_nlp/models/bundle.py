"""A bundle: the encoder + every head + extra JSON files, one version, one manifest with SHA-256 per file.

Layout of a bundle directory::

    manifest.json             version, name, created_at, params, metrics, training data hashes, artifacts
    encoder/encoder.json      + encoder/*.npy
    heads/<name>/head.json    + heads/<name>/*.npy
    <extra>.json              e.g. dispatch.json (the routing blend tuned for this bundle)

Every consumer (service, batch job, ``minyi predict``, ``minyi evaluate``) loads a bundle with
:func:`load_bundle`, which refuses it when any file's SHA-256 differs from the manifest or a listed file
is missing. Files are written to a temporary sibling and renamed into place, so a bundle is complete or
absent. Nothing is pickled; large arrays are memory-mapped, so processes that load the same bundle share
its weights through the page cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from minyi_nlp.hashing import sha256_file
from minyi_nlp.models.encoder import Encoder
from minyi_nlp.models.heads import HEAD_FILE, LinearHead
from minyi_nlp.models.tree_head import TreeHead

Head = LinearHead | TreeHead

MANIFEST = "manifest.json"
FORMAT = "minyi-bundle/1"


class ModelNotFoundError(FileNotFoundError):
    """No trained bundle where one was expected."""


class ModelIntegrityError(RuntimeError):
    """A bundle file does not match the hash recorded in its manifest."""


def sha256_texts(values: list[str]) -> str:
    """A stable hash of training data (texts and labels in order)."""
    h = hashlib.sha256()
    for v in values:
        h.update(v.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def new_version(name: str, data_hash: str) -> str:
    return f"{name}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S')}-{data_hash[:8]}"


def combined_data_hash(data_hashes: Mapping[str, str]) -> str:
    """One hash of every head's training data (what a version's suffix is made of)."""
    return sha256_texts([f"{k}={v}" for k, v in sorted(data_hashes.items())])


@dataclass
class Bundle:
    """An encoder and its heads (``heads[name]``), plus JSON ``extras`` and the manifest once saved/loaded."""

    encoder: Encoder
    heads: dict[str, Head]
    extras: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unsaved"))

    def prefault(self) -> int:
        """Map every page of the bundle's memory-mapped weights now (see :func:`arrays.prefault`); bytes."""
        from minyi_nlp.models.arrays import mapped_arrays, prefault

        return prefault(mapped_arrays([self.encoder, self.heads]))

    def fuse_linear_heads(self) -> int:
        """Score every linear head with one product per batch (:class:`~minyi_nlp.models.fused.FusedHeads`):
        the same scores, ≈ 50 MB of float32 weights more (batch processes). Bytes of the fused matrix."""
        from minyi_nlp.models.fused import FusedHeads

        linear = [h for h in self.heads.values() if isinstance(h, LinearHead)]
        if not linear:
            return 0
        fused = FusedHeads(linear)
        for head in linear:
            head.fused = fused
        return int(fused.weights.nbytes)

    def head(self, name: str) -> Head:
        try:
            return self.heads[name]
        except KeyError:
            raise KeyError(f"bundle {self.version} has no head {name!r} (heads: {sorted(self.heads)})") from None

    def encode(self, texts: list[str]) -> tuple[sp.csr_matrix, list[str]]:
        """The vectors of raw ``texts`` and their prepared (normalised, masked) form."""
        prepared = self.encoder.prepare(texts)
        return self.encoder.transform_prepared(prepared), prepared

    def encode_pairs(self, pairs: list[tuple[Any, Any]]) -> tuple[sp.csr_matrix, list[str], list[tuple]]:
        """Vectors of (title, content) pairs, their prepared text, and each part masked (what may be
        stored): every part is normalised and masked once."""
        from minyi_nlp.models.encoder import join_masked, mask_pairs

        masked = mask_pairs(pairs)
        prepared = [join_masked(t, c, self.encoder.params.max_chars) for t, c in masked]
        return self.encoder.transform_prepared(prepared), prepared, masked

    def predict_proba(self, name: str, X: sp.csr_matrix, prepared: list[str] | None = None) -> np.ndarray:
        """Head ``name``'s probabilities for vectors ``X`` (keyword rules need the ``prepared`` texts)."""
        return self.head(name).predict_proba(X, prepared)

    def explain(self, X: sp.csr_matrix, head: str, labels: list[str], k: int = 5) -> list[list[tuple[str, float]]]:
        """For every row of ``X``, the ``k`` terms that pushed hardest towards its label in ``labels``:
        feature value × the head's weight, from the same vector the prediction used."""
        cols, contrib, indptr = self.head(head).contributions_many(X, labels)
        name = self.encoder.feature_name
        out: list[list[tuple[str, float]]] = []
        for i in range(X.shape[0]):
            a, b = indptr[i], indptr[i + 1]
            c = contrib[a:b]
            order = np.argsort(-c)[: 3 * k]
            terms: list[tuple[str, float]] = []
            seen: set[str] = set()
            for j in order:
                if c[j] <= 0 or len(terms) >= k:
                    break
                term = name(int(cols[a + j])).split("__", 1)[-1]
                if term in seen or not term.strip():
                    continue
                seen.add(term)
                terms.append((term, float(c[j])))
            out.append(terms)
        return out

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, out_dir: Path, *, name: str, data_hashes: Mapping[str, str], params: Mapping[str, Any],
             metrics: Mapping[str, Any] | None = None, version: str | None = None,
             info: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write the bundle atomically into ``out_dir`` (replacing one that is there); returns the manifest.
        ``version`` defaults to ``<name>-<UTC time>-<data hash>``; ``info`` adds keys to the manifest."""
        out_dir = Path(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
        try:
            files = self.encoder.save(tmp / "encoder")
            for head_name, head in self.heads.items():
                files += head.save(tmp / "heads" / head_name)
            for extra_name, value in self.extras.items():
                path = tmp / f"{extra_name}.json"
                path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
                files.append(path)
            manifest = {
                "format": FORMAT,
                "name": name,
                "version": version or new_version(name, combined_data_hash(data_hashes)),
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "heads": {h: {"kind": getattr(head, "kind", "linear"), "labels": head.labels,
                              "method": head.method_, "folds": head.n_folds_, "active_features": len(head.cols_)}
                          for h, head in self.heads.items()},
                "n_features": self.encoder.n_features,
                "training_data_sha256": dict(data_hashes),
                "params": dict(params),
                "metrics": dict(metrics or {}),
                **dict(info or {}),
                "artifacts": {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(files)},
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            for p in tmp.rglob("*"):
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
            os.chmod(tmp, 0o755)
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
        self.manifest, self.path = manifest, out_dir
        return manifest


def read_manifest(bundle_dir: Path) -> dict[str, Any]:
    path = Path(bundle_dir) / MANIFEST
    if not path.exists():
        raise ModelNotFoundError(f"no model bundle at {bundle_dir} (missing {MANIFEST}); run `minyi train` first")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ModelNotFoundError(f"{path} is not a {FORMAT} manifest (format {manifest.get('format')!r}): "
                                 f"retrain with `minyi train`")
    return manifest


def update_metrics(bundle_dir: Path, metrics: Mapping[str, Any]) -> None:
    """Merge evaluation metrics into the manifest (the manifest itself is not hashed)."""
    manifest = read_manifest(bundle_dir)
    update_manifest(bundle_dir, {"metrics": {**manifest.get("metrics", {}), **metrics}})


def update_manifest(bundle_dir: Path, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Set top-level manifest keys that are records, not content (metrics, the MLflow model version); the
    artefacts and their hashes cannot be changed this way. Written atomically."""
    if {"artifacts", "version", "format", "heads"} & set(fields):
        raise ValueError("a bundle's artefacts, version, format and heads are fixed once it is saved")
    manifest = {**read_manifest(bundle_dir), **fields}
    path = Path(bundle_dir) / MANIFEST
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=bundle_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return manifest


def verify(bundle_dir: Path, manifest: Mapping[str, Any]) -> None:
    """Raise :class:`ModelIntegrityError` unless every listed file exists with its recorded SHA-256."""
    for name, expected in manifest.get("artifacts", {}).items():
        path = Path(bundle_dir) / name
        if not path.is_file():
            raise ModelIntegrityError(f"{path} is listed in the manifest but missing: refusing to load")
        actual = sha256_file(path)
        if actual != expected:
            raise ModelIntegrityError(
                f"{path} has SHA-256 {actual[:12]}…, the manifest says {expected[:12]}…: refusing to load"
            )


def load_head(directory: Path, *, mmap: bool = True) -> Head:
    """A saved head of either kind (``head.json`` says which; no ``kind``: a linear head)."""
    kind = json.loads((directory / HEAD_FILE).read_text(encoding="utf-8")).get("kind", "linear")
    return TreeHead.load(directory, mmap=mmap) if kind == TreeHead.kind else LinearHead.load(directory, mmap=mmap)


def load_bundle(bundle_dir: Path, *, mmap: bool = True) -> Bundle:
    """Load a bundle after checking every file against its manifest."""
    bundle_dir = Path(bundle_dir)
    manifest = read_manifest(bundle_dir)
    verify(bundle_dir, manifest)
    encoder = Encoder.load(bundle_dir / "encoder", mmap=mmap)
    heads = {name: load_head(bundle_dir / "heads" / name, mmap=mmap) for name in manifest["heads"]}
    extras = {}
    for name in manifest["artifacts"]:
        if "/" not in name and name.endswith(".json") and name != MANIFEST:
            extras[name[: -len(".json")]] = json.loads((bundle_dir / name).read_text(encoding="utf-8"))
    return Bundle(encoder, heads, extras, manifest, bundle_dir)

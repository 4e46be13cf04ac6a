"""Where bundles live, which one is served, promotion and rollback.

Bundles are folders under ``models/bundles/<name>/``. ``models/served.json`` names the served one (the
champion) and keeps the earlier champions, newest last, for :func:`rollback`; ``MINYI_BUNDLE`` (a name or a
path) overrides it for one process. Every promotion and rollback is appended to ``models/promotions.jsonl``.

The served folder is one that training never writes again:

* what is served is the folder named by the bundle's *version* (``candidate-20261201093000-1a2b3c4d``);
  a candidate saved under another name (``minyi train --model-name dvc``, the ``dvc repro`` output) is
  copied there first, by hard links where the file system allows (:func:`freeze`);
* training refuses to write into the served folder or one kept for rollback (:func:`check_trainable`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minyi_nlp.config import get_settings
from minyi_nlp.models.bundle import ModelNotFoundError, read_manifest, verify

log = logging.getLogger(__name__)

SERVED_FILE = "served.json"
PROMOTIONS_LOG = "promotions.jsonl"


def bundles_dir() -> Path:
    return get_settings().models_dir / "bundles"


def bundle_dir(name: str) -> Path:
    """``models/bundles/<name>`` (a name may not contain a path separator)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid bundle name {name!r}: use letters, digits, '-', '_' and '.'")
    return bundles_dir() / name


def resolve_bundle(name_or_path: str | Path) -> Path:
    """A bundle folder from a name under ``models/bundles`` or a path."""
    text = str(name_or_path)
    path = Path(text)
    if path.is_absolute() or os.sep in text or text.startswith("."):
        return path
    return bundle_dir(text)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- the served pointer


def read_served() -> dict[str, Any]:
    """The served pointer (``{}`` when nothing has been served yet)."""
    path = get_settings().models_dir / SERVED_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_served(data: dict[str, Any]) -> None:
    """Replace the served pointer atomically."""
    directory = get_settings().models_dir
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".served-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
    os.replace(tmp, directory / SERVED_FILE)


def served_name() -> str | None:
    settings = get_settings()
    return settings.bundle or read_served().get("bundle")


def served_bundle_dir() -> Path:
    """The bundle to load: ``MINYI_BUNDLE`` (name or path), else the served pointer."""
    name = served_name()
    if not name:
        raise ModelNotFoundError(f"no bundle is served yet (no {get_settings().models_dir / SERVED_FILE}): "
                                 f"run `minyi train`")
    return resolve_bundle(name)


def previous_champion() -> str | None:
    """The bundle :func:`rollback` would serve."""
    history = read_served().get("history") or []
    return history[-1]["bundle"] if history else None


def protected() -> set[str]:
    """The served bundle and every one kept for rollback: training never writes into them."""
    data = read_served()
    return {n for n in [data.get("bundle"), *(h.get("bundle") for h in data.get("history", []))] if n}


def check_trainable(name: str) -> Path:
    """``models/bundles/<name>``, unless it is served or kept for rollback (``ValueError``)."""
    path = bundle_dir(name)
    if name in protected():
        role = "served" if name == read_served().get("bundle") else "kept for rollback"
        raise ValueError(f"bundle {name!r} is {role}: training never overwrites it. Train a candidate under "
                         f"another --model-name (or none: a unique name), compare it, then promote it")
    return path


def log_event(event: dict[str, Any]) -> None:
    """Append one promotion/rollback record to ``models/promotions.jsonl``."""
    path = get_settings().models_dir / PROMOTIONS_LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"at": now_iso(), **event}, ensure_ascii=False) + "\n")


def read_events() -> list[dict[str, Any]]:
    path = get_settings().models_dir / PROMOTIONS_LOG
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- freeze, promote, roll back


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst, follow_symlinks=True)
    except OSError:
        shutil.copy2(src, dst)


def freeze(name: str) -> str:
    """The name of the folder that holds bundle ``name`` under its version (made when missing, verified)."""
    src = resolve_bundle(name)
    manifest = read_manifest(src)
    verify(src, manifest)
    version = str(manifest["version"])
    target = bundle_dir(version)
    if src.resolve() == target.resolve():
        return version
    if target.exists():
        if read_manifest(target).get("version") != version:
            raise ValueError(f"{target} holds another bundle than {version}: remove it or rename it")
        verify(target, read_manifest(target))
        return version
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
    try:
        shutil.rmtree(tmp)
        shutil.copytree(src, tmp, copy_function=_link_or_copy)
        verify(tmp, read_manifest(tmp))
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("bundle %s frozen as %s", name, target)
    return version


def set_served(name: str, *, reason: str, **record: Any) -> dict[str, Any]:
    """Serve bundle ``name`` (frozen under its version first); the current one is kept for rollback.
    ``record`` (verdict, forced, comparison …) is written with the event."""
    frozen = freeze(name)
    current = read_served()
    if current.get("bundle") == frozen:
        raise ValueError(f"bundle {frozen} is already served")
    history = list(current.get("history", []))
    if current.get("bundle"):
        history.append({"bundle": current["bundle"], "since": current.get("since"), "reason": current.get("reason")})
    data = {"bundle": frozen, "since": now_iso(), "reason": reason, **record, "history": history}
    write_served(data)
    log_event({"event": "promote", "bundle": frozen, "from": name, "previous": current.get("bundle"),
               "reason": reason, **record})
    if get_settings().bundle:
        log.warning("MINYI_BUNDLE=%s overrides the served pointer in this environment", get_settings().bundle)
    return data


def rollback(*, reason: str = "rollback") -> dict[str, Any]:
    """Serve the previous champion again (the current one is dropped from the pointer, kept on disk)."""
    current = read_served()
    history = list(current.get("history", []))
    if not history:
        raise ValueError("no previous champion to roll back to (models/served.json has no history)")
    previous = history.pop()
    read_manifest(resolve_bundle(previous["bundle"]))  # still there
    data = {"bundle": previous["bundle"], "since": now_iso(), "reason": reason, "history": history}
    write_served(data)
    log_event({"event": "rollback", "bundle": previous["bundle"], "previous": current.get("bundle"),
               "reason": reason})
    return data


def list_bundles() -> list[dict[str, Any]]:
    """Every folder under ``models/bundles`` with its manifest (or why it cannot be read), oldest first."""
    root = bundles_dir()
    if not root.exists():
        return []
    served = read_served()
    rollback_to = previous_champion()
    out = []
    for path in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        entry: dict[str, Any] = {"name": path.name, "path": str(path), "served": path.name == served.get("bundle"),
                                 "rollback_target": path.name == rollback_to}
        try:
            manifest = read_manifest(path)
        except (ModelNotFoundError, ValueError, OSError) as exc:
            entry.update({"status": "unreadable", "error": str(exc)})
            out.append(entry)
            continue
        entry.update({"status": "ok", "version": manifest.get("version"), "created_at": manifest.get("created_at"),
                      "trained_as": manifest.get("name"), "heads": sorted(manifest.get("heads", {})),
                      "metrics": manifest.get("metrics", {}), "mlflow": manifest.get("mlflow"),
                      "feedback": manifest.get("feedback")})
        out.append(entry)
    out.sort(key=lambda e: (e.get("created_at") or "", e["name"]))
    return out

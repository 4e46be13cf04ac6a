"""Where bundles live and which one is served.

Bundles are folders under ``models/bundles/<name>/``. ``models/served.json`` names the served one
(the champion); ``MINYI_BUNDLE`` (a name or a path) overrides it for one process. The first bundle ever
trained is served when nothing is; after that, only promotion changes the pointer.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from minyi_nlp.config import get_settings
from minyi_nlp.models.bundle import ModelNotFoundError

SERVED_FILE = "served.json"


def bundles_dir() -> Path:
    return get_settings().models_dir / "bundles"


def bundle_dir(name: str) -> Path:
    """``models/bundles/<name>`` (a name may not contain a path separator)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid bundle name {name!r}: use letters, digits, '-', '_' and '.'")
    return bundles_dir() / name


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


def set_served(name: str, *, reason: str) -> dict[str, Any]:
    """Point the service at bundle ``name``; the previous one is kept in the history."""
    current = read_served()
    history = list(current.get("history", []))
    if current.get("bundle"):
        history.append({"bundle": current["bundle"], "since": current.get("since"), "reason": current.get("reason")})
    data = {"bundle": name, "since": datetime.now(UTC).isoformat(timespec="seconds"), "reason": reason,
            "history": history}
    write_served(data)
    return data


def served_name() -> str | None:
    settings = get_settings()
    return settings.bundle or read_served().get("bundle")


def served_bundle_dir() -> Path:
    """The bundle to load: ``MINYI_BUNDLE`` (name or path), else the served pointer."""
    name = served_name()
    if not name:
        raise ModelNotFoundError(f"no bundle is served yet (no {get_settings().models_dir / SERVED_FILE}): "
                                 f"run `minyi train`")
    path = Path(name)
    return path if path.is_absolute() or os.sep in name else bundle_dir(name)

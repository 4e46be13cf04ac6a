"""Editable copies of the packaged lists, for tests that change one file and check what the code makes of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from minyi_nlp.config import RESOURCES_DIR

PACKAGED_LISTS = RESOURCES_DIR / "lists"


def copy_lists(tmp_path: Path) -> Path:
    """A copy of the packaged lists folder under ``tmp_path``."""
    target = tmp_path / "lists"
    shutil.copytree(PACKAGED_LISTS, target)
    return target


def edit_yaml(folder: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Load ``folder/name``, let ``change`` edit the data in place, write it back."""
    path = folder / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

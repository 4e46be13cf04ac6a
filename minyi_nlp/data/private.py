"""Files that may hold personal data or secrets: created readable and writable by the owner only
(mode 0600, whatever the umask), and reject lines with their text masked."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import IO, Any

import pandas as pd

__all__ = ["PRIVATE_MODE", "mask_frame", "open_private", "readable_by_others", "write_private_csv"]

PRIVATE_MODE = 0o600


def open_private(path: str | Path, mode: str = "w", *, encoding: str | None = "utf-8", newline: str | None = None
                 ) -> IO[Any]:
    """``open(path, mode)`` for writing ("w", "a", "wb", "ab"), the file created or narrowed to 0600."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_MODE)
    with contextlib.suppress(OSError):  # a file system without modes (some mounts): nothing to narrow
        os.fchmod(fd, PRIVATE_MODE)  # an existing file keeps its mode on open(): narrow it
    if "b" in mode:
        return os.fdopen(fd, mode)
    return os.fdopen(fd, mode, encoding=encoding, newline=newline)


def write_private_csv(frame: pd.DataFrame, path: str | Path, **to_csv: Any) -> None:
    """``frame.to_csv(path, index=False)`` into a 0600 file (UTF-8)."""
    with open_private(path, "w", newline="") as fh:
        frame.to_csv(fh, index=False, **to_csv)


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with :func:`minyi_nlp.text.mask_pii` applied to every text cell (numbers and empty cells
    are kept): what a rejects file may hold."""
    from minyi_nlp.text import mask_pii

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: mask_pii(v) if isinstance(v, str) else v)
    return out


def readable_by_others(path: str | Path) -> bool:
    """True when group or others may read or write ``path`` (POSIX modes)."""
    return bool(Path(path).stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))

"""Checkpointed output of a batch job: numbered part files, a manifest, and the final merge.

Layout while a job runs (``OUT`` is the ``--output`` path)::

    OUT.parts/manifest.json          what the parts were computed from (input fingerprint, params, model)
    OUT.parts/.lock                  held (flock) by the running job
    OUT.parts/part-FFFFF-CCCCCCC.parquet     output rows of chunk C of input file F
    OUT.parts/rejects-FFFFF-CCCCCCC.parquet  reject lines of that chunk (only if it has any)
    OUT.parts/errors-FFFFF-CCCCCCC.parquet   rows of that chunk the dispatcher failed on (if any)

Every file is written to a temporary name, fsynced and renamed into place, so a part either exists
whole or not at all; the output part is written after the chunk's rejects/errors and marks the chunk
done.
A killed job leaves only whole parts; re-run with the same manifest, it skips them. When every chunk
is done the parts are merged, in chunk order, into ``OUT`` (one Parquet file, written to a temporary
name and renamed), the rejects into ``OUT.rejects.csv``, and ``OUT.parts`` is removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from minyi_nlp.data.private import open_private
from minyi_nlp.data.schema import DataError

MANIFEST_FORMAT = 2  # 2: appeal type and jurisdiction columns (parts of format 1 lack them)
_PART_RE = re.compile(r"^part-(\d{5})-(\d{7})\.parquet$")


class ResumeMismatch(DataError):
    """Unfinished parts exist for this output but were computed from something else."""


class JobLocked(DataError):
    """Another job is writing the same output."""


def chunk_key(file_index: int, chunk_index: int) -> str:
    return f"{file_index:05d}-{chunk_index:07d}"


def _fsync_replace(tmp: Path, final: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)


def _describe_mismatch(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = []
    if old.get("model_version") != new.get("model_version"):
        out.append(f"model: parts were written by {old.get('model_version')!r}, now {new.get('model_version')!r}")
    if old.get("params") != new.get("params"):
        before, now = old.get("params") or {}, new.get("params") or {}
        diffs = [f"{k} {before.get(k)!r} → {now.get(k)!r}" for k in sorted(set(before) | set(now))
                 if before.get(k) != now.get(k)]
        out.append("parameters: " + ", ".join(diffs))
    if old.get("input") != new.get("input"):
        before = {f["name"]: f for f in old.get("input") or []}
        now = {f["name"]: f for f in new.get("input") or []}
        diffs = [f"{n} added" for n in sorted(set(now) - set(before))]
        diffs += [f"{n} removed" for n in sorted(set(before) - set(now))]
        diffs += [f"{n} changed (size/mtime)" for n in sorted(set(now) & set(before)) if now[n] != before[n]]
        out.append("input: " + (", ".join(diffs) or "file list differs"))
    return out


@dataclass
class MergeStats:
    """What the merge saw: per-part tallies go to ``on_part``; these are the totals."""

    rows: int = 0
    reject_lines: int = 0


class PartStore:
    """The ``OUT.parts`` directory of one output path."""

    def __init__(self, output: Path) -> None:
        self.output = Path(output)
        self.dir = self.output.with_name(self.output.name + ".parts")
        self.manifest_path = self.dir / "manifest.json"
        self._lock_fd: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self, fingerprint: dict[str, Any], *, restart: bool = False) -> dict[str, Any]:
        """Lock the parts directory and check or create its manifest; returns the manifest.

        An existing manifest with finished parts must have the same ``fingerprint`` (input files,
        parameters, model version), else :class:`ResumeMismatch`; ``restart`` discards the old parts.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            manifest = self.read_manifest()
            if manifest is not None and (restart or not self.done_keys()):  # nothing to resume
                self._clear()
                manifest = None
            if manifest is not None:
                old = manifest.get("fingerprint") or {}
                if manifest.get("format") != MANIFEST_FORMAT or old != fingerprint:
                    problems = _describe_mismatch(old, fingerprint) or ["manifest format differs"]
                    raise ResumeMismatch(
                        f"{self.dir} holds an unfinished run that cannot be resumed with this command: "
                        + "; ".join(problems)
                        + ". Re-run with the original input/model/parameters to finish it, "
                        "or pass --restart to discard it (or choose another --output)."
                    )
            else:
                self._clear()
                manifest = {"format": MANIFEST_FORMAT, "fingerprint": fingerprint, "state": {}}
                self.write_manifest(manifest)
            for tmp in self.dir.glob("*.tmp*"):  # left by a killed writer; we hold the lock
                tmp.unlink(missing_ok=True)
            return manifest
        except BaseException:
            self.close()
            raise

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no protection against two concurrent jobs
            return
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JobLocked(f"{self.dir} is locked: another reclassify job is writing {self.output}") from None
        self._lock_fd = fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _clear(self) -> None:
        for p in self.dir.iterdir():
            if p.name != ".lock":
                shutil.rmtree(p) if p.is_dir() else p.unlink()

    def remove(self) -> None:
        """Delete the parts directory (after a successful merge)."""
        shutil.rmtree(self.dir, ignore_errors=True)
        self.close()

    # -- manifest -------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        if not self.manifest_path.exists():
            return None
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # a torn manifest cannot happen (atomic write); treat a foreign file as absent

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        tmp = self.manifest_path.with_name(f"manifest.json.tmp{os.getpid()}")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_replace(tmp, self.manifest_path)

    # -- parts ----------------------------------------------------------------------------------
    def part_path(self, key: str) -> Path:
        return self.dir / f"part-{key}.parquet"

    def rejects_path(self, key: str) -> Path:
        return self.dir / f"rejects-{key}.parquet"

    def errors_path(self, key: str) -> Path:
        return self.dir / f"errors-{key}.parquet"

    def done_keys(self) -> set[str]:
        out = set()
        for p in self.dir.iterdir() if self.dir.exists() else ():
            m = _PART_RE.match(p.name)
            if m:
                out.add(f"{m.group(1)}-{m.group(2)}")
        return out

    def _write_table(self, table: pa.Table, final: Path) -> None:
        tmp = final.with_name(f"{final.name}.tmp{os.getpid()}")
        pq.write_table(table, tmp)
        _fsync_replace(tmp, final)

    def write_rejects(self, key: str, rejects: pd.DataFrame) -> None:
        """The chunk's reject lines (call before :meth:`write_part`; nothing is written if empty)."""
        if len(rejects):
            self._write_table(pa.Table.from_pandas(rejects, preserve_index=False), self.rejects_path(key))

    def write_errors(self, key: str, errors: pd.DataFrame) -> None:
        """Reject lines for rows the dispatcher failed on (call before :meth:`write_part`)."""
        if len(errors):
            self._write_table(pa.Table.from_pandas(errors, preserve_index=False), self.errors_path(key))

    def write_part(self, key: str, table: pa.Table) -> None:
        """The chunk's output rows; once this returns the chunk is done."""
        self._write_table(table, self.part_path(key))

    # -- merge ----------------------------------------------------------------------------------
    def iter_parts(self, keys: list[str]) -> Iterator[tuple[str, pa.Table]]:
        for key in keys:
            yield key, pq.read_table(self.part_path(key))

    def merge(
        self,
        keys: list[str],
        schema: pa.Schema,
        rejects_out: Path,
        *,
        on_part: Callable[[pa.Table], None] | None = None,
        on_rejects: Callable[[pd.DataFrame], None] | None = None,
        check: Callable[[], None] | None = None,
    ) -> MergeStats:
        """Concatenate the parts of ``keys`` (in that order) into the output and the rejects CSV.

        Both are written to temporary files; ``check`` (raise to abort) runs before they are renamed
        into place, the output last. Each part becomes one row group, so memory stays bounded by the
        batch size here too (a larger ``batch_size`` gives larger row groups).
        """
        stats = MergeStats()
        # temporary files in the parts directory (same file system): a killed merge leaves nothing
        # next to the output, and the next run's open() sweeps them
        tmp = self.dir / f"merged-output.parquet.tmp{os.getpid()}"
        rejects_tmp = self.dir / f"merged-rejects.csv.tmp{os.getpid()}"
        try:
            stats.rows = self._merge_parts(keys, schema, tmp, on_part)
            stats.reject_lines = self._merge_rejects(keys, rejects_tmp, on_rejects)
            if check is not None:
                check()
        except BaseException:  # also Ctrl-C: leave no temporary file next to the output
            tmp.unlink(missing_ok=True)
            rejects_tmp.unlink(missing_ok=True)
            raise
        _fsync_replace(rejects_tmp, rejects_out)
        _fsync_replace(tmp, self.output)
        return stats

    def _merge_parts(
        self, keys: list[str], schema: pa.Schema, tmp: Path, on_part: Callable[[pa.Table], None] | None
    ) -> int:
        rows = 0
        with pq.ParquetWriter(tmp, schema) as writer:
            for _, table in self.iter_parts(keys):
                table = table.cast(schema)
                if on_part is not None:
                    on_part(table)
                if table.num_rows:
                    writer.write_table(table)
                rows += table.num_rows
        return rows

    def _merge_rejects(
        self, keys: list[str], tmp: Path, on_rejects: Callable[[pd.DataFrame], None] | None
    ) -> int:
        paths = [p for k in keys for p in (self.rejects_path(k), self.errors_path(k)) if p.exists()]
        columns: dict[str, None] = dict.fromkeys(("source", "row", "rule", "field", "reason"))
        for p in paths:
            columns.update(dict.fromkeys(pq.read_schema(p).names))
        lines = 0
        with open_private(tmp, "w", newline="") as fh:  # reject lines hold (masked) appeal text: 0600
            pd.DataFrame(columns=list(columns)).to_csv(fh, index=False)
            for p in paths:
                frame = pq.read_table(p).to_pandas().reindex(columns=list(columns))
                if on_rejects is not None:
                    on_rejects(frame)
                frame.to_csv(fh, header=False, index=False)
                lines += len(frame)
        return lines

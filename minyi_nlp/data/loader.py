"""Load a declared source (``resources/sources.yaml``) or an ad-hoc file into the canonical frame.

``load_source("shangluo_mailbox")`` / ``load_file(path, {"content": "text", "category": "label"})``
read the file, map its columns, validate every row and report duplicates. Invalid rows go to
``LoadResult.rejects`` (and to ``rejects_path`` as UTF-8 CSV, mode 0600) with their original values,
personal data masked; duplicates
are reported, not dropped. Raw files are only ever read.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from minyi_nlp.data.private import write_private_csv
from minyi_nlp.data.readers import read_table
from minyi_nlp.data.schema import (
    CANONICAL_COLUMNS,
    GENERATED,
    MAPPABLE_FIELDS,
    DataError,
    SourceSpec,
    TableSpec,
    empty_canonical_frame,
)
from minyi_nlp.data.validate import check_rows, find_duplicates, rejects_frame, require_columns

logger = logging.getLogger(__name__)


def sources_file() -> Path:
    """The packaged ``sources.yaml``."""
    from minyi_nlp.config import RESOURCES_DIR

    return RESOURCES_DIR / "sources.yaml"


def _read_config(config_path: Path | None) -> dict[str, Any]:
    path = config_path or sources_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise DataError(f"{path}: cannot read the sources config ({err})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping with 'sources:'")
    return data


def label_sets(config_path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """Named label sets declared in ``sources.yaml`` (e.g. ``teddy_7``)."""
    raw = _read_config(config_path).get("label_sets") or {}
    return {str(k): tuple(str(x) for x in v) for k, v in raw.items()}


def source_specs(config_path: Path | None = None) -> dict[str, SourceSpec]:
    """All declared appeal sources by name (``labels: <name>`` resolved against ``label_sets``)."""
    data = _read_config(config_path)
    sets = {str(k): list(v) for k, v in (data.get("label_sets") or {}).items()}
    specs: dict[str, SourceSpec] = {}
    for entry in data.get("sources") or []:
        entry = dict(entry)
        if isinstance(entry.get("labels"), str):
            name = entry["labels"]
            if name not in sets:
                raise DataError(
                    f"source {entry.get('name')!r}: unknown label set {name!r}; known: {sorted(sets)}"
                )
            entry["labels"] = sets[name]
        try:
            spec = SourceSpec.model_validate(entry)
        except ValueError as err:
            raise DataError(f"invalid source entry {entry.get('name')!r} in sources config: {err}") from None
        if spec.name in specs:
            raise DataError(f"source {spec.name!r} is declared twice")
        specs[spec.name] = spec
    return specs


def table_specs(config_path: Path | None = None) -> dict[str, TableSpec]:
    """Declared reference tables (not appeals) by name."""
    return {
        spec.name: spec
        for spec in (TableSpec.model_validate(e) for e in _read_config(config_path).get("tables") or [])
    }


def get_source(name: str, config_path: Path | None = None) -> SourceSpec:
    """One declared source; :class:`DataError` listing the known names if absent."""
    specs = source_specs(config_path)
    if name not in specs:
        raise DataError(f"unknown source {name!r}; declared sources: {sorted(specs)}")
    return specs[name]


@dataclass(frozen=True)
class LoadResult:
    """What a load produced.

    ``frame``: canonical frame of valid rows (columns per :mod:`minyi_nlp.data.schema`, then extras);
    ``rejects``: one line per failed rule (source, row, rule, field, reason, original values);
    ``duplicates``: duplicated rows among the valid ones (kind ``content``/``id``, group, size, row, id,
    category, conflict, content); ``rows_read``: data rows in the file.
    """

    source: str
    path: Path
    spec: SourceSpec
    rows_read: int
    frame: pd.DataFrame
    rejects: pd.DataFrame
    duplicates: pd.DataFrame

    @property
    def pretokenized(self) -> bool:
        return self.spec.pretokenized

    def summary(self) -> dict[str, Any]:
        """Counts: rows read, valid, rejected (rows, and rows per rule), duplicate groups/rows."""
        by_rule: dict[str, int] = {}
        if len(self.rejects):
            counts = self.rejects.drop_duplicates(["row", "rule"])["rule"].value_counts()
            by_rule = {str(k): int(v) for k, v in counts.sort_index().items()}
        dup = self.duplicates

        def _count(kind: str) -> tuple[int, int, int]:
            part = dup[dup["kind"] == kind]
            conflicts = part.loc[part["conflict"].astype(bool), "group"].nunique()
            return int(part["group"].nunique()), len(part), int(conflicts)

        c_groups, c_rows, c_conflicts = _count("content")
        i_groups, i_rows, _ = _count("id")
        return {
            "source": self.source,
            "path": str(self.path),
            "rows_read": self.rows_read,
            "valid": len(self.frame),
            "rejected": int(self.rejects["row"].nunique()) if len(self.rejects) else 0,
            "rejected_by_reason": by_rule,
            "duplicate_content_groups": c_groups,
            "duplicate_content_rows": c_rows,
            "duplicate_content_label_conflicts": c_conflicts,
            "duplicate_id_groups": i_groups,
            "duplicate_id_rows": i_rows,
        }


def _cell(value: object) -> object:
    """A source cell as stripped text (``None`` if missing/blank); dates and datetimes kept native."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float):
        if value != value:
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, pd.Timestamp | bool) or hasattr(value, "isoformat"):
        return value
    return str(value).strip() or None


def _as_str(value: object) -> str | None:
    value = _cell(value)
    return None if value is None else str(value)


def _field_values(raw: pd.DataFrame, columns: Sequence[str], field: str) -> list[object]:
    if len(columns) == 1:
        cells = [_cell(v) for v in raw[columns[0]].tolist()]
        return cells if field == "submitted_at" else [None if c is None else str(c) for c in cells]
    sep = " " if field == "submitted_at" else ""
    parts = [[_as_str(v) for v in raw[col].tolist()] for col in columns]
    joined = [sep.join(p for p in row if p) for row in zip(*parts, strict=True)]
    return [j or None for j in joined]


def _check_columns(raw: pd.DataFrame, spec: SourceSpec, path: Path) -> None:
    require_columns(path, spec.required_columns(), list(raw.columns), context=f" for source {spec.name!r}")


def _map_columns(raw: pd.DataFrame, spec: SourceSpec) -> pd.DataFrame:
    """Canonical-shaped frame (object cells) for every row of ``raw``; no validation yet."""
    n = len(raw)
    rows = list(range(1, n + 1))
    data: dict[str, list[object]] = {}
    for col in CANONICAL_COLUMNS:
        if col == "source":
            data[col] = [spec.name] * n
        elif col == "row":
            data[col] = rows
        elif col == "id" and spec.generated_id:
            data[col] = [f"{spec.name}:{r}" for r in rows]
        else:
            cols = spec.source_columns(col)
            data[col] = _field_values(raw, cols, col) if cols else [None] * n
    for new, col in spec.extra.items():
        data[new] = [_as_str(v) for v in raw[col].tolist()]
    return pd.DataFrame(data, index=pd.RangeIndex(n), dtype=object)


def _finalise(frame: pd.DataFrame, dates: pd.Series, extra: Sequence[str]) -> pd.DataFrame:
    out = empty_canonical_frame(tuple(extra)) if frame.empty else frame.copy()
    if frame.empty:
        return out
    for col in out.columns:
        if col == "row":
            out[col] = out[col].astype("int64")
        elif col == "submitted_at":
            out[col] = dates
        else:
            out[col] = out[col].astype("string")
    return out.reset_index(drop=True)


def _load(
    spec: SourceSpec,
    path: Path,
    *,
    rejects_path: Path | None,
    labels: Collection[str] | None,
    max_content_chars: int | None,
) -> LoadResult:
    if max_content_chars is None:
        from minyi_nlp.config import get_settings

        max_content_chars = get_settings().max_content_chars
    raw = read_table(path, fmt=spec.format, sheet=spec.sheet, encoding=spec.encoding)
    raw = raw.reset_index(drop=True)
    _check_columns(raw, spec, path)
    mapped = _map_columns(raw, spec)
    if labels is None:
        labels = spec.labels
    problems, dates, keys = check_rows(mapped, max_content_chars=max_content_chars, labels=labels)
    rejects = rejects_frame(spec.name, problems, raw)
    bad_rows = {p.row for p in problems}
    keep = ~mapped["row"].isin(bad_rows)
    frame = _finalise(mapped[keep], dates[keep], tuple(spec.extra))
    duplicates = find_duplicates(frame, keys[keep].reset_index(drop=True))
    result = LoadResult(
        source=spec.name,
        path=path,
        spec=spec,
        rows_read=len(raw),
        frame=frame,
        rejects=rejects,
        duplicates=duplicates,
    )
    if rejects_path is not None:
        rejects_path = Path(rejects_path)
        rejects_path.parent.mkdir(parents=True, exist_ok=True)
        write_private_csv(rejects, rejects_path)
    s = result.summary()
    reasons = ", ".join(f"{k}={v}" for k, v in s["rejected_by_reason"].items())
    logger.info(
        "%s: %d rows read, %d valid, %d rejected%s, %d duplicate-content groups (%d rows), "
        "%d duplicated ids (%d rows)",
        s["source"],
        s["rows_read"],
        s["valid"],
        s["rejected"],
        f" ({reasons})" if reasons else "",
        s["duplicate_content_groups"],
        s["duplicate_content_rows"],
        s["duplicate_id_groups"],
        s["duplicate_id_rows"],
    )
    return result


def load_source(
    name_or_spec: str | SourceSpec,
    *,
    raw_dir: Path | None = None,
    rejects_path: Path | None = None,
    labels: Collection[str] | None = None,
    max_content_chars: int | None = None,
    config_path: Path | None = None,
) -> LoadResult:
    """Load a declared source by name (or a :class:`SourceSpec`) from ``raw_dir`` (default: settings).

    ``labels`` overrides the spec's declared label set; ``max_content_chars`` overrides the setting.
    """
    spec = get_source(name_or_spec, config_path) if isinstance(name_or_spec, str) else name_or_spec
    if raw_dir is None:
        from minyi_nlp.config import get_settings

        raw_dir = get_settings().raw_dir
    return _load(
        spec,
        spec.resolve_path(Path(raw_dir)),
        rejects_path=rejects_path,
        labels=labels,
        max_content_chars=max_content_chars,
    )


def load_file(
    path: str | Path,
    mapping: Mapping[str, str | Sequence[str]],
    *,
    name: str | None = None,
    fmt: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    extra: Sequence[str] | Mapping[str, str] | None = None,
    pretokenized: bool = False,
    rejects_path: Path | None = None,
    labels: Collection[str] | None = None,
    max_content_chars: int | None = None,
) -> LoadResult:
    """Load an ad-hoc file with a column mapping, e.g. ``{"content": "text", "category": "label"}``.

    Without ``mapping["id"]`` ids are generated as ``<name>:<row>`` (``name`` defaults to the file stem).
    """
    path = Path(path)
    columns = {k: (v if isinstance(v, str) else list(v)) for k, v in mapping.items() if v != GENERATED}
    unknown = sorted(set(columns) - set(MAPPABLE_FIELDS))
    if unknown:
        raise DataError(f"unknown canonical field(s) {unknown} in mapping; allowed: {list(MAPPABLE_FIELDS)}")
    try:
        spec = SourceSpec(
            name=name or path.stem,
            path=str(path),
            format=fmt,  # type: ignore[arg-type]
            sheet=sheet,
            encoding=encoding,
            id=None if "id" in columns else GENERATED,
            columns=columns,
            extra=extra or {},  # type: ignore[arg-type]
            pretokenized=pretokenized,
        )
    except ValueError as err:
        raise DataError(f"{path}: invalid mapping: {err}") from None
    return _load(spec, path, rejects_path=rejects_path, labels=labels, max_content_chars=max_content_chars)


def load_table(name: str, *, raw_dir: Path | None = None, config_path: Path | None = None) -> pd.DataFrame:
    """A declared reference table (``tables:`` in sources.yaml): its declared columns, stripped strings."""
    specs = table_specs(config_path)
    if name not in specs:
        raise DataError(f"unknown table {name!r}; declared tables: {sorted(specs)}")
    spec = specs[name]
    if raw_dir is None:
        from minyi_nlp.config import get_settings

        raw_dir = get_settings().raw_dir
    path = spec.resolve_path(Path(raw_dir))
    raw = read_table(path, fmt=spec.format, sheet=spec.sheet, encoding=spec.encoding)
    missing = [c for c in spec.columns if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: missing required column(s) {missing}; columns found: {list(raw.columns)}")
    return raw[spec.columns].apply(lambda s: s.str.strip()).astype("string")

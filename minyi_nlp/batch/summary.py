"""End-of-job summary: counts, changed categories (from → to), throughput; as text, JSON and a PNG."""

from __future__ import annotations

import json
import sys
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa


@dataclass
class Tally:
    """Accumulated over the merged parts and rejects (bounded: counters keyed by label)."""

    rows: int = 0
    needs_review: int = 0
    urgent: int = 0
    with_previous: int = 0
    changed: int = 0
    predicted: Counter[str] = field(default_factory=Counter)
    appeal_types: Counter[str] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    rejected_rows: int = 0
    rejected_by_rule: Counter[str] = field(default_factory=Counter)

    def add_part(self, table: pa.Table) -> None:
        frame = table.select(["category_1", "appeal_type", "urgent", "needs_review", "previous_category",
                              "changed"]).to_pandas()
        self.rows += len(frame)
        self.needs_review += int(frame["needs_review"].sum())
        self.urgent += int(frame["urgent"].sum())
        self.predicted.update(frame["category_1"].dropna().tolist())
        self.appeal_types.update(frame["appeal_type"].dropna().tolist())
        prev = frame[frame["previous_category"].notna()]
        self.with_previous += len(prev)
        self.changed += int(prev["changed"].astype(bool).sum())
        moved = prev[prev["changed"].astype(bool)]
        self.transitions.update(zip(moved["previous_category"], moved["category_1"], strict=True))

    def add_rejects(self, frame: pd.DataFrame) -> None:
        self.rejected_rows += int(frame.drop_duplicates(["source", "row"]).shape[0])
        self.rejected_by_rule.update(frame.drop_duplicates(["source", "row", "rule"])["rule"].tolist())


@dataclass
class Summary:
    """What a reclassify job did (all counts are input rows)."""

    output: str
    rejects: str
    engine: str
    workers: int
    batch_size: int
    top_k: int
    model_version: str
    files: int
    rows_read: int
    predicted: int
    rejected: int
    rejected_by_rule: dict[str, int]
    needs_review: int
    urgent: int
    with_previous_label: int
    changed: int
    changed_share: float | None
    changes: list[dict[str, Any]]
    predicted_categories: dict[str, int]
    predicted_appeal_types: dict[str, int]
    resumed_rows: int
    rows_this_run: int
    elapsed_s: float
    processing_s: float
    rows_per_s: float | None
    warmup_s: float | None = None
    steady_rows_per_s: float | None = None
    peak_rss_mb: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write_json(self, path: Path) -> Path:
        path.write_text(json.dumps(self.as_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    def format_text(self, max_changes: int = 20) -> str:
        lines = [
            f"reclassified {self.predicted:,} of {self.rows_read:,} rows from {self.files} file(s) "
            f"with {self.model_version} → {self.output}",
            f"rejected {self.rejected:,} rows → {self.rejects}"
            + (f" ({', '.join(f'{k}={v}' for k, v in self.rejected_by_rule.items())})" if self.rejected else ""),
            f"needs review: {self.needs_review:,}; flagged urgent: {self.urgent:,}",
        ]
        if self.predicted_appeal_types:
            lines.append("appeal types: " + ", ".join(f"{k} {v:,}" for k, v in self.predicted_appeal_types.items()))
        if self.with_previous_label:
            lines.append(
                f"changed category: {self.changed:,} of {self.with_previous_label:,} rows with a previous label"
                f" ({100 * (self.changed_share or 0):.1f} %)"
            )
            if self.changes:
                width = max(_width(c["from"]) for c in self.changes[:max_changes])
                lines.append(f"  {_pad('from', width)}  →  to  (rows)")
                for c in self.changes[:max_changes]:
                    lines.append(f"  {_pad(c['from'], width)}  →  {c['to']}  ({c['rows']:,})")
                if len(self.changes) > max_changes:
                    lines.append(f"  … {len(self.changes) - max_changes} more pairs in the JSON summary")
        else:
            lines.append("changed category: no previous labels in the input")
        speed = f"{self.rows_per_s:,.1f} rows/s" if self.rows_per_s else "n/a"
        resumed = f", {self.resumed_rows:,} rows resumed from an earlier run" if self.resumed_rows else ""
        lines.append(
            f"throughput: {speed} ({self.rows_this_run:,} rows in {self.processing_s:.1f} s, engine {self.engine}, "
            f"{self.workers} worker(s){resumed}); total {self.elapsed_s:.1f} s"
        )
        if self.peak_rss_mb:
            lines.append(f"peak memory of this process: {self.peak_rss_mb:,.0f} MB (workers/actors not included)")
        if self.steady_rows_per_s:
            lines.append(
                f"  after start-up ({self.warmup_s:.1f} s to the first chunk): {self.steady_rows_per_s:,.1f} rows/s"
            )
        return "\n".join(lines)


def _width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, MB.

    Linux: ``max(VmHWM, VmRSS)`` from ``/proc/self/status`` (``VmHWM`` starts afresh at exec, unlike
    ``getrusage``'s ``ru_maxrss``, which a child inherits from its parent; the kernel updates it lazily,
    hence the max with the current RSS). Elsewhere ``ru_maxrss``.
    """
    try:
        fields = dict(
            line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
        )
        kib = max(int(fields["VmHWM"].split()[0]), int(fields["VmRSS"].split()[0]))
        return round(kib / 1024, 1)
    except (OSError, KeyError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024, 1)


def build_summary(tally: Tally, **fields: Any) -> Summary:
    changes = [{"from": a, "to": b, "rows": n} for (a, b), n in tally.transitions.most_common()]
    return Summary(
        predicted=tally.rows,
        rejected=tally.rejected_rows,
        rejected_by_rule=dict(sorted(tally.rejected_by_rule.items())),
        needs_review=tally.needs_review,
        urgent=tally.urgent,
        with_previous_label=tally.with_previous,
        changed=tally.changed,
        changed_share=(tally.changed / tally.with_previous) if tally.with_previous else None,
        changes=changes,
        predicted_categories=dict(tally.predicted.most_common()),
        predicted_appeal_types=dict(tally.appeal_types.most_common()),
        peak_rss_mb=peak_rss_mb(),
        **fields,
    )


def plot_summary(summary: Summary, path: Path, max_labels: int = 15) -> Path:
    """PNG: predicted top-1 categories (bar) and previous → new categories (heat map) if any."""
    from minyi_nlp.models.plots import display_labels, pyplot

    plt = pyplot()
    has_prev = bool(summary.with_previous_label)
    fig, axes = plt.subplots(1, 2 if has_prev else 1, figsize=(14 if has_prev else 7, 6), squeeze=False)
    ax = axes[0][0]
    cats = list(summary.predicted_categories)[:max_labels]
    counts = [summary.predicted_categories[c] for c in cats]
    ax.barh(display_labels(cats), counts, color="#4c72b0")
    ax.invert_yaxis()
    ax.set_xlabel("rows")
    ax.set_title(f"Predicted category (top-1), {summary.predicted:,} rows")
    if has_prev:
        _plot_transitions(axes[0][1], summary, max_labels, display_labels)
    fig.suptitle(
        f"reclassify: {summary.rows_read:,} rows read, {summary.rejected:,} rejected, "
        f"{summary.changed:,} changed — {summary.model_version[:60]}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _plot_transitions(ax: Any, summary: Summary, max_labels: int, display_labels: Any) -> None:
    import numpy as np

    new = list(summary.predicted_categories)[:max_labels]
    olds: Counter[str] = Counter()
    for c in summary.changes:
        olds[c["from"]] += c["rows"]
    old = [k for k, _ in olds.most_common(max_labels)]
    if not old:
        ax.text(0.5, 0.5, "no category changed", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    grid = np.zeros((len(old), len(new)), dtype=int)
    for c in summary.changes:
        if c["from"] in old and c["to"] in new:
            grid[old.index(c["from"]), new.index(c["to"])] += c["rows"]
    ax.imshow(grid, cmap="Oranges")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if grid[i, j]:
                ax.text(j, i, f"{grid[i, j]:,}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(new)), display_labels(new), rotation=40, ha="right")
    ax.set_yticks(range(len(old)), display_labels(old))
    ax.set_xlabel("new category")
    ax.set_ylabel("previous category")
    ax.set_title(f"Changed: {summary.changed:,} of {summary.with_previous_label:,} with a previous label")

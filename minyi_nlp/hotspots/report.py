"""Hot-issue outputs: CSV, XLSX (with a member sheet), JSON, a PNG (bars + timeline) and a text table.

Every text written here comes from preprocessed, PII-masked titles and texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from minyi_nlp.hotspots.heat import __doc__ as HEAT_DOC
from minyi_nlp.hotspots.pipeline import Hotspot, HotspotResult

__all__ = ["hotspot_frame", "plot_hotspots", "text_table", "write_reports"]

_COLUMNS = ("rank", "heat", "place", "people", "description", "start", "end", "n", "citizens", "likes", "dislikes",
            "span_days", "support", "recency", "burst", "growth", "ids")
_SHORT = 18


def hotspot_frame(result: HotspotResult) -> pd.DataFrame:
    """One row per hot issue; ``ids`` joined by spaces."""
    rows = []
    for h in result.hotspots:
        rec = h.record()
        rec["ids"] = " ".join(h.ids)
        rows.append({c: rec[c] for c in _COLUMNS})
    return pd.DataFrame(rows, columns=list(_COLUMNS))


def _members(result: HotspotResult) -> pd.DataFrame:
    rows = [
        {"rank": h.rank, "id": i, "time": t.isoformat(sep=" ", timespec="seconds") if t else None, "title": title}
        for h in result.hotspots
        for i, t, title in zip(h.ids, h.times, h.member_titles, strict=True)
    ]
    return pd.DataFrame(rows, columns=["rank", "id", "time", "title"])


def _label(h: Hotspot) -> str:
    where = h.place or h.people
    title = h.title if len(h.title) <= _SHORT else h.title[: _SHORT - 1] + "…"
    return f"#{h.rank} {where[:12]}｜{title}" if where else f"#{h.rank} {title}"


def plot_hotspots(result: HotspotResult, path: Path) -> Path:
    """Top N as horizontal bars of heat (left) and each one's appeals on a time axis (right)."""
    from minyi_nlp.models.plots import pyplot, save_figure

    plt = pyplot()
    hs = result.hotspots
    fig, (bars, timeline) = plt.subplots(
        1, 2, figsize=(15, 0.45 * max(len(hs), 3) + 1.8), gridspec_kw={"width_ratios": [1, 1.3]}, sharey=True
    )
    labels = [_label(h) for h in hs]
    ys = list(range(len(hs)))
    bars.barh(ys, [h.heat for h in hs], color="#c44e52")
    for y, h in zip(ys, hs, strict=True):
        bars.text(h.heat, y, f" {h.heat:.1f} ({h.n}条/{h.citizens}人)", va="center", fontsize=8)
    bars.set_yticks(ys, labels, fontsize=8)
    bars.invert_yaxis()
    bars.set_xlabel("heat index (热度)")
    bars.set_title(f"Top {len(hs)} hot issues")
    bars.set_xlim(0, max([h.heat for h in hs], default=1) * 1.35)
    for y, h in zip(ys, hs, strict=True):
        times = [t for t in h.times if t is not None]
        if times:
            timeline.scatter(times, [y] * len(times), s=14, alpha=0.6, color="#4c72b0")
            timeline.plot([min(times), max(times)], [y, y], color="#4c72b0", linewidth=0.8, alpha=0.5)
    timeline.set_xlabel("time of each appeal")
    timeline.set_title("Timeline")
    timeline.grid(axis="x", alpha=0.3)
    fig.autofmt_xdate()
    return save_figure(fig, path)


def write_reports(result: HotspotResult, out_dir: Path, stem: str = "hotspots") -> dict[str, Path]:
    """``out_dir/hotspots.{csv,xlsx,json,png}``; returns the paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = hotspot_frame(result)
    paths = {kind: out_dir / f"{stem}.{kind}" for kind in ("csv", "xlsx", "json", "png")}
    frame.to_csv(paths["csv"], index=False, encoding="utf-8")
    with pd.ExcelWriter(paths["xlsx"], engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="热点问题", index=False)
        _members(result).to_excel(writer, sheet_name="留言明细", index=False)
    doc: dict[str, Any] = {
        "summary": result.summary(),
        "params": result.params.model_dump(),
        "heat_index": (HEAT_DOC or "").strip(),
        "hotspots": [h.record() for h in result.hotspots],
    }
    paths["json"].write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    plot_hotspots(result, paths["png"])
    return paths


def text_table(result: HotspotResult, width: int = 60) -> str:
    """The top N as a plain-text table (rank, heat, appeals, citizens, dates, description)."""
    lines = [f"{'#':>3} {'heat':>7} {'n':>4} {'人':>4}  {'from':<10} {'to':<10}  description"]
    for h in result.hotspots:
        start = h.start.strftime("%Y-%m-%d") if h.start else "-"
        end = h.end.strftime("%Y-%m-%d") if h.end else "-"
        desc = h.description if len(h.description) <= width else h.description[: width - 1] + "…"
        lines.append(f"{h.rank:>3} {h.heat:>7.1f} {h.n:>4} {h.citizens:>4}  {start:<10} {end:<10}  {desc}")
    return "\n".join(lines)

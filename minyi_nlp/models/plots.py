"""Evaluation plots (PNG): confusion matrix, reliability diagram, per-class F1."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

# English names, used when no CJK font is installed so that plots never show empty boxes.
LABEL_EN = {
    "城乡建设": "Urban-rural construction",
    "劳动和社会保障": "Labour & social security",
    "教育文体": "Education, culture, sports",
    "商贸旅游": "Commerce & tourism",
    "环境保护": "Environment",
    "卫生计生": "Health & family planning",
    "交通运输": "Transport",
}


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    from matplotlib import font_manager

    for path in font_manager.findSystemFonts():
        low = path.lower()
        if any(k in low for k in ("wqy", "noto", "cjk", "droidsansfallback", "simhei", "uming", "ukai")):
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError):
                continue
    return None


def pyplot():
    """matplotlib.pyplot on the Agg backend, with a CJK font when one is installed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = _cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def save_figure(fig, path: Path) -> Path:
    """Lay out, write as PNG (creating the folder) and close a figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def display_labels(labels: list[str]) -> list[str]:
    """Labels as they can be drawn: Chinese with a CJK font, English names otherwise."""
    if _cjk_font():
        return list(labels)
    return [LABEL_EN.get(lab, lab.encode("ascii", "replace").decode()) for lab in labels]


def plot_confusion(cm: np.ndarray, labels: list[str], path: Path, title: str = "Confusion matrix") -> Path:
    plt = pyplot()
    names = display_labels(labels)
    fig, ax = plt.subplots(figsize=(1.1 * len(labels) + 3, 1.0 * len(labels) + 2.5))
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center",
                    color="white" if norm[i, j] > 0.5 else "black", fontsize=9)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_reliability(bins: list[dict], ece: float, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    conf = [b["confidence"] for b in bins if b["count"]]
    acc = [b["accuracy"] for b in bins if b["count"]]
    counts = [b["count"] for b in bins if b["count"]]
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(conf, acc, "o-", label=f"model (ECE {ece:.3f})")
    for c, a, n in zip(conf, acc, counts, strict=True):
        ax.annotate(str(n), (c, a), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability of the top class")
    ax.set_ylabel("observed accuracy")
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left")
    return save_figure(fig, path)


def plot_per_class_f1(per_class: dict[str, dict], path: Path) -> Path:
    plt = pyplot()
    labels = list(per_class)
    f1 = [per_class[k]["f1"] for k in labels]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(labels) + 1.5))
    ax.barh(display_labels(labels), f1, color="#4c72b0")
    for i, v in enumerate(f1):
        ax.text(min(v, 0.98), i, f"{v:.3f}", va="center", ha="right", color="white", fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel("F1")
    ax.set_title("Per-class F1")
    return save_figure(fig, path)


def plot_experiments(rows: list[dict], path: Path, targets: dict[str, float] | None = None) -> Path:
    """Macro-F1 mean ± std per cross-validated variant (``rows``: name, f1_mean, f1_std, ece_mean), best on top;
    ``targets``: label → macro-F1, drawn as dashed lines."""
    plt = pyplot()
    rows = sorted(rows, key=lambda r: r["f1_mean"], reverse=True)
    names = [r["name"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(rows) + 2))
    ax.barh(names, [r["f1_mean"] for r in rows], xerr=[r["f1_std"] for r in rows], color="#4c72b0", capsize=3)
    for i, r in enumerate(rows):
        ax.text(0.801, i, f"{r['f1_mean']:.3f}  ECE {r['ece_mean']:.3f}", va="center", color="white", fontsize=8)
    for (label, value), colour in zip((targets or {}).items(), ("#c44e52", "#55a868", "#8172b2"), strict=False):
        ax.axvline(value, color=colour, linestyle="--", linewidth=1, label=f"{label} {value}")
    if targets:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.6 / len(rows)), ncol=len(targets), fontsize=8)
    ax.set_xlim(0.8, 0.96)
    ax.invert_yaxis()
    ax.set_xlabel("macro-F1, mean ± std over the 5 raw-text folds")
    ax.set_title("Category model variants (minyi cv)")
    return save_figure(fig, path)


def plot_learning_curve(curve: list[dict], path: Path, goal: float | None = None) -> Path:
    """Macro-F1 (mean ± std over folds) and ECE against the number of training appeals."""
    plt = pyplot()
    x = [c["train_appeals"] for c in curve]
    fig, (f1_ax, ece_ax) = plt.subplots(1, 2, figsize=(10, 4))
    f1_ax.errorbar(x, [c["macro_f1_mean"] for c in curve], yerr=[c["macro_f1_std"] for c in curve],
                   marker="o", capsize=3, color="#4c72b0")
    if goal is not None:
        f1_ax.axhline(goal, color="#55a868", linestyle="--", linewidth=1, label=f"goal {goal}")
        f1_ax.legend(loc="lower right", fontsize=8)
    f1_ax.set_xlabel("training appeals (outside the evaluated fold)")
    f1_ax.set_ylabel("macro-F1 on raw text, 5 folds")
    ece_ax.errorbar(x, [c["ece_mean"] for c in curve], yerr=[c["ece_std"] for c in curve],
                    marker="o", capsize=3, color="#c44e52")
    ece_ax.set_xlabel("training appeals (outside the evaluated fold)")
    ece_ax.set_ylabel("ECE (10 bins)")
    fig.suptitle("Learning curve of the category model")
    return save_figure(fig, path)


def plot_growth(x: list[float], series: dict[str, list[tuple[float, float, float]]], path: Path, *,
                targets: dict[str, float] | None = None, xlabel: str, ylabel: str, title: str) -> Path:
    """Figures against the number of labelled rows (log x): each series as mean with its min–max range,
    each target as a dashed line of the series' colour."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    colours = ["#4c72b0", "#c44e52", "#55a868", "#8172b2"]
    for colour, (name, points) in zip(colours, series.items(), strict=False):
        mean, low, high = (np.array(v, float) for v in zip(*points, strict=True))
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, color=colour, label=name)
        if targets and name in targets:
            ax.axhline(targets[name], color=colour, linestyle="--", linewidth=1, label=f"target {targets[name]:g}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [f"{v:,.0f}" for v in x])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.legend(loc="best", fontsize=8)
    ax.set_title(title, fontsize=10)
    return save_figure(fig, path)

"""Where a batch appeal's time goes: each step of ``Dispatcher.suggest_many`` timed on its own.

On ``--sample`` real Teddy Cup appeals (the texts ``bench/reclassify.py`` times its components on), in batches of
``--batch-size``, one core, the process set up as a batch process is (linear heads fused into one product per
batch, the garbage collector tuned), best of ``--repeats``. Prints µs per appeal for the whole call
(``explain=False, reasons=False``: what the batch job asks) and for each step fed with the previous steps'
outputs; what the steps leave out of the total is department ranking, deadlines and building the suggestions.
Also times jieba-rs alone on the same raw texts (one core, each text's tokens dropped once cut, as
``bench/reclassify.py`` does): the batch job reaches 0.2 of jieba-rs's speed on 2 cores when all its CPU per
appeal, in every process, stays under 2 / 0.2 = 10 × jieba-rs's time per text.
``--plot PNG`` draws the steps as one bar against that budget.

    python bench/dispatch_stages.py [--sample 3000] [--batch-size 1000] [--repeats 5] [--bundle DIR] [--plot PNG]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reclassify import jieba_rs_rates, load_pool, raw_texts, sample_pairs  # noqa: E402

from minyi_nlp.config import get_settings  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=None, help="bundle folder (default: the served one)")
    parser.add_argument("--plot", type=Path, default=None, help="write the steps against the 0.2 budget as a PNG")
    args = parser.parse_args(argv)

    from minyi_nlp.batch.predict import ready_for_batches
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.dispatch.subcategory import read_subcategories
    from minyi_nlp.models.encoder import head_text, join_masked, mask_pairs
    from minyi_nlp.routing import find_jurisdiction

    pairs = sample_pairs(load_pool(get_settings().raw_dir), args.sample)
    d = Dispatcher.load(args.bundle)
    b, enc = d.bundle, d.bundle.encoder
    ready_for_batches(d)  # as a batch process does: fused linear heads, the loaded model frozen
    batches = [pairs[i : i + args.batch_size] for i in range(0, len(pairs), args.batch_size)]
    d.suggest_many(batches[0][:50], explain=False, reasons=False)
    prepared = [[join_masked(t, c, enc.params.max_chars) for t, c in mask_pairs(p)] for p in batches]
    X = [enc.transform_prepared(p) for p in prepared]
    cat = [b.predict_proba("category", x) for x in X]
    seg, n = enc.segment.unfiltered, enc.params.head_chars
    fused = b.heads["category"].fused

    def best(fn: Callable[[], Any]) -> float:
        t = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            t = min(t, time.perf_counter() - t0)
        return t / len(pairs) * 1e6

    steps: dict[str, Callable[[], Any]] = {
        "suggest_many (all)": lambda: [d.suggest_many(p, explain=False, reasons=False) for p in batches],
        "normalise + mask": lambda: [mask_pairs(p) for p in batches],
        "segmentation (text + title)": lambda: [[seg(t) for t in p] + [seg(head_text(t, n)) for t in p]
                                                for p in prepared],
        "features (segmentation included)": lambda: [enc.transform_prepared(p) for p in prepared],
        # the fused linear heads' one product per batch; the head steps below then read their block of it
        "linear heads: one product": lambda: [fused.product(x) for x in X],
        "head: category": lambda: [b.predict_proba("category", x) for x in X],
        "head: department (+ rules)": lambda: [b.predict_proba("department", x, p)
                                               for x, p in zip(X, prepared, strict=True)],
        "head: appeal type (+ rules)": lambda: [b.predict_proba("appeal_type", x, p)
                                                for x, p in zip(X, prepared, strict=True)],
        "urgency (head + lexicon)": lambda: [d.urgency.score_many(x, p) for x, p in zip(X, prepared, strict=True)],
        "sub-categories": lambda: [read_subcategories(b, x, c, d.category_labels,
                                                      threshold=d.routing.subcategory_threshold,
                                                      top_k=d.settings.top_subcategories)
                                   for x, c in zip(X, cat, strict=True)],
        "place (jurisdiction)": lambda: [[find_jurisdiction(t, gazetteer=d.gazetteer) for t in p] for p in prepared],
    }
    out = {name: best(fn) for name, fn in steps.items()}
    raw = raw_texts(pairs)
    out["jieba-rs alone (raw text)"] = 1e6 / jieba_rs_rates(raw)[0]
    print(f"{len(pairs):,} real appeals, batches of {args.batch_size}, best of {args.repeats}, model {d.version}")
    for name, us in out.items():
        print(f"{name:<34}{us:8.1f} µs/appeal")
    budget = budget_us(out)
    print(f"{'0.2 of jieba-rs on 2 cores: budget':<34}{budget:8.1f} µs of CPU per appeal, every process of the job")
    if args.plot:
        plot_stages(out, args.plot)
        print(f"wrote {args.plot}")
    return out


def budget_us(out: dict[str, float]) -> float:
    """µs of CPU per appeal, in all the job's processes, at which 2 cores run at 0.2 of one core of jieba-rs:
    2 / 0.2 = 10 × jieba-rs's time per text."""
    return 10 * out["jieba-rs alone (raw text)"]


def plot_stages(out: dict[str, float], path: Path) -> Path:
    """One horizontal bar of the steps of ``suggest_many`` (µs per appeal) and the 0.2 budget as a line."""
    from minyi_nlp.models.plots import pyplot

    segmentation = out["segmentation (text + title)"]
    parts = {
        "normalise + mask": out["normalise + mask"],
        "segmentation": segmentation,
        "n-gram blocks": out["features (segmentation included)"] - segmentation,
        "linear heads' product": out["linear heads: one product"],
        "category": out["head: category"],
        "department": out["head: department (+ rules)"],
        "appeal type": out["head: appeal type (+ rules)"],
        "urgency": out["urgency (head + lexicon)"],
        "sub-categories": out["sub-categories"],
        "place": out["place (jurisdiction)"],
    }
    parts["ranking, deadlines, suggestions"] = max(out["suggest_many (all)"] - sum(parts.values()), 0.0)
    budget = budget_us(out)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 2.8))
    left = 0.0
    colors = plt.get_cmap("tab20").colors
    for i, (name, us) in enumerate(parts.items()):
        ax.barh(0, us, left=left, color=colors[i % len(colors)], label=f"{name} {us:.0f}")
        left += us
    ax.axvline(budget, color="black", linestyle="--")
    ax.text(budget, 0.45, f" 0.2 budget {budget:.0f} µs\n (10 × jieba-rs {out['jieba-rs alone (raw text)']:.0f} µs)",
            va="top", fontsize=8)
    ax.set_yticks([])
    ax.set_xlim(0, max(left, budget) * 1.25)
    ax.set_xlabel("µs of CPU per appeal, batches of 1,000, one core")
    ax.set_title(f"Dispatcher.suggest_many {out['suggest_many (all)']:.0f} µs per appeal; the job adds its output "
                 "table, pickling and the parent's reading and writing")
    ax.legend(ncol=4, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.45), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()

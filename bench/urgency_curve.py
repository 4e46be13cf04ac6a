"""Would more urgent examples lift the urgent flag? A learning curve over the urgency head's urgent training rows.

The flag's training rows (the urgency task: weak rules plus hand-read rows, never the hand-labelled evaluation
set) hold few urgent appeals, all of them hand-read. Here the head and its second stage are fitted as ``minyi
train`` fits them (head P cross-fitted on the training rows, the stage's ``C`` by cross-validated average
precision), but on a random share of the urgent rows, every ordinary row kept; each is scored on the
1,040 hand-labelled appeals as the shipped flag is: average precision, precision at recall 0.95, and the threshold
for recall 0.95 chosen out of fold. Shares below 1 are drawn ``--draws`` times (different seeds); the table gives
the mean and the range. The head here is fitted on all the given rows (``minyi train`` holds 15 % out), the same
for every share.

    python bench/urgency_curve.py [--bundle models/bundles/default] [--shares 0.25 0.5 0.75 1] [--draws 3]
        [--json reports/experiments/urgency-curve.json] [--plot reports/plots/urgency_curve.png]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=None, help="bundle folder (default: the served one)")
    ap.add_argument("--shares", nargs="+", type=float, default=[0.25, 0.5, 0.75, 1.0])
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--plot", type=Path, default=None, help="PNG of the curve, with the issue's target")
    args = ap.parse_args(argv)

    from urgency_setup import load_setup, refit_flag, scored

    t0 = time.perf_counter()
    u = load_setup(args.bundle)
    y, labels = u.y, u.labels
    urgent = np.flatnonzero(y == 1)
    print(f"urgency task: {len(y):,} rows, {urgent.size} urgent; {len(labels):,} hand-labelled "
          f"({int(labels['urgent'].sum())} urgent) ({time.perf_counter() - t0:.0f} s)", flush=True)

    def run(keep: np.ndarray) -> dict[str, Any]:
        r = scored(u, refit_flag(u, keep)[1])
        return {"urgent_rows": int(y[keep].sum()), "average_precision": r["average_precision"],
                "precision_at_recall_0.95": r["precision_at_recall"]["0.95"],
                "out_of_fold_recall": r["out_of_fold"]["recall"],
                "out_of_fold_precision": r["out_of_fold"]["precision"],
                "out_of_fold_flagged": r["out_of_fold"]["flagged"]}

    curve: list[dict[str, Any]] = []
    for share in args.shares:
        draws = 1 if share >= 1.0 else args.draws
        runs = []
        for seed in range(draws):
            dropped = set() if share >= 1.0 else set(np.random.default_rng(seed).choice(
                urgent, size=urgent.size - int(round(share * urgent.size)), replace=False).tolist())
            runs.append(run(np.array([i for i in range(len(y)) if i not in dropped])))
        point = {"share": share, "draws": runs}
        for key in ("average_precision", "precision_at_recall_0.95", "out_of_fold_precision", "out_of_fold_recall"):
            values = [r[key] for r in runs]
            point[key] = {"mean": round(float(np.mean(values)), 4), "min": round(min(values), 4),
                          "max": round(max(values), 4)}
        curve.append(point)
        print(f"share {share:4.2f}  urgent rows {runs[0]['urgent_rows']:3d}  "
              f"AP {point['average_precision']['mean']:.3f}  "
              f"P@R.95 {point['precision_at_recall_0.95']['mean']:.3f} "
              f"({point['precision_at_recall_0.95']['min']:.3f}–{point['precision_at_recall_0.95']['max']:.3f})  "
              f"oof R/P {point['out_of_fold_recall']['mean']:.3f}/{point['out_of_fold_precision']['mean']:.3f}  "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    out = {"bundle": u.bundle.version, "rows": len(y), "urgent_rows": int(urgent.size), "labelled": len(labels),
           "labelled_urgent": int(labels["urgent"].sum()), "seconds": round(time.perf_counter() - t0, 1),
           "curve": curve}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if args.plot:
        from minyi_nlp.models.plots import plot_growth

        names = {"precision_at_recall_0.95": "precision at recall 0.95", "average_precision": "average precision"}
        series = {label: [(c[k]["mean"], c[k]["min"], c[k]["max"]) for c in curve] for k, label in names.items()}
        plot_growth([c["draws"][0]["urgent_rows"] for c in curve], series, args.plot,
                    targets={"precision at recall 0.95": u.targets.precision},
                    xlabel="urgent training rows (hand-read; every ordinary row kept)",
                    ylabel=f"{len(labels):,} hand-labelled appeals ({int(labels['urgent'].sum())} urgent)",
                    title="Urgent flag: how it grows with urgent training examples")
    return out


if __name__ == "__main__":
    main()

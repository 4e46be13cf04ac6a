"""Quality of hot-issue grouping on Teddy Cup 附件3, against the hand-checked labels, for each method.

Runs ``find_hotspots`` on ``data/raw/teddy2020_c/fj3_hot_issue_messages_4326.xlsx`` once per grouping method
(``linkage``, the default, and the ``average`` and ``hdbscan`` alternatives; ``linkage-bundle``: linkage on the
served bundle's encoder instead of one fitted on the input; ``service``: the links the service makes at intake, see
:func:`run_service`) and scores every appeal's group
against ``data/labels/hotspots/events.csv`` (671 appeals read and given an event by hand, see its README):

* **purity** of the top groups by heat: the share of their members that report the group's majority event,
  over the top 10 and over the top groups that hold at least ``--min-checked`` (200) members, also without
  one-appeal groups (which are trivially pure); members without a label are counted and left out;
* **B-cubed** precision, recall and F1 over the labelled appeals (the whole partition, not only the top);
* **event recall**: for each labelled event with ≥ 5 appeals, the share of them in its largest group.

    python bench/hotspots_quality.py [--methods linkage,average,hdbscan] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from minyi_nlp.config import get_settings  # noqa: E402
from minyi_nlp.hotspots import HotspotParams, InputReader, find_hotspots  # noqa: E402

LABELS = get_settings().data_dir / "labels" / "hotspots" / "events.csv"
FJ3 = get_settings().raw_dir / "teddy2020_c" / "fj3_hot_issue_messages_4326.xlsx"


def event_of(labels: pd.DataFrame) -> dict[str, str]:
    """id → event; every ``single`` becomes an event of its own."""
    return {i: (f"single:{i}" if e == "single" else e) for i, e in zip(labels["id"], labels["event"], strict=True)}


def purity(members: list[list[str]], gold: dict[str, str]) -> dict[str, float | int]:
    """Purity of some groups (lists of ids): all members, and members of groups of two or more."""
    total = pure = total_multi = pure_multi = unlabelled = 0
    for ids in members:
        events = [gold[i] for i in ids if i in gold]
        unlabelled += len(ids) - len(events)
        if not events:
            continue
        top = Counter(events).most_common(1)[0][1]
        total, pure = total + len(events), pure + top
        if len(ids) > 1:
            total_multi, pure_multi = total_multi + len(events), pure_multi + top
    return {
        "members": total,
        "purity": round(pure / total, 3) if total else float("nan"),
        "members_in_groups_of_2+": total_multi,
        "purity_groups_of_2+": round(pure_multi / total_multi, 3) if total_multi else float("nan"),
        "unlabelled": unlabelled,
    }


def bcubed(groups: dict[str, int], gold: dict[str, str]) -> dict[str, float]:
    """B-cubed precision / recall / F1 over the labelled appeals."""
    ids = [i for i in gold if i in groups]
    by_group, by_event = defaultdict(set), defaultdict(set)
    for i in ids:
        by_group[groups[i]].add(i)
        by_event[gold[i]].add(i)
    p = sum(len(by_group[groups[i]] & by_event[gold[i]]) / len(by_group[groups[i]]) for i in ids) / len(ids)
    r = sum(len(by_group[groups[i]] & by_event[gold[i]]) / len(by_event[gold[i]]) for i in ids) / len(ids)
    recall = [
        Counter(groups[i] for i in members).most_common(1)[0][1] / len(members)
        for event, members in by_event.items()
        if len(members) >= 5 and not event.startswith("single:")
    ]
    return {"bcubed_precision": round(p, 3), "bcubed_recall": round(r, 3), "bcubed_f1": round(2 * p * r / (p + r), 3),
            "event_recall": round(sum(recall) / len(recall), 3), "events_with_5+": len(recall)}


#: each method at the best setting of a sweep on the same labels (README: hot issues)
SETTINGS = {
    "linkage": {"method": "linkage", "threshold": 0.3},
    "average": {"method": "average", "threshold": 0.15},
    "hdbscan": {"method": "hdbscan", "hdbscan_min_cluster_size": 3, "hdbscan_min_samples": 2},
    # the kept method on the served bundle's encoder (needs `minyi train`), at its best threshold
    "linkage-bundle": {"method": "linkage", "encoder": "bundle", "threshold": 0.4},
}


def run(method: str, gold: dict[str, str], min_checked: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = find_hotspots(InputReader(FJ3).frames(), HotspotParams(**SETTINGS[method]), top=80,
                               assignments=Path(tmp) / "a.parquet")
        seconds = time.perf_counter() - start
        assigned = pd.read_parquet(Path(tmp) / "a.parquet")
    groups = dict(zip(assigned["id"].astype(str), assigned["group"], strict=True))
    ranked = [h.ids for h in result.hotspots]
    depth = next((k for k in range(1, len(ranked) + 1) if sum(map(len, ranked[:k])) >= min_checked), len(ranked))
    top5 = [Counter(gold.get(i, "?") for i in ids).most_common(1)[0][0] for ids in ranked[:5]]
    return {
        "method": method,
        "seconds": round(seconds, 1),
        "top10": purity(ranked[:10], gold),
        f"top{depth}": purity(ranked[:depth], gold),
        **bcubed(groups, gold),
        "top5_events": top5,
        "top5": [{"rank": h.rank, "n": h.n, "citizens": h.citizens, "place": h.place, "description": h.description}
                 for h in result.hotspots[:5]],
    }


def run_service(gold: dict[str, str], min_checked: int) -> dict:
    """The service's grouping (``GET /v1/hotspots``), replayed on 附件3 without a database: the appeals in time
    order, each masked, encoded by the served bundle and compared with the earlier ones by the similar-appeal index
    (as at intake; the place is the dispatcher's ``find_jurisdiction`` of the text), then the links joined by
    :class:`serve.hotspots.HotspotBoard` and ranked over the whole period (no likes: the service has none)."""
    from types import SimpleNamespace

    from minyi_nlp.data.tasks import compose_text
    from minyi_nlp.dispatch import Dispatcher
    from minyi_nlp.routing import find_jurisdiction
    from serve.hotspots import HotspotBoard
    from serve.similar import Encoded, add, encode, find_similar, make_index
    from serve.suggest import mask

    frame = pd.concat(InputReader(FJ3).frames(), ignore_index=True)
    frame["t"] = pd.to_datetime(frame["submitted_at"]).dt.tz_localize("UTC")
    frame = frame.sort_values("t", kind="stable").reset_index(drop=True)
    start = time.perf_counter()
    dispatcher = Dispatcher.load(None)
    titles = [mask(t) if isinstance(t, str) else None for t in frame["title"]]
    contents = [mask(c) or "" for c in frame["content"]]
    texts = [compose_text(t, c) for t, c in zip(titles, contents, strict=True)]
    enc = encode(dispatcher, texts)
    index = make_index(enc.dense.shape[1], find_jurisdiction("").name)
    board = HotspotBoard(None)
    for k, row in frame.iterrows():
        one = Encoded(enc.dense[k : k + 1], None if enc.sparse is None else enc.sparse[k : k + 1], [enc.marks[k]])
        place = find_jurisdiction(texts[k], gazetteer=dispatcher.gazetteer).full_name
        hits = find_similar(index, one, 0, row["t"], place)
        add(index, [str(row["id"])], one, [row["t"]], [place])
        board.add([SimpleNamespace(id=str(row["id"]), received_at=row["t"], similar=[{"id": i, "score": v}
                   for i, v in hits], merged_into=None, title=titles[k], content=contents[k])])
    days = (frame["t"].max() - frame["t"].min()).days + 1
    ranking = board.rank(days, 80, frame["t"].max().to_pydatetime())
    seconds = time.perf_counter() - start
    labels = board.linker.labels()[: len(board.members.ids)]
    groups = dict(zip(board.members.ids, labels.tolist(), strict=True))
    ranked = [h["ids"] for h in ranking["hotspots"]]
    depth = next((k for k in range(1, len(ranked) + 1) if sum(map(len, ranked[:k])) >= min_checked), len(ranked))
    return {
        "method": "service",
        "seconds": round(seconds, 1),
        "top10": purity(ranked[:10], gold),
        f"top{depth}": purity(ranked[:depth], gold),
        **bcubed(groups, gold),
        "top5_events": [Counter(gold.get(i, "?") for i in ids).most_common(1)[0][0] for ids in ranked[:5]],
        "top5": [{"rank": h["rank"], "n": h["n"], "place": h["place"], "description": h["description"]}
                 for h in ranking["hotspots"][:5]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="linkage,average,hdbscan")
    parser.add_argument("--min-checked", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    gold = event_of(pd.read_csv(LABELS, dtype=str))
    reports = [run_service(gold, args.min_checked) if m == "service" else run(m, gold, args.min_checked)
               for m in args.methods.split(",")]
    print(f"labels: {len(gold)} appeals of {FJ3.name} ({LABELS})")
    print(f"{'method':<9} {'top10 purity':>13} {'top-k (members) purity':>24} {'B³ P':>6} {'B³ R':>6} {'B³ F1':>6} "
          f"{'event recall':>13} {'seconds':>8}")
    for r in reports:
        k = next(key for key in r if key.startswith("top") and key not in ("top10", "top5", "top5_events"))
        deep = f"{k} ({r[k]['members']}) {r[k]['purity']}"
        print(f"{r['method']:<9} {r['top10']['purity']:>13} {deep:>24} "
              f"{r['bcubed_precision']:>6} {r['bcubed_recall']:>6} {r['bcubed_f1']:>6} {r['event_recall']:>13} "
              f"{r['seconds']:>8}")
    for r in reports:
        print(f"\n{r['method']}: top 5 events: {', '.join(r['top5_events'])}")
        for h in r["top5"]:
            print(f"  #{h['rank']} {h['description']}")
    if args.json:
        args.json.write_text(json.dumps(reports, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

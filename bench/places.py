"""Place look-ups at speed: the gazetteer matcher against the version before it, on every real text.

Loads the raw appeals of every declared source in ``data/raw`` (title + content, normalised as the
dispatcher does), runs ``iter_places`` (plain and ``short_names``) and ``find_jurisdiction`` with the
current code and with the code at ``--before`` (a git revision of ``minyi_nlp/routing/jurisdiction.py``),
prints every text whose places differ, µs per text for each version and their ratio (CPU time of this
process, best of ``--repeat``: the machine is shared), the memoised duty/SLA look-ups, and the accuracy of
both versions on the hand-labelled places.

    .venv/bin/python bench/places.py [--before REV] [--limit N] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from minyi_nlp.config import PROJECT_DIR
from minyi_nlp.data import load_source
from minyi_nlp.routing import jurisdiction as current
from minyi_nlp.routing.lists import load_lists
from minyi_nlp.routing.place_eval import evaluate
from minyi_nlp.text import normalize_text

SOURCES = ("teddy_fj2_raw", "teddy_fj4_replies", "teddy_fj2_test_unlabelled", "teddy_fj3_hot_issues",
           "shangluo_mailbox", "fuzhou_river")
MODULE = "minyi_nlp/routing/jurisdiction.py"
BEFORE = "b16210d"  # main before the Aho-Corasick matcher


def load_module(rev: str) -> ModuleType:
    """``jurisdiction.py`` as it was at git revision ``rev``, imported under another name."""
    source = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=PROJECT_DIR, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "jurisdiction_before.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("jurisdiction_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def real_texts(limit: int | None = None) -> list[tuple[str, str]]:
    """(source:id, normalised title + content) of every row of the declared raw sources."""
    out = []
    for name in SOURCES:
        frame = load_source(name).frame
        titles = frame["title"].fillna("") if "title" in frame else [""] * len(frame)
        for row_id, title, content in zip(frame["id"], titles, frame["content"], strict=True):
            out.append((f"{name}:{row_id}", normalize_text(f"{title} {content}".strip())))
    return out[:limit]


def _key(places: list[Any]) -> list[tuple[Any, ...]]:
    return [(p.level, p.name, p.parent, p.matched, p.source) for p in places]


def compare(texts: list[tuple[str, str]], old: ModuleType) -> dict[str, list[tuple[str, Any, Any]]]:
    """Texts whose results differ, per function (with and without the national-name fallback)."""
    gaz_old, gaz_new = old.load_gazetteer(), current.load_gazetteer()
    calls: dict[str, tuple[Callable[[str], Any], Callable[[str], Any]]] = {
        "iter_places": (lambda t: _key(old.iter_places(t, gazetteer=gaz_old)),
                        lambda t: _key(current.iter_places(t, gazetteer=gaz_new))),
        "iter_places(short_names)": (
            lambda t: _key(old.iter_places(t, gazetteer=gaz_old, short_names=True)),
            lambda t: _key(current.iter_places(t, gazetteer=gaz_new, short_names=True))),
        "find_jurisdiction (no national names)": (
            lambda t: _key([old.find_jurisdiction(t, gazetteer=gaz_old, use_cpca=False)]),
            lambda t: _key([current.find_jurisdiction(t, gazetteer=gaz_new, use_cpca=False)])),
        "find_jurisdiction": (lambda t: _key([old.find_jurisdiction(t, gazetteer=gaz_old)]),
                              lambda t: _key([current.find_jurisdiction(t, gazetteer=gaz_new)])),
    }
    diffs: dict[str, list[tuple[str, Any, Any]]] = {name: [] for name in calls}
    for row_id, text in texts:
        for name, (before, after) in calls.items():
            a, b = before(text), after(text)
            if a != b:
                diffs[name].append((row_id, a, b))
    return diffs


def explain(text: str, old: ModuleType) -> str:
    """Why ``find_jurisdiction`` differs from the old version on ``text``: the rule that fired."""
    places = current.iter_places(text)
    if _key(old.iter_places(text, gazetteer=old.load_gazetteer())) != _key(places):
        return "street names (村 inside a name)"
    reasons = sorted({r for p in places if (r := current.aside_reason(text, p))})
    if reasons:
        return " + ".join(reasons)
    if current.find_jurisdiction(text, use_cpca=False).source != "default":
        return "unexplained"
    return "national names (automaton over cpca's table)"


def time_per_text(fn: Callable[[str], Any], texts: list[str], repeat: int) -> float:
    """Best-of-``repeat`` CPU µs per item of ``fn`` over ``texts`` (after a warm-up)."""
    for t in texts[:50]:
        fn(t)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            fn(t)
        best = min(best, time.process_time() - t0)
    return best / len(texts) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="git revision of the old jurisdiction.py")
    parser.add_argument("--limit", type=int, default=None, help="only the first N texts")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--show", type=int, default=20, help="differences printed per function")
    args = parser.parse_args(argv)
    old = load_module(args.before)
    texts = real_texts(args.limit)
    print(f"{len(texts)} texts from {', '.join(SOURCES)}; before = {args.before}")
    by_id = dict(texts)
    for name, rows in compare(texts, old).items():
        causes = Counter(explain(by_id[row_id], old) for row_id, _, _ in rows)
        print(f"{name}: {len(rows)} texts differ: " + ", ".join(f"{c} {n}" for c, n in causes.most_common()))
        for row_id, a, b in rows[: args.show]:
            print(f"  {row_id} [{explain(by_id[row_id], old)}]\n    before {a}\n    after  {b}")
    plain = [t for _, t in texts]
    gaz_old, gaz_new = old.load_gazetteer(), current.load_gazetteer()
    rows = []
    for label, national in (("find_jurisdiction (no national names)", False), ("find_jurisdiction", True)):
        before = time_per_text(partial(old.find_jurisdiction, gazetteer=gaz_old, use_cpca=national), plain,
                               args.repeat)
        after = time_per_text(partial(current.find_jurisdiction, gazetteer=gaz_new, use_cpca=national), plain,
                              args.repeat)
        rows.append((label, before, after))
    print("\n| function | before µs/text | after µs/text | before/after |\n|---|---:|---:|---:|")
    for label, before, after in rows:
        print(f"| {label} | {before:.1f} | {after:.1f} | {before / after:.1f}× |")
    lists = load_lists()
    categories = [c.key for c in lists.taxonomy] * 20
    cold = time_per_text(lambda c: lists._duty_of(c) and lists._sla_of(c), categories, args.repeat)
    warm = time_per_text(lambda c: lists.departments_for(c) and lists.sla_for(c), categories, args.repeat)
    print(f"| departments_for + sla_for (per category) | {cold:.2f} | {warm:.2f} | {cold / warm:.1f}× |")
    print("\nplace of the matter on data/labels/places (district / street accuracy):")
    for label, find in (("before", partial(old.find_jurisdiction, gazetteer=gaz_old)), ("after", None)):
        report = evaluate(find=find)
        print(f"  {label}: " + ", ".join(
            f"{k} n={v['n']} {v['district_accuracy']:.3f} / {v['street_accuracy']:.3f}" for k, v in report.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

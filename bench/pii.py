"""Benchmark the PII masker: recall, false changes and the cost of ``preprocess`` per appeal.

Quality on the labelled corpus of ``tests/data/pii_corpus`` (390 synthetic appeals, 500 real ones
labelled by reading): recall per kind, and the share of real appeals in which the masker changes
something that is not personal data.

Speed on real appeals (``teddy_fj2_raw``, ``teddy_fj4_replies``, ``shangluo_mailbox``: the first
``--limit`` of each, raw ``content``), one process, best of ``--repeats`` runs after a warm-up, µs per
appeal for:

* ``preprocess`` (normalise + mask) as shipped;
* the same rules with the speed work switched off: OpenCC on every text, ``unicodedata`` NFKC, the
  whitespace regex, every recogniser on every text (``find_pii(gated=False)``);
* ``--before REV`` (default ``b16210d``, the last commit before the masker was rewritten): that
  revision's ``normalize.py`` + ``pii.py``, loaded from git, on the same texts.

    python bench/pii.py [--limit 700] [--repeats 5] [--before b16210d | --before none]

Prints one table and writes ``reports/pii.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
try:
    import minyi_nlp  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data" / "pii_corpus"))

import corpus  # noqa: E402

from minyi_nlp.text import find_pii, preprocess  # noqa: E402
from minyi_nlp.text import normalize as norm  # noqa: E402

SOURCES = ("teddy_fj2_raw", "teddy_fj4_replies", "shangluo_mailbox")
_SPACE = re.compile(r"\s+")


def real_texts(limit: int) -> list[str]:
    from minyi_nlp.data import load_source

    out: list[str] = []
    for name in SOURCES:
        out += [str(t) for t in load_source(name).frame["content"].tolist()[:limit]]
    return out


def ungated_preprocess(text: str) -> str:
    """``preprocess`` with the speed work off (same rules, same output)."""
    text = norm._coerce(text)
    if not text:
        return ""
    text = norm._JUNK_RE.sub(" ", text)
    text = norm._XL_ESCAPE_RE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text)
    text = norm._strip_html(text)
    if not text.isascii():
        text = str(norm._get_converter().convert(text))
    text = _SPACE.sub(" ", text).strip()
    parts, pos = [], 0
    for m in find_pii(text, gated=False):
        parts += [text[pos : m.start], f"<{m.kind}>"]
        pos = m.end
    return "".join(parts) + text[pos:]


def load_revision(rev: str) -> Callable[[str], str] | None:
    """``preprocess`` of an older revision (its normalize.py and pii.py, from git), or None."""
    try:
        sources = {name: subprocess.run(["git", "show", f"{rev}:minyi_nlp/text/{name}.py"], cwd=ROOT, check=True,
                                        capture_output=True, text=True).stdout for name in ("normalize", "pii")}
    except (OSError, subprocess.CalledProcessError):
        return None
    tmp = Path(tempfile.mkdtemp(prefix="minyi-pii-before-"))
    (tmp / "before_normalize.py").write_text(sources["normalize"], encoding="utf-8")
    pii = sources["pii"].replace("from minyi_nlp.text.normalize import", "from before_normalize import")
    (tmp / "before_pii.py").write_text(pii, encoding="utf-8")
    sys.path.insert(0, str(tmp))
    spec = importlib.util.spec_from_file_location("before_pii", tmp / "before_pii.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["before_pii"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.preprocess


def per_text_us(fn: Callable[[str], Any], texts: Sequence[str], repeats: int) -> float:
    for t in texts[:50]:
        fn(t)
    best = float("inf")
    for _ in range(repeats):  # CPU time of this process: on a shared machine, wall time counts the others
        t0 = time.process_time()
        for t in texts:
            fn(t)
        best = min(best, time.process_time() - t0)
    return best / len(texts) * 1e6


def spans(text: str) -> list[tuple[int, int]]:
    return [(m.start, m.end) for m in find_pii(text)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=700, help="appeals per source for the speed runs")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--before", default="b16210d", help="git revision to compare with, or 'none'")
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "pii.json")
    args = ap.parse_args(argv)

    synthetic = corpus.score(corpus.synthetic(), spans, count_false_changes=False)
    real = corpus.score(corpus.real(), spans, count_false_changes=True)
    texts = real_texts(args.limit)
    chars = sum(map(len, texts)) / len(texts)
    assert all(preprocess(t) == ungated_preprocess(t) for t in texts[:500]), "the speed work changed a result"
    timings = {"preprocess": per_text_us(preprocess, texts, args.repeats),
               "same rules, no speed work": per_text_us(ungated_preprocess, texts, args.repeats)}
    before = load_revision(args.before) if args.before != "none" else None
    if before is not None:
        timings[f"preprocess at {args.before}"] = per_text_us(before, texts, args.repeats)

    print(f"PII corpus: synthetic {synthetic.items} items in {synthetic.texts} appeals, "
          f"real {real.items} labelled items in {real.texts} appeals")
    print(f"  recall, synthetic: {synthetic.recall:.4f} (missed {dict(synthetic.missed) or 'none'})")
    print(f"  recall, real:      {real.recall:.4f} (missed {dict(real.missed) or 'none'})")
    print(f"  real appeals with a false change: {real.false_change_texts} of {real.texts} "
          f"({real.false_change_rate:.2%})")
    for line in [e for e in real.examples if e.startswith("false")][:10]:
        print("   ", line)
    print(f"\nspeed: {len(texts)} real appeals ({', '.join(SOURCES)}), mean {chars:.0f} characters, "
          f"best of {args.repeats}")
    base = timings["preprocess"]
    for name, us in timings.items():
        print(f"  {name:<32} {us:8.1f} µs/appeal   ×{us / base:.2f}")
    report = {
        "synthetic": {"items": synthetic.items, "recall": synthetic.recall, "missed": dict(synthetic.missed)},
        "real": {"appeals": real.texts, "items": real.items, "recall": real.recall, "missed": dict(real.missed),
                 "false_change_appeals": real.false_change_texts, "false_change_rate": real.false_change_rate},
        "speed": {"appeals": len(texts), "mean_chars": chars, "us_per_appeal": timings},
        "machine": {"python": platform.python_version(), "processor": platform.processor() or platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The labelled PII corpus: loading it and scoring a masker on it (used by the tests and bench/pii.py).

Scores:
- **recall**: share of labelled items whose every non-space character lies inside some detected span
  (of any kind: a phone number given as a WeChat ID is masked all the same);
- **false change**: an appeal counts once when the masker replaces any character outside its labelled
  items (real texts only; the synthetic texts are built around their items).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
Spans = Sequence[tuple[int, int]]
Finder = Callable[[str], Spans]


@dataclass(frozen=True)
class Item:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Case:
    """One text and its personal data; ``source``/``row`` for real appeals."""

    text: str
    items: tuple[Item, ...]
    source: str = "synthetic"
    row: int = 0


@dataclass
class Score:
    items: int = 0
    found: int = 0
    texts: int = 0
    false_change_texts: int = 0
    missed: Counter[str] = field(default_factory=Counter)
    per_kind: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.items if self.items else 1.0

    @property
    def false_change_rate(self) -> float:
        return self.false_change_texts / self.texts if self.texts else 0.0


def synthetic() -> list[Case]:
    cases = []
    for line in (HERE / "synthetic.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        cases.append(Case(d["text"], tuple(Item(p["kind"], p["start"], p["end"]) for p in d["pii"])))
    return cases


def real() -> list[Case]:
    """The labelled real appeals, their texts read from data/raw (checked against the stored digest)."""
    import sys

    sys.path.insert(0, str(HERE))
    from sample_real import sample, text_digest

    lines = (HERE / "real.jsonl").read_text(encoding="utf-8").splitlines()
    labels = {(d["source"], d["row"]): d for d in map(json.loads, lines)}
    cases = []
    for item in sample():
        d = labels[(item["source"], item["row"])]
        text = str(item["text"])
        if text_digest(text) != d["digest"]:
            raise ValueError(f"{item['source']} row {item['row']}: the text changed since it was labelled")
        cases.append(Case(text, tuple(Item(k, s, e) for s, e, k in d["pii"]), str(item["source"]), int(item["row"])))
    if len(cases) != len(labels):
        raise ValueError(f"{len(labels)} labelled appeals, {len(cases)} drawn: sample_real.py and real.jsonl disagree")
    return cases


def score(cases: Iterable[Case], find: Finder, *, count_false_changes: bool) -> Score:
    out = Score()
    for case in cases:
        spans = find(case.text)
        covered = bytearray(len(case.text))
        for s, e in spans:
            covered[s:e] = b"\x01" * (e - s)
        labelled = bytearray(len(case.text))
        for it in case.items:
            out.items += 1
            out.per_kind[it.kind] += 1
            labelled[it.start : it.end] = b"\x01" * (it.end - it.start)
            if all(covered[i] or case.text[i].isspace() for i in range(it.start, it.end)):
                out.found += 1
            else:
                out.missed[it.kind] += 1
                out.examples.append(f"missed {it.kind} {case.text[it.start:it.end]!r} in {case.source}:{case.row}")
        out.texts += 1
        if count_false_changes and any(covered[i] and not labelled[i] for i in range(len(case.text))):
            out.false_change_texts += 1
            wrong = [case.text[s:e] for s, e in spans if any(not labelled[i] for i in range(s, e))]
            out.examples.append(f"false change {wrong} in {case.source}:{case.row}")
    return out

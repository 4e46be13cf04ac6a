"""Hazard lexicon matcher: which life-safety hazards an appeal names, where, and how surely.

The lexicon (``resources/lists/hazards.yaml``, an editable list like the other 清单) holds literal terms
and anchored regular expressions per hazard kind (gas, fire, collapse, electrocution, lift …), each
with a confidence. :meth:`HazardLexicon.match` finds them in one Aho–Corasick pass over a
preprocessed text (``minyi_nlp.text.preprocess``) and reads the context of each hit in its sentence:

* ``resolved`` — the danger is over (已修好, 没有危险, 隐患排查完毕) unless something says it persists
  (仍, 至今 …) after that: the hit is cancelled;
* ``negated`` — denied or prevented right before the hit (没有, 防止, 预防): cancelled;
* ``hedged`` — a possibility (一旦, 如果, 担心 …) before it in its clause: confidence × ``hedge_factor``;
* ``historical`` — a past event (去年, 曾经 …) before it in its clause: confidence × ``historical_factor``.

Document ``context`` (words anywhere in the text, e.g. 赔偿/判决 for the aftermath of an accident, 补贴/请问 for
a policy question, 噪音/油烟 for a nuisance complaint) multiplies every hit's confidence by its factor.

The lexicon alone calls a text urgent when its best remaining hit reaches ``flag_at``; every hit is
returned (kind, span, confidence, status) for the urgency model and the dispatcher's reasons.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick_rs

from minyi_nlp.routing.lists import ListsError, default_lists_dir, read_yaml

__all__ = [
    "CUE_KINDS",
    "HAZARDS_FILE",
    "HazardHit",
    "HazardLexicon",
    "HazardResult",
    "load_hazards",
    "parse_hazards",
]

log = logging.getLogger(__name__)

HAZARDS_FILE = "hazards.yaml"
CUE_KINDS: tuple[str, ...] = ("resolved", "persists", "negated", "hedged", "historical")
_SENTENCE_STOPS = "。!?;！？；\n"
_CLAUSE_STOPS = _SENTENCE_STOPS + ",，、:： "

PRESENT, HEDGED, HISTORICAL, NEGATED, RESOLVED = "present", "hedged", "historical", "negated", "resolved"
WEAK = "weak"  # confidence below flag_at before any cue: cues are not read (they could only lower it)


@dataclass(frozen=True, slots=True)
class HazardHit:
    """One lexicon hit: ``text[start:end]`` names hazard ``kind``.

    ``confidence`` is the entry's prior after the context (0 when ``status`` is negated or resolved);
    ``status``: present, hedged, historical, negated, resolved, or weak (a hit that cannot reach ``flag_at``, whose
    sentence is not read for cues); ``cue`` the context word that set it.
    """

    kind: str
    start: int
    end: int
    term: str
    confidence: float
    status: str = PRESENT
    cue: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end, "term": self.term,
                "confidence": round(self.confidence, 3), "status": self.status, "cue": self.cue}


@dataclass(frozen=True, slots=True)
class HazardResult:
    """All hits in one text and the lexicon's verdict."""

    hits: tuple[HazardHit, ...]
    flag_at: float
    context: tuple[str, ...] = ()  # document context names found (their factors are already applied)

    @property
    def score(self) -> float:
        """The best hit's confidence (0 without hits)."""
        return max((h.confidence for h in self.hits), default=0.0)

    @property
    def urgent(self) -> bool:
        """True when a hit's confidence reaches the lexicon's ``flag_at``."""
        return self.score >= self.flag_at

    def kind_scores(self) -> dict[str, float]:
        """Best confidence per hazard kind (every hit, weak ones included): features for an urgency model."""
        best: dict[str, float] = {}
        for h in self.hits:
            best[h.kind] = max(best.get(h.kind, 0.0), h.confidence)
        return best

    @property
    def kinds(self) -> tuple[str, ...]:
        """Kinds with a hit that reaches ``flag_at``, strongest first."""
        best: dict[str, float] = {}
        for h in self.hits:
            if h.confidence >= self.flag_at:
                best[h.kind] = max(best.get(h.kind, 0.0), h.confidence)
        return tuple(sorted(best, key=lambda k: -best[k]))


@dataclass(frozen=True, slots=True)
class _Entry:
    index: int
    kind: str
    confidence: float


@dataclass(frozen=True, slots=True)
class _Pattern:
    entry: _Entry
    regex: re.Pattern[str]


class HazardLexicon:
    """A compiled hazard lexicon; build with :func:`parse_hazards` / :func:`load_hazards`."""

    def __init__(
        self,
        *,
        version: str,
        kinds: Mapping[str, str],
        terms: Iterable[tuple[str, _Entry]],
        patterns: Iterable[tuple[str, _Pattern]],
        excludes: Iterable[tuple[str, int]],
        cues: Mapping[str, Iterable[str]],
        context: Mapping[str, tuple[float, Iterable[str]]] | None = None,
        flag_at: float,
        hedge_factor: float,
        historical_factor: float,
        negation_window: int,
        responders: Mapping[str, Sequence[str]] | None = None,
        responder_weight: float = 0.5,
    ) -> None:
        self.version = version
        self.kinds = dict(kinds)
        self.responders = {k: tuple(v) for k, v in (responders or {}).items()}
        self.responder_weight = responder_weight
        self.flag_at = flag_at
        self.hedge_factor = hedge_factor
        self.historical_factor = historical_factor
        self.negation_window = negation_window
        table: dict[str, list[tuple[str, Any]]] = {}
        for term, entry in terms:
            table.setdefault(term, []).append(("term", entry))
        for anchor, pattern in patterns:
            table.setdefault(anchor, []).append(("anchor", pattern))
        for term, index in excludes:
            table.setdefault(term, []).append(("exclude", index))
        self.context_factors = {name: factor for name, (factor, _) in (context or {}).items()}
        for name, (_, words) in (context or {}).items():
            for word in words:
                table.setdefault(word, []).append(("context", name))
        self._automaton, self._payloads = _automaton(table)
        cue_table: dict[str, list[str]] = {}
        for cue_kind, words in cues.items():
            for word in words:
                cue_table.setdefault(word, []).append(cue_kind)
        self._cues, self._cue_kinds = _automaton(cue_table)
        self.n_terms = len(table)

    def responders_of(self, kinds: Sequence[str]) -> dict[str, str]:
        """The responders of ``kinds`` (strongest first), first come first, each with the kind's name (its reason)."""
        out: dict[str, str] = {}
        for kind in kinds:
            for department in self.responders.get(kind, ()):
                out.setdefault(department, self.kinds.get(kind, kind))
        return out

    def check_responders(self, departments: Container[str], file: str = "hazards.yaml") -> None:
        """Raise :class:`ListsError` naming the kind and the name when a responder is no department type."""
        for kind, names in self.responders.items():
            for name in names:
                if name not in departments:
                    raise _fail(file, f"responders.{kind}", "(list)",
                                f"{name!r} is not a department type of departments.yaml")

    # ----------------------------------------------------------------- matching
    def match(self, text: str) -> HazardResult:
        """Hits in ``text`` (preprocessed appeal text), with their context status."""
        raw, context = self._scan(text)
        if not raw:
            return HazardResult((), self.flag_at)
        factor = 1.0
        for name in context:
            factor *= self.context_factors[name]
        sentences: dict[int, list[tuple[int, int, str, str]]] = {}
        hits = []
        for start, end, entry in raw:
            if entry.confidence * factor < self.flag_at:
                hits.append(HazardHit(entry.kind, start, end, text[start:end], entry.confidence * factor, WEAK))
                continue
            s0 = _stop_before(text, start, _SENTENCE_STOPS)
            cues = sentences.get(s0)
            if cues is None:
                cues = sentences[s0] = self._find_cues(text, s0, _stop_after(text, end, _SENTENCE_STOPS))
            clause_start = _stop_before(text, start, _CLAUSE_STOPS)
            hits.append(self._judge(text, start, end, entry, cues, clause_start, factor))
        return HazardResult(tuple(hits), self.flag_at, context)

    def match_many(self, texts: Iterable[str]) -> list[HazardResult]:
        return [self.match(t) for t in texts]

    def _scan(self, text: str) -> tuple[list[tuple[int, int, _Entry]], tuple[str, ...]]:
        """One Aho–Corasick pass: term hits (patterns run where their anchor occurs, excludes and covered hits
        removed) and the document contexts found."""
        found: list[tuple[int, int, _Entry]] = []
        context: set[str] = set()
        excluded: list[tuple[int, int, int]] = []
        anchored: dict[int, _Pattern] = {}
        for index, start, end in self._automaton.find_matches_as_indexes(text, overlapping=True):
            for role, value in self._payloads[index]:
                if role == "term":
                    found.append((start, end, value))
                elif role == "exclude":
                    excluded.append((start, end, value))
                elif role == "context":
                    context.add(value)
                else:
                    anchored[id(value)] = value
        for pattern in anchored.values():
            spans = (m.span() for m in pattern.regex.finditer(text))
            found.extend((a, b, pattern.entry) for a, b in spans if b > a)
        if excluded:
            found = [f for f in found if not any(x[2] == f[2].index and x[0] <= f[0] and f[1] <= x[1]
                                                 for x in excluded)]
        return _drop_covered(found), tuple(sorted(context))

    def _find_cues(self, text: str, s0: int, s1: int) -> list[tuple[int, int, str, str]]:
        out = []
        for index, start, end in self._cues.find_matches_as_indexes(text[s0:s1], overlapping=True):
            out.extend((s0 + start, s0 + end, k, text[s0 + start : s0 + end]) for k in self._cue_kinds[index])
        return out

    def _judge(
        self, text: str, start: int, end: int, entry: _Entry, cues: list[tuple[int, int, str, str]], c0: int,
        factor: float,
    ) -> HazardHit:
        term = text[start:end]

        def hit(confidence: float, status: str = PRESENT, cue: str | None = None) -> HazardHit:
            return HazardHit(entry.kind, start, end, term, confidence * factor, status, cue)

        resolved = [c for c in cues if c[2] == "resolved" and (c[1] <= start or c[0] >= end)]
        if resolved:
            last = max(resolved, key=lambda c: c[0])
            if not any(c[2] == "persists" and c[0] >= last[1] for c in cues):
                return hit(0.0, RESOLVED, last[3])
        before = [c for c in cues if c0 <= c[0] and c[1] <= start]
        for c in before:
            if c[2] == "negated" and c[0] >= start - self.negation_window:
                return hit(0.0, NEGATED, c[3])
        for c in before:
            if c[2] == "historical":
                return hit(entry.confidence * self.historical_factor, HISTORICAL, c[3])
        for c in before:
            if c[2] == "hedged":
                return hit(entry.confidence * self.hedge_factor, HEDGED, c[3])
        return hit(entry.confidence)


def _automaton(table: Mapping[str, list[Any]]) -> tuple[Any, list[tuple[Any, ...]]]:
    """An overlapping-match Aho–Corasick DFA over the keys of ``table`` and the payloads by key index."""
    keys = list(table)
    automaton = ahocorasick_rs.AhoCorasick(keys, implementation=ahocorasick_rs.Implementation.DFA)
    return automaton, [tuple(table[k]) for k in keys]


def _stop_before(text: str, start: int, stops: str) -> int:
    """Start of the span that ends at the nearest ``stops`` character before ``start`` (0 without one)."""
    return max(text.rfind(ch, 0, start) for ch in stops) + 1


def _stop_after(text: str, end: int, stops: str) -> int:
    """Position of the nearest ``stops`` character at or after ``end`` (the text's length without one)."""
    found = [i for i in (text.find(ch, end) for ch in stops) if i >= 0]
    return min(found) if found else len(text)


def _drop_covered(found: list[tuple[int, int, _Entry]]) -> list[tuple[int, int, _Entry]]:
    """Hits in text order; a hit inside a longer (or equal, stronger) hit of the same kind is dropped."""
    if len(found) < 2:
        return found
    found.sort(key=lambda f: (f[0], -(f[1] - f[0]), -f[2].confidence))
    kept: list[tuple[int, int, _Entry]] = []
    for f in found:
        if any(k[2].kind == f[2].kind and k[0] <= f[0] and f[1] <= k[1] for k in kept):
            continue
        kept.append(f)
    return kept


# --------------------------------------------------------------------------- loading and validation


def _fail(file: str, entry: str, fld: str, problem: str) -> ListsError:
    return ListsError(f"{file}: entry {entry}: field '{fld}': {problem}")


def _number(data: Mapping[str, Any], key: str, file: str, entry: str, *, default: float | None = None) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _fail(file, entry, key, f"must be a number between 0 and 1, got {value!r}")
    return float(value)


def _strings(value: Any, file: str, entry: str, fld: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(file, entry, fld, "must be a list of non-empty strings")
    return [v.strip() for v in value]


def parse_hazards(path: Path) -> HazardLexicon:
    """Read and validate a hazard lexicon; :class:`ListsError` names the entry and field at fault."""
    data = read_yaml(path)
    file = path.name
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise _fail(file, "(top level)", "version", f"must be a non-empty quoted string, got {version!r}")
    kinds = data.get("kinds")
    if not isinstance(kinds, dict) or not kinds:
        raise _fail(file, "(top level)", "kinds", "must be a non-empty mapping kind → description")
    window = data.get("negation_window", 4)
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        raise _fail(file, "(top level)", "negation_window", f"must be a non-negative integer, got {window!r}")
    entries = data.get("hazards")
    if not isinstance(entries, list) or not entries:
        raise _fail(file, "(top level)", "hazards", "must be a non-empty list")
    terms: list[tuple[str, _Entry]] = []
    patterns: list[tuple[str, _Pattern]] = []
    excludes: list[tuple[str, int]] = []
    for i, raw in enumerate(entries):
        name = f"hazards[{i}]"
        if not isinstance(raw, dict):
            raise _fail(file, name, "(entry)", "must be a mapping with kind, confidence, terms/patterns")
        unknown = set(raw) - {"kind", "confidence", "terms", "patterns", "exclude"}
        if unknown:
            raise _fail(file, name, sorted(unknown)[0], "unknown field")
        kind = raw.get("kind")
        if kind not in kinds:
            raise _fail(file, name, "kind", f"{kind!r} is not one of the declared kinds {sorted(kinds)}")
        entry = _Entry(i, str(kind), _number(raw, "confidence", file, name))
        entry_terms = _strings(raw.get("terms"), file, name, "terms")
        terms.extend((t, entry) for t in entry_terms)
        raw_patterns = raw.get("patterns") or []
        if not isinstance(raw_patterns, list):
            raise _fail(file, name, "patterns", "must be a list of {regex, anchor}")
        for j, p in enumerate(raw_patterns):
            where = f"{name}.patterns[{j}]"
            if not isinstance(p, dict) or not isinstance(p.get("regex"), str) or not isinstance(p.get("anchor"), str):
                raise _fail(file, where, "regex/anchor", "each pattern needs a 'regex' and an 'anchor' string")
            try:
                regex = re.compile(p["regex"])
            except re.error as err:
                raise _fail(file, where, "regex", f"not a valid regular expression: {err}") from None
            if not p["anchor"]:
                raise _fail(file, where, "anchor", "must not be empty")
            patterns.append((p["anchor"], _Pattern(entry, regex)))
        if not entry_terms and not raw_patterns:
            raise _fail(file, name, "terms", "an entry needs at least one term or pattern")
        excludes.extend((t, i) for t in _strings(raw.get("exclude"), file, name, "exclude"))
    context = _parse_context(data.get("context"), file)
    raw_responders = data.get("responders") or {}
    if not isinstance(raw_responders, dict):
        raise _fail(file, "responders", "(section)", "must be a mapping kind → list of department types")
    responders: dict[str, list[str]] = {}
    for kind, names in raw_responders.items():
        if kind not in kinds:
            raise _fail(file, f"responders.{kind}", "(key)",
                        f"{kind!r} is not one of the declared kinds {sorted(kinds)}")
        responders[str(kind)] = _strings(names, file, f"responders.{kind}", "(list)")
    cues = data.get("cues") or {}
    if not isinstance(cues, dict) or set(cues) - set(CUE_KINDS):
        raise _fail(file, "cues", "(keys)", f"must be a mapping with keys among {list(CUE_KINDS)}")
    return HazardLexicon(
        version=version.strip(),
        kinds={str(k): str(v) for k, v in kinds.items()},
        terms=terms,
        patterns=patterns,
        excludes=excludes,
        cues={k: _strings(v, file, "cues", k) for k, v in cues.items()},
        context=context,
        flag_at=_number(data, "flag_at", file, "(top level)", default=0.5),
        hedge_factor=_number(data, "hedge_factor", file, "(top level)", default=0.5),
        historical_factor=_number(data, "historical_factor", file, "(top level)", default=0.4),
        negation_window=window,
        responders=responders,
        responder_weight=_number(data, "responder_weight", file, "(top level)", default=0.5),
    )


def _parse_context(raw: Any, file: str) -> dict[str, tuple[float, list[str]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _fail(file, "context", "(section)", "must be a mapping name → {factor, words}")
    out = {}
    for name, spec in raw.items():
        where = f"context.{name}"
        if not isinstance(spec, dict) or set(spec) != {"factor", "words"}:
            raise _fail(file, where, "(entry)", "needs exactly 'factor' and 'words'")
        out[str(name)] = (_number(spec, "factor", file, where), _strings(spec["words"], file, where, "words"))
    return out


@lru_cache(maxsize=4)
def _load_cached(path: str) -> HazardLexicon:
    return parse_hazards(Path(path))


def hazards_file(folder: Path) -> Path:
    """The ``hazards.yaml`` of a lists ``folder``, or the packaged one when the folder has none (a lists folder
    made before the lexicon existed)."""
    from minyi_nlp.config import RESOURCES_DIR

    path = folder / HAZARDS_FILE
    return path if path.is_file() else RESOURCES_DIR / "lists" / HAZARDS_FILE


def load_hazards(directory: Path | None = None) -> HazardLexicon:
    """The hazard lexicon of ``directory`` (default: the lists folder), parsed once and cached; the packaged
    lexicon, with an INFO log line naming both, when the folder has no ``hazards.yaml``."""
    folder = Path(directory) if directory is not None else default_lists_dir()
    path = hazards_file(folder)
    if path.parent != folder:
        log.info("no %s in %s: using the packaged %s", HAZARDS_FILE, folder, path)
    return _load_cached(str(path.resolve()))


load_hazards.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]

"""Which of many regular expressions can match a text, found in one Aho–Corasick pass.

Every match of a pattern starts with one of its *literal prefixes* (read from Python's own parse of the
pattern: the literal characters every branch begins with), or, for a branch that starts with a class or an
anchor, contains the literal prefix of what follows. One automaton over all these literals finds the
patterns one of whose literals occurs in a text; only those, and the patterns without such literals, are
then searched with ``re``. The answer is the same as searching every pattern (tested against it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

try:  # Python ≥ 3.11
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

MAX_PREFIXES = 256  # beyond this a pattern is searched on every text


def _prefixes(items: Any) -> tuple[set[str], bool]:
    """(literal strings every match of ``items`` starts with, whether each is the whole match)."""
    out = {""}
    for op, av in items:
        if op is sre_constants.LITERAL:
            part, whole = {chr(av)}, True
        elif op is sre_constants.SUBPATTERN and not av[1] & (re.IGNORECASE | re.VERBOSE):
            part, whole = _prefixes(av[-1])  # a group; one that turns on ignore-case, e.g. (?i:…), is no literal
        elif op is sre_constants.BRANCH:
            part, whole = set(), True
            for branch in av[1]:
                p, w = _prefixes(branch)
                part |= p
                whole = whole and w
        elif op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            part, whole = {""}, True  # zero width: the characters after it still start the match
        elif op is sre_constants.IN and av and all(o is sre_constants.LITERAL for o, _ in av):
            part, whole = {chr(c) for _, c in av}, True  # a class of single characters, e.g. (镇|乡)
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and av[0] >= 1:
            part, _ = _prefixes(av[2])  # at least once: starts with the item's prefix, then open-ended
            whole = False
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and av[1] == 1:
            part, whole = _prefixes(av[2])  # optional: with it or without it
            if not whole:
                return out, False
            part = part | {""}
        else:  # other repeats, classes, anchors, look-arounds …: the prefix ends here
            return out, False
        out = {s + p for s in out for p in part}
        if len(out) > MAX_PREFIXES:
            return {""}, False
        if not whole:
            return out, False
    return out, True


def _parsed(pattern: str, flags: int) -> Any | None:
    """Python's parse of ``pattern``, or None when its flags make literals unreliable (ignore-case, verbose)."""
    parsed = sre_parse.parse(pattern, flags)
    if (parsed.state.flags | flags) & (re.IGNORECASE | re.VERBOSE):
        return None
    return parsed


def literal_prefixes(pattern: str, flags: int = 0) -> set[str]:
    """Literal strings one of which starts every match of ``pattern``; ``{""}`` when there is none to rely
    on (then the pattern must be searched on every text)."""
    parsed = _parsed(pattern, flags)
    if parsed is None:
        return {""}
    prefixes, _ = _prefixes(parsed)
    return {""} if "" in prefixes else prefixes


def _contained(items: Any) -> set[str]:
    """Literal strings one of which every match of ``items`` contains: each top-level branch's own, where
    a branch has no literal prefix the prefix of its rest after the first items that have none (a match of a
    sequence holds a match of every tail of it)."""
    if len(items) == 1 and items[0][0] is sre_constants.BRANCH:
        out: set[str] = set()
        for branch in items[0][1][1]:
            found = _contained(branch)
            if "" in found:
                return {""}
            out |= found
        return out
    for start in range(len(items)):
        prefixes, _ = _prefixes(items[start:])
        if "" not in prefixes:
            return prefixes
    return {""}


def required_literals(pattern: str, flags: int = 0) -> set[str]:
    """Literal strings one of which occurs in every match of ``pattern`` (its literal prefixes where it has
    them); ``{""}`` when there is none to rely on."""
    parsed = _parsed(pattern, flags)
    return {""} if parsed is None else _contained(parsed)


class RuleFilter:
    """``search(text)``: indexes (ascending) of the compiled ``patterns`` that match ``text``."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        import ahocorasick_rs

        self.patterns = list(patterns)
        self.always: list[int] = []
        owners: dict[str, set[int]] = {}
        for i, rx in enumerate(self.patterns):
            prefixes = required_literals(rx.pattern, rx.flags & ~re.UNICODE)
            if "" in prefixes:
                self.always.append(i)
            for p in prefixes - {""}:
                owners.setdefault(p, set()).add(i)
        self._keys = list(owners)
        self._owners = [sorted(owners[k]) for k in self._keys]
        self._automaton = (ahocorasick_rs.AhoCorasick(self._keys, implementation=ahocorasick_rs.Implementation.DFA)
                           if self._keys else None)

    def candidates(self, text: str) -> list[int]:
        """Indexes of the patterns that may match ``text`` (a superset of those that do)."""
        found = set(self.always)
        if self._automaton is not None:
            for key in self._automaton.find_matches_as_indexes(text, overlapping=True):
                found.update(self._owners[key[0]])
        return sorted(found)

    def search(self, text: str) -> list[int]:
        return [i for i in self.candidates(text) if self.patterns[i].search(text)]

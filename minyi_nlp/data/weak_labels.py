"""Weak sub-category labels (一级/二级/三级 of ``taxonomy.yaml``) for appeals that have none.

No appeal is labelled below 一级, so training labels are built from three kinds of evidence:

* the **keyword lexicon** ``resources/lists/item_keywords.yaml``: words per 二级/三级 node (the node
  names count too), matched in the masked text; a word of n characters scores n − 1 (at most 4),
  for every node that lists it, and once for each ancestor of those nodes;
* the **replying unit** (Teddy 附件4 and Fuzhou replies, the Shangluo ``reply_agency``, else its
  reply), derived by :mod:`minyi_nlp.routing.departments` and mapped to the nodes it handles
  (``departments:`` in the lexicon file);
* the **Teddy 一级** of 附件2 appeals, which the label must keep.

Rules, first that applies wins; a Teddy appeal's label never leaves its Teddy 一级:

``teddy_keyword``      Teddy appeal, keywords inside its 一级: the best node there;
``teddy_only``         Teddy appeal, no keyword inside its 一级: the 一级 alone;
``department_keyword`` a topical replying unit and keywords inside the nodes it handles: the best of those;
``keyword``            keywords anywhere: the best node overall;
``department``         a topical replying unit and no keyword at all: the unit's node (or the common
                       ancestor of its nodes);
``none``               no evidence: no label.

At each level the best child is taken only when it scores strictly more than its siblings, so a tie
stops the label one level up. ``confidence`` is a rule prior times the winner's share among its
siblings at the deepest level labelled; the report measures how far each rule can be trusted.

``python -m minyi_nlp.data.weak_labels build`` writes the training frame (every appeal outside the
hand-labelled set, its duplicates and the Teddy evaluation fold) and ``… report`` checks the rules
against the hand-labelled set.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from minyi_nlp.config import RESOURCES_DIR
from minyi_nlp.data.schema import DataError

log = logging.getLogger(__name__)

SEP = "/"
LEXICON_FILE = "item_keywords.yaml"
RULES: tuple[str, ...] = ("teddy_keyword", "teddy_only", "department_keyword", "keyword", "department", "none")
#: prior trust per rule (multiplied by the winner's share among its siblings)
RULE_PRIOR: Mapping[str, float] = {
    "teddy_keyword": 0.8, "teddy_only": 1.0, "department_keyword": 0.8, "department": 0.6, "keyword": 0.6,
    "none": 0.0,
}
FRAME_COLUMNS: tuple[str, ...] = (
    "key", "id", "source", "text", "l1", "l2", "l3", "path", "rule", "confidence", "evidence",
    "teddy_label", "department", "appeal", "group",
)
TRAINING_FILE = "subcategory_weak.parquet"
#: next to the training frame: what it was built from (:func:`build_inputs`)
INPUTS_SUFFIX = ".inputs.json"
REPORT_JSON = "subcategory_weak_labels.json"
REPORT_MD = "subcategory_weak_labels.md"
_MAX_WORD_SCORE = 4
#: words in the head of the text (title + opening) weigh more, as the category model's title block does
HEAD_CHARS = 40
HEAD_WEIGHT = 2


def lexicon_file() -> Path:
    """``item_keywords.yaml`` in ``MINYI_LISTS_DIR`` when it is there, else the packaged one."""
    from minyi_nlp.routing.lists import default_lists_dir

    configured = default_lists_dir() / LEXICON_FILE
    return configured if configured.is_file() else RESOURCES_DIR / "lists" / LEXICON_FILE


def word_score(word: str) -> int:
    """Evidence of one matched word: its length minus one, at most 4."""
    return min(len(word) - 1, _MAX_WORD_SCORE)


def _parents(key: str) -> list[str]:
    parts = key.split(SEP)
    return [SEP.join(parts[:n]) for n in range(1, len(parts) + 1)]


@dataclass(frozen=True)
class Scores:
    """Lexicon evidence for one text: node key → score, and the words found per node."""

    node: Mapping[str, int]
    words: Mapping[str, tuple[str, ...]]

    def children(self, parent: str | None, within: Iterable[str] | None = None) -> dict[str, int]:
        """Scored children of ``parent`` (``None``: the 一级), optionally only those under ``within``."""
        depth = 0 if parent is None else parent.count(SEP) + 1
        prefix = "" if parent is None else parent + SEP
        allowed = tuple(within) if within is not None else None
        out = {}
        for key, score in self.node.items():
            if key.count(SEP) != depth or not key.startswith(prefix) or score <= 0:
                continue
            if allowed is not None and not any(key == a or key.startswith(a + SEP) or a.startswith(key + SEP)
                                               for a in allowed):
                continue
            out[key] = score
        return out


@dataclass(frozen=True)
class Lexicon:
    """Keywords per taxonomy node and the nodes each replying unit handles."""

    version: str
    words: Mapping[str, tuple[str, ...]]  # node key → words (node names included)
    departments: Mapping[str, tuple[str, ...]]  # department type → node keys
    path: Path | None = None

    @cached_property
    def _word_nodes(self) -> dict[str, tuple[str, ...]]:
        table: dict[str, list[str]] = defaultdict(list)
        for key, words in self.words.items():
            for w in words:
                table[w].append(key)
        return {w: tuple(keys) for w, keys in table.items()}

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        ordered = sorted(self._word_nodes, key=lambda w: (-len(w), w))
        return re.compile("|".join(re.escape(w) for w in ordered))

    def scores(self, text: str) -> Scores:
        """Which words occur in ``text`` (whitespace ignored, longest match first) and what each node
        scores; a word found in the first :data:`HEAD_CHARS` characters (the title) counts
        :data:`HEAD_WEIGHT` times."""
        first: dict[str, int] = {}
        for m in self._pattern.finditer(re.sub(r"\s+", "", text or "")):
            first.setdefault(m.group(), m.start())
        node: dict[str, int] = defaultdict(int)
        words: dict[str, list[str]] = defaultdict(list)
        for w in sorted(first):
            credited: set[str] = set()
            for key in self._word_nodes[w]:
                words[key].append(w)
                credited.update(_parents(key))
            score = word_score(w) * (HEAD_WEIGHT if first[w] < HEAD_CHARS else 1)
            for key in credited:  # once per node, however many of its descendants list the word
                node[key] += score
        return Scores(node=dict(node), words={k: tuple(v) for k, v in words.items()})

    def best(self, scores: Scores, within: Sequence[str] | None = None) -> tuple[str | None, float]:
        """The deepest node with a strict winner at every level (inside ``within`` when given) and the
        winner's share among its siblings at that level; ``(None, 0.0)`` when nothing scores."""
        parent: str | None = None
        share = 0.0
        while True:
            kids = scores.children(parent, within)
            if not kids:
                return parent, share
            ranked = sorted(kids.items(), key=lambda kv: -kv[1])
            if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
                return parent, share
            share = ranked[0][1] / sum(kids.values())
            parent = ranked[0][0]

    def rank(self, text: str, top_k: int | None = None) -> list[tuple[str, float]]:
        """The lexicon baseline: every scored node with P(node) = P(parent) × its share among its
        siblings, best first (a child never above its parent); ``[("其他", 1.0)]`` when nothing scores."""
        scores = self.scores(text)
        out: list[tuple[str, float]] = []

        def walk(parent: str | None, p: float) -> None:
            kids = scores.children(parent)
            total = sum(kids.values())
            for key, s in kids.items():
                out.append((key, p * s / total))
                if key.count(SEP) < 2:
                    walk(key, p * s / total)

        walk(None, 1.0)
        if not out:
            return [("其他", 1.0)]
        out.sort(key=lambda kv: (-kv[1], kv[0].count(SEP), kv[0]))
        return out[:top_k] if top_k else out

    def department_nodes(self, department: str | None) -> tuple[str, ...]:
        return self.departments.get(department or "", ())


def _fail(path: Path, entry: str, problem: str) -> DataError:
    return DataError(f"{path.name}: entry {entry}: {problem}")


def load_lexicon(path: Path | None = None, lists: Any = None) -> Lexicon:
    """Read and validate the lexicon against the taxonomy and the department vocabulary.

    Node names (二级, 三级) are added as words of their own node unless listed in ``generic_names``.
    Raises :class:`DataError` naming the file, the entry and the problem.
    """
    from minyi_nlp.routing.lists import load_lists

    path = path or lexicon_file()
    lists = lists or load_lists()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise DataError(f"{path}: cannot read the lexicon ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("keywords"), dict):
        raise _fail(path, "(top level)", "expected a mapping with 'keywords:'")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise _fail(path, "(top level)", "'version' must be a non-empty string")
    keys = lists.category_keys
    generic = set(data.get("generic_names") or [])
    words: dict[str, list[str]] = defaultdict(list)
    for key, listed in data["keywords"].items():
        if key not in keys or SEP not in key:
            raise _fail(path, f"keywords[{key!r}]", "not a 一级/二级[/三级] key of taxonomy.yaml")
        if not isinstance(listed, list) or not all(isinstance(w, str) and len(w.strip()) >= 2 for w in listed):
            raise _fail(path, f"keywords[{key!r}]", "must be a list of words of at least 2 characters")
        words[key].extend(w.strip() for w in listed)
    for cat in lists.taxonomy:
        for key, name in ((SEP.join((cat.l1, cat.l2)), cat.l2), (cat.key, cat.l3)):
            if name not in generic and len(name) >= 2:
                words[key].append(name)
    departments: dict[str, tuple[str, ...]] = {}
    for dept, nodes in (data.get("departments") or {}).items():
        if dept not in lists.departments:
            raise _fail(path, f"departments[{dept!r}]", "not a department type of departments.yaml")
        if not isinstance(nodes, list) or not nodes or any(n not in keys for n in nodes):
            raise _fail(path, f"departments[{dept!r}]", f"must list taxonomy keys, got {nodes!r}")
        departments[dept] = tuple(nodes)
    return Lexicon(
        version=version,
        words={k: tuple(dict.fromkeys(v)) for k, v in words.items()},
        departments=departments,
        path=path,
    )


# --------------------------------------------------------------------------- the rules


@dataclass(frozen=True)
class WeakLabel:
    """One appeal's weak label: ``path`` ``None`` when no rule applies."""

    path: str | None
    rule: str
    confidence: float
    evidence: str = ""

    @property
    def levels(self) -> tuple[str | None, str | None, str | None]:
        parts = self.path.split(SEP) if self.path else []
        return tuple(parts[i] if len(parts) > i else None for i in range(3))  # type: ignore[return-value]


def _common_prefix(keys: Sequence[str]) -> str | None:
    split = [k.split(SEP) for k in keys]
    prefix: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return SEP.join(prefix) or None


def _evidence(scores: Scores, path: str | None) -> str:
    if not path:
        return ""
    words = [w for key, ws in scores.words.items() if key == path or key.startswith(path + SEP) or
             path.startswith(key + SEP) for w in ws]
    return ",".join(dict.fromkeys(words))


def weak_label(
    text: str,
    lexicon: Lexicon,
    *,
    teddy_label: str | None = None,
    department: str | None = None,
) -> WeakLabel:
    """The weak label of one appeal (rules in :data:`RULES` order, see the module docstring)."""
    scores = lexicon.scores(text)
    if teddy_label:
        path, share = lexicon.best(scores, within=[teddy_label])
        if path and path != teddy_label:
            return WeakLabel(path, "teddy_keyword", RULE_PRIOR["teddy_keyword"] * share, _evidence(scores, path))
        return WeakLabel(teddy_label, "teddy_only", RULE_PRIOR["teddy_only"])
    nodes = lexicon.department_nodes(department)
    if nodes:
        path, share = lexicon.best(scores, within=nodes)
        if path and any(path == n or path.startswith(n + SEP) for n in nodes):
            return WeakLabel(path, "department_keyword", RULE_PRIOR["department_keyword"] * share,
                             f"{department}:{_evidence(scores, path)}")
    path, share = lexicon.best(scores)
    if path:
        return WeakLabel(path, "keyword", RULE_PRIOR["keyword"] * share, _evidence(scores, path))
    fallback = (nodes[0] if len(nodes) == 1 else _common_prefix(nodes)) if nodes else None
    if fallback:  # a unit, and no keyword at all
        share = 1.0 if len(nodes) == 1 else 0.5
        return WeakLabel(fallback, "department", RULE_PRIOR["department"] * share, department or "")
    return WeakLabel(None, "none", 0.0)


def replying_units(pool: pd.DataFrame, lists: Any = None) -> list[str | None]:
    """The topical replying unit of each pool row (``None`` for generic offices and unlabelled rows).

    Shangluo: the ``reply_agency`` (:func:`normalise_department`), else the reply; 附件4 and Fuzhou: the
    reply (:func:`derive_from_reply`). Other sources have no reply.
    """
    from minyi_nlp.routing.departments import derive_from_reply, normalise_department
    from minyi_nlp.routing.jurisdiction import load_gazetteer
    from minyi_nlp.routing.lists import load_lists

    lists = lists or load_lists()
    gaz = load_gazetteer(lists.directory)
    out: list[str | None] = []
    for agency, reply in zip(pool["agency"], pool["reply"], strict=True):
        match = None
        if isinstance(agency, str) and agency:
            match = normalise_department(agency, lists=lists, gazetteer=gaz)
        if (match is None or match.generic) and isinstance(reply, str) and reply:
            match = derive_from_reply(reply, lists=lists, gazetteer=gaz)
        out.append(match.department if match is not None and not match.generic else None)
    return out


def label_frame(pool: pd.DataFrame, lexicon: Lexicon, departments: Sequence[str | None]) -> pd.DataFrame:
    """Weak labels for every row of ``pool`` (a frame in :data:`FRAME_COLUMNS` order)."""
    rows = []
    for text, teddy, dept in zip(pool["text"], pool["teddy_label"], departments, strict=True):
        label = weak_label(text, lexicon, teddy_label=teddy if isinstance(teddy, str) and teddy else None,
                           department=dept)
        l1, l2, l3 = label.levels
        rows.append({"l1": l1, "l2": l2, "l3": l3, "path": label.path, "rule": label.rule,
                     "confidence": round(label.confidence, 4), "evidence": label.evidence, "department": dept})
    out = pd.concat([pool.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    out["teddy_label"] = out["teddy_label"].where(out["teddy_label"].notna(), None)
    return out[list(FRAME_COLUMNS)]


def training_frame(
    pool: pd.DataFrame,
    labelled_keys: Iterable[str],
    lexicon: Lexicon | None = None,
    eval_fold: int = 0,
) -> pd.DataFrame:
    """Weakly labelled training rows: the pool without the hand-labelled rows, the Teddy evaluation fold
    and every row in a duplicate group with either of them. Rows no rule labels are left out."""
    lexicon = lexicon or load_lexicon()
    labelled = set(labelled_keys)
    held = pool["key"].isin(labelled) | (pool["fold"].fillna(-1).to_numpy() == eval_fold)
    held_groups = set(pool.loc[held, "group"])
    rows = pool[~pool["group"].isin(held_groups)].reset_index(drop=True)
    frame = label_frame(rows, lexicon, replying_units(rows))
    log.info("weak labels: %d of %d pool rows outside the held-out groups; %d labelled",
             len(rows), len(pool), int(frame["path"].notna().sum()))
    return frame[frame["path"].notna()].reset_index(drop=True)


def build_inputs(processed_dir: Path) -> dict[str, str]:
    """SHA-256 of every file the training frame is built from: the keyword lexicon, the taxonomy and department
    lists it and the replying units read, the hand-labelled set it leaves out, ``minyi prepare``'s output and
    this module; and the evaluation fold it leaves out. A frame built from other inputs is stale."""
    from minyi_nlp.data.subcategory_labels import LABELS_DIR, LABELS_FILE
    from minyi_nlp.hashing import sha256_file
    from minyi_nlp.params import load_params
    from minyi_nlp.prepare import APPEALS_FILE, COPIES_FILE
    from minyi_nlp.routing.lists import default_lists_dir

    lists = default_lists_dir()
    files = {"lexicon": lexicon_file(), "taxonomy": lists / "taxonomy.yaml", "departments": lists / "departments.yaml",
             "hand_labels": LABELS_DIR / LABELS_FILE, "appeals": processed_dir / APPEALS_FILE,
             "copies": processed_dir / COPIES_FILE, "code": Path(__file__)}
    out = {name: sha256_file(path) if path.is_file() else "missing" for name, path in files.items()}
    out["eval_fold"] = str(load_params().prepare.eval_fold)
    return out


def inputs_file(frame_path: Path) -> Path:
    """Where the inputs of the training frame at ``frame_path`` are recorded."""
    return frame_path.with_name(frame_path.name + INPUTS_SUFFIX)


def stale_inputs(frame_path: Path, processed_dir: Path) -> list[str]:
    """The inputs that changed since the training frame at ``frame_path`` was built (``["no frame"]`` when there is
    none, ``["no record"]`` when it was built without one); empty when it is up to date."""
    if not frame_path.is_file():
        return ["no frame"]
    record = inputs_file(frame_path)
    if not record.is_file():
        return ["no record"]
    built = json.loads(record.read_text(encoding="utf-8"))
    return [name for name, value in build_inputs(processed_dir).items() if built.get(name) != value]


def write_training_frame(processed_dir: Path | None = None, out: Path | None = None,
                         lexicon: Lexicon | None = None, pool: pd.DataFrame | None = None) -> tuple[Path, pd.DataFrame]:
    """Build the training frame from ``pool`` (default: every source, with ``minyi prepare``'s output in
    ``processed_dir``) and write it to ``out`` (default ``<processed_dir>/``:data:`TRAINING_FILE`), with the
    inputs it was built from next to it (:func:`build_inputs`; recorded for the default lexicon only)."""
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.pool import load_pool
    from minyi_nlp.data.subcategory_labels import read_labels
    from minyi_nlp.params import load_params

    processed_dir = processed_dir or get_settings().processed_dir
    prepare = load_params().prepare
    pool = load_pool(processed_dir, prepare) if pool is None else pool
    frame = training_frame(pool, read_labels()["key"], lexicon, prepare.eval_fold)
    out = out or processed_dir / TRAINING_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    record = inputs_file(out)
    if lexicon is None or (lexicon.path is not None and lexicon.path.resolve() == lexicon_file().resolve()):
        record.write_text(json.dumps(build_inputs(processed_dir), indent=2) + "\n", encoding="utf-8")
    else:  # built from another lexicon than the configured one: never taken for up to date
        record.unlink(missing_ok=True)
    return out, frame


# --------------------------------------------------------------------------- checking against the hand labels


def _level(path: str | None, level: int) -> str | None:
    parts = path.split(SEP) if isinstance(path, str) and path else []
    return SEP.join(parts[:level]) if len(parts) >= level else None


def agreement(gold: Sequence[str], weak: Sequence[str | None]) -> dict[str, Any]:
    """Per level: coverage (share of rows whose weak label reaches the level), precision (share of
    those that agree with the hand label, among rows whose hand label reaches the level) and n."""
    out: dict[str, Any] = {"n": len(gold)}
    for level, name in ((1, "l1"), (2, "l2"), (3, "l3")):
        pairs = [(_level(g, level), _level(w, level)) for g, w in zip(gold, weak, strict=True)]
        scored = [(g, w) for g, w in pairs if g is not None]
        covered = [(g, w) for g, w in scored if w is not None]
        correct = sum(g == w for g, w in covered)
        out[name] = {
            "gold_n": len(scored),
            "covered": len(covered),
            "coverage": round(len(covered) / len(scored), 4) if scored else None,
            "correct": correct,
            "precision": round(correct / len(covered), 4) if covered else None,
            "gold_other": sum(g.split(SEP)[-1] == "其他" for g, _ in scored),
        }
    return out


def _agreement_of(part: pd.DataFrame) -> dict[str, Any]:
    return agreement(part["path"].tolist(), [p if isinstance(p, str) else None for p in part["weak_path"]])


def report(labels: pd.DataFrame, frame: pd.DataFrame) -> dict[str, Any]:
    """How the weak labels (``weak_path``, ``weak_rule``) of the hand-labelled rows agree with the hand
    labels (``path``): overall, for the random draw alone, per rule and per source; plus the counts of
    the training frame."""
    gold = labels["path"].tolist()
    weak = [p if isinstance(p, str) else None for p in labels["weak_path"]]
    return {
        "hand_labelled": _agreement_of(labels),
        "hand_labelled_random_draw": _agreement_of(labels[labels["draw"] == "random"]),
        "by_rule": {rule: _agreement_of(part) for rule, part in labels.groupby("weak_rule")},
        "by_source": {src: _agreement_of(part) for src, part in labels.groupby("source")},
        "hand_labels_other": {
            "l1": int(sum(g == "其他" for g in gold)),
            "l2": int(sum(len(g.split(SEP)) >= 2 and g.split(SEP)[1] == "其他" for g in gold)),
            "l3": int(sum(len(g.split(SEP)) == 3 and g.split(SEP)[2] == "其他" for g in gold)),
        },
        "weak_abstained_on_hand_labelled": int(sum(w is None for w in weak)),
        "training_frame": {
            "rows": len(frame),
            "by_rule": {k: int(v) for k, v in frame["rule"].value_counts().items()},
            "by_source": {k: int(v) for k, v in frame["source"].value_counts().items()},
            "by_l1": {k: int(v) for k, v in frame["l1"].value_counts().items()},
            "reaching_l2": int(frame["l2"].notna().sum()),
            "reaching_l3": int(frame["l3"].notna().sum()),
        },
    }


# --------------------------------------------------------------------------- command line


def _markdown(rep: dict[str, Any], command: str) -> str:
    lines = [
        "# Weak sub-category labels against the hand-labelled set",
        "",
        f"Reproduce: `{command}`. Hand labels: `data/labels/subcategories/labels.csv` "
        f"(n = {rep['hand_labelled']['n']}); lexicon version {rep['lexicon_version']}.",
        "Precision = agreement with the hand label among the rows the weak label reaches at that level "
        "(and whose hand label reaches it); coverage = share of those rows the weak label reaches.",
        "",
        "| part | n | 一级 precision (coverage) | 二级 precision (coverage) | 三级 precision (coverage) |",
        "|---|---:|---|---|---|",
    ]

    def row(name: str, a: dict[str, Any]) -> str:
        cells = []
        for level in ("l1", "l2", "l3"):
            x = a[level]
            if x["precision"] is None:
                cells.append("—")
                continue
            cells.append(f"{x['precision']:.3f} ({x['correct']}/{x['covered']}; "
                         f"cov. {x['coverage']:.3f} of {x['gold_n']})")
        return f"| {name} | {a['n']} | " + " | ".join(cells) + " |"

    lines.append(row("all hand-labelled", rep["hand_labelled"]))
    lines.append(row("random draw only", rep["hand_labelled_random_draw"]))
    lines += [row(f"rule `{k}`", v) for k, v in rep["by_rule"].items()]
    lines += [row(f"source `{k}`", v) for k, v in rep["by_source"].items()]
    other = rep["hand_labels_other"]
    tf = rep["training_frame"]
    lines += [
        "",
        f"Hand labels that are 其他: 一级 {other['l1']}, 二级 {other['l2']}, 三级 {other['l3']} "
        f"(the weak labels never say 其他; they abstain: {rep['weak_abstained_on_hand_labelled']} hand-labelled rows "
        "got no weak label).",
        "",
        f"Training frame: {tf['rows']} weakly labelled appeals ({tf['reaching_l2']} reach 二级, "
        f"{tf['reaching_l3']} reach 三级).",
        "",
        "| rule | rows |", "|---|---:|", *[f"| {k} | {v} |" for k, v in tf["by_rule"].items()],
        "", "| 一级 | rows |", "|---|---:|", *[f"| {k} | {v} |" for k, v in tf["by_l1"].items()],
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from minyi_nlp.config import get_settings
    from minyi_nlp.data.pool import load_pool
    from minyi_nlp.data.subcategory_labels import read_labels

    ap = argparse.ArgumentParser(prog="python -m minyi_nlp.data.weak_labels", description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["build", "report"],
                    help="build: write the training frame; report: also check it against the hand labels")
    ap.add_argument("--out", type=Path, default=None, help=f"training frame (default data/processed/{TRAINING_FILE})")
    ap.add_argument("--reports", type=Path, default=None, help="report folder (default reports/)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    lexicon = load_lexicon()
    pool = load_pool(settings.processed_dir)
    out, frame = write_training_frame(settings.processed_dir, args.out, lexicon, pool)
    print(f"{len(frame)} weakly labelled appeals → {out}")
    if args.command == "report":
        labels = read_labels()
        rows = pool.set_index("key").loc[labels["key"]].reset_index()
        weak = label_frame(rows, lexicon, replying_units(rows))
        labels = labels.assign(weak_path=weak["path"].to_numpy(), weak_rule=weak["rule"].to_numpy())
        rep = {"lexicon_version": lexicon.version, **report(labels, frame)}
        folder = args.reports or settings.reports_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REPORT_JSON).write_text(json.dumps(rep, ensure_ascii=False, indent=2), encoding="utf-8")
        (folder / REPORT_MD).write_text(_markdown(rep, "python -m minyi_nlp.data.weak_labels report"), encoding="utf-8")
        a = rep["hand_labelled"]
        levels = " ".join(f"{lv}: precision {a[lv]['precision']} coverage {a[lv]['coverage']}"
                          for lv in ("l1", "l2", "l3"))
        print(f"{levels} (n = {a['n']}) → {folder / REPORT_JSON}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

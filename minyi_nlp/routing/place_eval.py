"""The hand-labelled place of the matter (``data/labels/places``) and how well jurisdiction finds it.

    python -m minyi_nlp.routing.place_eval sample [N_TEDDY N_SHANGLUO]   # texts to label (stdout)
    python -m minyi_nlp.routing.place_eval evaluate [--errors] [--held-out-gazetteer]

Each labelled row names the source (``teddy_fj4`` or ``shangluo``), the row id and, as read by a person,
the district/county (``district``) and the street/township (``street``) of the matter, empty when the text
names none, plus the city where it is not the source's default (``city``). ``evaluate`` runs
:func:`~minyi_nlp.routing.jurisdiction.find_jurisdiction` on the same normalised title + text with the
source's default city and reports accuracy at district level (the district, or the city when no district
is named) and at street level (district and street both right). ``--held-out-gazetteer`` first mines the
gazetteer's streets again without the labelled rows (they are part of the texts it is built from).
"""

from __future__ import annotations

import csv
import random
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minyi_nlp.config import PROJECT_DIR

__all__ = ["LABELS_FILE", "PlaceLabel", "evaluate", "read_labels"]

LABELS_FILE = PROJECT_DIR / "data" / "labels" / "places" / "places.csv"
DEFAULT_CITY = {"teddy_fj4": "A市", "shangluo": "商洛市"}
COLUMNS = ["source", "id", "city", "district", "street", "note"]


@dataclass(frozen=True)
class PlaceLabel:
    """The place of one appeal's matter, as labelled by reading it."""

    source: str
    id: str
    city: str
    district: str
    street: str
    note: str = ""


def read_labels(path: Path = LABELS_FILE) -> list[PlaceLabel]:
    """Labelled rows; a clear error naming the line and field for a bad row."""
    out = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path}: header must be {COLUMNS}, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            if row["source"] not in DEFAULT_CITY:
                raise ValueError(f"{path}: line {line}: field 'source': {row['source']!r} not in {list(DEFAULT_CITY)}")
            if not row["id"]:
                raise ValueError(f"{path}: line {line}: field 'id' is empty")
            out.append(PlaceLabel(**{k: (row[k] or "").strip() for k in COLUMNS}))
    return out


def _texts() -> dict[tuple[str, str], tuple[str, str]]:
    """(source, id) → (title + text, reply) of Teddy 附件4 and the Shangluo mailbox."""
    from minyi_nlp.routing.departments import load_shangluo, load_teddy_replies

    out: dict[tuple[str, str], tuple[str, str]] = {}
    teddy = load_teddy_replies()
    for row in teddy.itertuples(index=False):
        out[("teddy_fj4", str(row.留言编号))] = (f"{row.留言主题} {row.留言详情}", row.答复意见)
    shangluo = load_shangluo()
    for row in shangluo.itertuples(index=False):
        out[("shangluo", str(row.mail_id))] = (f"{row.title} {row.query}", f"{row.reply_agency}: {row.reply}")
    return out


def _district_key(city: str, district: str, default_city: str) -> str:
    """District level: the district, else a named city other than the default, else '' (the default)."""
    return district or (city if city and city != default_city else "")


Finder = Callable[..., Any]  # find_jurisdiction(text, default_city=…) of this or another version


def predicted(text: str, default_city: str, find: Finder | None = None) -> tuple[str, str, str]:
    """(city, district, street) that ``find`` (default: ``find_jurisdiction``) gives for ``text``,
    normalised first as the dispatcher does."""
    from minyi_nlp.routing.jurisdiction import find_jurisdiction
    from minyi_nlp.text import normalize_text

    j = (find or find_jurisdiction)(normalize_text(text), default_city=default_city)
    city = getattr(j, "city", None) or ""
    if j.level == "street":
        return (city, j.parent or "", j.name)
    if j.level == "district":
        return (city, j.name, "")
    return ("" if j.source == "default" else j.name, "", "")


def held_out_gazetteer(labels: list[PlaceLabel], folder: Path) -> Any:
    """The packaged gazetteer with its streets mined again from every row except the labelled ones
    (written to ``folder``): street accuracy without the labelled texts' own street names."""
    import shutil

    from minyi_nlp.routing.jurisdiction import (
        GAZETTEER_FILE,
        build_street_gazetteer,
        load_gazetteer,
        street_sources,
        write_gazetteer,
    )
    from minyi_nlp.routing.lists import default_lists_dir

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(default_lists_dir() / GAZETTEER_FILE, folder / GAZETTEER_FILE)
    streets = build_street_gazetteer(street_sources(exclude={(lab.source, lab.id) for lab in labels}))
    write_gazetteer(folder / GAZETTEER_FILE, streets, version="held-out")
    return load_gazetteer(folder)


def evaluate(
    labels: list[PlaceLabel] | None = None, *, errors: bool = False, find: Finder | None = None
) -> dict[str, Any]:
    """Accuracy at district and at street level, overall and per source, on the labelled rows."""
    labels = read_labels() if labels is None else labels
    texts = _texts()
    counts: dict[str, list[int]] = {}
    wrong = []
    for lab in labels:
        if (lab.source, lab.id) not in texts:
            raise KeyError(f"{LABELS_FILE.name}: {lab.source} id {lab.id} not in the raw data")
        default = DEFAULT_CITY[lab.source]
        city, district, street = predicted(texts[(lab.source, lab.id)][0], default, find)
        ok_district = _district_key(city, district, default) == _district_key(lab.city, lab.district, default)
        ok_street = ok_district and street == lab.street
        for key in ("all", lab.source):
            c = counts.setdefault(key, [0, 0, 0])
            c[0] += 1
            c[1] += ok_district
            c[2] += ok_street
        if not ok_street:
            wrong.append((lab, (city, district, street)))
    report: dict[str, Any] = {
        key: {"n": n, "district_accuracy": round(d / n, 3), "street_accuracy": round(s / n, 3)}
        for key, (n, d, s) in counts.items()
    }
    if errors:
        report["errors"] = [
            {"source": lab.source, "id": lab.id, "label": [lab.city, lab.district, lab.street], "predicted": list(p)}
            for lab, p in wrong
        ]
    return report


_HINT = re.compile(r".{0,6}(?:[A-Z]\d{0,2}[市区县州]|街道|[镇乡](?![村政府])|区|县).{0,4}")


def sample(n_teddy: int = 180, n_shangluo: int = 130, seed: int = 20261203) -> Iterator[str]:
    """The texts to label, as readable blocks (title + text, beginning of the reply)."""
    texts = _texts()
    rng = random.Random(seed)
    for source, n in (("teddy_fj4", n_teddy), ("shangluo", n_shangluo)):
        keys = sorted(k for k in texts if k[0] == source)
        for key in rng.sample(keys, n):
            body, reply = (re.sub(r"\s+", " ", t).strip() for t in texts[key])
            tail = body[400:]
            hints = " … ".join(m.group(0) for m in _HINT.finditer(tail))[:200]
            yield (f"## {key[0]} {key[1]}\n{body[:400]}" + (f"\n[later: {hints}]" if hints else "")
                   + f"\n[reply: {reply[:110]}]\n")


def main(argv: list[str] | None = None) -> int:
    """CLI: ``sample`` or ``evaluate [--errors]``."""
    import json

    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["sample"]:
        for block in sample(*(int(a) for a in args[1:3])):
            print(block)
        return 0
    if args[:1] == ["evaluate"]:
        find = None
        if "--held-out-gazetteer" in args:
            import tempfile
            from functools import partial

            from minyi_nlp.routing.jurisdiction import find_jurisdiction

            gaz = held_out_gazetteer(read_labels(), Path(tempfile.mkdtemp()))
            find = partial(find_jurisdiction, gazetteer=gaz)
        print(json.dumps(evaluate(errors="--errors" in args, find=find), ensure_ascii=False, indent=1))
        return 0
    print(__doc__)
    return 2




if __name__ == "__main__":
    raise SystemExit(main())

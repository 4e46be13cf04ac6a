"""Draw the real-text part of the PII corpus: a fixed random sample of appeals from data/raw.

    .venv/bin/python tests/data/pii_corpus/sample_real.py   # prints one JSON line per appeal

The labels in ``real.jsonl`` were made on exactly this sample (seed 13); see README.md.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator

#: source name (minyi_nlp/resources/sources.yaml) → appeals drawn
PLAN = {"teddy_fj2_raw": 220, "shangluo_mailbox": 120, "fuzhou_river": 100, "teddy_fj4_replies": 60}
SEED = 13


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]


def sample() -> Iterator[dict[str, object]]:
    """``{"source", "row", "text"}`` (text normalised with ``normalize_text``) for the drawn appeals."""
    from minyi_nlp.data import load_source
    from minyi_nlp.text import normalize_text

    rng = random.Random(SEED)
    for source, n in PLAN.items():
        frame = load_source(source).frame
        for i in sorted(rng.sample(range(len(frame)), n)):
            rec = frame.iloc[i]
            yield {"source": source, "row": int(rec["row"]), "text": normalize_text(str(rec["content"]))}


if __name__ == "__main__":
    for item in sample():
        print(json.dumps(item, ensure_ascii=False))

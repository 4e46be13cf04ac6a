"""``minyi predict --data``: the service's suggestion for every row of a file; unusable rows go to a rejects
file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    """Write by suffix: .csv (UTF-8), .jsonl, or .parquet."""
    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(out, index=False, encoding="utf-8")
    elif suffix == ".jsonl":
        frame.to_json(out, orient="records", lines=True, force_ascii=False)
    elif suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        raise ValueError(f"{out}: output must end in .csv, .jsonl or .parquet")


def flatten_suggestion(s: dict[str, Any], top_k: int) -> dict[str, Any]:
    """One table row of a suggestion (the service's JSON): the top ``top_k`` categories and routes as columns
    (a route: department, jurisdiction, level, score, reasons), lists of words joined with "; ", any other
    nested value as JSON, every scalar as it is."""
    row: dict[str, Any] = {}
    cats, routes = s.get("categories") or [], s.get("departments") or []
    for i in range(top_k):
        cat = cats[i] if i < len(cats) else {}
        row[f"category_{i + 1}"], row[f"category_{i + 1}_score"] = cat.get("label"), cat.get("score")
    for i in range(top_k):
        r = routes[i] if i < len(routes) else {}
        for key in ("department", "jurisdiction", "level", "score"):
            row[f"route_{i + 1}_{key}"] = r.get(key)
        row[f"route_{i + 1}_reasons"] = "; ".join(r.get("reasons") or []) or None
    for key, value in s.items():
        if key in ("categories", "departments"):
            continue
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            row[key] = "; ".join(value) or None
        elif isinstance(value, (list, dict)):
            row[key] = json.dumps(value, ensure_ascii=False)
        else:
            row[key] = value
    return row


def predict_file(
    dispatcher: Any,
    path: Path,
    out: Path,
    *,
    text_col: str = "content",
    title_col: str | None = None,
    id_col: str | None = None,
    top_k: int = 3,
    batch_size: int = 1000,
) -> dict:
    """The service's suggestion for each valid row of ``path``: in a .jsonl file the service's JSON as it is
    (plus ``id`` and ``row``), in .csv / .parquet one flat row (:func:`flatten_suggestion`)."""
    import minyi_nlp.progress as progress
    from minyi_nlp.data import load_file

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".parquet"):
        raise ValueError(f"{out}: output must end in .csv, .jsonl or .parquet")
    mapping: dict[str, str] = {"content": text_col}
    if title_col:
        mapping["title"] = title_col
    if id_col:
        mapping["id"] = id_col
    rejects_path = out.with_name(out.stem + ".rejects.csv")
    result = load_file(path, mapping, rejects_path=rejects_path)
    frame = result.frame.reset_index(drop=True)
    ids = frame["id"].astype(str).tolist()
    rows = frame["row"].tolist() if "row" in frame else list(range(1, len(frame) + 1))
    titles = frame["title"].tolist() if "title" in frame else [None] * len(frame)
    pairs = [(t if isinstance(t, str) and t.strip() else None, str(c)) for t, c in zip(titles, frame["content"],
                                                                                     strict=True)]
    records: list[dict[str, Any]] = []
    starts = range(0, len(pairs), batch_size)
    with progress.stage("predict", total=len(pairs), unit="row") as bar:
        for i in starts:
            chunk = dispatcher.suggest_many(pairs[i : i + batch_size])
            for j, s in enumerate(chunk, i):
                body = s.as_dict()
                head = {"id": ids[j], "row": int(rows[j])}
                records.append({**head, **body} if suffix == ".jsonl" else {**head, **flatten_suggestion(body, top_k)})
            bar.advance(len(chunk), label=f"{i + len(chunk):,} rows")
    if suffix == ".jsonl":
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    else:
        write_frame(pd.DataFrame(records), out)
    return {
        "rows_read": result.rows_read,
        "predicted": len(records),
        "rejected": int(result.rejects["row"].nunique()) if len(result.rejects) else 0,
        "out": str(out),
        "rejects": str(rejects_path) if len(result.rejects) else None,
        "model_version": dispatcher.version,
    }

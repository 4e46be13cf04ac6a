"""``minyi predict --data``: the suggestion for every row of a file; unusable rows go to a rejects file."""

from __future__ import annotations

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
    """Suggestions (the batch job's columns: categories, routes, review) for each valid row of ``path``."""
    from minyi_nlp.batch.predict import predict_frame
    from minyi_nlp.data import load_file

    if out.suffix.lower() not in (".csv", ".jsonl", ".parquet"):
        raise ValueError(f"{out}: output must end in .csv, .jsonl or .parquet")
    mapping: dict[str, str] = {"content": text_col}
    if title_col:
        mapping["title"] = title_col
    if id_col:
        mapping["id"] = id_col
    rejects_path = out.with_name(out.stem + ".rejects.csv")
    result = load_file(path, mapping, rejects_path=rejects_path)
    frame = result.frame.reset_index(drop=True)
    valid = pd.DataFrame({
        "id": frame["id"].astype(str),
        "source": path.name,
        "row": frame["row"] if "row" in frame else range(1, len(frame) + 1),
        "title": frame.get("title"),
        "content": frame["content"],
        "category": None,
    })
    parts = [predict_frame(dispatcher, valid.iloc[i : i + batch_size], top_k).to_pandas()
             for i in range(0, len(valid), batch_size)]
    output = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    output = output.drop(columns=[c for c in ("previous_category", "changed") if c in output])
    write_frame(output, out)
    return {
        "rows_read": result.rows_read,
        "predicted": len(output),
        "rejected": int(result.rejects["row"].nunique()) if len(result.rejects) else 0,
        "out": str(out),
        "rejects": str(rejects_path) if len(result.rejects) else None,
        "model_version": dispatcher.version,
    }

"""Predict categories for every row of a file; unusable rows go to a rejects file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from minyi_nlp.predict import CategoryPredictor, compose_text


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
    predictor: CategoryPredictor,
    path: Path,
    out: Path,
    *,
    text_col: str = "content",
    title_col: str | None = None,
    id_col: str | None = None,
    top_k: int = 3,
    batch_size: int = 2000,
) -> dict:
    """Rank categories for each valid row of ``path`` and write them to ``out``."""
    from minyi_nlp.data import load_file

    mapping: dict[str, str] = {"content": text_col}
    if title_col:
        mapping["title"] = title_col
    if id_col:
        mapping["id"] = id_col
    rejects_path = out.with_name(out.stem + ".rejects.csv")
    result = load_file(path, mapping, rejects_path=rejects_path)
    frame = result.frame
    titles = frame["title"] if "title" in frame else pd.Series([None] * len(frame))
    texts = [compose_text(t, c) for t, c in zip(titles, frame["content"], strict=True)]
    rows = []
    for start in range(0, len(texts), batch_size):
        for ranked in predictor.rank(texts[start : start + batch_size], top_k):
            row: dict[str, object] = {}
            for i, r in enumerate(ranked, 1):
                row[f"category_{i}"] = r.label
                row[f"score_{i}"] = round(r.score, 6)
            rows.append(row)
    output = pd.concat([frame[["id"]].reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    output["model_version"] = predictor.version
    write_frame(output, out)
    return {
        "rows_read": result.rows_read,
        "predicted": len(output),
        "rejected": int(result.rejects["row"].nunique()) if len(result.rejects) else 0,
        "out": str(out),
        "rejects": str(rejects_path) if len(result.rejects) else None,
        "model_version": predictor.version,
    }

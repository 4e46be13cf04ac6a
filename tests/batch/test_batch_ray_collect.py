"""The Ray engine's driver side without Ray: rows regrouped by chunk whatever the batching and order."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from batch_fakes import FakeDispatcher

from minyi_nlp.batch.plan import Plan
from minyi_nlp.batch.predict import predict_rows
from minyi_nlp.batch.ray_engine import PART, PART_READ, PART_ROWS, _collect, tag_rows
from minyi_nlp.batch.sources import ColumnMap
from minyi_nlp.batch.store import PartStore


def _chunk(key: str, start: int, n: int, read: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"{key}:{i}" for i in range(n)],
            "source": "in.csv",
            "row": list(range(start, start + n)),
            "title": None,
            "content": ["BOOM" if i == 3 else f"诉求 {key} {i}" for i in range(n)],
            "category": "城乡建设",
            PART: key,
            PART_ROWS: n,
            PART_READ: read,
        }
    )


def test_collect_regroups_shuffled_pieces_and_writes_errors(tmp_path: Path) -> None:
    chunks = {"00000-0000000": _chunk("00000-0000000", 1, 10, 10), "00000-0000001": _chunk("00000-0000001", 11, 7, 10)}
    batch = pd.concat(chunks.values(), ignore_index=True)
    dispatcher = FakeDispatcher()
    tagged = tag_rows(batch, *predict_rows(dispatcher, batch, 2), 2)
    assert tagged.num_rows == 17
    pieces = [tagged.slice(i, 3) for i in range(0, tagged.num_rows, 3)]
    random.Random(0).shuffle(pieces)

    store = PartStore(tmp_path / "out.parquet")
    store.dir.mkdir()
    done: list[int] = []
    plan = Plan((), ColumnMap(), 10, 100, 2)
    _collect(pieces, plan, store, done.append)

    assert sorted(done) == [10, 10]
    for key, chunk in chunks.items():
        part = pq.read_table(store.part_path(key))
        assert part.column("row").to_pylist() == [r for i, r in enumerate(chunk["row"]) if i != 3]
        assert PART not in part.column_names and "_error" not in part.column_names
        errors = pq.read_table(store.errors_path(key)).to_pandas()
        assert errors[["row", "rule"]].values.tolist() == [[chunk["row"][3], "predict_error"]]
    expected, _ = predict_rows(FakeDispatcher(), batch[batch["content"] != "BOOM"], 2)
    merged = pa.concat_tables([pq.read_table(store.part_path(k)) for k in chunks])
    assert merged.equals(expected)

"""Ray engine: the same :func:`predict_frame` in Ray Data ``map_batches`` on an actor pool.

Pipeline: a custom datasource with one streaming read task (pinned to the driver's node, where the
input and the parts directory are) reads and validates the pending chunks exactly as the local engine
does, writes each chunk's rejects and yields its valid rows tagged with the chunk key →
``map_batches(_Predictor, compute=ActorPoolStrategy(size=workers))``, each actor loading the model
once in ``__init__`` → the driver regroups rows by chunk key and writes a part when a chunk is whole.
Ray Data's backpressure bounds what is in flight. Ray is imported lazily, only by :func:`run_ray`.

Without ``ray_address`` a private local Ray instance is started (``num_cpus=workers``, no dashboard,
loopback only) and shut down at the end; with one, the job joins that cluster: every node needs the
``minyi`` package and ``bundle_dir`` at the same path, and the input/output must be on the driver's node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from minyi_nlp.batch.plan import Plan, iter_work
from minyi_nlp.batch.predict import error_frame, output_schema, predict_rows
from minyi_nlp.batch.store import PartStore
from minyi_nlp.batch.validation import VALID_COLUMNS

logger = logging.getLogger(__name__)

PART = "_part"  # chunk key of a row
PART_ROWS = "_part_rows"  # valid rows in that chunk
PART_READ = "_part_read"  # rows read in that chunk (valid + rejected)
ERROR = "_error"  # why the dispatcher failed on the row (null if it did not)


class EngineUnavailable(RuntimeError):
    """Ray (Data) is not installed."""


_BLOCK_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("row", pa.int64()),
        pa.field("title", pa.string()),
        pa.field("content", pa.string()),
        pa.field("category", pa.string()),
        pa.field(PART, pa.string()),
        pa.field(PART_ROWS, pa.int64()),
        pa.field(PART_READ, pa.int64()),
    ]
)


def _read_pending(plan: Plan, store: PartStore) -> Iterator[pa.Table]:
    """The read task: validated chunks as blocks; rejects (and parts of all-rejected chunks) written here."""
    for work in iter_work(plan):
        checked = work.checked
        store.write_rejects(work.key, checked.rejects)
        if checked.valid.empty:
            store.write_part(work.key, output_schema(plan.top_k).empty_table())
            continue
        frame = checked.valid.assign(
            **{PART: work.key, PART_ROWS: len(checked.valid), PART_READ: checked.rows_read}
        )
        yield pa.Table.from_pandas(frame, schema=_BLOCK_SCHEMA, preserve_index=False)


class _Predictor:
    """Actor: loads the model once, then predicts batches of validated rows."""

    def __init__(self, bundle_dir: str, model_version: str, top_k: int) -> None:
        from minyi_nlp.batch.predict import ready_for_batches
        from minyi_nlp.dispatch import Dispatcher

        self.dispatcher = Dispatcher.load(Path(bundle_dir))
        ready_for_batches(self.dispatcher)
        if self.dispatcher.version != model_version:
            raise RuntimeError(
                f"actor loaded model {self.dispatcher.version!r} from {bundle_dir}, the job expects "
                f"{model_version!r}: every node must have the same models directory"
            )
        self.top_k = top_k

    def __call__(self, batch: pd.DataFrame) -> pa.Table:
        return tag_rows(batch, *predict_rows(self.dispatcher, batch[list(VALID_COLUMNS)], self.top_k), self.top_k)


def tag_rows(batch: pd.DataFrame, table: pa.Table, errors: pd.DataFrame, top_k: int) -> pa.Table:
    """Predicted rows plus failed rows (``_error`` set, outputs null), each with its chunk columns."""
    schema = output_schema(top_k)
    failed = pa.table(
        {
            "id": pa.array(errors["id"].tolist(), pa.string()),
            "source": pa.array(errors["source"].tolist(), pa.string()),
            "row": pa.array(errors["row"].tolist(), pa.int64()),
        }
    )
    failed = pa.table(
        {f.name: failed.column(f.name) if f.name in failed.column_names else pa.nulls(len(errors), f.type)
         for f in schema},
        schema=schema,
    )
    out = pa.concat_tables([table.append_column(ERROR, pa.nulls(table.num_rows, pa.string())),
                            failed.append_column(ERROR, pa.array(errors["reason"].tolist(), pa.string()))])
    where = {(s, int(r)): i for i, (s, r) in enumerate(zip(batch["source"], batch["row"], strict=True))}
    order = [where[(s, r)] for s, r in zip(out.column("source").to_pylist(), out.column("row").to_pylist(),
                                           strict=True)]
    for col in (PART, PART_ROWS, PART_READ):
        values = batch[col].to_numpy()[order] if len(order) else []
        out = out.append_column(col, pa.array(list(values), type=_BLOCK_SCHEMA.field(col).type))
    return out


def _datasource(plan: Plan, store: PartStore) -> Any:
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class ChunkDatasource(Datasource):
        """One streaming read task over the pending chunks, run on the driver's node only."""

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        @property
        def supports_distributed_reads(self) -> bool:
            return False

        def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, **_: Any) -> list[Any]:
            rows = sum(n for k, n in plan.chunk_sizes().items() if k in plan.pending)
            meta = BlockMetadata(num_rows=rows, size_bytes=None, input_files=None, exec_stats=None)
            output = store.output  # the read task opens its own handle on the parts directory
            return [ReadTask(lambda: _read_pending(plan, PartStore(output)), meta, schema=_BLOCK_SCHEMA)]

    return ChunkDatasource()


def run_ray(
    plan: Plan,
    store: PartStore,
    *,
    bundle_dir: Path,
    model_version: str,
    workers: int | None,
    ray_address: str | None = None,
    on_done: Callable[[int], None] = lambda rows: None,
) -> int:
    """Predict every pending chunk of ``plan`` on Ray and write the parts from the driver.

    ``workers``: actors; ``None`` → the cluster's CPUs. On a cluster the pool grows up to ``workers``
    as CPUs are free (it never waits for all of them); on the private instance it is exactly ``workers``.
    Returns the number of workers asked for.
    """
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise EngineUnavailable(f"--engine ray needs Ray Data ({err}); install it: pip install -e '.[ray]'") from err

    started = False
    elastic = bool(ray_address)
    if not ray.is_initialized():
        if ray_address:
            ray.init(address=ray_address, logging_level=logging.WARNING, log_to_driver=True)
        else:
            ray.init(
                num_cpus=workers or 1,
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=True,
                configure_logging=True,
            )
        started = True
    else:
        elastic = True  # someone else's Ray: do not assume its CPUs are ours
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        pool = ray.data.ActorPoolStrategy(min_size=1, max_size=workers) if elastic else (
            ray.data.ActorPoolStrategy(size=workers)
        )
        _execute(plan, store, bundle_dir=bundle_dir, model_version=model_version, pool=pool, on_done=on_done)
    finally:
        if started:
            ray.shutdown()
    return workers


def _execute(
    plan: Plan, store: PartStore, *, bundle_dir: Path, model_version: str, pool: Any, on_done: Callable[[int], None]
) -> None:
    import ray.data

    ctx = ray.data.DataContext.get_current()
    saved = (ctx.enable_progress_bars, ctx.print_on_execution_start, ctx.target_max_block_size)
    ctx.enable_progress_bars = False  # the job has its own bar
    ctx.print_on_execution_start = False
    # Ray Data coalesces a read task's output up to target_max_block_size (128 MiB): keep blocks about
    # half a chunk, so each chunk leaves the reader as soon as it is read and chunks spread over the actors
    ctx.target_max_block_size = _block_bytes(plan)
    try:
        ds = ray.data.read_datasource(_datasource(plan, store), num_cpus=0, override_num_blocks=1)
        ds = ds.map_batches(
            _Predictor,
            fn_constructor_kwargs={"bundle_dir": str(bundle_dir), "model_version": model_version, "top_k": plan.top_k},
            compute=pool,
            num_cpus=1,
            batch_size=plan.batch_size,
            batch_format="pandas",
        )
        _collect(ds.iter_batches(batch_size=None, batch_format="pyarrow", prefetch_batches=1), plan, store, on_done)
    finally:
        ctx.enable_progress_bars, ctx.print_on_execution_start, ctx.target_max_block_size = saved


def _block_bytes(plan: Plan) -> int:
    """About half the bytes of one chunk (from the input's bytes per row), within 16 KiB … 64 MiB."""
    rows = max(plan.total_rows, 1)
    per_row = sum(f.size for f in plan.files) / rows
    return int(min(max(per_row * plan.batch_size / 2, 16 * 1024), 64 * 1024**2))


def _collect(batches: Iterable[pa.Table], plan: Plan, store: PartStore, on_done: Callable[[int], None]) -> None:
    """Regroup the predicted rows by chunk; write each chunk's errors and part once all its rows are back."""
    schema = output_schema(plan.top_k)
    pending: dict[str, list[pa.Table]] = {}
    have: dict[str, int] = {}
    for batch in batches:
        info = {
            k: (n, r)
            for k, n, r in zip(
                batch.column(PART).to_pylist(), batch.column(PART_ROWS).to_pylist(),
                batch.column(PART_READ).to_pylist(), strict=True,
            )
        }
        for key, (n, r) in info.items():
            rows = batch.filter(pc.equal(batch.column(PART), key))
            pending.setdefault(key, []).append(rows)
            have[key] = have.get(key, 0) + rows.num_rows
            if have[key] < n:
                continue
            if have[key] > n:
                raise RuntimeError(f"chunk {key}: got {have[key]} rows back for {n} sent")
            table = pa.concat_tables(pending.pop(key)).sort_by("row")
            del have[key]
            failed = table.filter(pc.is_valid(table.column(ERROR)))
            if failed.num_rows:
                store.write_errors(key, error_frame(
                    failed.column("source").to_pylist(), failed.column("row").to_pylist(),
                    failed.column("id").to_pylist(), failed.column(ERROR).to_pylist(),
                ))
            ok = table.filter(pc.is_null(table.column(ERROR)))
            store.write_part(key, ok.select(schema.names).cast(schema))
            on_done(r)
    if pending:
        raise RuntimeError(f"Ray returned incomplete chunks: {sorted(pending)[:5]}")

"""``reclassify``: re-run the dispatcher over historical appeals, streaming, resumable, local or on Ray.

Steps: find the input files → check their columns → load the model → open (or resume) the parts
directory of the output (:mod:`minyi_nlp.batch.store`) → predict every pending chunk with the chosen
engine → merge the parts into the output Parquet and the rejects CSV → summary (text, JSON, PNG).

Files next to ``OUT.parquet``: ``OUT.rejects.csv`` (one line per failed rule), ``OUT.summary.json``,
``OUT.summary.png``, and while the job is unfinished ``OUT.parquet.parts/``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from minyi_nlp.batch.plan import Plan
from minyi_nlp.batch.predict import output_schema, ready_for_batches
from minyi_nlp.batch.sources import (
    ColumnMap,
    InputFile,
    check_columns,
    count_rows,
    discover,
    read_columns,
    sniff_encoding,
)
from minyi_nlp.batch.store import PartStore
from minyi_nlp.batch.summary import Summary, Tally, build_summary, plot_summary
from minyi_nlp.config import get_settings
from minyi_nlp.data.schema import DataError

if TYPE_CHECKING:
    from minyi_nlp.dispatch import Dispatcher

logger = logging.getLogger(__name__)

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")


def side_paths(output: Path) -> dict[str, Path]:
    """The files a job writes next to its output."""
    stem = output.with_suffix("") if output.suffix.lower() == ".parquet" else output
    return {
        "rejects": stem.with_name(stem.name + ".rejects.csv"),
        "summary": stem.with_name(stem.name + ".summary.json"),
        "chart": stem.with_name(stem.name + ".summary.png"),
        "parts": output.with_name(output.name + ".parts"),
    }


def _prepare_files(files: list[InputFile], columns: ColumnMap, encoding: str | None) -> list[InputFile]:
    out = []
    for f in files:
        enc = sniff_encoding(f.path, encoding) if f.format in ("csv", "jsonl") else None
        f = dataclasses.replace(f, encoding=enc)
        f = dataclasses.replace(f, columns=read_columns(f, enc))
        check_columns(f, columns)
        out.append(f)
    return out


def _restat(files: tuple[InputFile, ...]) -> list[str]:
    changed = []
    for f in files:
        try:
            st = f.path.stat()
        except OSError:
            changed.append(f"{f.name} (removed)")
            continue
        if (st.st_size, st.st_mtime_ns) != (f.size, f.mtime_ns):
            changed.append(f.name)
    return changed


def reclassify(
    input: str | Path,
    output: str | Path,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    batch_size: int = 1000,
    top_k: int = 3,
    ray_address: str | None = None,
    bundle_dir: str | Path | None = None,
    columns: ColumnMap | None = None,
    encoding: str | None = None,
    restart: bool = False,
    progress: bool = True,
    max_content_chars: int | None = None,
    dispatcher: Dispatcher | None = None,
) -> Summary:
    """Re-classify every row of ``input`` (a file or a directory) into the Parquet file ``output``.

    ``workers``: processes (local) or actors (ray); default 1 locally, this machine's CPUs on a local
    Ray instance, the cluster's CPUs with ``ray_address``.
    ``dispatcher`` replaces loading the bundle ``bundle_dir`` (default: the served one; local engine, one
    worker; tests).
    Interrupted (Ctrl-C → :class:`KeyboardInterrupt`, or killed), the same call resumes; a different
    input, model or parameters raises :class:`~minyi_nlp.batch.store.ResumeMismatch` unless ``restart``.
    Raises :class:`~minyi_nlp.data.DataError` for unusable input (missing columns, unreadable file).
    """
    t_start = time.perf_counter()
    input_path, output = Path(input), Path(output)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    if batch_size < 1 or top_k < 1:
        raise ValueError("batch_size and top_k must be >= 1")
    if workers is None and not (engine == "ray" and ray_address):
        workers = 1 if engine == "local" else _cpu_count()
    if workers is not None and workers < 1:
        raise ValueError("workers must be >= 1")
    if dispatcher is not None and (engine == "ray" or (workers or 1) > 1) and bundle_dir is None:
        raise ValueError("engine ray / workers > 1 load the model in each worker: pass bundle_dir")
    columns = columns or ColumnMap()
    settings = get_settings()
    max_content_chars = settings.max_content_chars if max_content_chars is None else max_content_chars
    paths = side_paths(output)
    files = discover(input_path, exclude=[output, paths["parts"], paths["rejects"]])
    files = _prepare_files(files, columns, encoding)

    if bundle_dir is None and dispatcher is None:
        from minyi_nlp.models.registry import served_bundle_dir

        bundle_dir = served_bundle_dir()
    bundle_dir = Path(bundle_dir).resolve() if bundle_dir is not None else None
    loaded_here = dispatcher is None
    if dispatcher is None:
        from minyi_nlp.dispatch import Dispatcher

        dispatcher = Dispatcher.load(bundle_dir)
    model_version = dispatcher.version
    if engine == "ray" or (workers or 1) > 1:
        dispatcher = None  # the workers load their own; free the driver's copy
    elif loaded_here:
        ready_for_batches(dispatcher)  # this process loaded its model for the job; a caller's is left alone

    params = {"batch_size": batch_size, "top_k": top_k, "columns": columns.as_dict(), "encoding": encoding,
              "max_content_chars": max_content_chars}
    store = PartStore(output)
    manifest = store.open(
        {"input": [f.fingerprint() for f in files], "params": params, "model_version": model_version},
        restart=restart,
    )
    try:
        plan = _plan(store, manifest, files, columns, batch_size, max_content_chars, top_k)
        sizes = plan.chunk_sizes()
        resumed_rows = sum(n for k, n in sizes.items() if k not in plan.pending)
        if resumed_rows:
            logger.info("resuming: %d of %d chunks already done (%d rows)",
                        len(sizes) - len(plan.pending), len(sizes), resumed_rows)
        t_proc = time.perf_counter()
        rows_this_run, steady, workers = _run_engine(
            plan, store, engine=engine, workers=workers, dispatcher=dispatcher, bundle_dir=bundle_dir,
            model_version=model_version, ray_address=ray_address, progress=progress, initial=resumed_rows,
        )
        processing_s = time.perf_counter() - t_proc
        tally = _merge(store, plan, paths["rejects"])
        summary = build_summary(
            tally,
            output=str(output),
            rejects=str(paths["rejects"]),
            engine=engine,
            workers=workers,
            batch_size=batch_size,
            top_k=top_k,
            model_version=model_version,
            files=len(files),
            rows_read=plan.total_rows,
            resumed_rows=resumed_rows,
            rows_this_run=rows_this_run,
            elapsed_s=round(time.perf_counter() - t_start, 3),
            processing_s=round(processing_s, 3),
            rows_per_s=_rate(rows_this_run, processing_s),
            warmup_s=round(steady[0] - t_proc, 3) if steady else None,
            steady_rows_per_s=_rate(steady[1], steady[2] - steady[0]) if steady else None,
        )
        summary.write_json(paths["summary"])
        plot_summary(summary, paths["chart"])
        store.remove()
        return summary
    finally:
        store.close()


def _plan(
    store: PartStore,
    manifest: dict[str, Any],
    files: list[InputFile],
    columns: ColumnMap,
    batch_size: int,
    max_content_chars: int,
    top_k: int,
) -> Plan:
    """Row counts (kept in the manifest, so a resumed run does not recount) and the chunks still to do."""
    state = manifest.setdefault("state", {})
    counts: dict[str, int] = state.setdefault("rows", {})
    counted = []
    for f in files:
        if f.name not in counts:
            counts[f.name] = count_rows(f, columns)
        counted.append(dataclasses.replace(f, rows=counts[f.name]))
    store.write_manifest(manifest)
    plan = Plan(tuple(counted), columns, batch_size, max_content_chars, top_k)
    keys = set(plan.chunk_sizes())
    return dataclasses.replace(plan, pending=frozenset(keys - store.done_keys()))


def _merge(store: PartStore, plan: Plan, rejects: Path) -> Tally:
    """Check that every chunk is done and the input unchanged, then merge the parts; the tallies."""
    keys = list(plan.chunk_sizes())
    missing = set(keys) - store.done_keys()
    if missing:
        raise RuntimeError(f"{len(missing)} chunk(s) were not written, e.g. {sorted(missing)[:3]}")
    changed = _restat(plan.files)
    if changed:
        raise DataError(f"input changed while the job ran: {', '.join(changed)}; re-run with --restart")
    tally = Tally()

    def check() -> None:
        if tally.rows + tally.rejected_rows != plan.total_rows:
            raise RuntimeError(
                f"row count mismatch: {tally.rows} predicted + {tally.rejected_rows} rejected "
                f"!= {plan.total_rows} read; the parts in {store.dir} are kept for inspection"
            )

    store.merge(keys, output_schema(plan.top_k), rejects, on_part=tally.add_part, on_rejects=tally.add_rejects,
                check=check)
    return tally


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _rate(rows: int, seconds: float) -> float | None:
    return round(rows / seconds, 2) if rows and seconds > 0 else None


def _run_engine(
    plan: Plan,
    store: PartStore,
    *,
    engine: Engine,
    workers: int | None,
    dispatcher: Dispatcher | None,
    bundle_dir: Path | None,
    model_version: str,
    ray_address: str | None,
    progress: bool,
    initial: int,
) -> tuple[int, tuple[float, int, float] | None, int]:
    """Run the engine over the pending chunks.

    Returns the rows (read) processed by this run; if any chunk was done, ``(time of the first chunk
    done, rows done after it, time of the last)`` (the rate without start-up costs); the workers used.
    """
    import minyi_nlp.progress as bars

    done = 0
    marks: list[float] = []
    after_first = 0
    tenth = max(1, plan.total_rows // 10)
    with bars.stage("reclassify", total=plan.total_rows, unit="row", quiet=not progress) as bar:
        bar.advance(initial)

        def on_done(rows: int) -> None:
            nonlocal done, after_first
            now = time.perf_counter()
            if marks:
                after_first += rows
                marks[1] = now
            else:
                marks.extend((now, now))
            before = initial + done
            done += rows
            crossed = (initial + done) // tenth > before // tenth  # a line per tenth when not on a terminal
            bar.advance(rows, label=f"rows ({(initial + done) / max(1, plan.total_rows):.0%})" if crossed else None)

        if engine == "local":
            from minyi_nlp.batch.local import run_local

            workers = workers or 1
            run_local(plan, store, dispatcher=dispatcher, workers=workers, bundle_dir=bundle_dir,
                      model_version=model_version, on_done=on_done)
        else:
            from minyi_nlp.batch.ray_engine import run_ray

            workers = run_ray(plan, store, bundle_dir=bundle_dir, model_version=model_version, workers=workers,
                              ray_address=ray_address, on_done=on_done)
        pending_rows = sum(n for k, n in plan.chunk_sizes().items() if k in plan.pending)
        if done < pending_rows:  # chunks that were wholly rejected are not reported by the Ray engine
            bar.advance(pending_rows - done)
            done = pending_rows
    return done, ((marks[0], after_first, marks[1]) if marks else None), workers

"""The ``minyi reclassify`` command, ready to register: ``app.command("reclassify")(reclassify_command)``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class EngineName(StrEnum):
    local = "local"
    ray = "ray"


def reclassify_command(
    input: Annotated[
        Path, typer.Option("--input", "-i", help="a CSV/JSONL/Parquet/XLSX file, or a directory of them")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="output Parquet file (e.g. out.parquet)")],
    engine: Annotated[EngineName, typer.Option(help="local: this machine; ray: Ray Data actor pool")] = (
        EngineName.local
    ),
    workers: Annotated[
        int | None, typer.Option(min=1, help="processes (local) or actors (ray); default 1 / all CPUs")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="rows per chunk (memory and checkpoint unit)")] = 1000,
    ray_address: Annotated[
        str | None, typer.Option(help="join an existing Ray cluster (default: start a local one)")
    ] = None,
    top_k: Annotated[int, typer.Option(min=1, help="categories and departments kept per row")] = 3,
    bundle_dir: Annotated[
        Path | None, typer.Option("--bundle", help="model bundle folder (default: the served one)")
    ] = None,
    id_column: Annotated[str, typer.Option(help="input column with the appeal id")] = "id",
    content_column: Annotated[str, typer.Option(help="input column with the appeal text")] = "content",
    title_column: Annotated[str, typer.Option(help="input column with the title (used if present)")] = "title",
    category_column: Annotated[
        str, typer.Option(help="input column with the previous category (used if present)")
    ] = "category",
    encoding: Annotated[str | None, typer.Option(help="CSV/JSONL encoding (default: UTF-8, else GB18030)")] = None,
    restart: Annotated[bool, typer.Option(help="discard an unfinished run for this output")] = False,
    progress: Annotated[bool, typer.Option(help="progress bar on stderr")] = True,
) -> None:
    """Re-classify historical appeals into OUTPUT (Parquet): streaming, resumable (re-run the same command
    after an interruption), rejects in OUTPUT.rejects.csv, summary in OUTPUT.summary.json/.png."""
    from minyi_nlp.batch.job import reclassify
    from minyi_nlp.batch.ray_engine import EngineUnavailable
    from minyi_nlp.batch.sources import ColumnMap
    from minyi_nlp.data.schema import DataError

    columns = ColumnMap(id=id_column, content=content_column, title=title_column, category=category_column)
    try:
        summary = reclassify(
            input,
            output,
            engine=engine.value,  # type: ignore[arg-type]
            workers=workers,
            batch_size=batch_size,
            top_k=top_k,
            ray_address=ray_address,
            bundle_dir=bundle_dir,
            columns=columns,
            encoding=encoding,
            restart=restart,
            progress=progress,
        )
    except (DataError, EngineUnavailable) as err:  # bad input, resume refused, job locked; no Ray
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.secho(
            f"interrupted: finished chunks are kept in {output}.parts; re-run the same command to resume",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(130) from None
    typer.echo(summary.format_text())

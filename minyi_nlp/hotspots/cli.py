"""The ``minyi hotspots`` command, ready to register: ``app.command("hotspots")(hotspots_command)``."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    table = "table"
    json = "json"


class EngineName(StrEnum):
    local = "local"
    ray = "ray"


class EncoderChoice(StrEnum):
    input = "input"
    bundle = "bundle"
    auto = "auto"


class MethodName(StrEnum):
    linkage = "linkage"
    average = "average"
    hdbscan = "hdbscan"


def _when(value: str | None, option: str) -> datetime | None:
    from minyi_nlp.data import parse_datetime

    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint=option) from None
    return parsed


def hotspots_command(
    input: Annotated[Path, typer.Option("--input", "-i", help="a CSV/XLSX/JSONL/Parquet file, or a directory of them")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output directory for hotspots.csv/.xlsx/.json/.png")],
    since: Annotated[str | None, typer.Option(help="only appeals written at or after this time (2019-11-01)")] = None,
    until: Annotated[
        str | None, typer.Option(help="only appeals up to this time; also the reference time of recency and growth")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="how many hot issues to report")] = 10,
    format: Annotated[Format, typer.Option("--format", help="table, or json: the last line is one JSON object")] = (
        Format.table
    ),
    method: Annotated[MethodName, typer.Option(help="grouping method (linkage is the measured best)")] = (
        MethodName.linkage
    ),
    threshold: Annotated[
        float | None, typer.Option(help="similarity needed to link two appeals (default 0.18)")
    ] = None,
    encoder: Annotated[
        EncoderChoice,
        typer.Option(help="input: the project's encoder fitted on the input (measured best); bundle: the served "
                          "bundle's; auto: the bundle's when one is trained"),
    ] = EncoderChoice.input,
    engine: Annotated[EngineName, typer.Option(help="local, or ray: featurise chunks as Ray tasks")] = EngineName.local,
    workers: Annotated[int | None, typer.Option(min=1, help="Ray CPUs (default: all)")] = None,
    ray_address: Annotated[str | None, typer.Option(help="join an existing Ray cluster")] = None,
    id_column: Annotated[str | None, typer.Option(help="id column (default: id / 留言编号)")] = None,
    title_column: Annotated[str | None, typer.Option(help="title column (default: title / 留言主题)")] = None,
    content_column: Annotated[str | None, typer.Option(help="text column (default: content / 留言详情)")] = None,
    time_column: Annotated[str | None, typer.Option(help="time column (default: submitted_at / 留言时间)")] = None,
    user_column: Annotated[str | None, typer.Option(help="citizen column (default: user / 留言用户)")] = None,
    likes_column: Annotated[str | None, typer.Option(help="likes column (default: likes / 点赞数)")] = None,
    dislikes_column: Annotated[str | None, typer.Option(help="dislikes column (default: dislikes / 反对数)")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV/JSONL encoding (default: UTF-8, else GB18030)")] = None,
) -> None:
    """Hot issues (热点问题): group the appeals that report the same event, rank the groups by a heat index, and
    write the ranking (CSV, XLSX, JSON) and a chart (PNG) to OUT; every appeal's group goes to
    OUT/hotspots.assignments.parquet, rejected rows to OUT/hotspots.rejects.csv."""
    from minyi_nlp.data import DataError
    from minyi_nlp.hotspots.inputs import Columns, InputReader
    from minyi_nlp.hotspots.params import HotspotParams
    from minyi_nlp.hotspots.pipeline import find_hotspots
    from minyi_nlp.hotspots.report import text_table, write_reports

    start, end = _when(since, "--since"), _when(until, "--until")
    if start and end and start > end:
        raise typer.BadParameter(f"--since {since} is after --until {until}", param_hint="--since")
    overrides = {"method": method.value, "encoder": encoder.value}
    overrides |= {"threshold": threshold} if threshold is not None else {}
    try:
        params = HotspotParams(**overrides)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    columns = Columns(id=id_column, title=title_column, content=content_column, submitted_at=time_column,
                      user=user_column, likes=likes_column, dislikes=dislikes_column)
    reader = InputReader(input, columns, encoding)
    try:
        result = find_hotspots(reader.frames(), params, top=top, since=start, until=end, engine=engine.value,
                               workers=workers, ray_address=ray_address,
                               assignments=out / "hotspots.assignments.parquet")
    except (DataError, ValueError, RuntimeError, FileNotFoundError) as err:
        typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    paths = write_reports(result, out)
    rejects = reader.write_rejects(out / "hotspots.rejects.csv")
    s = result.summary()
    typer.echo(
        f"{reader.rows_read} rows read, {reader.rejected_rows} rejected"
        + (f" (see {rejects})" if rejects else "")
        + f", {s['outside_time_range']} outside the time range; {s['rows']} grouped into {s['groups']} groups of 2+ "
        f"({s['grouped_rows']} appeals) in {sum(s['seconds'].values()):.1f}s; "
        f"wrote {', '.join(map(str, paths.values()))}",
        err=True,
    )
    if format is Format.json:
        typer.echo(json.dumps({"hotspots": [h.contract() for h in result.hotspots]}, ensure_ascii=False))
    else:
        typer.echo(text_table(result))

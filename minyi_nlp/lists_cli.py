"""``minyi lists …``: check the lists folder an administrator edits (事项/职责/实施清单, places, hazards).

Importing this module imports Typer only; the command loads its modules when it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

lists_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="The lists (清单): check a folder before the service reloads it.")


@lists_app.command("check")
def check_command(
    directory: Annotated[Path | None, typer.Argument(
        help="lists folder (default: MINYI_LISTS_DIR or the packaged lists)")] = None,
    warn_days: Annotated[int, typer.Option(help="warn when the working-day calendar ends within this many days")]
    = 60,
    strict: Annotated[bool, typer.Option("--strict", help="exit 1 on a warning too")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Read every list afresh and check them together: each file's version and size, the hazard responders
    and keyword departments against departments.yaml, and how far the working-day calendar reaches.
    Exit 1 with the file, entry and field at fault when a list is wrong (the service would refuse it)."""
    from minyi_nlp.data.schema import DataError
    from minyi_nlp.routing.list_check import check_lists
    from minyi_nlp.routing.lists import ListsError

    try:
        report = check_lists(directory, warn_days=warn_days)
    except (ListsError, DataError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report.lines():
            typer.echo(line, err=line.startswith("warning:"))
    if strict and report.warnings:
        raise typer.Exit(1)

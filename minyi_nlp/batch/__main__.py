"""``python -m minyi_nlp.batch --input … --output …``: the reclassify command without the main CLI."""

from __future__ import annotations

import logging
import sys

import typer

from minyi_nlp.batch.cli import reclassify_command


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    app = typer.Typer(add_completion=False)
    app.command()(reclassify_command)
    app()


if __name__ == "__main__":
    main()

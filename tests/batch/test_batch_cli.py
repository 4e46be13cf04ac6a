"""The command function registers on a Typer app; bad input fails cleanly; importing pulls in no Ray."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import typer
from typer.testing import CliRunner

from minyi_nlp.batch import reclassify
from minyi_nlp.batch.cli import reclassify_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("reclassify")(reclassify_command)
    return app


def test_registers_with_the_issue_options() -> None:
    result = CliRunner().invoke(_app(), ["reclassify", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in ("--input", "--output", "--engine", "--workers", "--batch-size", "--ray-address", "--top-k",
                   "--restart"):
        assert option in result.output


def test_missing_input_is_a_clean_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(), ["reclassify", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.parquet")]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_header_only_input_gives_an_empty_output(tmp_path: Path, fake) -> None:
    (tmp_path / "in.csv").write_text("id,content\n", encoding="utf-8")
    summary = reclassify(tmp_path / "in.csv", tmp_path / "o.parquet", dispatcher=fake, progress=False)
    assert summary.rows_read == 0 and summary.predicted == 0
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 0


def test_import_has_no_ray_and_no_side_effects() -> None:
    code = "import sys, minyi_nlp.batch.cli, minyi_nlp.batch.job; assert 'ray' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)

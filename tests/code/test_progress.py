"""minyi_nlp.progress: a bar on a terminal, one line per step otherwise, nothing under --quiet."""

from __future__ import annotations

import io

import pytest

import minyi_nlp.progress as progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _reset(monkeypatch):
    monkeypatch.delenv("MINYI_QUIET", raising=False)
    yield
    progress.configure()


def run_stage(stream) -> None:
    progress.configure(stream=stream)
    with progress.stage("train", total=3):
        with progress.step("fit encoder"):
            pass
        # a stage inside a stage: no line, no count
        with progress.step("fit head category"), progress.stage("inner work", total=5), \
                progress.step("inner step"):
            pass
        with progress.step("save bundle"):
            pass


def test_one_line_per_step_when_not_a_terminal():
    out = io.StringIO()
    run_stage(out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "train 1/3 fit encoder", "train 2/3 fit head category", "train 3/3 save bundle", "train"]
    assert "ETA" in lines[0] and "ETA" not in lines[2]  # nothing left after the last step
    assert lines[-1].startswith("train: done in")
    assert "inner" not in out.getvalue()


def test_quiet_prints_nothing(monkeypatch):
    out = io.StringIO()
    monkeypatch.setenv("MINYI_QUIET", "1")
    run_stage(out)
    assert out.getvalue() == ""
    progress.configure(quiet=True, stream=out)
    with progress.stage("compare", total=1), progress.step("held-out category"):
        pass
    assert out.getvalue() == ""


def test_a_bar_with_what_it_does_and_an_eta_on_a_terminal():
    out = Terminal()
    run_stage(out)
    text = out.getvalue()
    assert "train" in text and "3/3" in text and "<" in text  # tqdm: [elapsed<remaining]
    assert "\r" in text  # redrawn in place, not one line per step
    assert "train 1/3 fit encoder:" not in text


def test_a_failed_stage_says_so():
    out = io.StringIO()
    progress.configure(stream=out)
    with pytest.raises(RuntimeError), progress.stage("cv", total=2), progress.step("fold 0"):
        raise RuntimeError("boom")
    assert out.getvalue().splitlines()[-1].startswith("cv: failed after")


def test_track_yields_every_item_and_steps_outside_a_stage_do_nothing():
    out = io.StringIO()
    progress.configure(stream=out)
    assert list(progress.track(range(4), "rows")) == [0, 1, 2, 3]
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[-1]]  # only the end line
    with progress.step("alone"):
        pass
    assert "alone" not in out.getvalue()

"""Progress of long steps on stderr: what is being done and an ETA.

* On a terminal: one tqdm bar per stage (``train``, ``cv``, ``compare`` …) whose text names the current step.
* Not a terminal (CI, a log file, a pipe): one line per finished step, e.g.
  ``train 3/8 head category: 41.2 s (elapsed 55 s, ETA ~1 min)``, and one when the stage ends.
* ``--quiet`` (:func:`configure`) or ``MINYI_QUIET=1``: nothing.

Usage, anywhere in the code base (this module imports nothing of the project)::

    with progress.stage("train", total=8):
        with progress.step("fit encoder"):
            ...
        for chunk in progress.track(chunks, "encode", total=len(chunks)):  # a bar of items, no lines
            ...

A step or a stage opened while another stage is running belongs to that stage: inner code reports its steps
without knowing who called it, and only the outermost stage draws a bar.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

_config: dict[str, Any] = {"quiet": None, "stream": None}
_active: list[Stage | Nested] = []


def configure(*, quiet: bool | None = None, stream: TextIO | None = None) -> None:
    """Set quiet mode (``None``: from ``MINYI_QUIET``) and the output stream (default ``sys.stderr``)."""
    _config["quiet"], _config["stream"] = quiet, stream


def is_quiet() -> bool:
    if _config["quiet"] is not None:
        return bool(_config["quiet"])
    return os.environ.get("MINYI_QUIET", "").strip().lower() in ("1", "true", "yes")


def _stream() -> TextIO:
    return _config["stream"] or sys.stderr


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    return f"{minutes} min {sec:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


class Stage:
    """One long stage with ``total`` units of work (steps or items); see the module docstring."""

    def __init__(self, name: str, total: float | None = None, unit: str = "step", quiet: bool | None = None) -> None:
        self.name, self.total, self.unit = name, total, unit
        self.done = 0.0
        self.started = time.perf_counter()
        self.stream = _stream()
        self.quiet = is_quiet() or bool(quiet)
        self.terminal = _is_terminal(self.stream)
        self.bar: Any = None

    # -- life cycle -------------------------------------------------------------------------------------
    def open(self) -> Stage:
        if not self.quiet and self.terminal:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, desc=self.name, unit=self.unit, file=self.stream, dynamic_ncols=True,
                            leave=True, mininterval=0.2, bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/"
                            "{total_fmt} [{elapsed}<{remaining}]{postfix}" if self.total else None)
        return self

    def close(self, failed: bool = False) -> None:
        elapsed = time.perf_counter() - self.started
        if self.bar is not None:
            self.bar.close()
        elif not self.quiet:
            what = "failed after" if failed else "done in"
            self._line(f"{self.name}: {what} {human_seconds(elapsed)}")

    # -- reporting --------------------------------------------------------------------------------------
    def add_total(self, n: float) -> None:
        """More work than announced (e.g. a step that turned out to have sub-steps)."""
        self.total = (self.total or 0) + n
        if self.bar is not None:
            self.bar.total = self.total
            self.bar.refresh()

    def doing(self, text: str) -> None:
        """Show what is being done now (a terminal bar's text; nothing is printed otherwise)."""
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)

    def advance(self, n: float = 1, label: str | None = None, seconds: float | None = None) -> None:
        """``n`` more units done; with a ``label``, a line is printed when not on a terminal."""
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif label is not None and not self.quiet:
            elapsed = time.perf_counter() - self.started
            count = f" {self.done:.0f}/{self.total:.0f}" if self.total else ""
            took = f": {human_seconds(seconds)}" if seconds is not None else ""
            eta = ""
            if self.total and 0 < self.done < self.total:
                eta = f", ETA ~{human_seconds(elapsed / self.done * (self.total - self.done))}"
            self._line(f"{self.name}{count} {label}{took} (elapsed {human_seconds(elapsed)}{eta})")

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class Nested:
    """A stage opened inside another: its steps only label the outer stage's bar (no count, no line)."""

    def __init__(self, outer: Stage | Nested, name: str) -> None:
        self.outer, self.name = outer, name
        outer.doing(name)

    def add_total(self, n: float) -> None:
        pass

    def doing(self, text: str) -> None:
        self.outer.doing(f"{self.name}: {text}")

    def advance(self, n: float = 1, label: str | None = None, seconds: float | None = None) -> None:
        if label is not None:
            self.doing(label)


@contextmanager
def stage(name: str, total: float | None = None, unit: str = "step",
          quiet: bool | None = None) -> Iterator[Stage | Nested]:
    """A stage (``quiet``: silent whatever :func:`configure` says); inside another one it only labels that
    one's steps (no second bar, no count, no line)."""
    if _active:
        nested = Nested(_active[-1], name)
        _active.append(nested)
        try:
            yield nested
        finally:
            _active.pop()
        return
    current = Stage(name, total, unit, quiet).open()
    _active.append(current)
    failed = False
    try:
        if current.bar is not None:
            from tqdm.contrib.logging import logging_redirect_tqdm

            with logging_redirect_tqdm():
                yield current
        else:
            yield current
    except BaseException:
        failed = True
        raise
    finally:
        _active.pop()
        current.close(failed)


@contextmanager
def step(label: str, units: float = 1) -> Iterator[None]:
    """One named step of the running stage (counts ``units`` when done); a no-op outside any stage."""
    if not _active:
        yield
        return
    current = _active[-1]
    current.doing(label)
    t0 = time.perf_counter()
    yield
    current.advance(units, label=label, seconds=time.perf_counter() - t0)


def track(items: Iterable[T], name: str, total: float | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate ``items`` with a bar (its own stage, or items of the running stage's current step)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if _active:
        outer = _active[-1]
        for i, item in enumerate(items, 1):
            outer.doing(f"{name} {i}/{total:.0f}" if total else f"{name} {i}")
            yield item
        return
    with stage(name, total, unit) as current:
        for item in items:
            yield item
            current.advance(1)


def active() -> bool:
    """Whether a stage is running (and would show what is reported)."""
    return bool(_active)

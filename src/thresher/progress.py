"""Progress of long work, one helper for every command: a rich bar on a terminal, plain periodic log
lines (done/total, docs, MB/s, ETA) when stderr is not a terminal (CI, nohup, a log file).

    with Progress("index", total=n_files, unit="files") as p:
        for f in files:
            ...
            p.advance(docs=len(batch), nbytes=size)

``THRESHER_PROGRESS=off|bar|log`` forces a mode; ``THRESHER_PROGRESS_EVERY`` sets the seconds between
log lines (default 10). Ground floor: imports nothing of thresher.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as _RichProgress


def mode(enabled: bool | None = None, stream: TextIO | None = None) -> str:
    """``bar``, ``log`` or ``off``: ``enabled=False`` is off; otherwise the environment decides, else
    whether the stream is a terminal."""
    if enabled is False:
        return "off"
    forced = os.environ.get("THRESHER_PROGRESS", "").strip().lower()
    if forced in ("off", "bar", "log"):
        return forced
    s = stream or sys.stderr
    try:
        tty = s.isatty()
    except (AttributeError, ValueError):
        tty = False
    return "bar" if tty else "log"


def _eta(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class Progress:
    """Counts units (shards, files, batches) done of ``total``, plus documents, bytes and tokens."""

    def __init__(self, desc: str, total: int | None = None, unit: str = "", enabled: bool | None = None,
                 stream: TextIO | None = None, every: float | None = None, close_after: float = 1.0):
        self.desc, self.total, self.unit = desc, total, unit
        self.close_after = close_after      # log mode: the closing line only for work that took this long
        self.stream = stream or sys.stderr
        self.mode = mode(enabled, self.stream)
        self.every = float(os.environ.get("THRESHER_PROGRESS_EVERY", "10")) if every is None else every
        self.done = self.docs = self.bytes = self.tokens = 0
        self.t0 = self.last = time.perf_counter()
        self.lines = 0
        self.owed = False
        self._bar: _RichProgress | None = None
        if self.mode == "bar":
            self._bar = _RichProgress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), transient=False)
            self._task = self._bar.add_task(desc, total=total, rate="")

    def __enter__(self) -> "Progress":
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.mode == "log" and exc_type is None and (self.lines or self.owed or time.perf_counter() - self.t0 >= self.close_after):
            self._log(final=True)      # a closing line, when the work took long enough to report on

    def rate(self) -> str:
        dt = max(time.perf_counter() - self.t0, 1e-9)
        parts = []
        if self.docs:
            per_s = self.docs / dt          # a slow start (kernels compiling) reads 0.4/s, not 0/s
            parts.append(f"{self.docs:,} docs ({per_s:,.0f}/s)" if per_s >= 10 else f"{self.docs:,} docs ({per_s:.1f}/s)")
        if self.bytes:
            parts.append(f"{self.bytes / dt / 1e6:,.1f} MB/s")
        if self.tokens:
            parts.append(f"{self.tokens / dt:,.0f} tokens/s")
        return ", ".join(parts)

    def advance(self, n: int = 1, docs: int = 0, nbytes: int = 0, tokens: int = 0) -> None:
        self.done += n
        self.docs += docs
        self.bytes += nbytes
        self.tokens += tokens
        if self._bar is not None:
            self._bar.update(self._task, advance=n, rate=self.rate())
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self.last >= self.every:
                self.last = now
                if self.total and self.done >= self.total:
                    self.owed = True        # all done: the closing line says it, once
                else:
                    self._log()

    def _log(self, final: bool = False) -> None:
        dt = time.perf_counter() - self.t0
        unit = f" {self.unit}" if self.unit else ""
        done = f"{self.done:,}/{self.total:,}{unit}" if self.total else f"{self.done:,}{unit}"
        line = f"{self.desc}: {done}"
        if self.rate():
            line += ", " + self.rate()
        if final:
            line += f", done in {_eta(dt)}"
        elif self.total and self.done:
            line += f", ETA {_eta(dt / self.done * (self.total - self.done))}"
        else:
            line += f", {_eta(dt)} elapsed"
        print(line, file=self.stream, flush=True)
        self.lines += 1

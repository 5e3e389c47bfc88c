"""Local executor: a process pool (default: one worker per core) with a rich progress bar.

Executors only schedule: they call a plain function on plain items and return the results in item
order, so the Ray executor can call the very same shard runner and give a byte-identical release.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence


from ..lock import die_with_parent
from ..progress import Progress


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class LocalExecutor:
    """The local process pool (``Executor`` protocol): runs ``fn(item, *args)`` for every item; results come back in item order."""

    def __init__(self, workers: int | None = None, progress: bool | None = None):
        self.workers = max(1, workers or default_workers())
        self.progress = progress       # None: a bar on a terminal, log lines otherwise (thresher.progress)

    def forks(self, items: int) -> bool:
        """Whether ``map`` over ``items`` items forks workers: one item, or one worker, runs here."""
        return self.workers > 1 and items > 1

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any, desc: str = "shards",
            meanwhile: Callable[[], Any] | None = None) -> list[Any]:
        """``meanwhile`` runs in this process while the workers work (after they are forked), e.g. the
        next stage's set-up, which the workers of that stage then inherit."""
        results: list[Any] = [None] * len(items)
        if not self.forks(len(items)) and meanwhile is not None:
            meanwhile()
        if not items:
            return results
        with _Bar(desc, len(items), self.progress) as bar:
            if not self.forks(len(items)):
                for i, item in enumerate(items):
                    results[i] = fn(item, *args)
                    bar.advance(results[i])
                return results
            # fork: workers inherit the imported modules (forkserver re-imports pyarrow, numba ... in every
            # worker, which cost ~40% of a 200 MB run here). The parent holds no threads while it forks.
            ctx = mp.get_context("fork" if sys.platform == "linux" else "spawn")
            _preload()
            with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=ctx,
                                     initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
                pending = {pool.submit(fn, item, *args): i for i, item in enumerate(items)}
                if meanwhile is not None:
                    meanwhile()
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = pending.pop(fut)
                        results[i] = fut.result()    # a worker's exception propagates and stops the run
                        bar.advance(results[i])
        return results


def _preload() -> None:
    """Imports that every worker would otherwise make on its own, once per pool: pyarrow imports
    pandas (when installed, 0.2 s) the first time it converts a Python list, unless a ``thresher run``
    lets it convert without (``io/arrow_pandas.py``)."""
    import pyarrow as pa

    from ..io.arrow_pandas import defer_pandas

    defer_pandas()
    pa.array([""])


class _Bar(Progress):
    """Shards done, docs/s and MB/s (from the ``docs``/``bytes``/``tokens`` keys of the results, when
    present): a bar on a terminal, log lines otherwise (``thresher.progress``). In a log every stage
    ends with its line, however short, so the log shows each stage of a run was done."""

    def __init__(self, desc: str, total: int, enabled: bool | None):
        super().__init__(desc, total=total, unit="shards", enabled=enabled, close_after=0.0)

    def advance(self, result: Any = None) -> None:       # type: ignore[override]
        r = result if isinstance(result, dict) else {}
        super().advance(1, docs=r.get("docs", 0), nbytes=r.get("bytes", 0), tokens=r.get("tokens", 0))

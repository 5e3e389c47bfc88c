"""The executor protocol: what the runner and the global steps rely on, and nothing else.

An executor calls a plain, picklable function on plain items and returns the results in item order
(``map``); ``workers`` tells a global step how many tasks to plan; ``meanwhile`` runs in the driver
while the tasks run (e.g. the next stage's set-up). The local process pool implements it
(``LocalExecutor``); a cluster executor implements the same three things, so every executor calls
the same shard runner and writes the same release, byte for byte.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence, runtime_checkable


@runtime_checkable
class Executor(Protocol):
    workers: int
    progress: bool | None

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any, desc: str = "shards",
            meanwhile: Callable[[], Any] | None = None) -> list[Any]:
        """``fn(item, *args)`` for every item, results in item order; a task's exception stops the
        run. ``meanwhile`` runs once in this process while the tasks run."""
        ...


def forks(executor: Executor, items: int) -> bool:
    """Whether ``executor.map`` over ``items`` items runs them in forked worker processes, which inherit
    what this process set up before the call (``Step.prepare``: imports, compiled kernels). An
    executor says so with a ``forks(items)`` method (the local pool); one without (spawned or Ray
    workers start fresh) does not fork."""
    says = getattr(executor, "forks", None)
    return bool(says(items)) if callable(says) else False

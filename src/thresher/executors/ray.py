"""Ray executor: the same shard runner, submitted as Ray tasks to a cluster (``thresher[ray]``).

It implements the ``Executor`` protocol exactly as the local pool does: ``fn(item, *args)`` for every
item, results in item order, ``meanwhile`` in the driver while the tasks run. Every stage and every fit
task of a global step (keys, buckets, decisions) goes through ``map``, so a Ray run calls the very code
a local run calls and writes the same release, byte for byte. What Ray adds:

- per-task resources (``cpus`` and ``memory_mb`` per task) so the scheduler packs tasks on nodes;
- retries: a task whose worker died (killed, out of memory, node lost) runs again; a shard's outputs
  appear under their final names only when complete and its marker is written last, so a retried
  task starts from nothing it half wrote;
- a task that still fails after its retries stops the run with one line naming the task's shard
  and input (``TaskFailed``); the other tasks are cancelled.

Workers must see the release folder (one machine, or a shared filesystem mounted at the same path on
every node) and the inputs; object storage goes through ``thresher.storage``.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..errors import ThresherError
from .local import _Bar


class TaskFailed(ThresherError):
    """A task failed on every try: names its shard (or task) and input."""


def describe(item: Any) -> str:
    """What a task works on, for an error line: a shard and its input file(s), or the task's item."""
    index, files = getattr(item, "index", None), getattr(item, "files", None)
    if index is not None and files is not None:
        from ..paths import shard_name

        where = ", ".join(str(f) for f in files[:3]) + (" ..." if len(files) > 3 else "")
        span = f" from byte {item.start}" if getattr(item, "start", 0) else ""
        return f"shard {shard_name(index)} (input {where}{span})"
    text = repr(item)
    return f"task {text[:120]}{'...' if len(text) > 120 else ''}"


def _cause(err: BaseException) -> str:
    """The first line of the task's own error (Ray wraps it with a long traceback)."""
    cause = getattr(err, "cause", None)
    if isinstance(cause, BaseException):
        err = cause
    first = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), "")
    return f"{type(err).__name__}: {first}"[:400] if first else type(err).__name__


def _call(fn: Callable[..., Any], item: Any, *args: Any) -> Any:
    """The task Ray runs: ``fn`` (any picklable callable, builtins too) on one item."""
    return fn(item, *args)


def _warm() -> None:
    """What every task of a run imports first (pyarrow, the readers and steps, the dedup kernels)."""
    import pyarrow as pa

    from .. import io, steps  # noqa: F401
    from ..dedup import pairs

    pa.array([""])
    pairs.warmup()


class RayExecutor:
    """Ray tasks (``Executor`` protocol). ``address``: ``auto`` (a running cluster: ``ray start --head``),
    ``ray://host:10001``, ``HOST:6379``, or ``local``/None to start a private instance in this process.

    ``cpus`` and ``memory_mb`` are reserved per task; ``retries``: further tries of a task whose worker
    died or that raised (then the run stops, naming the shard and its input).
    """

    def __init__(self, address: str | None = "auto", workers: int | None = None, progress: bool | None = None,
                 cpus: float = 1.0, memory_mb: int | None = None, retries: int = 3):
        import sys

        import ray

        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address and address != "local":
                kw["address"] = address
            elif workers:
                kw["num_cpus"] = workers
            try:
                ray.init(**kw)
            except ConnectionError as e:
                raise ThresherError(f"ray: no cluster at {address!r} ({str(e).splitlines()[0]}); "
                                    "start one with `ray start --head` or use --ray-address local") from None
        self.cpus, self.memory_mb, self.retries = float(cpus), memory_mb, max(0, int(retries))
        total = ray.cluster_resources().get("CPU", 1.0)
        self.workers = max(1, int(workers or total // self.cpus))
        self.progress = sys.stderr.isatty() if progress is None else progress
        # the local pool's workers inherit the imports by fork; Ray's start fresh for every job: warm
        # one per CPU now (imports, numba kernels from their cache) while the driver plans the shards
        warm = ray.remote(num_cpus=self.cpus, max_retries=0)(_warm)
        self._warming = [warm.remote() for _ in range(max(1, int(total // self.cpus)))]

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any, desc: str = "shards",
            meanwhile: Callable[[], Any] | None = None) -> list[Any]:
        import ray

        results: list[Any] = [None] * len(items)
        if not items:
            if meanwhile is not None:
                meanwhile()
            return results
        opts: dict[str, Any] = {"num_cpus": self.cpus, "max_retries": self.retries, "retry_exceptions": True}
        if self.memory_mb:
            opts["memory"] = int(self.memory_mb * 2**20)
        task = ray.remote(**opts)(_call).options(name=getattr(fn, "__name__", "task"))
        shared = [ray.put(a) for a in (fn, *args)]   # the function, the config ... shipped once, not per task
        with _Bar(desc, len(items), self.progress) as bar:
            pending = {task.remote(shared[0], item, *shared[1:]): i for i, item in enumerate(items)}
            try:
                if meanwhile is not None:
                    meanwhile()
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        i = pending.pop(ref)
                        try:
                            results[i] = ray.get(ref)
                        except (ray.exceptions.RayError, ThresherError) as e:
                            raise TaskFailed(f"{desc}: {describe(items[i])} failed after "
                                             f"{self.retries + 1} tries: {_cause(e)}") from None
                        bar.advance(results[i])
            finally:
                for ref in pending:         # a failure or an interrupt: nothing keeps running for this map
                    ray.cancel(ref, force=True)
        return results

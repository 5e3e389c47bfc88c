"""Executors schedule shards; they never touch documents themselves."""
from .base import Executor
from .local import LocalExecutor, default_workers

__all__ = ["Executor", "LocalExecutor", "default_workers", "local"]


def local(workers: int | None = None, progress: bool | None = None) -> Executor:
    """The default executor: a process pool on this machine."""
    return LocalExecutor(workers, progress)

"""Executors schedule shards; they never touch documents themselves."""
from typing import Any, Callable

from ..errors import ConfigError
from .base import Executor, forks
from .local import LocalExecutor, default_workers

__all__ = ["Executor", "LocalExecutor", "default_workers", "forks", "local", "make_executor"]


def local(workers: int | None = None, progress: bool | None = None) -> Executor:
    """The default executor: a process pool on this machine."""
    return LocalExecutor(workers, progress)


def make_executor(spec: Any = None, workers: int | None = None, progress: bool | None = None) -> Executor:
    """The executor a config's ``executor:`` block names (``kind: local | ray``, ``address``,
    ``cpus``, ``memory_mb``, ``retries``; a mapping or an object with those attributes); ``workers``
    overrides its worker count. Ray is imported only when asked for (``pip install thresher[ray]``)."""
    get: Callable[..., Any] = ((spec.get if isinstance(spec, dict) else lambda k, d=None: getattr(spec, k, d))
                               if spec is not None else lambda k, d=None: d)
    kind = get("kind", "local")
    workers = workers or get("workers")
    if kind == "local":
        return LocalExecutor(workers, progress)
    if kind != "ray":
        raise ConfigError(f"executor: unknown kind {kind!r} (known: local, ray)")
    try:
        from .ray import RayExecutor
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError("executor: kind ray needs Ray: pip install 'thresher[ray]'") from None
    return RayExecutor(get("address", "auto"), workers, progress, cpus=get("cpus", 1.0) or 1.0,
                       memory_mb=get("memory_mb"), retries=get("retries", 3))

"""Executors schedule shards; they never touch documents themselves."""
from .local import Executor, default_workers

__all__ = ["Executor", "default_workers"]

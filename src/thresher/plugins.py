"""Plugin registrations that reach every worker process.

A registration made in Python (``register_ner("spacy_en", detect)``) fills a table in the process that
made it; a worker started by ``spawn`` (macOS, Windows, a cluster executor) imports thresher afresh
and would not know it. So every registration is also recorded here as an importable reference
(``"my_package.ner:detect"``); the pipeline config carries the table to the workers
(``PipelineConfig.plugins``, never part of the config hash), and a worker looks a name up there and
imports it when its own table does not have it. A detector that cannot be imported by name (a
lambda, a closure) still works with the default fork workers, and is reported when it cannot reach
a spawned one.
"""
from __future__ import annotations

import importlib
from typing import Any

_REFS: dict[str, dict[str, str]] = {}      # kind -> name -> "module:qualname"


def reference(obj: Any) -> str | None:
    """``obj``'s import reference if importing it gives back ``obj``, else None."""
    mod, qual = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if not mod or not qual or "<" in qual or mod == "__main__":
        return None
    ref = f"{mod}:{qual}"
    try:
        return ref if load_reference(ref) is obj else None
    except (ImportError, AttributeError):
        return None


def load_reference(ref: str) -> Any:
    """Import ``module:attr.path``."""
    mod, _, qual = ref.partition(":")
    obj: Any = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def record(kind: str, name: str, obj: Any) -> None:
    """Remember where ``obj``, registered as ``name`` of ``kind``, can be imported from (if it can)."""
    ref = reference(obj)
    if ref is None:
        _REFS.get(kind, {}).pop(name, None)
    else:
        _REFS.setdefault(kind, {})[name] = ref


def registered() -> dict[str, dict[str, str]]:
    """Every importable registration of this process (what a config carries to its workers)."""
    return {k: dict(v) for k, v in _REFS.items()}


def restore(refs: dict[str, dict[str, str]]) -> None:
    """Make registrations carried from another process known here (a worker calls this first)."""
    for kind, names in refs.items():
        for name, ref in names.items():
            _REFS.setdefault(kind, {}).setdefault(name, ref)


def lookup(kind: str, name: str) -> Any | None:
    """The object registered as ``name`` in any process whose registrations reached this one."""
    ref = _REFS.get(kind, {}).get(name)
    return load_reference(ref) if ref else None

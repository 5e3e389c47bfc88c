"""Lazy package exports (PEP 562): a package names what it exports and where each name lives; the
module is imported on first access. ``import thresher.X`` then costs milliseconds, so the CLI starts
fast and a command pays only for what it uses (``benchmarks/cold_warm.py`` measures it).

Use in a package's ``__init__.py``::

    from ..lazy import exports
    __getattr__, __dir__, __all__ = exports(__name__, {"Ledger": ".ledger", "forget": ".forget"})

``AfterImport`` runs a function when a third-party module is first imported, however and by whom
(``compiled.fast_cache_loads`` on numba's cache, ``io.arrow_pandas`` on pandas).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any, Callable


class AfterImport(importlib.abc.MetaPathFinder):
    """Put first in ``sys.meta_path``: calls ``then(module)`` right after module ``name`` is first
    imported (once loaded). Inert after its one use; it stays in ``sys.meta_path`` (removing a finder
    while the import system walks that list would skip the next)."""

    def __init__(self, name: str, then: Callable[[types.ModuleType], None]):
        self.name, self.then, self.used = name, then, False

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name or self.used:
            return None
        self.used = True
        spec = importlib.util.find_spec(fullname)         # what the other finders would answer
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run, then = spec.loader.exec_module, self.then

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            then(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


class _Package(types.ModuleType):
    """A package whose exported name equals a submodule's (``governance.forget`` the function, in
    ``governance/forget.py``): importing the submodule sets the package's attribute to the module;
    an eager ``from .forget import forget`` rebound it, and this keeps that meaning when lazy."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}"
                and name in vars(self).get("_exports", ())):
            return          # sys.modules still holds the submodule; the name stays the exported object
        super().__setattr__(name, value)


def exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``: ``names`` maps an exported name to
    the submodule (relative, e.g. ``.ledger``) that defines it, or ``.module:attr`` for an alias."""

    def __getattr__(name: str) -> Any:
        mod = names.get(name)
        if mod is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        mod, _, attr = mod.partition(":")          # ".register:classify" exports an alias
        value = getattr(importlib.import_module(mod, package), attr or name)
        setattr(sys.modules[package], name, value)      # the next access skips this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(names))

    mod = sys.modules[package]
    mod.__class__ = _Package
    mod._exports = dict(names)
    return __getattr__, __dir__, sorted(names)

"""pyarrow without pandas, for the commands that build a release (``thresher run``, ``demo``, ``update``).

pyarrow looks for pandas the first time it converts Python values (``pa.array``, ``pa.table``: every
shard writer does), to recognise pandas objects and pandas' null markers, and imports it when it is
installed: 0.2 s of every fresh process on an idle machine, more on a loaded one (issue 21), for a
pipeline that never holds a pandas object. ``defer_pandas`` lets pyarrow look once with pandas
hidden: pyarrow notes "no pandas" and converts lists without it.

pyarrow keeps that note in two places. Its Python side is told again as soon as pandas is imported
(``_tell_arrow``), so a ``Series`` or ``DataFrame`` converts as usual afterwards
(``tests/test_startup.py``). Its C++ side looks only once per process: pandas' own null markers
(``pd.NA``, ``pd.NaT``) inside Python lists or object columns are then not taken for nulls (pyarrow
raises on them). So it is done only in the process of such a command (``in_this_process``),
at the first conversion (``defer_pandas``: the shard writer, the executor before it forks), when the
steps are built and their modules imported, and never when pandas is already imported; library users
and other commands keep pyarrow's usual behaviour.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from typing import Any

from ..lazy import AfterImport

_wanted = False
_done = False


def in_this_process() -> None:
    """A command that builds a release: this process may convert without pandas (``defer_pandas``)."""
    global _wanted
    _wanted = True


def defer_pandas() -> None:
    """Before pyarrow's first conversion of Python values: if ``in_this_process`` was called and
    pandas is not imported, let pyarrow look for pandas with pandas hidden (once per process)."""
    global _done
    if _done or not _wanted:
        return
    _done = True
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    hide = _Hide()
    sys.meta_path.insert(0, hide)         # ``import pandas`` raises ImportError meanwhile
    try:
        pa.array(["a"])          # pyarrow's first look for pandas (Python and C++): it notes "not installed"
    finally:
        hide.used = True
    sys.meta_path.insert(0, AfterImport("pandas", _tell_arrow))


class _Hide(importlib.abc.MetaPathFinder):
    """pandas is not found while ``used`` is False (then inert: see ``AfterImport``)."""

    used = False

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pandas" and not self.used:
            raise ModuleNotFoundError("pandas hidden from pyarrow's first look (thresher.io.arrow_pandas)", name=fullname)
        return None


def _tell_arrow(pandas: Any) -> None:
    """Once pandas is loaded: make pyarrow look for it again (its ``compat`` property re-imports it
    when pyarrow's note says it was missing)."""
    import pyarrow as pa

    try:
        pa.lib._pandas_api.compat        # pyarrow imports pandas (loaded now) and notes it is there
    except ImportError:
        pass        # a pandas pyarrow refuses (too old): pyarrow warned and goes on without it, as it would have

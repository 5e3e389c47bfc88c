"""The compiled (numba) kernels' on-disk cache and the time spent compiling them.

Every kernel is ``@njit(cache=True)``: compiled once per installation, then loaded from disk in
milliseconds. ``thresher warmup`` (run by ``make setup``) compiles them all ahead of a user's first
pipeline. Where the cache lives (``configure_cache``, called by ``thresher/__init__`` before numba
loads): ``$NUMBA_CACHE_DIR`` when set; else ``$THRESHER_CACHE_DIR/numba``; else numba's default,
``__pycache__`` beside the sources, when the install is writable; else (a read-only or shared
install) ``$XDG_CACHE_HOME/thresher/numba`` (``~/.cache/thresher/numba``), one per user. Run
``thresher warmup`` once as the user (or with ``NUMBA_CACHE_DIR`` pointing at a shared writable folder)
to fill it.

Loading a cached kernel does not make numba load its compiler's registries (``fast_cache_loads``).

``JitClock`` measures, in one process, the seconds numba spent compiling (a cache miss) and loading
kernels from the cache; the runner takes them out of the step that triggered them and reports
them as ``jit`` in ``stats.json``, so a first run's compile time is never a step's time.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

from .lazy import AfterImport


def cache_dir(package_dir: Path, env: dict[str, str] | os._Environ = os.environ) -> str | None:
    """The folder to give numba as NUMBA_CACHE_DIR, or None for numba's default (in the source tree)."""
    if env.get("NUMBA_CACHE_DIR"):
        return env["NUMBA_CACHE_DIR"]
    if env.get("THRESHER_CACHE_DIR"):
        return str(Path(env["THRESHER_CACHE_DIR"]) / "numba")
    if os.access(package_dir, os.W_OK):
        return None
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "thresher" / "numba")


def configure_cache() -> None:
    """Point numba's cache at ``cache_dir`` (before numba is imported; if it already is, reload its config),
    and make its cache loads light (``fast_cache_loads``, once ``numba.core.caching`` is imported)."""
    if "numba.core.caching" in sys.modules:
        fast_cache_loads(sys.modules["numba.core.caching"])
    elif not any(isinstance(f, AfterImport) and f.name == "numba.core.caching" for f in sys.meta_path):
        sys.meta_path.insert(0, AfterImport("numba.core.caching", fast_cache_loads))
    d = cache_dir(Path(__file__).resolve().parent)
    if d is None or os.environ.get("NUMBA_CACHE_DIR") == d:
        return
    os.environ["NUMBA_CACHE_DIR"] = d
    if "numba" in sys.modules:
        from numba.core import config

        config.reload_config()


def fast_cache_loads(caching: ModuleType) -> None:
    """numba's cache, on loading a kernel, first "refreshes" its compiler: imports and registers the
    typing and lowering of everything it can compile (~80 modules: NumPy's functions, typed
    containers, cffi with its C parser), 0.1-0.2 s of every process's first kernel, none of which
    loading machine code uses. Here a load only starts numba's runtime (NRT: the allocator the
    kernels link to), as that refresh would; a kernel not in the cache is compiled as before:
    numba's compiler refreshes itself before it compiles (``defer_scipy`` first). Left as is when
    this numba's cache lacks the methods it relies on."""
    global _fast
    cache = getattr(caching, "Cache", None)
    if cache is None or not all(hasattr(cache, a) for a in ("_load_overload", "_guard_against_spurious_io_errors")):
        return

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        from numba.core.runtime import rtsys

        rtsys.initialize(target_context)
        got = None
        # an I/O error swallowed: a miss; a kernel built from numba's NumPy implementations imports them
        with scipy_deferred(), self._guard_against_spurious_io_errors():
            got = self._load_overload(sig, target_context)
        if got is None:
            defer_scipy()           # a miss: numba is about to compile
        return got

    cache.load_overload = load_overload
    _fast = True


_fast = False           # fast_cache_loads is in place


class _NoLinalg(importlib.abc.MetaPathFinder):
    """``scipy.linalg`` is not found while ``on`` (numba asks for ``scipy.linalg.cython_blas``; hiding
    the package, not only that module, leaves no half-imported ``scipy.linalg`` behind)."""

    on = True

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if self.on and (fullname == "scipy.linalg" or fullname.startswith("scipy.linalg.")):
            raise ModuleNotFoundError("deferred by thresher.compiled.defer_scipy", name=fullname)
        return None


@contextmanager
def scipy_deferred() -> Iterator[None]:
    """The first kernel that needs numba's NumPy implementations (to compile it, or to load it when it
    was built from them) makes numba import them, and one (``numba.np.arraymath``) imports
    ``scipy.linalg`` at once to note whether BLAS is there: 0.15 s (scipy pulls in ``numpy.testing``
    and ``numpy.f2py``), for a flag only ``np.convolve`` and ``np.correlate`` read when a kernel using
    them is compiled; the functions that need BLAS (``np.dot``, ``np.linalg``) import scipy themselves
    when compiled. So while this is open ``scipy.linalg`` is hidden, and the flag is then set to what
    numba would have found (scipy installed: it ships BLAS): numba behaves the same, and only a
    kernel that uses BLAS imports scipy (none of thresher's does)."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        yield
        return
    hide = _NoLinalg()
    sys.meta_path.insert(0, hide)
    try:
        yield
    finally:
        hide.on = False
        sys.meta_path.remove(hide)
        arraymath = sys.modules.get("numba.np.arraymath")
        if arraymath is not None:
            arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None    # scipy.linalg: part of every scipy


def defer_scipy() -> None:
    """``numba.np.arraymath`` imported under ``scipy_deferred``: before numba first compiles (a cache
    miss, ``fast_cache_loads``), else once numba is imported, before the first kernel call."""
    with scipy_deferred():
        from numba.np import arraymath  # noqa: F401


class JitClock:
    """Seconds spent in numba's compiler lock (loading kernels from the cache, or compiling) and,
    of those, compiling, in this process. Nested events (a kernel compiling its callees) count once."""

    compile_seconds = 0.0
    load_seconds = 0.0       # compiler-lock time that was not compiling: cache loads, type dispatch
    _installed = False

    @classmethod
    def install(cls) -> None:
        """Listen to numba's events; a no-op until a kernel module has imported numba (a pipeline
        without kernels never pays numba's import)."""
        if cls._installed or "numba" not in sys.modules:
            return
        if not _fast:
            defer_scipy()
        from numba.core import event

        class _Outermost(event.Listener):
            def __init__(self, on_done):
                self.depth, self.t0, self.on_done = 0, 0.0, on_done

            def on_start(self, ev):
                if self.depth == 0:
                    self.t0 = time.perf_counter()
                self.depth += 1

            def on_end(self, ev):
                self.depth -= 1
                if self.depth == 0:
                    self.on_done(time.perf_counter() - self.t0)

        def lock_done(dt: float) -> None:
            cls.load_seconds += dt          # compile time is moved out below

        def compile_done(dt: float) -> None:
            cls.compile_seconds += dt
            cls.load_seconds -= dt

        event.register("numba:compiler_lock", _Outermost(lock_done))
        event.register("numba:compile", _Outermost(compile_done))
        cls._installed = True

    @classmethod
    def total(cls) -> float:
        return cls.compile_seconds + cls.load_seconds

    @classmethod
    def snapshot(cls) -> dict[str, float]:
        return {"compile_seconds": cls.compile_seconds, "load_seconds": cls.load_seconds}

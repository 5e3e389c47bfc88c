"""thresher: open, documented, governable pre-training corpora, fast and with bounded memory.

The public names load on first use (PEP 562), so ``import thresher`` (and the CLI, which imports
this package first) costs milliseconds, not the seconds that pyarrow, numba and pydantic take.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .compiled import configure_cache
from .lazy import exports

configure_cache()        # before numba loads: a read-only install caches kernels in the user's cache dir

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = exports(__name__, {
    "InputConfig": ".config", "OutputConfig": ".config", "PipelineConfig": ".config", "load_config": ".config",
    "Document": ".document", "content_hash": ".document", "stable_id": ".document",
    "ConfigError": ".errors", "InputError": ".errors", "ReleaseError": ".errors", "ThresherError": ".errors",
    "Executor": ".executors", "LocalExecutor": ".executors",
    "run": ".pipeline",
    "Release": ".release",
    "Stats": ".stats", "StepStats": ".stats",
    "Annotator": ".steps", "Drop": ".steps", "Filter": ".steps", "GlobalStep": ".steps", "Modifier": ".steps",
    "Step": ".steps", "StepContext": ".steps", "make_step": ".steps",
})

if TYPE_CHECKING:
    from .config import InputConfig, OutputConfig, PipelineConfig, load_config  # noqa: F401 (type checkers see the lazy exports)
    from .document import Document, content_hash, stable_id  # noqa: F401 (type checkers see the lazy exports)
    from .errors import ConfigError, InputError, ReleaseError, ThresherError  # noqa: F401 (type checkers see the lazy exports)
    from .executors import Executor, LocalExecutor  # noqa: F401 (type checkers see the lazy exports)
    from .pipeline import run  # noqa: F401 (type checkers see the lazy exports)
    from .release import Release  # noqa: F401 (type checkers see the lazy exports)
    from .stats import Stats, StepStats  # noqa: F401 (type checkers see the lazy exports)
    from .steps import Annotator, Drop, Filter, GlobalStep, Modifier, Step, StepContext, make_step  # noqa: F401 (type checkers see the lazy exports)

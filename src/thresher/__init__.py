"""thresher: open, documented, governable pre-training corpora, fast and with bounded memory."""
from .config import InputConfig, OutputConfig, PipelineConfig, load_config
from .document import Document, content_hash, stable_id
from .errors import ConfigError, InputError, ReleaseError, ThresherError
from .executors import Executor, LocalExecutor
from .pipeline import run
from .release import Release
from .stats import Stats, StepStats
from .steps import Annotator, Drop, Filter, GlobalStep, Modifier, Step, StepContext, make_step

__version__ = "0.1.0"

__all__ = ["Annotator", "ConfigError", "Document", "Drop", "Executor", "Filter", "LocalExecutor", "GlobalStep", "InputConfig",
           "InputError", "Modifier", "OutputConfig", "PipelineConfig", "Release", "ReleaseError", "Stats",
           "Step", "StepContext", "StepStats", "ThresherError", "content_hash", "load_config", "make_step",
           "run", "stable_id"]

"""Evaluation: bits per byte of a model beside gzip/zstd/xz (``bpb``), pass@k on HumanEval/MBPP with code
executed only in a bubblewrap sandbox (``sandbox``, ``code``, ``passk``), proxy-model ablations
(``ablate``) and the energy each used (``energy``). torch and transformers load only when a model does."""
from .bpb import bits_per_byte, compressed_bpb
from .code import evaluate_samples, read_samples
from .data import EvalDoc, load_eval_docs
from .energy import EnergyMeter
from .models import LanguageModel, load_model
from .passk import pass_at_k, pass_at_k_table
from .sandbox import Limits, Outcome, Sandbox, require_permission
from .tasks import CodeTask, load_tasks

__all__ = ["CodeTask", "EnergyMeter", "EvalDoc", "LanguageModel", "Limits", "Outcome", "Sandbox", "bits_per_byte",
           "compressed_bpb", "evaluate_samples", "load_eval_docs", "load_model", "load_tasks", "pass_at_k",
           "pass_at_k_table", "read_samples", "require_permission"]

"""Evaluation: bits per byte of a model beside gzip/zstd/xz (``bpb``), pass@k on HumanEval/MBPP with code
executed only in a bubblewrap sandbox (``sandbox``, ``code``, ``passk``), proxy-model ablations
(``ablate``) and the energy each used (``energy``). torch and transformers load only when a model does."""
from ..lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "bits_per_byte": ".bpb", "compressed_bpb": ".bpb", "evaluate_samples": ".code", "read_samples": ".code",
    "EvalDoc": ".data", "load_eval_docs": ".data", "EnergyMeter": ".energy", "LanguageModel": ".models",
    "load_model": ".models", "pass_at_k": ".passk", "pass_at_k_table": ".passk", "Limits": ".sandbox",
    "Outcome": ".sandbox", "Sandbox": ".sandbox", "require_permission": ".sandbox", "CodeTask": ".tasks",
    "load_tasks": ".tasks"})

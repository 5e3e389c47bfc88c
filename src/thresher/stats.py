"""Additive statistics: one object per shard, merged with ``sum()``; feeds stats.json and the card."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_LOSSES = 100_000      # listed in stats.json (every loss is counted in ``reader`` whatever the list holds)


@dataclass
class StepStats:
    docs_in: int = 0
    docs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    drops: Counter = field(default_factory=Counter)      # reason -> documents dropped
    counters: Counter = field(default_factory=Counter)   # anything else a step counts (modified, pii:EMAIL ...)

    def __add__(self, other: "StepStats") -> "StepStats":
        return StepStats(self.docs_in + other.docs_in, self.docs_out + other.docs_out,
                         self.bytes_in + other.bytes_in, self.bytes_out + other.bytes_out,
                         self.seconds + other.seconds, self.drops + other.drops,
                         self.counters + other.counters)

    def to_json(self) -> dict[str, Any]:
        return {"docs_in": self.docs_in, "docs_out": self.docs_out, "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out, "seconds": round(self.seconds, 6),
                "drops": dict(sorted(self.drops.items())), "counters": dict(sorted(self.counters.items()))}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "StepStats":
        return cls(d["docs_in"], d["docs_out"], d["bytes_in"], d["bytes_out"], d["seconds"],
                   Counter(d.get("drops", {})), Counter(d.get("counters", {})))


@dataclass
class Stats:
    """Per-step stats in pipeline order, plus reader counters and per-language totals of kept docs."""

    steps: dict[str, StepStats] = field(default_factory=dict)
    reader: Counter = field(default_factory=Counter)      # docs_read, bytes_read, skipped_bad_record ...
    languages: dict[str, Counter] = field(default_factory=dict)  # lang -> {docs, bytes}
    shards: int = 0
    losses: list[dict[str, Any]] = field(default_factory=list)   # what readers could not read: file, offset, reason
    jit: Counter = field(default_factory=Counter)   # compile_seconds, load_seconds of numba kernels (thresher.compiled)

    def step(self, key: str) -> StepStats:
        if key not in self.steps:
            self.steps[key] = StepStats()
        return self.steps[key]

    def __add__(self, other: "Stats") -> "Stats":
        steps = dict(self.steps)
        for k, v in other.steps.items():
            steps[k] = steps[k] + v if k in steps else v
        langs = {k: Counter(v) for k, v in self.languages.items()}
        for k, v in other.languages.items():
            langs[k] = langs.get(k, Counter()) + v
        losses = self.losses + other.losses if other.losses else self.losses
        jit = Counter(self.jit)
        jit.update(other.jit)          # update, not +: keeps float sums exactly as added
        return Stats(steps, self.reader + other.reader, langs, self.shards + other.shards, losses[:MAX_LOSSES], jit)

    def __radd__(self, other: Any) -> "Stats":
        return self if other == 0 else self.__add__(other)   # lets sum() start from 0

    def to_json(self) -> dict[str, Any]:
        out = {"shards": self.shards, "reader": dict(sorted(self.reader.items())),
               "steps": {k: v.to_json() for k, v in self.steps.items()},
               "languages": {k: dict(v) for k, v in sorted(self.languages.items())}}
        if self.losses:            # only when something was lost: a clean run's stats.json is unchanged
            out["losses"] = sorted(self.losses, key=lambda x: (x["file"], x["offset"], x["reason"]))
        if self.jit:               # seconds numba spent compiling / loading kernels, never counted in a step's time
            out["jit"] = {k: round(v, 6) for k, v in sorted(self.jit.items())}
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Stats":
        return cls({k: StepStats.from_json(v) for k, v in d.get("steps", {}).items()},
                   Counter(d.get("reader", {})),
                   {k: Counter(v) for k, v in d.get("languages", {}).items()}, d.get("shards", 0),
                   list(d.get("losses", [])), Counter(d.get("jit", {})))

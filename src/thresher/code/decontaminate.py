"""Benchmark decontamination: drop files holding HumanEval or MBPP problems or solutions.

Both benchmarks ship in the package (``thresher/data/benchmarks``). Each item has *parts* — HumanEval:
the prompt (signature + docstring) and prompt + canonical solution; MBPP: the problem statement, the
reference solution and its test asserts. A file is contaminated by an item when

- **exact**: a part (at least ``min_exact_chars`` long once whitespace is removed) occurs in the file,
  whitespace-insensitively (StarCoder's decontamination is exact substring search); or
- **near**: at least ``near_threshold`` of a part's token 5-grams occur in the file (reformatted or
  lightly edited copies; parts under 10 tokens are too short to judge).

Candidates come from *anchor lines*: each item's distinctive lines (surrounding whitespace and comment
markers stripped, >= 20 characters, not an import, used by at most 3 items); a file is checked against an
item only when it shares two of its anchor lines (one if the item has only one), so most files cost one
set intersection. The drop reason is the item id ("HumanEval/12", "MBPP/601").
"""
from __future__ import annotations

import gzip
import lzma
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from itertools import repeat
from typing import Literal

import orjson

from ..document import Document
from ..errors import ConfigError
from ..steps.base import Drop, Filter, StepContext

_STRIP = " \t\r\f\v#/*\"'>;!-"     # whitespace, comment and quote markers around a line
_TOKEN = re.compile(r"\w+|[^\w\s]")
NGRAM = 5
_IMPORT = re.compile(r"(?:from\s+\S+\s+)?import\s")   # import lines are shared by too much code to anchor


@dataclass(frozen=True)
class Item:
    id: str
    parts: tuple[str, ...]


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _lines(text: str) -> set[str]:
    """A text's lines stripped of surrounding whitespace and comment markers (the anchor form; one
    C-level pass, since every file of the corpus goes through it)."""
    return set(map(str.strip, text.split("\n"), repeat(_STRIP)))


def _grams(text: str) -> set[tuple[str, ...]]:
    toks = _TOKEN.findall(text)
    return {tuple(toks[i:i + NGRAM]) for i in range(len(toks) - NGRAM + 1)}


def _read(name: str) -> list[dict]:
    raw = (files("thresher") / "data" / "benchmarks" / name).read_bytes()
    raw = gzip.decompress(raw) if name.endswith(".gz") else lzma.decompress(raw)
    return [orjson.loads(line) for line in raw.splitlines() if line.strip()]


@lru_cache(maxsize=None)
def benchmark_items(name: str) -> tuple[Item, ...]:
    """The items of a shipped benchmark: ``humaneval`` (164) or ``mbpp`` (974)."""
    if name == "humaneval":
        return tuple(Item(r["task_id"], (r["prompt"], r["prompt"] + r["canonical_solution"]))
                     for r in _read("HumanEval.jsonl.gz"))
    if name == "mbpp":
        return tuple(Item(f"MBPP/{r['task_id']}", (r["text"], r["code"], "\n".join(r["test_list"])))
                     for r in _read("mbpp.jsonl.xz"))
    raise ConfigError(f"unknown benchmark '{name}' (shipped: humaneval, mbpp)")


class _Index:
    def __init__(self, names: tuple[str, ...], min_exact_chars: int):
        self.items = [it for n in names for it in benchmark_items(n)]
        owners: dict[str, set[int]] = {}
        for k, it in enumerate(self.items):
            for part in it.parts:
                for line in _lines(part):
                    if len(line) >= 20:
                        owners.setdefault(line, set()).add(k)
        self.anchors = {line: tuple(sorted(ks)) for line, ks in owners.items()
                        if len(ks) <= 3 and not _IMPORT.match(line)}
        # An item is a candidate when a file shares 2 of its anchor lines (1 if it has only one).
        n_anchor: dict[int, int] = {}
        for ks in self.anchors.values():
            for k in ks:
                n_anchor[k] = n_anchor.get(k, 0) + 1
        self.need = [min(2, n_anchor.get(k, 0)) for k in range(len(self.items))]
        self.exact = [[s for s in map(_squeeze, it.parts) if len(s) >= min_exact_chars] for it in self.items]
        self.grams = [[g for g in map(_grams, it.parts) if len(g) >= 10 - NGRAM + 1] for it in self.items]


@lru_cache(maxsize=8)
def _index(names: tuple[str, ...], min_exact_chars: int) -> _Index:
    return _Index(names, min_exact_chars)


class Decontaminate(Filter):
    """Drop files that contain HumanEval/MBPP prompts or solutions (exact or near match); the reason names the item."""

    name = "decontaminate"
    version = 1

    def __init__(self, benchmarks: list[Literal["humaneval", "mbpp"]] | None = None, near_threshold: float = 0.8,
                 min_exact_chars: int = 40):
        self.benchmarks = tuple(sorted(set(benchmarks or ["humaneval", "mbpp"])))
        if not 0 < near_threshold <= 1:
            raise ConfigError("decontaminate: near_threshold must be in (0, 1]")
        self.near_threshold = near_threshold
        self.min_exact_chars = min_exact_chars
        self._ix: _Index | None = None

    @property
    def index(self) -> _Index:
        if self._ix is None:
            self._ix = _index(self.benchmarks, self.min_exact_chars)
        return self._ix

    def match(self, text: str) -> tuple[str, str, float] | None:
        """(item id, "exact" | "near", score) of the first benchmark item the text holds, else None."""
        ix = self.index
        hits = ix.anchors.keys() & _lines(text)
        if not hits:
            return None
        shared: dict[int, int] = {}
        for line in hits:
            for k in ix.anchors[line]:
                shared[k] = shared.get(k, 0) + 1
        cands = sorted(k for k, n in shared.items() if n >= ix.need[k])
        if not cands:
            return None
        flat = _squeeze(text)
        for k in cands:
            if any(s in flat for s in ix.exact[k]):
                return ix.items[k].id, "exact", 1.0
        grams = _grams(text)
        best: tuple[str, str, float] | None = None
        for k in cands:
            for part in ix.grams[k]:
                score = len(part & grams) / len(part)
                if score >= self.near_threshold and (best is None or score > best[2]):
                    best = (ix.items[k].id, "near", round(score, 4))
        return best

    def decide(self, doc: Document) -> bool | Drop:
        m = self.match(doc.text)
        if m is None:
            return True
        item, how, score = m
        return Drop(item, score, None if how == "exact" else self.near_threshold)

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        kept = []
        for doc in docs:
            m = self.match(doc.text)
            if m is None:
                kept.append(doc)
                continue
            item, how, score = m
            ctx.count(self.name, how)
            ctx.drop(doc, self.name, Drop(item, score, None if how == "exact" else self.near_threshold))
        return kept

"""What every quality step shares: measure a whole batch in compiled code, store the signals under
the step's versioned meta key, then decide with thresholds from the config.

Measuring is separate from deciding: every signal is computed for every document (not only up to
the first failing rule), so thresholds can be re-applied later from ``meta`` without re-running the
step. ``drop: false`` turns a filter into a pure annotator (the would-be verdict is still recorded,
and counted as ``would_drop:<rule>``).
"""
from __future__ import annotations

import inspect
from typing import Any, Literal

import numpy as np
from numba import njit

from ...document import Document
from ...errors import ConfigError
from ...text.charclass import pack
from ...text.packs import find_pack
from ...text.segment import SCRIPT, SPACY_EN, Tokens, WordCache, tokenize_batch
from ...text.segmenters import segmenter_mode
from ..base import Drop, Filter, StepContext

Splitter = Literal["auto", "spacy_en", "script"]
ENGLISH = {"eng", "en", "unknown", "und", None}


def word_modes(docs: list[Document], splitter: str, segmenter: str | None = None) -> np.ndarray:
    """Which word splitter each document gets: spaCy-English for English (and unlabelled) text, the
    script-aware splitter for other languages, unless the config forces one; ``segmenter`` (the
    language pack's, for a step with ``language_pack``): that dictionary segmenter for every document,
    unless the config forces a splitter."""
    if splitter == "spacy_en":
        return np.zeros(len(docs), dtype=np.uint8)
    if splitter == "script":
        return np.ones(len(docs), dtype=np.uint8)
    if segmenter is not None:
        return np.full(len(docs), segmenter_mode(segmenter), dtype=np.uint8)
    return np.array([SPACY_EN if d.meta.get("language") in ENGLISH else SCRIPT for d in docs], dtype=np.uint8)


def packed(docs: list[Document]) -> tuple[np.ndarray, np.ndarray]:
    return pack([d.text for d in docs])


# The word spans of the batches the quality steps of this process are on: a chain of quality steps over
# the same documents (gopher_repetition, gopher_quality, fineweb_quality ...) tokenizes each one once.
WORDS = WordCache()


def tokens_for(docs: list[Document], cps: np.ndarray, offsets: np.ndarray, splitter: str,
               segmenter: str | None = None) -> Tokens:
    return tokenize_batch(cps, offsets, word_modes(docs, splitter, segmenter), [d.text for d in docs], cache=WORDS)


def ratio(num: float, den: float) -> float:
    """num/den, or 0.0 for an empty denominator (the reference filters would divide by zero there;
    every such document has already failed an earlier rule)."""
    return num / den if den else 0.0


@njit(cache=True)
def max_lines(cps: np.ndarray, offsets: np.ndarray) -> int:
    """The most newline-separated segments any document of the batch has (sizes hash tables)."""
    best = 1
    for d in range(offsets.shape[0] - 1):
        n = 1
        for i in range(offsets[d], offsets[d + 1]):
            if cps[i] == 10:
                n += 1
        best = max(best, n)
    return best


def check_ngram_spec(pairs: list[tuple[int, float]] | list[list[float]], what: str) -> list[tuple[int, float]]:
    out = []
    for p in pairs:
        if len(p) != 2 or int(p[0]) != p[0] or int(p[0]) < 1:
            raise ConfigError(f"{what}: expected [n, max_fraction] pairs with n >= 1, got {p!r}")
        out.append((int(p[0]), float(p[1])))
    return out


class QualityStep(Filter):
    """Base of the quality filters: ``measure`` a batch, ``judge`` one document's signals."""

    drop: bool = True

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def judge(self, signals: dict[str, Any]) -> Drop | None:
        raise NotImplementedError

    def apply(self, doc: Document, signals: dict[str, Any]) -> None:
        """Hook for steps that also rewrite kept documents (C4 removes lines)."""

    def decide(self, doc: Document) -> bool | Drop:
        return self.process_one(doc)

    def process_one(self, doc: Document) -> bool | Drop:
        ctx = StepContext()
        kept = self.process([doc], ctx)
        return True if kept else ctx.dropped[0].drop

    segmenter: str | None = None     # set on a language pack's copy (for_pack): its word segmenter

    def for_pack(self, key: str, thresholds: dict[str, Any], segmenter: str | None = None) -> "QualityStep":
        """This step with language pack ``key``'s ``thresholds`` for it (a copy, made once), splitting
        words with the pack's ``segmenter`` when it names one (``thresher.text.segmenters``)."""
        cache = self.__dict__.setdefault("_pack_steps", {})
        if key not in cache:
            params = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
            opts = {p: getattr(self, p) for p in params}
            opts.update(thresholds)
            opts["language_pack"] = None
            step = type(self)(**opts)
            if segmenter is not None:
                segmenter_mode(segmenter)       # not installed: a ConfigError naming the package, now
                step.segmenter = segmenter
            cache[key] = step
        return cache[key]

    def _measured(self, docs: list[Document]) -> list[tuple[dict[str, Any], "QualityStep", str | None]]:
        """Signals of each document with the step (thresholds) that judges it: with ``language_pack``,
        documents are grouped by their language's pack and measured and judged with its values."""
        if not getattr(self, "language_pack", None):
            return [(sig, self, None) for sig in self.measure(docs)]
        groups: dict[str | None, list[int]] = {}
        values: dict[str | None, dict[str, Any]] = {}
        for i, d in enumerate(docs):
            found = find_pack(d.meta, self.language_pack)
            key = found[0] if found and self.name in found[1].get("thresholds", {}) else None
            if key is not None:
                values[key] = found[1]
            groups.setdefault(key, []).append(i)
        out: list[Any] = [None] * len(docs)
        for key, idx in groups.items():
            step = self if key is None else self.for_pack(key, values[key]["thresholds"][self.name],
                                                          values[key].get("segmenter"))
            for i, sig in zip(idx, step.measure([docs[i] for i in idx])):
                out[i] = (sig, step, key)
        return out

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        if not docs:
            return docs
        kept = []
        for doc, (sig, judge, lang_pack) in zip(docs, self._measured(docs)):
            verdict = judge.judge(sig)
            stored = {k: v for k, v in sig.items() if k[0] != "_"}
            if lang_pack is not None:
                stored["language_pack"] = lang_pack
            stored["verdict"] = verdict.reason if verdict else "keep"
            doc.meta[self.meta_key] = stored
            if verdict is not None and self.drop:
                ctx.drop(doc, self.name, verdict)
                continue
            if verdict is not None:
                ctx.count(self.name, f"would_drop:{verdict.reason}")
            else:
                self.apply(doc, sig)
            kept.append(doc)
        return kept

"""Dictionary word segmenters for scripts written without spaces, as FineWeb-2 calls them.

A language pack's ``segmenter`` names one of these; a quality step with ``language_pack`` then splits
that language's documents with it instead of the script-aware splitter (Han one word per character,
Thai syllable clusters), so word counts, mean word lengths and stop words are in the units FineWeb-2's
per-language thresholds were tuned on (datatrove's ``load_word_tokenizer``: spaCy's Chinese tokenizer
over jieba, pythainlp's ``newmm-safe`` for Thai). Tokens are those segmenters' tokens with surrounding
whitespace stripped and whitespace-only tokens dropped (datatrove's ``strip_strings``), as code-point
spans of the document.

Each segmenter is a document mode of ``thresher.text.segment`` (2, 3, ...): the compiled splitter
leaves those documents to ``spans``. The packages are the ``segment`` extra; a pack naming one that is
not installed is a ``ConfigError`` naming the package, never a quiet switch to another splitter.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError


class Segmenter(NamedTuple):
    mode: int                 # the document mode in thresher.text.segment (after SPACY_EN=0, SCRIPT=1)
    package: str              # what to pip install
    words: Callable[[str], list[tuple[int, int]]]     # text -> raw (start, end) token spans


def _jieba_spans(text: str) -> list[tuple[int, int]]:
    import jieba
    return [(s, e) for _, s, e in jieba.tokenize(text)]      # jieba.cut(text, HMM=True), with offsets


def _newmm_spans(text: str) -> list[tuple[int, int]]:
    from pythainlp.tokenize import word_tokenize
    out = []
    i = 0
    for w in word_tokenize(text, engine="newmm-safe", keep_whitespace=True):   # the pieces concatenate to text
        out.append((i, i + len(w)))
        i += len(w)
    if i != len(text):
        raise RuntimeError("pythainlp newmm-safe: tokens do not cover the text")
    return out


SEGMENTERS: dict[str, Segmenter] = {
    "jieba": Segmenter(2, "jieba", _jieba_spans),
    "pythainlp (newmm)": Segmenter(3, "pythainlp", _newmm_spans),
}
BY_MODE = {s.mode: s for s in SEGMENTERS.values()}


@lru_cache(maxsize=None)
def segmenter_mode(name: str) -> int:
    """The document mode of segmenter ``name`` (a pack's ``segmenter``), after checking it can run."""
    seg = SEGMENTERS.get(name)
    if seg is None:
        raise ConfigError(f"language pack segmenter {name!r}: unknown (known: {', '.join(SEGMENTERS)})")
    try:
        __import__(seg.package)
    except ImportError:
        raise ConfigError(f"language pack segmenter {name!r} is not installed: pip install {seg.package} "
                          "(or thresher[segment])") from None
    if seg.package == "jieba":
        import logging

        import jieba
        jieba.setLogLevel(logging.WARNING)      # no "Building prefix dict" banner on stderr
    return seg.mode


def spans(text: str, mode: int) -> tuple[np.ndarray, np.ndarray]:
    """Word spans (start, end code-point offsets in ``text``) of segmenter ``mode``, stripped."""
    starts, ends = [], []
    for s, e in BY_MODE[mode].words(text):
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if s < e:
            starts.append(s)
            ends.append(e)
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)

"""Dictionary word segmenters for scripts written without spaces, as FineWeb-2 calls them.

A language pack's ``segmenter`` names one of these; a quality step with ``language_pack`` then splits
that language's documents with it instead of the script-aware splitter (Han one word per character,
Thai syllable clusters), so word counts, mean word lengths and stop words are in the units FineWeb-2's
per-language thresholds were tuned on (datatrove's ``load_word_tokenizer``: spaCy's Chinese tokenizer
over jieba, pythainlp's ``newmm-safe`` for Thai, spaCy's Japanese tokenizer over SudachiPy in split mode
A, khmer-nltk, LaoNLP, pyidaungsu's word form for Burmese). Tokens are those segmenters' tokens with
surrounding whitespace stripped and whitespace-only tokens dropped (datatrove's ``strip_strings``), as
code-point spans of the document.

khmer-nltk and pyidaungsu return strings, not offsets, of a text they first normalise (khmer-nltk drops
line breaks and wraps spaces in zero-width spaces; pyidaungsu joins syllables across spaces), so their
tokens are laid back on the document by ``_align``: character by character over what is neither
whitespace nor zero-width. A token spanning a space keeps it inside its span (``"A B"`` for pyidaungsu's
``"AB"``); where normalisation changed a character the token still takes as many characters as it has,
so the word count is the segmenter's and the spans stay in step.

Tibetan (datatrove: botok) is not here: botok downloads its dictionary at first use, and nothing here
downloads at run time; Tibetan keeps the script splitter's syllables (tsheg-separated).

Each segmenter is a document mode of ``thresher.text.segment`` (2, 3, ...): the compiled splitter
leaves those documents to ``spans``. The packages are the ``segment`` extra; a pack naming one that is
not installed is a ``ConfigError`` naming the package, never a quiet switch to another splitter.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import ConfigError


class Segmenter(NamedTuple):
    mode: int                 # the document mode in thresher.text.segment (after SPACY_EN=0, SCRIPT=1)
    module: str               # what to import
    pip: str                  # what to pip install (pinned in the segment extra)
    words: Callable[[str], list[tuple[int, int]]]     # text -> raw (start, end) token spans
    logger: str | None = None  # its logger, kept to warnings (no banner on stderr as it loads)


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


SUDACHI_MAX_BYTES = 40_000    # SudachiPy refuses inputs over 49,149 UTF-8 bytes; datatrove chunks at 40,000


@lru_cache(maxsize=1)
def _sudachi():
    from sudachipy import Dictionary, SplitMode
    return Dictionary().tokenizer(mode=SplitMode.A)     # spaCy's Japanese default (split_mode None -> A)


def _sudachi_spans(text: str) -> list[tuple[int, int]]:
    """SudachiPy split mode A (sudachidict_core) over chunks of whole lines of at most 40,000 bytes (a
    longer line is cut by bytes, as datatrove cuts every chunk)."""
    tok = _sudachi()
    out: list[tuple[int, int]] = []
    for a, b in _chunks(text, SUDACHI_MAX_BYTES):
        out.extend((a + m.begin(), a + m.end()) for m in tok.tokenize(text[a:b]))
    return out


def _chunks(text: str, max_bytes: int) -> list[tuple[int, int]]:
    """(start, end) code-point ranges covering ``text``, each of at most ``max_bytes`` UTF-8 bytes, cut
    after a line break where one falls in the range."""
    if len(text.encode("utf-8", "surrogatepass")) <= max_bytes:
        return [(0, len(text))]
    out, a, n = [], 0, len(text)
    while a < n:
        b, size = a, 0
        while b < n:
            c = len(text[b].encode("utf-8", "surrogatepass"))
            if size + c > max_bytes:
                break
            size += c
            b += 1
        if b < n:
            nl = text.rfind("\n", a, b)
            b = nl + 1 if nl > a else b
        out.append((a, b))
        a = b
    return out


_IGNORABLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u200a\u2028\u2029")


def _skip(c: str) -> bool:
    return c.isspace() or c in _IGNORABLE


def _align(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """Spans of ``tokens`` (strings a segmenter returned for a normalised copy of ``text``) in ``text``,
    matched over the characters that are neither whitespace nor zero-width."""
    out, i, n = [], 0, len(text)
    for tok in tokens:
        k = sum(not _skip(c) for c in tok)
        if not k:
            continue
        while i < n and _skip(text[i]):
            i += 1
        s = i
        while k and i < n:          # take k visible characters; a normalised one still counts as one
            if not _skip(text[i]):
                k -= 1
            i += 1
        if s < i:
            out.append((s, i))
    return out


def _khmer_spans(text: str) -> list[tuple[int, int]]:
    from khmernltk import word_tokenize
    return _align(text, word_tokenize(text, return_tokens=True))


def _lao_spans(text: str) -> list[tuple[int, int]]:
    from laonlp.tokenize import word_tokenize
    return _align(text, word_tokenize(text))


def _burmese_spans(text: str) -> list[tuple[int, int]]:
    import pyidaungsu
    return _align(text, pyidaungsu.tokenize(text, form="word"))


SEGMENTERS: dict[str, Segmenter] = {
    "jieba": Segmenter(2, "jieba", "jieba", _jieba_spans, "jieba"),     # "Building prefix dict ..."
    "pythainlp (newmm)": Segmenter(3, "pythainlp", "pythainlp", _newmm_spans),
    "sudachipy (A)": Segmenter(4, "sudachidict_core", "sudachipy sudachidict-core", _sudachi_spans),
    "khmer-nltk": Segmenter(5, "khmernltk", "khmer-nltk", _khmer_spans, "khmer-nltk"),    # "Loaded model from ..."
    "laonlp": Segmenter(6, "laonlp", "laonlp", _lao_spans),
    "pyidaungsu (word)": Segmenter(7, "pyidaungsu", "pyidaungsu-numpy2", _burmese_spans),
}
BY_MODE = {s.mode: s for s in SEGMENTERS.values()}


@lru_cache(maxsize=None)
def segmenter_mode(name: str) -> int:
    """The document mode of segmenter ``name`` (a pack's ``segmenter``), after checking it can run."""
    seg = SEGMENTERS.get(name)
    if seg is None:
        raise ConfigError(f"language pack segmenter {name!r}: unknown (known: {', '.join(SEGMENTERS)})")
    try:
        __import__(seg.module)
    except ImportError:
        raise ConfigError(f"language pack segmenter {name!r} is not installed: pip install {seg.pip} "
                          "(or thresher[segment])") from None
    if seg.logger:
        logging.getLogger(seg.logger).setLevel(logging.WARNING)
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

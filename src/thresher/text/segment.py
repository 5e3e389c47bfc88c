"""Word segmentation for a whole batch in one compiled call.

Two splitters, chosen per document:

- ``SPACY_EN`` (0): spaCy's blank-English tokenizer (``spacy_en``), what datatrove uses for English;
- ``SCRIPT`` (1): a script-aware splitter for other languages: whitespace separates words, Han
  ideographs and kana are one word per character, Thai/Lao/Khmer/Myanmar/Tibetan (written without
  spaces) are split into orthographic syllable clusters (a base letter with its combining marks),
  punctuation and symbols are tokens of their own except apostrophes, hyphens and dots inside a word;
- 2, 3, ...: a dictionary segmenter of ``thresher.text.segmenters`` (jieba, pythainlp, SudachiPy, ...), which the
  quality steps use with ``language_pack`` for languages whose pack names one.

So a Chinese or Thai paragraph is many words, never one. The result is flat arrays of token spans
(code-point offsets into the batch) plus per-document token offsets.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .jit import leaf

from . import spacy_en
from .charclass import HAN, MARK, SEA, SPACE, SYMBOL, char_flags
from .spacy_rules import rules

SPACY_EN = 0
SCRIPT = 1


APOSTROPHE = ord("'")
RIGHT_QUOTE = ord("\u2019")    # ’ (typographic apostrophe)
HYPHEN = ord("-")
DOT = ord(".")
MIDDLE_DOT = ord("\u00b7")     # · (Catalan l·l)


@njit(cache=True)
def _joiner(c) -> bool:
    """Punctuation that stays inside a word when letters follow: l'homme, e-mail, U.S., l·l."""
    return c == APOSTROPHE or c == RIGHT_QUOTE or c == HYPHEN or c == DOT or c == MIDDLE_DOT


@leaf
def script_tokenize(cps, a, b, fl, out_s, out_e, out_ws, n) -> int:
    """The script-aware splitter over cps[a:b]; appends spans at index n, returns the new count."""
    i = a
    word_stop = SPACE | SYMBOL | HAN | SEA
    while i < b:
        f = fl[cps[i]]
        if f & SPACE:
            i += 1
            continue
        j = i + 1
        if f & (HAN | SEA):
            while j < b and (fl[cps[j]] & MARK):
                j += 1
        elif not (f & SYMBOL):
            while j < b:
                g = fl[cps[j]]
                if not (g & word_stop):
                    j += 1
                elif (g & SYMBOL) and _joiner(cps[j]) and j + 1 < b and not (fl[cps[j + 1]] & word_stop):
                    j += 2
                else:
                    break
        out_s[n] = i
        out_e[n] = j
        out_ws[n] = 0
        n += 1
        i = j
    return n


@leaf
def split_batch(cps, offsets, modes, fl, R, out, W):
    """Segment every document; tokens of doc d are out.off[d]:out.off[d+1] (whitespace tokens kept).

    ``R``: ``spacy_rules.Rules``; ``out``: a ``Tokens`` of output arrays; ``W``: ``spacy_en.Work``."""
    out_s, out_e, out_ws, tok_off = out
    n = 0
    nd = offsets.shape[0] - 1
    tok_off[0] = 0
    for d in range(nd):
        a, b = offsets[d], offsets[d + 1]
        if modes[d] == SPACY_EN:
            n += spacy_en.tokenize(cps, a, b, fl, R, out_s[n:], out_e[n:], out_ws[n:], W)
        elif modes[d] == SCRIPT:
            n = script_tokenize(cps, a, b, fl, out_s, out_e, out_ws, n)
        tok_off[d + 1] = n          # other modes: a dictionary segmenter's words, spliced in by _tokenize


class Tokens(NamedTuple):
    """Token spans of a batch: doc d owns tokens ``off[d]:off[d+1]``; ``ws`` marks whitespace tokens."""

    start: np.ndarray
    end: np.ndarray
    ws: np.ndarray
    off: np.ndarray


_scratch: spacy_en.Scratch | None = None     # per-process scratch arrays, grown to the longest text


class _Batch(NamedTuple):
    """The word spans of one tokenized batch, as ``tokenize_batch`` returned them, and where its
    documents start in its code points (spans of document i: ``toks.off[i]:toks.off[i+1]``)."""

    toks: Tokens
    starts: np.ndarray
    keys: list[int]         # the cache entries it made (id of each text)


def _ranges(lo: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``lo[k]``, ``lo[k] + 1`` ... ``lo[k] + counts[k] - 1`` for every k, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(lo - (ends - counts), counts)


class WordCache:
    """Word spans of recent batches, found per document by the text object (its identity, checked
    with ``is``, so a reused id never matches another string).

    Whoever owns one passes it to ``tokenize_batch``: consecutive quality steps over the same documents
    then tokenize each document once (see ``steps.quality.common.WORDS``). A batch's arrays are kept
    whole, with one dictionary entry per document; a later batch of some of them (the survivors of a
    filter, in any order) gathers their spans with a few array operations."""

    MAX_TOKENS = 4_000_000       # ~70 MB of spans

    def __init__(self) -> None:
        self.entries: dict[int, tuple[str, int, _Batch, int]] = {}     # id(text) -> (text, mode, batch, i)
        self.batches: list[_Batch] = []          # oldest first
        self.n_tokens = 0

    def get(self, texts: list[str], offsets: np.ndarray, modes: np.ndarray) -> Tokens | None:
        if not self.entries:
            return None
        hits = [self.entries.get(id(t)) for t in texts]
        if not all(h is not None and h[0] is t and h[1] == m for h, t, m in zip(hits, texts, modes.tolist())):
            return None
        n = len(texts)
        where = np.array([h[3] for h in hits], dtype=np.int64)       # type: ignore[index]
        members: dict[int, tuple[_Batch, list[int]]] = {}             # cached batch -> the documents from it
        for j, h in enumerate(hits):
            members.setdefault(id(h[2]), (h[2], []))[1].append(j)     # type: ignore[index]
        groups = [(b, np.array(js, dtype=np.int64)) for b, js in members.values()]
        counts = np.zeros(n, dtype=np.int64)
        for b, sel in groups:
            counts[sel] = b.toks.off[where[sel] + 1] - b.toks.off[where[sel]]
        off = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=off[1:])
        total = int(off[-1])
        start, end = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
        ws = np.empty(total, dtype=np.uint8)
        for b, sel in groups:
            src = _ranges(b.toks.off[where[sel]], counts[sel])
            dst = _ranges(off[sel], counts[sel])
            shift = np.repeat(offsets[sel] - b.starts[where[sel]], counts[sel])
            start[dst] = b.toks.start[src] + shift
            end[dst] = b.toks.end[src] + shift
            ws[dst] = b.toks.ws[src]
        return Tokens(start, end, ws, off)

    def put(self, texts: list[str], offsets: np.ndarray, modes: np.ndarray, toks: Tokens) -> None:
        """Remember a batch's words; older batches stay while the cache holds under ``MAX_TOKENS`` words
        (a step with ``language_pack`` measures a batch as one sub-batch per language, and the next step
        should find every one of them), oldest evicted first."""
        # copies: the kernel's arrays are sized for a token per character (``_tokenize``)
        b = _Batch(Tokens(*(np.array(a) for a in toks)), np.array(offsets[:-1]), [id(t) for t in texts])
        self.batches.append(b)
        self.n_tokens += len(toks.start)
        entries = self.entries
        for i, (k, t, m) in enumerate(zip(b.keys, texts, modes.tolist())):
            entries[k] = (t, m, b, i)
        while self.n_tokens > self.MAX_TOKENS and len(self.batches) > 1:
            old = self.batches.pop(0)
            self.n_tokens -= len(old.toks.start)
            for k in old.keys:
                if k in entries and entries[k][2] is old:      # not since put again by a newer batch
                    del entries[k]


def _tokenize(cps: np.ndarray, offsets: np.ndarray, modes: np.ndarray) -> Tokens:
    global _scratch
    longest = int(np.max(np.diff(offsets))) if len(offsets) > 1 else 0
    if _scratch is None:
        _scratch = spacy_en.Scratch(longest + 1)
    _scratch.grow(longest + 1)
    total = len(cps) + 1
    out = Tokens(np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64), np.empty(total, dtype=np.uint8),
                 np.empty(len(offsets), dtype=np.int64))
    split_batch(cps, offsets, modes.astype(np.uint8), char_flags(), rules(), out, _scratch.work_arrays())
    n = int(out.off[-1])
    toks = Tokens(out.start[:n], out.end[:n], out.ws[:n], out.off)
    ext = np.flatnonzero(modes > SCRIPT)
    return _splice(toks, cps, offsets, modes, ext) if ext.size else toks


def _splice(toks: Tokens, cps: np.ndarray, offsets: np.ndarray, modes: np.ndarray, ext: np.ndarray) -> Tokens:
    """``toks`` with the words of documents ``ext`` (left empty by the kernel) from their segmenter."""
    from .segmenters import spans

    starts, ends, wss = [], [], []
    counts = np.diff(toks.off)
    k = 0                                   # kernel tokens copied so far
    for d in ext.tolist():
        a, b = int(offsets[d]), int(offsets[d + 1])
        upto = int(toks.off[d])             # kernel tokens of documents before d
        starts.append(toks.start[k:upto])
        ends.append(toks.end[k:upto])
        wss.append(toks.ws[k:upto])
        k = upto
        s, e = spans(cps[a:b].tobytes().decode("utf-32-le", "surrogatepass"), int(modes[d]))
        starts.append(s + a)
        ends.append(e + a)
        wss.append(np.zeros(len(s), dtype=np.uint8))
        counts[d] = len(s)
    starts.append(toks.start[k:])
    ends.append(toks.end[k:])
    wss.append(toks.ws[k:])
    off = np.zeros(len(offsets), dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    return Tokens(np.concatenate(starts), np.concatenate(ends), np.concatenate(wss), off)


def tokenize_batch(cps: np.ndarray, offsets: np.ndarray, modes: np.ndarray, texts: list[str] | None = None,
                   cache: WordCache | None = None) -> Tokens:
    """Split every document of a packed batch into words with its splitter (see ``modes``).

    With ``texts`` (the documents' strings) and a ``cache``, results are reused across calls for the
    same string objects, so a chain of quality steps tokenizes each document once.
    """
    if cache is not None and texts is not None:
        hit = cache.get(texts, offsets, modes)
        if hit is not None:
            return hit
    toks = _tokenize(cps, offsets, modes)
    if cache is not None and texts is not None:
        cache.put(texts, offsets, modes, toks)
    return toks

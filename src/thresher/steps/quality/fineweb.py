"""FineWeb's extra quality rules (Penedo et al. 2024) with datatrove 0.10.1's defaults and order:
lines ending in terminal punctuation, short lines, characters in duplicated lines, newlines per word."""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ...document import Document
from ...errors import ConfigError
from ...text.charclass import SPACE, char_flags, tables
from ...text.hashset import Table, mask_for, slot_of
from ...text.spacy_rules import fnv_key
from ..base import Drop
from .common import QualityStep, Splitter, max_lines, packed, ratio, tokens_for


def terminal_punctuation() -> np.ndarray:
    """datatrove's TERMINAL_PUNCTUATION as sorted code points."""
    cps = [c for lo, hi in tables()["classes"]["dt_terminal"] for c in range(lo, hi + 1)]
    return np.array(sorted(cps), dtype=np.uint32)


@njit(cache=True)
def fineweb_kernel(cps, offsets, fl, tok_ws, tok_off, stop_chars, short_len, keys, stamp, gen, out):
    """Per document: non-blank lines, those ending in a stop character, short ones, characters of
    repeated lines, characters other than newlines, newlines, words."""
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        gen[0] += 1
        g = gen[0]
        nnl = 0
        for i in range(a, b):
            if cps[i] == 10:
                nnl += 1
        mask = mask_for(nnl + 1, keys.shape[0])
        nlines = nstop = nshort = dupc = 0
        ls = a
        for i in range(a, b + 1):
            if i < b and cps[i] != 10:
                continue
            blank = True
            for q in range(ls, i):
                if not (fl[cps[q]] & SPACE):
                    blank = False
                    break
            if not blank:
                nlines += 1
                j = np.searchsorted(stop_chars, cps[i - 1])
                if j < stop_chars.shape[0] and stop_chars[j] == cps[i - 1]:
                    nstop += 1
                if i - ls <= short_len:
                    nshort += 1
                key = fnv_key(cps, ls, i)
                s = slot_of(keys, stamp, g, mask, key)
                if stamp[s] == g:
                    dupc += i - ls
                else:
                    stamp[s] = g
                    keys[s] = key
            ls = i + 1
        nw = 0
        for t in range(tok_off[d], tok_off[d + 1]):
            if not tok_ws[t]:
                nw += 1
        out[d, 0], out[d, 1], out[d, 2], out[d, 3] = nlines, nstop, nshort, dupc
        out[d, 4], out[d, 5], out[d, 6] = (b - a) - nnl, nnl, nw


class FineWebQuality(QualityStep):
    """FineWeb rules: share of lines ending in punctuation, share of short lines, duplicated-line characters, newlines per word.

    Defaults equal datatrove 0.10.1's FineWebQualityFilter. ``stop_chars`` (single characters)
    defaults to datatrove's terminal punctuation.
    ``language_pack`` ("shipped" or a pack file) judges each document with its language's values
    (FineWeb-2's per-language thresholds; see ``thresher languages``).
    """

    name = "fineweb_quality"
    version = 1

    def __init__(self, line_punct_thr: float = 0.12, line_punct_exclude_zero: bool = False,
                 stop_chars: list[str] | None = None, short_line_thr: float = 0.67, short_line_length: int = 30,
                 char_duplicates_ratio: float = 0.01, new_line_ratio: float = 0.3,
                 splitter: Splitter = "auto", drop: bool = True, language_pack: str | None = None):
        self.line_punct_thr = line_punct_thr
        self.line_punct_exclude_zero = line_punct_exclude_zero
        if stop_chars is not None and any(len(c) != 1 for c in stop_chars):
            raise ConfigError("fineweb_quality.stop_chars: give single characters")
        self.stop_chars = stop_chars
        self._stops = (np.array(sorted({ord(c) for c in stop_chars}), dtype=np.uint32)
                       if stop_chars is not None else terminal_punctuation())
        self.short_line_thr = short_line_thr
        self.short_line_length = short_line_length
        self.char_duplicates_ratio = char_duplicates_ratio
        self.new_line_ratio = new_line_ratio
        self.splitter = splitter
        self.drop = drop
        self.language_pack = language_pack
        self._table = Table()

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        cps, offsets = packed(docs)
        toks = tokens_for(docs, cps, offsets, self.splitter, self.segmenter)
        self._table.ensure(max_lines(cps, offsets) + 1)
        t = self._table
        out = np.zeros((len(docs), 7), dtype=np.int64)
        fineweb_kernel(cps, offsets, char_flags(), toks.ws, toks.off, self._stops, self.short_line_length,
                       t.keys, t.stamp, t.gen, out)
        res = []
        for row in out.tolist():
            nlines, nstop, nshort, dupc, nchars, nnl, nw = row
            res.append({"lines": nlines, "line_punct_ratio": ratio(nstop, nlines),
                        "short_line_ratio": ratio(nshort, nlines), "char_dup_ratio": ratio(dupc, nchars),
                        "newline_word_ratio": ratio(nnl, nw)})
        return res

    def judge(self, s: dict[str, Any]) -> Drop | None:
        if s["lines"] == 0:
            return Drop("empty")
        r = s["line_punct_ratio"]
        if r < self.line_punct_thr and not (r == 0 and self.line_punct_exclude_zero):
            return Drop("line_punct_ratio", r, self.line_punct_thr)
        if s["short_line_ratio"] > self.short_line_thr:
            return Drop("short_line_ratio", s["short_line_ratio"], self.short_line_thr)
        if s["char_dup_ratio"] > self.char_duplicates_ratio:
            return Drop("char_dup_ratio", s["char_dup_ratio"], self.char_duplicates_ratio)
        if s["newline_word_ratio"] > self.new_line_ratio:
            return Drop("list_ratio", s["newline_word_ratio"], self.new_line_ratio)
        return None

"""Gopher quality and repetition rules (Rae et al. 2021, table A1), with datatrove 0.10.1's defaults
and decision order, measured by compiled kernels over a whole batch.

Words are datatrove's: spaCy blank-English tokens for English (``thresher.text.spacy_en``), the
script-aware splitter for other languages (see ``thresher.text.segment``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ...document import Document
from ...text.charclass import ALPHA, DT_PUNCT, LINE_BREAK, SPACE, char_flags
from ...text.hashset import Table, count_key, mask_for, slot_of
from ...text.spacy_rules import fnv_key, key_table, lookup, str_key
from ...text.stopwords import load_stopwords
from ..base import Drop
from .common import QualityStep, Splitter, max_lines, check_ngram_spec, packed, ratio, tokens_for

STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]   # datatrove's English default

# Code points the rules look for (numba folds these globals into the compiled kernels as constants).
HASH = ord("#")
ELLIPSIS = ord("\u2026")      # '…'
DOT = ord(".")                # three dots are an ellipsis too
BULLET = ord("\u2022")        # '•'
HYPHEN = ord("-")             # a bullet line may start with '-' as well
CR = ord("\r")
LF = ord("\n")

# Polynomial hashing of token sequences (mod 2**64).
BASE = np.uint64(0x100000001B3 | 1)
GOLD = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True)
def quality_kernel(cps, offsets, fl, tok_s, tok_e, tok_ws, tok_off, stop_keys, n_stop, out):
    """Per document: words, non-symbol words and their total length, words with a letter, '#',
    ellipses, lines, bullet lines, lines ending in an ellipsis, distinct stop words."""
    found = np.zeros(max(1, n_stop), dtype=np.uint8)
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        nw = nns = slen = nalpha = 0
        found[:] = 0
        for t in range(tok_off[d], tok_off[d + 1]):
            if tok_ws[t]:
                continue
            s, e = tok_s[t], tok_e[t]
            nw += 1
            nonsym = False
            alpha = False
            for q in range(s, e):
                f = fl[cps[q]]
                if not (f & DT_PUNCT):
                    nonsym = True
                if f & ALPHA:
                    alpha = True
            if nonsym:
                nns += 1
                slen += e - s
            if alpha:
                nalpha += 1
            if n_stop:
                i = lookup(stop_keys, fnv_key(cps, s, e))
                if i >= 0:
                    found[i] = 1
        nhash = nell = 0
        i = a
        while i < b:
            c = cps[i]
            if c == HASH:
                nhash += 1
            elif c == ELLIPSIS:
                nell += 1
            elif c == DOT and i + 2 < b and cps[i + 1] == DOT and cps[i + 2] == DOT:
                nell += 1
                i += 3
                continue
            i += 1
        nlines = nbullet = nend = 0
        ls = a
        i = a
        while i <= b:
            if i == b or (fl[cps[i]] & LINE_BREAK):
                if i == b and ls == b:
                    break
                nlines += 1
                x = ls
                while x < i and (fl[cps[x]] & SPACE):
                    x += 1
                if x < i and (cps[x] == BULLET or cps[x] == HYPHEN):
                    nbullet += 1
                y = i
                while y > ls and (fl[cps[y - 1]] & SPACE):
                    y -= 1
                if y > ls and (cps[y - 1] == ELLIPSIS or (y - ls >= 3 and cps[y - 1] == DOT and cps[y - 2] == DOT
                                                          and cps[y - 3] == DOT)):
                    nend += 1
                if i < b and cps[i] == CR and i + 1 < b and cps[i + 1] == LF:
                    i += 1
                ls = i + 1
            i += 1
        out[d, 0], out[d, 1], out[d, 2], out[d, 3] = nw, nns, slen, nalpha
        out[d, 4], out[d, 5], out[d, 6], out[d, 7], out[d, 8] = nhash, nell, nlines, nbullet, nend
        out[d, 9] = found[:n_stop].sum()


@njit(cache=True)
def _dups(cps, seg_s, seg_e, n, keys, stamp, val, gen):
    """datatrove ``find_duplicates``: (repeated elements, their characters) of a list of segments."""
    gen[0] += 1
    g = gen[0]
    mask = mask_for(n, keys.shape[0])
    nd = nc = 0
    for k in range(n):
        key = fnv_key(cps, seg_s[k], seg_e[k])
        i = slot_of(keys, stamp, g, mask, key)
        if stamp[i] == g:
            nd += 1
            nc += seg_e[k] - seg_s[k]
        else:
            stamp[i] = g
            keys[i] = key
    return nd, nc


@njit(cache=True)
def repetition_kernel(cps, offsets, fl, tok_s, tok_e, tok_ws, tok_off, top_ns, dup_ns,
                      keys, stamp, val, val2, order, gen, out):
    """Per document: paragraphs and their duplicates (count, chars), lines and theirs, then for each
    n in top_ns the characters of the most frequent n-gram times its count, and for each n in
    dup_ns the characters covered by repeated n-grams (datatrove's greedy skip-ahead count)."""
    longest = 0
    for d in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[d + 1] - offsets[d], tok_off[d + 1] - tok_off[d])
    seg_s = np.empty(longest + 2, dtype=np.int64)
    seg_e = np.empty(longest + 2, dtype=np.int64)
    pc = np.empty(longest + 2, dtype=np.uint64)     # prefix hash of the words concatenated
    ps = np.empty(longest + 2, dtype=np.uint64)     # ... each word followed by a space
    cc = np.empty(longest + 2, dtype=np.int64)      # prefix character counts (concatenated)
    pw = np.empty(2 * longest + 2, dtype=np.uint64)  # BASE ** k
    pw[0] = 1
    for k in range(1, pw.shape[0]):
        pw[k] = pw[k - 1] * BASE
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        # paragraphs: text.strip() split on runs of two or more newlines
        sa, sb = a, b
        while sa < sb and (fl[cps[sa]] & SPACE):
            sa += 1
        while sb > sa and (fl[cps[sb - 1]] & SPACE):
            sb -= 1
        n = 0
        start = sa
        i = sa
        while i < sb:
            if cps[i] == LF:
                j = i
                while j < sb and cps[j] == LF:
                    j += 1
                if j - i >= 2:
                    seg_s[n], seg_e[n] = start, i
                    n += 1
                    start = j
                i = j
            else:
                i += 1
        seg_s[n], seg_e[n] = start, sb
        n += 1
        pd, pch = _dups(cps, seg_s, seg_e, n, keys, stamp, val, gen)
        out[d, 0], out[d, 1], out[d, 2] = n, pd, pch
        # lines: text split on runs of newlines
        n = 0
        start = a
        i = a
        while i < b:
            if cps[i] == LF:
                j = i
                while j < b and cps[j] == LF:
                    j += 1
                seg_s[n], seg_e[n] = start, i
                n += 1
                start = j
                i = j
            else:
                i += 1
        seg_s[n], seg_e[n] = start, b
        n += 1
        ld, lch = _dups(cps, seg_s, seg_e, n, keys, stamp, val, gen)
        out[d, 3], out[d, 4], out[d, 5] = n, ld, lch
        # words and their prefix hashes: the hash of words i..j-1 is P[j] - P[i] * BASE**(chars)
        nw = 0
        hc = np.uint64(0)
        hs = np.uint64(0)
        pc[0], ps[0], cc[0] = hc, hs, 0
        for t in range(tok_off[d], tok_off[d + 1]):
            if tok_ws[t]:
                continue
            for q in range(tok_s[t], tok_e[t]):
                v = np.uint64(cps[q]) + np.uint64(1)
                hc = hc * BASE + v
                hs = hs * BASE + v
            hs = hs * BASE + np.uint64(33)
            nw += 1
            pc[nw], ps[nw] = hc, hs
            cc[nw] = cc[nw - 1] + tok_e[t] - tok_s[t]
        col = 6
        for ni in range(top_ns.shape[0]):
            m = top_ns[ni]
            cnt = nw - m + 1
            best = 0
            if cnt > 0:
                gen[0] += 1
                g = gen[0]
                mask = mask_for(cnt, keys.shape[0])
                k = 0
                for i in range(cnt):
                    length = cc[i + m] - cc[i] + m - 1
                    h = ps[i + m] - ps[i] * pw[length + 1]
                    key = h ^ (np.uint64(length) * GOLD)     # slot_of mixes it (bijectively: equal keys stay equal)
                    s = slot_of(keys, stamp, g, mask, key)
                    new_k = count_key(keys, stamp, val, order, g, s, key, k)
                    if new_k != k:
                        val2[s] = length
                        k = new_k
                bc = 0
                for j in range(k):
                    s = order[j]
                    if val[s] > bc:
                        bc = val[s]
                        best = val[s] * val2[s]
            out[d, col] = best
            col += 1
        for ni in range(dup_ns.shape[0]):
            m = dup_ns[ni]
            gen[0] += 1
            g = gen[0]
            mask = mask_for(max(nw, 1), keys.shape[0])
            rep = 0
            i = 0
            while i < nw - m + 1:
                length = cc[i + m] - cc[i]
                h = pc[i + m] - pc[i] * pw[length]
                key = h ^ (np.uint64(length) * GOLD)     # slot_of mixes it (bijectively: equal keys stay equal)
                s = slot_of(keys, stamp, g, mask, key)
                if stamp[s] == g:
                    rep += length
                    i += m
                else:
                    stamp[s] = g
                    keys[s] = key
                    i += 1
            out[d, col] = rep
            col += 1


def _stop_keys(words: list[str]) -> np.ndarray:
    return key_table({k: i for i, k in enumerate(sorted({str_key(w) for w in words}))})


class GopherQuality(QualityStep):
    """Gopher quality rules: word count, mean word length, symbol ratios, bullet/ellipsis lines, words with letters, stop words.

    Defaults equal datatrove 0.10.1's GopherQualityFilter. A threshold set to null disables its
    rule. ``stop_words`` defaults to datatrove's eight English words for English documents; other
    languages use their NLTK stop-word list when one ships with thresher, else skip that rule.
    ``language_pack`` ("shipped" or a pack file) judges each document with its language's values
    (FineWeb-2's per-language thresholds; see ``thresher languages``).
    """

    name = "gopher_quality"
    version = 1

    def __init__(self, min_doc_words: int | None = 50, max_doc_words: int | None = 100000,
                 min_avg_word_length: float | None = 3, max_avg_word_length: float | None = 10,
                 max_symbol_word_ratio: float | None = 0.1, max_bullet_lines_ratio: float | None = 0.9,
                 max_ellipsis_lines_ratio: float | None = 0.3, max_non_alpha_words_ratio: float | None = 0.8,
                 min_stop_words: int | None = 2, stop_words: list[str] | None = None,
                 splitter: Splitter = "auto", drop: bool = True, language_pack: str | None = None):
        self.min_doc_words, self.max_doc_words = min_doc_words, max_doc_words
        self.min_avg_word_length, self.max_avg_word_length = min_avg_word_length, max_avg_word_length
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_bullet_lines_ratio = max_bullet_lines_ratio
        self.max_ellipsis_lines_ratio = max_ellipsis_lines_ratio
        self.max_non_alpha_words_ratio = max_non_alpha_words_ratio
        self.min_stop_words = min_stop_words
        self.stop_words = stop_words
        self.splitter = splitter
        self.drop = drop
        self.language_pack = language_pack
        self._stop_cache: dict[str, np.ndarray | None] = {}

    def _stops(self, lang: str | None) -> np.ndarray | None:
        key = "eng" if lang in (None, "eng", "en", "unknown", "und") or self.stop_words is not None else lang
        if key not in self._stop_cache:
            if self.stop_words is not None or key == "eng":
                words = self.stop_words if self.stop_words is not None else STOP_WORDS
            else:
                words = load_stopwords(key)
            self._stop_cache[key] = _stop_keys(words) if words else None
        return self._stop_cache[key]

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        cps, offsets = packed(docs)
        toks = tokens_for(docs, cps, offsets, self.splitter, self.segmenter)
        out = np.zeros((len(docs), 10), dtype=np.int64)
        groups: dict[int, list[int]] = {}
        stops = [self._stops(d.meta.get("language")) for d in docs]
        for i, s in enumerate(stops):
            groups.setdefault(id(s), []).append(i)
        fl = char_flags()
        for idx in groups.values():
            keys = stops[idx[0]]
            n_stop = 0 if keys is None else int(np.count_nonzero(keys[1] != np.uint64(0xFFFFFFFFFFFFFFFF)))
            if keys is None:
                keys = key_table({})
            sel = np.array(idx)
            sub = np.zeros((len(idx), 10), dtype=np.int64)
            # one kernel call per stop-word list (usually one: the whole batch)
            if len(idx) == len(docs):
                quality_kernel(cps, offsets, fl, toks.start, toks.end, toks.ws, toks.off, keys, n_stop, sub)
            else:
                for j, d in enumerate(sel):
                    one = np.zeros((1, 10), dtype=np.int64)
                    quality_kernel(cps, offsets[d:d + 2], fl, toks.start, toks.end, toks.ws, toks.off[d:d + 2],
                                   keys, n_stop, one)
                    sub[j] = one[0]
            out[sel] = sub
        res = []
        for i, row in enumerate(out.tolist()):
            nw, nns, slen, nalpha, nhash, nell, nlines, nbullet, nend, nstop = row
            res.append({
                "n_words": nw, "n_non_symbol_words": nns,
                "avg_word_length": slen / nns if nns else float("nan"),
                "hash_word_ratio": ratio(nhash, nw), "ellipsis_word_ratio": ratio(nell, nw),
                "bullet_lines_ratio": ratio(nbullet, nlines), "ellipsis_lines_ratio": ratio(nend, nlines),
                "alpha_words_ratio": ratio(nalpha, nw),
                "stop_words": nstop if stops[i] is not None else None,
            })
        return res

    def judge(self, s: dict[str, Any]) -> Drop | None:
        nns = s["n_non_symbol_words"]
        if self.min_doc_words and nns < self.min_doc_words:
            return Drop("gopher_short_doc", nns, self.min_doc_words)
        if self.max_doc_words and nns > self.max_doc_words:
            return Drop("gopher_long_doc", nns, self.max_doc_words)
        avg = s["avg_word_length"]
        if self.min_avg_word_length and avg < self.min_avg_word_length:
            return Drop("gopher_below_avg_threshold", avg, self.min_avg_word_length)
        if self.max_avg_word_length and avg > self.max_avg_word_length:
            return Drop("gopher_above_avg_threshold", avg, self.max_avg_word_length)
        if self.max_symbol_word_ratio and s["hash_word_ratio"] > self.max_symbol_word_ratio:
            return Drop("gopher_too_many_hashes", s["hash_word_ratio"], self.max_symbol_word_ratio)
        if self.max_symbol_word_ratio and s["ellipsis_word_ratio"] > self.max_symbol_word_ratio:
            return Drop("gopher_too_many_ellipsis", s["ellipsis_word_ratio"], self.max_symbol_word_ratio)
        if self.max_bullet_lines_ratio and s["bullet_lines_ratio"] > self.max_bullet_lines_ratio:
            return Drop("gopher_too_many_bullets", s["bullet_lines_ratio"], self.max_bullet_lines_ratio)
        if self.max_ellipsis_lines_ratio and s["ellipsis_lines_ratio"] > self.max_ellipsis_lines_ratio:
            return Drop("gopher_too_many_end_ellipsis", s["ellipsis_lines_ratio"], self.max_ellipsis_lines_ratio)
        if self.max_non_alpha_words_ratio and s["alpha_words_ratio"] < self.max_non_alpha_words_ratio:
            return Drop("gopher_below_alpha_threshold", s["alpha_words_ratio"], self.max_non_alpha_words_ratio)
        if self.min_stop_words and s["stop_words"] is not None and s["stop_words"] < self.min_stop_words:
            return Drop("gopher_enough_stop_words", s["stop_words"], self.min_stop_words)
        return None


class GopherRepetition(QualityStep):
    """Gopher repetition rules: duplicate lines/paragraphs (count and characters), top n-gram and duplicated n-gram character fractions.

    Defaults equal datatrove 0.10.1's GopherRepetitionFilter; ``top_n_grams`` and ``dup_n_grams``
    are lists of [n, max_fraction] pairs.
    ``language_pack`` ("shipped" or a pack file) judges each document with its language's values.
    """

    name = "gopher_repetition"
    version = 1

    def __init__(self, dup_line_frac: float | None = 0.3, dup_para_frac: float | None = 0.3,
                 dup_line_char_frac: float | None = 0.2, dup_para_char_frac: float | None = 0.2,
                 top_n_grams: list[tuple[int, float]] = [(2, 0.2), (3, 0.18), (4, 0.16)],  # noqa: B006
                 dup_n_grams: list[tuple[int, float]] = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12),  # noqa: B006
                                                         (9, 0.11), (10, 0.10)],
                 splitter: Splitter = "auto", drop: bool = True, language_pack: str | None = None):
        self.dup_line_frac, self.dup_para_frac = dup_line_frac, dup_para_frac
        self.dup_line_char_frac, self.dup_para_char_frac = dup_line_char_frac, dup_para_char_frac
        self.top_n_grams = check_ngram_spec(top_n_grams, "top_n_grams")
        self.dup_n_grams = check_ngram_spec(dup_n_grams, "dup_n_grams")
        self.splitter = splitter
        self.drop = drop
        self.language_pack = language_pack
        self._table = Table()

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        cps, offsets = packed(docs)
        toks = tokens_for(docs, cps, offsets, self.splitter, self.segmenter)
        need = max(int(np.max(np.diff(toks.off))), max_lines(cps, offsets) + 1)
        self._table.ensure(need)
        top = np.array([n for n, _ in self.top_n_grams], dtype=np.int64)
        dup = np.array([n for n, _ in self.dup_n_grams], dtype=np.int64)
        out = np.zeros((len(docs), 6 + len(top) + len(dup)), dtype=np.int64)
        repetition_kernel(cps, offsets, char_flags(), toks.start, toks.end, toks.ws, toks.off, top, dup,
                          *self._table.args(), out)
        res = []
        for doc, row in zip(docs, out.tolist()):
            n = len(doc.text)
            sig: dict[str, Any] = {
                "dup_para_frac": ratio(row[1], row[0]), "dup_para_char_frac": ratio(row[2], n),
                "dup_line_frac": ratio(row[4], row[3]), "dup_line_char_frac": ratio(row[5], n),
            }
            for k, (m, _) in enumerate(self.top_n_grams):
                sig[f"top_{m}_gram_frac"] = ratio(row[6 + k], n)
            for k, (m, _) in enumerate(self.dup_n_grams):
                sig[f"dup_{m}_gram_frac"] = ratio(row[6 + len(top) + k], n)
            sig["_empty"] = n == 0
            res.append(sig)
        return res

    def judge(self, s: dict[str, Any]) -> Drop | None:
        if s["_empty"]:
            return Drop("empty")
        for key, thr in (("dup_para_frac", self.dup_para_frac), ("dup_para_char_frac", self.dup_para_char_frac),
                         ("dup_line_frac", self.dup_line_frac), ("dup_line_char_frac", self.dup_line_char_frac)):
            if thr and s[key] > thr:
                return Drop(key, s[key], thr)
        for m, thr in self.top_n_grams:
            v = s[f"top_{m}_gram_frac"]
            if v > thr:
                return Drop(f"top_{m}_gram", v, thr)
        for m, thr in self.dup_n_grams:
            v = s[f"dup_{m}_gram_frac"]
            if v > thr:
                return Drop(f"duplicated_{m}_n_grams", v, thr)
        return None

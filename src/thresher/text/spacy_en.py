"""spaCy's blank-English tokenizer, re-implemented as a numba kernel.

datatrove 0.10.1 splits English words with ``spacy.blank("en")`` and counts sentences with spaCy's
sentencizer, and its Gopher and FineWeb filters decide on those words (their count, length, share
with a letter, n-gram repetition). To make the same decisions at compiled speed, this module
follows spaCy's algorithm (``spacy/tokenizer.pyx``) step by step over a code-point array:

1. split on whitespace (a single ``' '`` after a token is dropped, other whitespace runs become
   whitespace tokens);
2. a chunk that is a tokenizer exception ("special case", e.g. ``don't``, ``U.S.``) takes its
   listed split;
3. otherwise prefixes and suffixes are peeled off one at a time, checking for special cases after
   each step; the remaining core is kept whole if it looks like a URL, else split at infixes;
4. special cases whose text contains an affix are re-applied over the resulting tokens (spaCy's
   phrase-matcher pass), longest first.

The rule tables (character classes, exceptions, matcher patterns) are generated from spaCy itself by
``gen_tables.py``. Known gap: the phrase-matcher pass only looks inside one whitespace-free chunk
(spaCy would also match across a single space, which only matters for exceptions containing a space).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .charclass import (
    PLAIN, SP_ALPHA, SP_DOT_LB, SP_ICON, SP_LOWER, SP_PREFIX1, SP_QUOTE, SP_SUFFIX1, SP_UPPER, SPACE, char_flags,
)
from .jit import leaf
from .spacy_rules import FNV_PRIME, MAX_SUFFIX_LEN, fnv_finish, fnv_key, lookup, rules
from .spacy_url import is_ascii_digit as _is_digit
from .spacy_url import url_match

@leaf
def find_prefix(cps, lo, hi, fl) -> int:
    c = cps[lo]
    if c == 46:  # '.': only a run of two or more dots is a prefix
        e = lo
        while e < hi and cps[e] == 46:
            e += 1
        return e - lo if e - lo >= 2 else 0
    if c == 43:  # '+' unless a digit follows
        return 0 if lo + 1 < hi and _is_digit(cps[lo + 1]) else 1
    if fl[c] & SP_PREFIX1:
        return 1
    if c == 85 and lo + 2 < hi and cps[lo + 1] == 83 and cps[lo + 2] == 36:  # US$
        return 3
    if (c == 67 or c == 65) and lo + 1 < hi and cps[lo + 1] == 36:  # C$ A$
        return 2
    return 0


@leaf
def find_suffix(cps, start, hi, fl, sfx_keys) -> int:
    """Length of the suffix spaCy's ``suffix_search`` finds in cps[start:hi] (leftmost match).

    All rules are anchored at the end, so only the last MAX_SUFFIX_LEN positions (and a trailing
    run of dots, for ``\\.\\.+$``) can start a match; look-behinds may see back to ``start``.
    The rule checks are written out inline: a call per position would cost more than the checks.
    """
    if hi <= start:
        return 0
    r = hi
    while r > start and cps[r - 1] == 46:
        r -= 1
    best = hi
    if hi - r >= 2:
        best = r
    p = max(start, hi - MAX_SUFFIX_LEN)
    while p < best:
        n = hi - p
        c = cps[p]
        hit = False
        if n == 1:
            if fl[c] & SP_SUFFIX1:
                hit = True
            elif c == 43 and p > start and _is_digit(cps[p - 1]):
                hit = True
            elif c == 46 and p > start:
                if fl[cps[p - 1]] & SP_DOT_LB:
                    hit = True
                elif p - 2 >= start:
                    x, y = cps[p - 2], cps[p - 1]
                    if x == 176 and (y == 70 or y == 102 or y == 67 or y == 99 or y == 75 or y == 107):
                        hit = True
                    elif (fl[x] & SP_UPPER) and (fl[y] & SP_UPPER):
                        hit = True
        elif n == 2 and (c == 39 or c == 8217) and (cps[p + 1] == 115 or cps[p + 1] == 83):
            hit = True
        if not hit and p > start and _is_digit(cps[p - 1]):
            if lookup(sfx_keys, fnv_key(cps, p, hi)) >= 0:
                hit = True
        if hit:
            best = p
            break
        p += 1
    return hi - best


@leaf
def split_infixes(cps, lo, hi, fl, hyphens, hyph_len, out_s, out_e, n) -> int:
    """Split the core cps[lo:hi] at spaCy-English infixes (``finditer`` order: at each position the
    first alternative that matches), appending the pieces; an infix at the very start is skipped
    like spaCy does. Alternatives: dot runs, ellipsis, icons, digit-op-digit, lower.Upper, a,a,
    hyphens between letters/digits and letters, [:<>=/] between a letter/digit and a letter."""
    start = lo
    p = lo
    while p < hi:
        c = cps[p]
        e = -1
        if c == 46 and p + 1 < hi and cps[p + 1] == 46:
            e = p
            while e < hi and cps[e] == 46:
                e += 1
        elif c == 8230 or (fl[c] & SP_ICON):
            e = p + 1
        elif p > lo and p + 1 < hi:
            prev = cps[p - 1]
            nxt = cps[p + 1]
            pa = (fl[prev] & SP_ALPHA) != 0 or _is_digit(prev)
            if (c == 43 or c == 45 or c == 42 or c == 94) and _is_digit(prev) and (_is_digit(nxt) or nxt == 45):
                e = p + 1
            elif c == 46 and (fl[prev] & (SP_LOWER | SP_QUOTE)) and (fl[nxt] & (SP_UPPER | SP_QUOTE)):
                e = p + 1
            elif c == 44 and (fl[prev] & SP_ALPHA) and (fl[nxt] & SP_ALPHA):
                e = p + 1
            else:
                if pa and (c == 45 or c == 8211 or c == 8212 or c == 126):
                    for k in range(hyphens.shape[0]):
                        L = hyph_len[k]
                        if p + L < hi:
                            ok = True
                            for j in range(L):
                                if cps[p + j] != hyphens[k, j]:
                                    ok = False
                                    break
                            if ok and (fl[cps[p + L]] & SP_ALPHA):
                                e = p + L
                                break
                if e < 0 and pa and (c == 58 or c == 60 or c == 62 or c == 61 or c == 47) and (fl[nxt] & SP_ALPHA):
                    e = p + 1
        if e < 0:
            p += 1
            continue
        if p != lo:
            if p != start:
                out_s[n], out_e[n] = start, p
                n += 1
            out_s[n], out_e[n] = p, e
            n += 1
            start = e
        p = e
    if start < hi:
        out_s[n], out_e[n] = start, hi
        n += 1
    return n


@leaf
def _has_dot(cps, lo, hi) -> bool:
    """Every URL the pattern accepts has a dot (in its host), so most cores skip the full test."""
    for q in range(lo, hi):
        if cps[q] == 46:
            return True
    return False


@leaf
def may_be(bits, cps, a, b) -> bool:
    """False when no string of ``spacy_rules.len_bits`` (``bits``) can be ``cps[a:b]`` (non-empty)."""
    size = b - a
    bit = np.uint16(1) << np.uint16(size if size < 16 else 0)
    c, d = cps[a], cps[b - 1]
    if c < bits.shape[1] and not (bits[0, c] & bit):
        return False
    return d >= bits.shape[1] or (bits[1, d] & bit) != 0


@leaf
def _special(cps, a, b, sp_keys, sp_len) -> int:
    if b <= a or not may_be(sp_len, cps, a, b):
        return -1
    return lookup(sp_keys, fnv_key(cps, a, b))


@leaf
def _emit(out_s, out_e, n, a, b):
    out_s[n] = a
    out_e[n] = b
    return n + 1


@leaf
def _emit_special(out_s, out_e, n, a, idx, sp_off, sp_lens):
    pos = a
    for t in range(sp_off[idx], sp_off[idx + 1]):
        out_s[n] = pos
        pos += sp_lens[t]
        out_e[n] = pos
        n += 1
    return n


@leaf
def _tokenize_chunk(cps, lo, hi, fl, sp_keys, sp_len, sp_off, sp_lens, sfx_keys, hy, hyl, out_s, out_e, n, aff):
    """spaCy ``_split_affixes`` + ``_attach_tokens`` for one whitespace-free chunk not itself special.

    ``aff`` is scratch: rows 0/1 hold prefix starts/ends, rows 2/3 suffix starts/ends.
    """
    npre = 0
    nsuf = 0
    cap = aff.shape[1]
    last = -1
    # the chunk itself is known not to be special; remember the last range checked (spaCy checks the
    # same range up to three times per step)
    klo, khi, kidx = lo, hi, -1
    while hi > lo and hi - lo != last:
        if lo != klo or hi != khi:
            klo, khi, kidx = lo, hi, _special(cps, lo, hi, sp_keys, sp_len)
        if kidx >= 0:
            break
        last = hi - lo
        pre = find_prefix(cps, lo, hi, fl)
        if pre and lo + pre < hi and _special(cps, lo + pre, hi, sp_keys, sp_len) >= 0:
            aff[0, npre], aff[1, npre] = lo, lo + pre
            npre += 1
            lo += pre
            break
        suf = find_suffix(cps, lo + pre, hi, fl, sfx_keys)
        if suf and hi - suf > lo and _special(cps, lo, hi - suf, sp_keys, sp_len) >= 0:
            aff[2, nsuf], aff[3, nsuf] = hi - suf, hi
            nsuf += 1
            hi -= suf
            break
        if pre and suf and pre + suf <= hi - lo:
            aff[0, npre], aff[1, npre] = lo, lo + pre
            npre += 1
            lo += pre
            aff[2, nsuf], aff[3, nsuf] = hi - suf, hi
            nsuf += 1
            hi -= suf
        elif pre:
            aff[0, npre], aff[1, npre] = lo, lo + pre
            npre += 1
            lo += pre
        elif suf:
            aff[2, nsuf], aff[3, nsuf] = hi - suf, hi
            nsuf += 1
            hi -= suf
        if npre >= cap or nsuf >= cap:
            break  # pathological affix run longer than the scratch: keep the rest as the core
        if hi > lo:
            klo, khi, kidx = lo, hi, _special(cps, lo, hi, sp_keys, sp_len)
            if kidx >= 0:
                break
    for i in range(npre):
        n = _emit(out_s, out_e, n, aff[0, i], aff[1, i])
    if hi > lo:
        idx = kidx if (lo == klo and hi == khi) else _special(cps, lo, hi, sp_keys, sp_len)
        if idx >= 0:
            n = _emit_special(out_s, out_e, n, lo, idx, sp_off, sp_lens)
        elif _has_dot(cps, lo, hi) and url_match(cps, lo, hi, fl):
            n = _emit(out_s, out_e, n, lo, hi)
        else:
            n = split_infixes(cps, lo, hi, fl, hy, hyl, out_s, out_e, n)
    for i in range(nsuf - 1, -1, -1):
        n = _emit(out_s, out_e, n, aff[2, i], aff[3, i])
    return n


@leaf
def _apply_matcher(cps, n, out_s, out_e, out_ws, mt_len, mt_seq, mt_special, mt_prefix, sp_off, sp_lens, max_pat,
                   tok_key, work, new_ws) -> int:
    """spaCy's special-case matcher pass over all n tokens; returns the new token count.

    Every special case whose text holds an affix is matched as a token sequence (its affix-split
    tokens), across single spaces too, like spaCy's PhraseMatcher. Longest matches win (ties: the
    leftmost) unless their first or last token is taken; a kept match whose tokens touch is replaced
    by the special case's own split, one separated by a space only blocks others.
    """
    m_s, m_e, m_i, seen, new_s, new_e = work[0], work[1], work[2], work[3], work[4], work[5]
    cap = m_s.shape[0]
    nm = 0
    for i in range(n):
        tok_key[i] = 0
    for i in range(n):
        if out_e[i] <= out_s[i] or not may_be(mt_len, cps, out_s[i], out_e[i]):
            continue            # no pattern's first token has this first character, last one and length
        h = np.uint64(1469598103934665603)
        for j in range(i, min(n, i + max_pat)):
            if tok_key[j] == 0:
                tok_key[j] = fnv_key(cps, out_s[j], out_e[j])
            h = (h ^ tok_key[j]) * FNV_PRIME
            hk = fnv_finish(h, j - i + 1)
            m = lookup(mt_seq, hk)
            if m >= 0 and nm < cap:
                m_s[nm], m_e[nm], m_i[nm] = i, j + 1, mt_special[m]
                nm += 1
            if lookup(mt_prefix, hk) < 0:
                break   # no pattern continues this token sequence
    if nm == 0:
        return n
    keep = work[6]
    for t in range(n):
        seen[t] = 0
    # longest first; among equal lengths the leftmost (matches were found in start order)
    for length in range(max_pat, 0, -1):
        for k in range(nm):
            if m_e[k] - m_s[k] != length:
                continue
            keep[k] = 1 if (not seen[m_s[k]] and not seen[m_e[k] - 1]) else 0
            for t in range(m_s[k], m_e[k]):
                seen[t] = 1
    # kept matches never overlap at their ends; index them by start token
    for t in range(n):
        seen[t] = -1
    for k in range(nm):
        if keep[k]:
            touching = True
            for t in range(m_s[k], m_e[k] - 1):
                if out_e[t] != out_s[t + 1]:
                    touching = False
            if touching:
                seen[m_s[k]] = k
    w = 0
    t = 0
    while t < n:
        k = seen[t]
        if k < 0:
            new_s[w], new_e[w], new_ws[w] = out_s[t], out_e[t], out_ws[t]
            w += 1
            t += 1
        else:
            pos = out_s[t]
            idx = m_i[k]
            for q in range(sp_off[idx], sp_off[idx + 1]):
                new_s[w] = pos
                pos += sp_lens[q]
                new_e[w] = pos
                new_ws[w] = out_ws[t]   # a whitespace special stays whitespace
                w += 1
            t = m_e[k]
    for q in range(w):
        out_s[q], out_e[q], out_ws[q] = new_s[q], new_e[q], new_ws[q]
    return w


@leaf
def tokenize(cps, a, b, fl, R, out_s, out_e, out_ws, W) -> int:
    """Tokenize cps[a:b] like ``spacy.blank("en")``; writes token spans, returns the token count.

    ``R`` is the rule tables (``spacy_rules.Rules``), ``W`` the scratch arrays (``Work``).
    ``out_ws[k]`` is 1 for whitespace tokens (datatrove drops them from word lists, the sentencizer
    sees them). Every output and ``W.work`` row needs room for ``b - a`` tokens.
    """
    sp_keys, sp_len, sp_off, sp_lens, sfx_keys, hy, hyl, mt_len, mt_seq, mt_special, max_pat, mt_prefix = R
    aff, tok_key, work, new_ws = W
    n = 0
    if b <= a:
        return 0
    in_ws = (fl[cps[a]] & SPACE) != 0
    start = a
    for i in range(a, b + 1):
        if i < b:
            sp = (fl[cps[i]] & SPACE) != 0
            if sp == in_ws:
                continue
        if start < i:
            t0 = n
            if in_ws:
                n = _emit(out_s, out_e, n, start, i)
                out_ws[t0] = 1
            else:
                idx = _special(cps, start, i, sp_keys, sp_len)
                plain = True
                if idx < 0:
                    # fast path: a run of letters (or of ASCII digits) no affix or infix rule can split
                    letters = (fl[cps[start]] & PLAIN) != 0
                    for q in range(start, i):
                        if ((fl[cps[q]] & PLAIN) != 0) != letters or (not letters and not _is_digit(cps[q])):
                            plain = False
                            break
                tail = False
                if idx < 0 and not plain and i - start >= 2:
                    # fast path: letters + one unconditional suffix character (but not '.', whose
                    # rules look back): "word," "word)" -> word + punctuation
                    c = cps[i - 1]
                    tail = c != 46 and (fl[c] & SP_SUFFIX1) != 0
                    if tail:
                        for q in range(start, i - 1):
                            if not (fl[cps[q]] & PLAIN):
                                tail = False
                                break
                if (idx < 0 and plain) or i - start == 1:   # one character is always one token
                    n = _emit(out_s, out_e, n, start, i)
                elif tail:
                    k = _special(cps, start, i - 1, sp_keys, sp_len)
                    if k >= 0:
                        n = _emit_special(out_s, out_e, n, start, k, sp_off, sp_lens)
                    else:
                        n = _emit(out_s, out_e, n, start, i - 1)
                    n = _emit(out_s, out_e, n, i - 1, i)
                elif idx >= 0:
                    n = _emit_special(out_s, out_e, n, start, idx, sp_off, sp_lens)
                else:
                    n = _tokenize_chunk(cps, start, i, fl, sp_keys, sp_len, sp_off, sp_lens, sfx_keys, hy, hyl,
                                        out_s, out_e, n, aff)
                for q in range(t0, n):
                    out_ws[q] = 0
        if i == b:
            break
        if cps[i] == 32 and not in_ws:
            start = i + 1
        else:
            start = i
        in_ws = not in_ws
    return _apply_matcher(cps, n, out_s, out_e, out_ws, mt_len, mt_seq, mt_special, mt_prefix, sp_off, sp_lens,
                          max_pat, tok_key, work, new_ws)


class Work(NamedTuple):
    """Scratch arrays of ``tokenize`` (one tuple argument: unpacked inside the compiled kernel)."""

    aff: np.ndarray        # [4, m] affix split positions
    tok_key: np.ndarray    # [m] per-token hash keys for the phrase matcher
    work: np.ndarray       # [7, m] matcher bookkeeping
    new_ws: np.ndarray     # [m] whitespace flags of the rewritten tokens


class Scratch:
    """Per-process scratch arrays for ``tokenize``, grown to the longest text seen so far."""

    def __init__(self, size: int = 1 << 16) -> None:
        self.size = 0
        self.grow(size)

    def grow(self, n: int) -> None:
        if n <= self.size:
            return
        self.size = max(n, 2 * self.size)
        m = self.size
        self.out_s = np.zeros(m, dtype=np.int64)
        self.out_e = np.zeros(m, dtype=np.int64)
        self.out_ws = np.zeros(m, dtype=np.uint8)
        self.aff = np.zeros((4, m), dtype=np.int64)
        self.tok_key = np.zeros(m, dtype=np.uint64)
        self.work = np.zeros((7, m), dtype=np.int64)
        self.new_ws = np.zeros(m, dtype=np.uint8)

    def work_arrays(self) -> Work:
        """The scratch arrays ``tokenize`` takes as ``W``."""
        return Work(self.aff, self.tok_key, self.work, self.new_ws)


def words(text: str, keep_whitespace: bool = False) -> list[str]:
    """spaCy-English tokens of ``text`` (datatrove's ``split_into_words`` when whitespace is dropped)."""
    from .charclass import codepoints

    cps = codepoints(text)
    s = Scratch(len(cps) + 1)
    n = tokenize(cps, 0, len(cps), char_flags(), rules(), s.out_s, s.out_e, s.out_ws, s.work_arrays())
    return [text[s.out_s[i]:s.out_e[i]] for i in range(n) if keep_whitespace or not s.out_ws[i]]

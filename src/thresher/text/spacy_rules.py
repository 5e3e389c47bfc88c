"""Hashed string keys and the rule tables of the spaCy-English tokenizer, as arrays kernels take.

Strings are keyed by 64-bit FNV-1a (finished with their length) and looked up in open-addressing
tables (one probe on average): the tokenizer's exceptions, the suffixes allowed after a digit, and
the special-case patterns of spaCy's matcher pass (a trie of token-sequence keys).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable, NamedTuple

import numpy as np
from numba import njit

from .charclass import tables
from .jit import leaf

FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)
_MASK = (1 << 64) - 1
MAX_SUFFIX_LEN = 6   # longest literal suffix alternative (units/currency) is 5 code points


def str_key(s: str) -> int:
    """The 64-bit key of a string, equal to ``fnv_key`` of its code points in a kernel."""
    h = 14695981039346656037
    for ch in s:
        h = ((h ^ ord(ch)) * 1099511628211) & _MASK
    return (h ^ (len(s) * 0x9E3779B97F4A7C15)) & _MASK


@njit(cache=True, inline="always")
def fnv_step(h: np.uint64, c: np.uint32) -> np.uint64:
    return (h ^ np.uint64(c)) * FNV_PRIME


@njit(cache=True, inline="always")
def fnv_finish(h: np.uint64, n: int) -> np.uint64:
    return h ^ (np.uint64(n) * np.uint64(0x9E3779B97F4A7C15))


@leaf
def fnv_key(cps: np.ndarray, a: int, b: int) -> np.uint64:
    h = FNV_OFFSET
    for i in range(a, b):
        h = fnv_step(h, cps[i])
    return fnv_finish(h, b - a)


EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)


@leaf
def lookup(tab: np.ndarray, key: np.uint64) -> int:
    """Value stored for ``key`` in an open-addressing table built by ``key_table``, or -1."""
    mask = np.uint64(tab.shape[1] - 1)
    i = np.int64((key * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20) & mask)
    while tab[1, i] != EMPTY:
        if tab[0, i] == key:
            return np.int64(tab[1, i])
        i = (i + 1) & np.int64(mask)
    return -1


def key_table(items: dict[int, int]) -> np.ndarray:
    """Keys -> small non-negative values, as a (2, 2**k) uint64 table at load <= 1/4 (one probe)."""
    size = 16
    while size < 4 * max(1, len(items)):
        size *= 2
    tab = np.zeros((2, size), dtype=np.uint64)
    tab[1, :] = 0xFFFFFFFFFFFFFFFF
    mask = size - 1
    for key, val in items.items():
        i = ((key * 0x9E3779B97F4A7C15) & _MASK) >> 20 & mask
        while tab[1, i] != 0xFFFFFFFFFFFFFFFF:
            i = (i + 1) & mask
        tab[0, i], tab[1, i] = key, val
    return tab


def seq_key(tokens: list[str]) -> int:
    """Key of a token sequence, equal to the kernel's combination of per-token ``fnv_key``s."""
    h = 1469598103934665603
    for t in tokens:
        h = ((h ^ str_key(t)) * 1099511628211) & _MASK
    return (h ^ (len(tokens) * 0x9E3779B97F4A7C15)) & _MASK


LEN_BITS_CHARS = 0x10000     # len_bits covers the BMP; a string starting or ending above it is always looked up


def len_bits(strings: Iterable[str]) -> np.ndarray:
    """A quick necessary test of membership in a set of strings, before hashing a span to look it up:
    row 0 (row 1) has, per code point, bit L set when a string of length L (bit 0: 16 or more) starts
    (ends) with it (``spacy_en.may_be``)."""
    bits = np.zeros((2, LEN_BITS_CHARS), dtype=np.uint16)
    for s in strings:
        bit = np.uint16(1 << (len(s) if len(s) < 16 else 0))
        for row, c in ((0, ord(s[0])), (1, ord(s[-1]))):
            if c < LEN_BITS_CHARS:
                bits[row, c] |= bit
    return bits


class Rules(NamedTuple):
    """The tokenizer's rule tables as arrays a kernel can take."""

    sp_keys: np.ndarray      # sorted keys of the special cases
    sp_len: np.ndarray       # ``len_bits`` of the special cases (a span failing them is none: not hashed)
    sp_off: np.ndarray       # offsets into sp_lens, per special (len = n + 1)
    sp_lens: np.ndarray      # token lengths of each special's split
    sfx_keys: np.ndarray     # sorted keys of suffixes allowed after a digit (units, currency)
    hyphens: np.ndarray      # hyphen alternatives, code points padded with 0, in regex order
    hyph_len: np.ndarray
    mt_len: np.ndarray       # ``len_bits`` of the patterns' first tokens (a token failing them starts none)
    mt_seq: np.ndarray       # sorted sequence keys of the matcher patterns
    mt_special: np.ndarray   # index of the special case (into sp_*) each pattern turns into
    max_pat: int             # most tokens in a pattern
    mt_prefix: np.ndarray    # sorted sequence keys of every proper prefix of a pattern (the trie)


@lru_cache(maxsize=1)
def rules() -> Rules:
    t = tables()
    specials = sorted(t["specials"].items(), key=lambda kv: str_key(kv[0]))
    sp_keys = key_table({str_key(s): i for i, (s, _) in enumerate(specials)})
    sp_index = {s: i for i, (s, _) in enumerate(specials)}
    sp_lens = np.array([len(tok) for _, toks in specials for tok in toks], dtype=np.int32)
    sp_off = np.zeros(len(specials) + 1, dtype=np.int64)
    np.cumsum([len(toks) for _, toks in specials], out=sp_off[1:])
    # several special cases can share a pattern; the phrase matcher then reports the span for each,
    # and all of them replace it the same way only if equal -- keep the first in table order
    by_seq: dict[int, str] = {}
    for s, toks in t["matcher_patterns"].items():
        by_seq.setdefault(seq_key(toks), s)
    seqs = sorted(by_seq)
    mt_seq = key_table({k: i for i, k in enumerate(seqs)})
    mt_special = np.array([sp_index[by_seq[k]] for k in seqs], dtype=np.int64)
    mt_len = len_bits(toks[0] for toks in t["matcher_patterns"].values())
    max_pat = max(len(toks) for toks in t["matcher_patterns"].values())
    mt_prefix = key_table({seq_key(toks[:k]): 0 for toks in t["matcher_patterns"].values()
                           for k in range(1, len(toks))})
    sfx_keys = key_table({str_key(s): 0 for s in t["suffix_after_digit"]})
    hy = t["hyphens"]
    hyphens = np.zeros((len(hy), max(map(len, hy))), dtype=np.uint32)
    for i, h in enumerate(hy):
        hyphens[i, :len(h)] = [ord(c) for c in h]
    hyph_len = np.array([len(h) for h in hy], dtype=np.int64)
    if len({str_key(s) for s, _ in specials}) != len(specials):
        raise RuntimeError("tokenizer table key collision")
    return Rules(sp_keys, len_bits(s for s, _ in specials), sp_off, sp_lens, sfx_keys, hyphens, hyph_len, mt_len,
                 mt_seq, mt_special, max_pat, mt_prefix)

"""Word and identity-term window counts of many documents in one compiled pass (the card's data
measurements, ``thresher.measurements``).

The input is the documents lower-cased (``str.lower()``, per document; ASCII ones by the kernel as
it reads them), encoded as UTF-8 and packed (``pack``). A word is a maximal run of ``PY_WORD``
characters (``str.isalnum()`` or ``_``: Python ``re``'s ``\\w``), so the words are those of
``re.findall(r"\\w+", text.lower())``. The kernel never builds a string: each word is keyed by a
64-bit hash of its UTF-8 bytes (an xxHash64 round per eight bytes, then the splitmix64 finaliser)
together with its language, and only the *distinct* words are turned into strings afterwards, each
decoded once from its first occurrence. Two different words with the same hash would be counted as
one: for n distinct words the chance that any two collide is about n² / 2^65 (3e-6 for ten million
distinct words, more than a large corpus's vocabulary per shard).

Tables grow as needed (open addressing, load <= 1/2); entries keep their first-seen order, so the
counts come out in the order a ``Counter`` fed word by word would list them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .charclass import PY_WORD, char_flags
from .hashset import mix64
from .jit import leaf

P1 = np.uint64(0x9E3779B185EBCA87)     # xxHash64 primes
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
SEED = np.uint64(0x27D4EB2F165667C5)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
NO_TERM = -1


class Counts(NamedTuple):
    """A growable table of counts keyed by (a, b): entry ``e`` (in first-seen order) has key
    ``(a[e], b[e])``, count ``n[e]`` and, for words, the span ``first[e]:first[e] + size[e]`` of its
    first occurrence in the batch that added it and its identity-term index ``term[e]`` (or -1).
    ``slots`` holds entry numbers (-1: empty); ``used[0]`` is the number of entries."""

    slots: np.ndarray
    a: np.ndarray
    b: np.ndarray
    n: np.ndarray
    first: np.ndarray
    size: np.ndarray
    term: np.ndarray
    used: np.ndarray


def new_counts(entries: int = 1 << 12) -> Counts:
    """An empty table for ``entries`` entries (a power of two: slots are found by masking)."""
    return Counts(np.full(2 * entries, -1, dtype=np.int64), np.zeros(entries, dtype=np.uint64),
                  np.zeros(entries, dtype=np.int64), np.zeros(entries, dtype=np.int64),
                  np.zeros(entries, dtype=np.int64), np.zeros(entries, dtype=np.int64),
                  np.full(entries, NO_TERM, dtype=np.int64), np.zeros(1, dtype=np.int64))


@njit(cache=True, inline="always")
def _lower(x):
    """``x`` lower-cased if it is an ASCII capital (the kernel lower-cases ASCII documents itself, see
    ``pack``; in a document Python lower-cased it changes nothing, and it is never part of a longer
    UTF-8 sequence)."""
    return x | 0x20 if 65 <= x <= 90 else x


@njit(cache=True, inline="always")
def _word_hash(b, i, j) -> np.uint64:
    """The key of the word ``b[i:j]`` (lower-cased): its bytes eight at a time, each block one xxHash64
    round, then the length and the splitmix64 finaliser."""
    h = SEED
    k = i
    while True:
        v = np.uint64(0)
        for q in range(min(8, j - k)):
            v |= np.uint64(_lower(np.int64(b[k + q]))) << np.uint64(8 * q)
        h = h ^ (v * P2)
        h = ((h << np.uint64(31)) | (h >> np.uint64(33))) * P1
        k += 8
        if k >= j:
            break
    return mix64(h ^ np.uint64(j - i))


@njit(cache=True, inline="always")
def _char(b, i):
    """The code point at byte ``i`` of the UTF-8 ``b`` and its length in bytes (``b`` came from
    ``str.encode``, so it is well formed; lone surrogates, from "surrogatepass", decode like others)."""
    c = np.int64(b[i])
    if c < 0x80:
        return c, 1
    if c < 0xE0:
        return ((c & 0x1F) << 6) | (np.int64(b[i + 1]) & 0x3F), 2
    if c < 0xF0:
        return ((c & 0x0F) << 12) | ((np.int64(b[i + 1]) & 0x3F) << 6) | (np.int64(b[i + 2]) & 0x3F), 3
    return (((c & 0x07) << 18) | ((np.int64(b[i + 1]) & 0x3F) << 12) | ((np.int64(b[i + 2]) & 0x3F) << 6)
            | (np.int64(b[i + 3]) & 0x3F)), 4


@leaf
def _slot(slots, ka, kb, a, b):
    """The slot of key (a, b): the one holding its entry, or the empty one where it goes."""
    mask = np.uint64(len(slots) - 1)
    i = np.int64(mix64(a ^ (np.uint64(b) * GOLDEN)) & mask)
    while True:
        e = slots[i]
        if e < 0 or (ka[e] == a and kb[e] == b):
            return i
        i = (i + 1) & np.int64(mask)


@njit(cache=True)
def _grow(c):
    """Twice the entries and slots, entries copied in order, slots rebuilt."""
    m = len(c.a)
    used = c.used[0]
    g = Counts(np.full(4 * m, -1, dtype=np.int64), np.zeros(2 * m, dtype=np.uint64),
               np.zeros(2 * m, dtype=np.int64), np.zeros(2 * m, dtype=np.int64), np.zeros(2 * m, dtype=np.int64),
               np.zeros(2 * m, dtype=np.int64), np.full(2 * m, NO_TERM, dtype=np.int64), c.used.copy())
    g.a[:m] = c.a
    g.b[:m] = c.b
    g.n[:m] = c.n
    g.first[:m] = c.first
    g.size[:m] = c.size
    g.term[:m] = c.term
    for e in range(used):
        g.slots[_slot(g.slots, g.a, g.b, g.a[e], g.b[e])] = e
    return g


@leaf
def _put(c, s, a, b) -> int:
    """A new entry for key (a, b) at empty slot ``s`` (count 0); returns its number."""
    e = c.used[0]
    c.used[0] = e + 1
    c.slots[s] = e
    c.a[e] = a
    c.b[e] = b
    c.n[e] = 0
    return e


@leaf
def _doc_scan(b, i, end, flags, word_bit, hs, starts, ends) -> int:
    """The words of ``b[i:end]``: their hashes and byte spans into ``hs``, ``starts``, ``ends``;
    returns how many. (Hashing all words first, then looking them up in a tight loop of their own,
    lets the processor wait for several table cache misses at once.)"""
    k = 0
    while i < end:
        c, n = _char(b, i)
        if not (flags[c] & word_bit):
            i += n
            continue
        j = i + n
        while j < end:
            c, n = _char(b, j)
            if not (flags[c] & word_bit):
                break
            j += n
        hs[k] = _word_hash(b, i, j)
        starts[k] = i
        ends[k] = j
        k += 1
        i = j
    return k


@leaf
def _doc_count(hs, starts, ends, p, k, lang, term_keys, term_ids, w, ents) -> int:
    """Count words ``p..k-1`` of a document into ``w``, their entries into ``ents``; stops before a
    new word when ``w`` is full. Returns where it stopped."""
    while p < k:
        h = hs[p]
        s = _slot(w.slots, w.a, w.b, h, lang)
        e = w.slots[s]
        if e < 0:
            if w.used[0] == len(w.a):
                return p
            e = _put(w, s, h, lang)
            w.first[e] = starts[p]
            w.size[e] = ends[p] - starts[p]
            w.term[e] = NO_TERM
            if len(term_keys):
                t = np.searchsorted(term_keys, h)
                if t < len(term_keys) and term_keys[t] == h:
                    w.term[e] = term_ids[t]
        w.n[e] += 1
        ents[p] = e
        p += 1
    return p


@leaf
def _doc_pairs(ents, p, k, window, term, pc) -> int:
    """For every word ``ents[p:k]`` that is a term, count the words within ``window`` of it into
    ``pc``; stops before a term when ``pc`` could fill up. Returns where it stopped."""
    while p < k:
        t = term[ents[p]]
        if t != NO_TERM:
            if pc.used[0] + 2 * window > len(pc.a):
                return p
            for q in range(max(0, p - window), min(k, p + window + 1)):
                if q != p:
                    a = np.uint64(ents[q])
                    s = _slot(pc.slots, pc.a, pc.b, a, t)
                    e = pc.slots[s]
                    if e < 0:
                        e = _put(pc, s, a, t)
                    pc.n[e] += 1
        p += 1
    return p


@njit(cache=True)
def count_batch(b, offsets, langs, flags, word_bit, term_keys, term_ids, window, words, pairs, nwords):
    """Count the words of every document (doc d is ``b[offsets[d]:offsets[d+1]]``, language
    ``langs[d]``) into ``words`` (key: word hash, language) and, for every word that is an identity
    term (its hash in the sorted ``term_keys``; ``term_ids`` the matching term numbers), each word
    within ``window`` positions of it into ``pairs`` (key: word entry, term number). Writes the number
    of words of each document to ``nwords``; returns the tables (grown ones are new arrays)."""
    ents = np.empty(16, dtype=np.int64)
    hs = np.empty(16, dtype=np.uint64)
    starts = np.empty(16, dtype=np.int64)
    ends = np.empty(16, dtype=np.int64)
    for d in range(len(offsets) - 1):
        i, end = offsets[d], offsets[d + 1]
        if len(ents) < (end - i + 1) // 2 + 1:
            m = (end - i + 1) // 2 + 1
            ents, hs = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.uint64)
            starts, ends = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
        k = _doc_scan(b, i, end, flags, word_bit, hs, starts, ends)
        p = 0
        while True:
            p = _doc_count(hs, starts, ends, p, k, langs[d], term_keys, term_ids, words, ents)
            if p >= k:
                break
            words = _grow(words)
        nwords[d] = k
        p = 0
        while len(term_keys):
            p = _doc_pairs(ents, p, k, window, words.term, pairs)
            if p >= k:
                break
            pairs = _grow(pairs)
    return words, pairs


def term_keys(terms: tuple[str, ...] | list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The sorted word hashes of the terms that are one lower-case word each (only those can match a
    word of the lower-cased text) and their positions in ``terms``: each such term counted by
    ``count_batch`` as a document of its own (no second kernel to load for a few dozen hashes)."""
    import re

    ids = [i for i, t in enumerate(terms) if re.fullmatch(r"\w+", t) and t == t.lower()]
    if not ids:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    data, offsets = pack([terms[i] for i in ids])
    nwords = np.zeros(len(ids), dtype=np.int64)
    none = np.zeros(0, dtype=np.uint64)
    table = new_counts(1 << max(4, len(ids).bit_length()))
    words, _ = count_batch(np.frombuffer(data, dtype=np.uint8), offsets, np.arange(len(ids), dtype=np.int64),
                           *word_flags(), none, none.view(np.int64), 0, table, new_counts(16), nwords)
    assert int(words.used[0]) == len(ids) and (nwords == 1).all(), "a term of one \\w+ word is one kernel word"
    keys = words.a[:len(ids)]       # one entry per term, in order: each term its own language number
    order = np.argsort(keys, kind="stable")
    return keys[order], np.array(ids, dtype=np.int64)[order]


@njit(cache=True)
def _joined(b, first, size, lo, hi):
    """The spans ``b[first[e]:first[e] + size[e]]`` of entries lo..hi-1 joined by newlines (never in a word)."""
    total = 0
    for e in range(lo, hi):
        total += size[e] + 1
    out = np.empty(max(total - 1, 0), dtype=np.uint8)
    p = 0
    for e in range(lo, hi):
        if e > lo:
            out[p] = 10
            p += 1
        for q in range(first[e], first[e] + size[e]):
            out[p] = _lower(b[q])
            p += 1
    return out


def spell(data: bytes, words: Counts, lo: int) -> list[str]:
    """The words of entries ``lo`` and later, added by the batch ``data`` (two C calls for them all)."""
    hi = int(words.used[0])
    if hi == lo:
        return []
    joined = _joined(np.frombuffer(data, dtype=np.uint8), words.first, words.size, lo, hi)
    return joined.tobytes().decode("utf-8", "surrogatepass").split("\n")


def pack(texts: list[str]) -> tuple[bytes, np.ndarray]:
    """The documents as the kernel counts them, UTF-8, concatenated, and the byte offsets (len(texts) + 1)
    of each: an ASCII document as it is (the kernel lower-cases A-Z, which is all ``str.lower`` does to
    ASCII), any other lower-cased by ``str.lower`` (which may change its length)."""
    parts = [(t if t.isascii() else t.lower()).encode("utf-8", "surrogatepass") for t in texts]
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    return b"".join(parts), offsets


def word_flags() -> tuple[np.ndarray, np.uint32]:
    """The code-point flag table and the bit of a word character, as ``count_batch`` takes them."""
    return char_flags(), np.uint32(PY_WORD)

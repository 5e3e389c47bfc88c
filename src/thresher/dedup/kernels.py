"""Compiled (numba) kernels from text to hashes: they work on whole batches of UTF-8 bytes at once.

The peers spend most of their time tokenising and hashing shingles one Python object at a time; here
a batch of documents is one ``uint8`` buffer plus offsets (straight from an Arrow string column, no
Python strings), and every loop below runs compiled.

All arithmetic is on ``uint64`` and wraps modulo 2**64 on purpose. Constants and shift counts are
``np.uint64`` because numba turns a mix of uint64 and int64 into float64.
"""
from __future__ import annotations

import numba as nb
import numpy as np

U64 = np.uint64
_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_S30, _S27, _S31 = U64(30), U64(27), U64(31)
_FNV_OFFSET = U64(0xCBF29CE484222325)
_FNV_PRIME = U64(0x100000001B3)
_ROLL = U64(0x9E3779B97F4A7C15)        # odd multiplier of the rolling n-gram hash
_MAX = U64(0xFFFFFFFFFFFFFFFF)

MODE_WORDS, MODE_CHARS = 0, 1


@nb.njit(inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64's finaliser: a bijection that spreads every input bit over the output."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@nb.njit(inline="always")
def _decode(buf: np.ndarray, i: int, end: int) -> tuple[int, int]:
    """The code point at ``buf[i]`` and the index after it; a malformed byte stands for itself."""
    b0 = int(buf[i])
    if b0 < 0x80:
        return b0, i + 1
    if b0 >= 0xF0 and i + 3 < end:
        return ((b0 & 0x07) << 18) | ((int(buf[i + 1]) & 0x3F) << 12) | ((int(buf[i + 2]) & 0x3F) << 6) \
            | (int(buf[i + 3]) & 0x3F), i + 4
    if b0 >= 0xE0 and i + 2 < end:
        return ((b0 & 0x0F) << 12) | ((int(buf[i + 1]) & 0x3F) << 6) | (int(buf[i + 2]) & 0x3F), i + 3
    if b0 >= 0xC0 and i + 1 < end:
        return ((b0 & 0x1F) << 6) | (int(buf[i + 1]) & 0x3F), i + 2
    return b0, i + 1


@nb.njit(inline="always")
def _is_word(cp: int) -> bool:
    """Letters, digits, underscore and any other script's characters; not spaces nor punctuation."""
    if cp < 0x80:
        return (0x30 <= cp <= 0x39) or (0x41 <= cp <= 0x5A) or (0x61 <= cp <= 0x7A) or cp == 0x5F
    if cp < 0xC0:                                  # C1 controls, no-break space, Latin-1 punctuation
        return cp == 0xAA or cp == 0xB5 or cp == 0xBA
    if cp == 0xD7 or cp == 0xF7:
        return False
    if 0x2000 <= cp <= 0x2BFF or 0x2E00 <= cp <= 0x2E7F or 0x3000 <= cp <= 0x303F:
        return False                               # general punctuation, symbols, CJK punctuation
    if 0xFE30 <= cp <= 0xFE4F or 0xFF00 <= cp <= 0xFF0F or 0xFF1A <= cp <= 0xFF20:
        return False
    return True


@nb.njit(inline="always")
def _no_space_script(cp: int) -> bool:
    """Scripts written without spaces between words (CJK, kana, Thai, Lao, Khmer, Myanmar)."""
    return (0x3040 <= cp <= 0x30FF or 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF
            or 0xF900 <= cp <= 0xFAFF or 0x0E00 <= cp <= 0x0EFF or 0x1000 <= cp <= 0x109F
            or 0x1780 <= cp <= 0x17FF or 0xFF66 <= cp <= 0xFF9F or 0x20000 <= cp <= 0x2FFFF)


@nb.njit(inline="always")
def _fold(cp: int) -> int:
    """Lower case for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic (the common cases)."""
    if 0x41 <= cp <= 0x5A or (0xC0 <= cp <= 0xDE and cp != 0xD7) or 0x391 <= cp <= 0x3AB or 0x410 <= cp <= 0x42F:
        return cp + 0x20
    if 0x400 <= cp <= 0x40F:
        return cp + 0x50
    if 0x100 <= cp <= 0x17F and (cp & 1) == 0 and cp != 0x138:
        return cp + 1
    return cp


# ASCII word characters ([0-9A-Za-z_]) -> their lower-case byte, anything else -> 0: one load per
# byte instead of the range tests and case folding below (30% faster on mostly-ASCII text)
_ASCII_WORD = np.zeros(128, dtype=np.uint8)
for _c in b"0123456789_abcdefghijklmnopqrstuvwxyz":
    _ASCII_WORD[_c] = _c
for _c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ":
    _ASCII_WORD[_c] = _c + 0x20


@nb.njit(cache=True)
def tokens(buf: np.ndarray, start: int, end: int, mode: int, out: np.ndarray) -> tuple[int, int]:
    """Hash the tokens of ``buf[start:end]`` into ``out``: words (mode 0) or characters (mode 1).

    mode -1 picks per document: characters when most word characters belong to a script written
    without spaces. Words are hashed in the same pass that counts scripts; only a document that
    turns out to need characters is read a second time. Returns (number of tokens, mode used).
    """
    n, i = 0, start
    h, inword = _FNV_OFFSET, False
    words, nospace = 0, 0
    if mode != MODE_CHARS:
        while i < end:
            c = buf[i]
            if c < 0x80:
                cp = int(_ASCII_WORD[c])          # folded, or 0 for a non-word byte
                i += 1
                isword = cp != 0
            else:
                cp, i = _decode(buf, i, end)
                isword = _is_word(cp)
                if isword:
                    if cp >= 0x0E00:
                        nospace += _no_space_script(cp)
                    else:
                        cp = _fold(cp)
            if isword:
                words += 1
                h = (h ^ U64(cp)) * _FNV_PRIME
                inword = True
            elif inword:
                out[n] = mix64(h)
                n += 1
                h, inword = _FNV_OFFSET, False
        if inword:
            out[n] = mix64(h)
            n += 1
        if mode == MODE_WORDS or nospace * 2 <= words:
            return n, MODE_WORDS
    n, i = 0, start
    while i < end:
        cp, i = _decode(buf, i, end)
        if _is_word(cp):
            out[n] = mix64(U64(_fold(cp)) + _ROLL)
            n += 1
    return n, MODE_CHARS


@nb.njit(inline="always")
def shingles(toks: np.ndarray, ntok: int, n: int, out: np.ndarray) -> int:
    """Rolling hash of every window of ``n`` tokens; a document shorter than ``n`` is one shingle."""
    if ntok == 0:
        return 0
    if ntok < n:
        n = ntok
    top = U64(1)
    for _ in range(n - 1):
        top *= _ROLL
    h = U64(0)
    for k in range(n):
        h = h * _ROLL + toks[k]
    out[0] = mix64(h ^ U64(n))
    for k in range(n, ntok):
        h = (h - toks[k - n] * top) * _ROLL + toks[k]
        out[k - n + 1] = mix64(h ^ U64(n))
    return ntok - n + 1


@nb.njit(inline="always")
def _radix_sort32(a: np.ndarray, tmp: np.ndarray, cnt: np.ndarray) -> None:
    """Sort ``a`` (uint32) in place: four 8-bit counting passes, no data-dependent branches
    (5x faster than np.sort on the few hundred shingles of a document)."""
    n = a.shape[0]
    src, dst = a, tmp
    for shift in (0, 8, 16, 24):
        cnt[:] = 0
        for i in range(n):
            cnt[(src[i] >> shift) & 255] += 1
        total = 0
        for k in range(256):
            c = cnt[k]
            cnt[k] = total
            total += c
        for i in range(n):
            v = src[i]
            bucket = (v >> shift) & 255
            dst[cnt[bucket]] = v
            cnt[bucket] += 1
        src, dst = dst, src             # after four passes the result is back in ``a``


@nb.njit(inline="always")
def _minhash_row(sh: np.ndarray, nsh: int, a: np.ndarray, b: np.ndarray, row: np.ndarray) -> None:
    """row[p] = min over shingles x of a[p]*x + b[p]. Four shingles per pass over the permutations:
    fewer loads and stores of ``row`` and independent multiplies (2.3x faster than one at a time)."""
    P = a.shape[0]
    for p in range(P):
        row[p] = _MAX
    k = 0
    while k + 4 <= nsh:
        x0, x1, x2, x3 = sh[k], sh[k + 1], sh[k + 2], sh[k + 3]
        for p in range(P):
            ap, bp = a[p], b[p]
            m = min(min(ap * x0 + bp, ap * x1 + bp), min(ap * x2 + bp, ap * x3 + bp))
            if m < row[p]:
                row[p] = m
        k += 4
    while k < nsh:
        x = sh[k]
        for p in range(P):
            v = a[p] * x + b[p]
            if v < row[p]:
                row[p] = v
        k += 1


@nb.njit(cache=True)
def minhash_batch(buf: np.ndarray, offs: np.ndarray, mode: int, word_n: int, char_n: int,
                  a: np.ndarray, b: np.ndarray, keep_sets: bool):
    """MinHash signatures of a batch of documents ``buf[offs[i]:offs[i+1]]``.

    Permutation p maps a 64-bit shingle hash x to ``a[p] * x + b[p]`` (mod 2**64, ``a[p]`` odd: a
    bijection). Returns (signatures [n, P] uint64, distinct shingle counts, modes, and with
    ``keep_sets`` every document's sorted distinct shingle hashes truncated to 32 bits, as one
    array + offsets, for exact verification; a 32-bit collision inside one pair is rare enough
    to move a similarity by a fraction of a percent at most).
    """
    ndoc = offs.shape[0] - 1
    sig = np.empty((ndoc, a.shape[0]), dtype=np.uint64)
    counts = np.zeros(ndoc, dtype=np.int64)
    modes = np.zeros(ndoc, dtype=np.int8)
    longest = 1
    for d in range(ndoc):
        longest = max(longest, offs[d + 1] - offs[d])
    toks = np.empty(longest + 1, dtype=np.uint64)
    sh = np.empty(longest + 1, dtype=np.uint64)
    low = np.empty(longest + 1, dtype=np.uint32)
    scratch = np.empty(longest + 1, dtype=np.uint32)
    cnt = np.zeros(256, dtype=np.int64)
    total = int(offs[ndoc] - offs[0]) + ndoc if keep_sets else 0
    sets = np.empty(total, dtype=np.uint32)
    set_offs = np.zeros(ndoc + 1, dtype=np.int64)
    pos = 0
    for d in range(ndoc):
        ntok, m = tokens(buf, offs[d], offs[d + 1], mode, toks)
        modes[d] = m
        nsh = shingles(toks, ntok, char_n if m == MODE_CHARS else word_n, sh)
        _minhash_row(sh, nsh, a, b, sig[d])
        if keep_sets and nsh > 0:
            for k in range(nsh):
                low[k] = np.uint32(sh[k] & U64(0xFFFFFFFF))
            srt = low[:nsh]
            _radix_sort32(srt, scratch[:nsh], cnt)
            sets[pos] = srt[0]
            pos += 1
            for k in range(1, nsh):
                if srt[k] != srt[k - 1]:
                    sets[pos] = srt[k]
                    pos += 1
            counts[d] = pos - set_offs[d]
        else:
            counts[d] = nsh
        set_offs[d + 1] = pos
    return sig, counts, modes, sets[:pos].copy(), set_offs


@nb.njit(cache=True)
def band_keys(sig: np.ndarray, bands: int, rows: int, seed: np.uint64) -> np.ndarray:
    """One 64-bit key per band: documents sharing a key share that band's ``rows`` minima."""
    n = sig.shape[0]
    keys = np.empty((bands, n), dtype=np.uint64)
    for d in range(n):
        for j in range(bands):
            h = mix64(seed + U64(j))
            for r in range(rows):
                h = mix64(h ^ sig[d, j * rows + r])
            keys[j, d] = h
    return keys

@nb.njit(inline="always")
def _space_len(buf: np.ndarray, i: int, end: int) -> int:
    """Length in bytes of the white-space character at ``buf[i]`` (0 if it is not one)."""
    c = buf[i]
    if c == 0x20 or (0x09 <= c <= 0x0D):
        return 1
    if c < 0xC2:
        return 0
    if c == 0xC2 and i + 1 < end and buf[i + 1] == 0xA0:                           # U+00A0
        return 2
    if c == 0xE2 and i + 2 < end and buf[i + 1] == 0x80 and buf[i + 2] <= 0x8B:     # U+2000..200B
        return 3
    if c == 0xE3 and i + 2 < end and buf[i + 1] == 0x80 and buf[i + 2] == 0x80:     # U+3000
        return 3
    return 0


@nb.njit(cache=True)
def normalize_batch(buf: np.ndarray, offs: np.ndarray, level: int):
    """Normalised bytes for exact hashing. level 1: collapse white-space runs to one space and trim;
    level 2: also lower-case, and keep only words (letters, digits) separated by single spaces."""
    n = offs.shape[0] - 1
    out = np.empty(int(offs[n] - offs[0]) + 1, dtype=np.uint8)
    out_offs = np.zeros(n + 1, dtype=np.int64)
    pos = 0
    for d in range(n):
        i, end, pending = offs[d], offs[d + 1], False
        start = pos
        while i < end:
            if level == 1:                     # byte level: no need to decode what is copied
                c = buf[i]
                if 0x20 < c < 0xC2:            # the common case: a printable ASCII or continuation byte
                    if pending:
                        out[pos] = 0x20
                        pos += 1
                        pending = False
                    out[pos] = c
                    pos += 1
                    i += 1
                    continue
                w = _space_len(buf, i, end)
                if w:
                    pending = pos > start
                    i += w
                    continue
                if pending:
                    out[pos] = 0x20
                    pos += 1
                    pending = False
                out[pos] = buf[i]
                pos += 1
                i += 1
                continue
            j = i
            cp, i = _decode(buf, i, end)
            if not _is_word(cp):
                pending = pos > start
                continue
            if pending:
                out[pos] = 0x20
                pos += 1
                pending = False
            if cp < 0x80:
                out[pos] = np.uint8(_fold(cp))
                pos += 1
            else:
                for k in range(j, i):
                    out[pos] = buf[k]
                    pos += 1
        out_offs[d + 1] = pos
    return out[:pos], out_offs

"""One compiled pass over a document's bytes that says where identifiers *could* be.

Python's regex engine scans a character class at 30-100 MB/s; a text has a dozen patterns to try.
This numba kernel walks the UTF-8 bytes once (about 1 GB/s) and returns the few windows worth a
regex: digit runs long enough for a phone, card or national id (or dotted like an IPv4 address),
letter-digit starts of IBANs and National Insurance numbers, and hex-colon runs shaped like IPv6.
Patterns and validators then run only inside those windows.
"""
from __future__ import annotations

import numba
import numpy as np

NUMERIC, LETTER_ID, HEXCOLON = 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _is_digit(c: int) -> bool:
    return 48 <= c <= 57


@numba.njit(cache=True, nogil=True)
def _is_upper(c: int) -> bool:
    return 65 <= c <= 90


@numba.njit(cache=True, nogil=True)
def _is_alpha(c: int) -> bool:
    return 65 <= c <= 90 or 97 <= c <= 122


@numba.njit(cache=True, nogil=True)
def _is_hex(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 70 or 97 <= c <= 102


@numba.njit(cache=True, nogil=True)
def _scan(b: np.ndarray, i: int, out: np.ndarray) -> tuple[int, int]:
    """Fill ``out`` with (kind, start, end) rows from byte ``i`` on; returns (rows, where to resume)."""
    n = b.shape[0]
    cap = out.shape[0] - 2          # room for the (at most two) rows one position can add
    k = 0
    while i < n:
        if k >= cap:
            return k, i
        c = b[i]
        if _is_digit(c) or c == 43 or c == 40:          # digit, "+", "("
            # numeric run: digits and the separators people type between digit groups
            j = i
            nd = 0
            ndot = 0
            while j < n:
                d = b[j]
                if _is_digit(d):
                    nd += 1
                elif d == 46:
                    ndot += 1
                elif not (d == 32 or d == 45 or d == 40 or d == 41 or d == 47 or d == 43):
                    break
                j += 1
            if nd >= 7 or (nd >= 4 and ndot >= 3):
                out[k, 0] = NUMERIC
                out[k, 1] = i
                out[k, 2] = j
                k += 1
            skip = j
            # an IPv6 address may also start here ("2001:db8::1"): fall through to the hex check
        else:
            skip = i + 1
        if _is_alpha(c) and i + 3 < n and (i == 0 or not (_is_alpha(b[i - 1]) or _is_digit(b[i - 1]))):
            # IBAN "GB82...", NINO "QQ 12 34 56 C": two letters then (optionally a space and) digits
            c1 = b[i + 1]
            if _is_alpha(c1):
                p = i + 2
                if b[p] == 32 and p + 1 < n:
                    p += 1
                if p + 1 < n and _is_digit(b[p]) and _is_digit(b[p + 1]):
                    out[k, 0] = LETTER_ID
                    out[k, 1] = i
                    out[k, 2] = min(n, i + 48)
                    k += 1
        if (_is_hex(c) or c == 58) and (i == 0 or not (_is_hex(b[i - 1]) or b[i - 1] == 58)):
            j = i
            ncolon = 0
            while j < n and (_is_hex(b[j]) or b[j] == 58):
                if b[j] == 58:
                    ncolon += 1
                j += 1
            if ncolon >= 2 and j - i >= 6:
                out[k, 0] = HEXCOLON
                out[k, 1] = i
                out[k, 2] = j
                k += 1
                skip = max(skip, j)
        i = skip if skip > i + 1 else i + 1
    return k, n


def _scan_all(b: np.ndarray) -> np.ndarray:
    out = np.empty((256, 3), dtype=np.int64)
    parts = []
    i = 0
    while i < b.shape[0]:
        k, i = _scan(b, i, out)
        parts.append(out[:k].copy())
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else out[:0]


def candidate_windows(text: str) -> list[tuple[int, int, int]]:
    """(kind, start, end) character ranges of ``text`` that may hold a number-like identifier."""
    if text.isascii():
        raw = _scan_all(np.frombuffer(text.encode("ascii"), dtype=np.uint8))
        return [(int(a), int(s), int(e)) for a, s, e in raw]
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    raw = _scan_all(data)
    if not len(raw):
        return []
    # byte offset -> character offset: count the bytes that start a character
    starts = np.cumsum((data & 0xC0) != 0x80)

    def char(off: int) -> int:
        return int(starts[off - 1]) if off > 0 else 0

    return [(int(a), char(int(s)), char(int(e))) for a, s, e in raw]


@numba.njit(cache=True, nogil=True)
def _token_runs(b: np.ndarray, min_len: int, out: np.ndarray, ends: np.ndarray) -> int:
    """Start offsets of runs of key-like bytes ([A-Za-z0-9_+/=-]) at least ``min_len`` long that mix
    letters and digits (a long identifier has no digits; a token almost always has)."""
    n = b.shape[0]
    k = 0
    i = 0
    while i < n and k < out.shape[0]:
        j = i
        nd = 0
        na = 0
        while j < n:
            c = b[j]
            if _is_digit(c):
                nd += 1
            elif _is_alpha(c):
                na += 1
            elif not (c == 95 or c == 45 or c == 43 or c == 47 or c == 61):
                break
            j += 1
        if j - i >= min_len and nd > 0 and na > 0:
            out[k] = i
            ends[k] = j
            k += 1
        i = j + 1
    return k


def token_runs(text: str, min_len: int = 9, limit: int = 8192) -> list[tuple[int, int]]:
    """(start, end) character ranges of key-like runs of ``min_len``+ characters mixing letters and
    digits (at most ``limit``): the only places a key, token or high-entropy value can be."""
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    starts = np.empty(limit, dtype=np.int64)
    ends = np.empty(limit, dtype=np.int64)
    k = _token_runs(data, min_len, starts, ends)
    if not k:
        return []
    if len(data) == len(text):
        return [(int(a), int(b)) for a, b in zip(starts[:k], ends[:k])]
    cum = np.cumsum((data & 0xC0) != 0x80)
    return [(int(cum[a - 1]) if a else 0, int(cum[b - 1])) for a, b in zip(starts[:k], ends[:k])]


@numba.njit(cache=True, nogil=True)
def _literals(b: np.ndarray, lits: np.ndarray, lens: np.ndarray, fold: np.ndarray, first2: np.ndarray,
              bucket: np.ndarray, found: np.ndarray, pos: np.ndarray) -> int:
    """Mark which literals occur in ``b`` (``fold[j]``: ASCII case-insensitive) and record the
    positions of case-insensitive hits (the keyword stems whose lines are examined next)."""
    n = b.shape[0]
    npos = 0
    for i in range(n - 1):
        c0 = b[i]
        c1 = b[i + 1]
        if 65 <= c0 <= 90:
            c0 += 32
        if 65 <= c1 <= 90:
            c1 += 32
        h = c0 * 256 + c1
        if first2[h] == first2[h + 1]:
            continue
        for q in range(first2[h], first2[h + 1]):
            j = bucket[q]
            m = lens[j]
            if i + m > n:
                continue
            ok = True
            for t in range(m):
                c = b[i + t]
                if fold[j] and 65 <= c <= 90:
                    c += 32
                if c != lits[j, t]:
                    ok = False
                    break
            if ok:
                found[j] = True
                if fold[j] and npos < pos.shape[0]:
                    pos[npos] = i
                    npos += 1
    return npos


class LiteralScanner:
    """Find many short literals in one compiled pass (case-sensitive ones and ASCII-folded ones)."""

    def __init__(self, exact: list[str], folded: list[str]):
        words = [(w, False) for w in exact] + [(w.lower(), True) for w in folded]
        self.words = [w for w, _ in words]
        width = max(len(w) for w in self.words)
        self.lits = np.zeros((len(words), width), dtype=np.uint8)
        self.lens = np.array([len(w) for w in self.words], dtype=np.int64)
        self.fold = np.array([f for _, f in words], dtype=np.bool_)
        # literals bucketed by their first two (folded) bytes: first2[h]:first2[h+1] slices bucket
        keys = []
        for j, (w, f) in enumerate(words):
            raw = w.encode("ascii")
            self.lits[j, :len(raw)] = np.frombuffer(raw, dtype=np.uint8)
            a, c = raw[0], raw[1]
            # the kernel folds the text's first two bytes, so index by their folded values
            a = a + 32 if 65 <= a <= 90 else a
            c = c + 32 if 65 <= c <= 90 else c
            keys.append(a * 256 + c)
        order = np.argsort(np.array(keys), kind="stable")
        self.bucket = order.astype(np.int64)
        counts = np.bincount(np.array(keys, dtype=np.int64), minlength=65537)
        self.first2 = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def scan(self, text: str, limit: int = 8192) -> tuple[set[str], list[int]]:
        """(literals present, character offsets of folded-literal hits)."""
        data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
        found = np.zeros(len(self.words), dtype=np.bool_)
        pos = np.empty(limit, dtype=np.int64)
        k = _literals(data, self.lits, self.lens, self.fold, self.first2, self.bucket, found, pos)
        present = {self.words[j] for j in np.flatnonzero(found)}
        if not k:
            return present, []
        if len(data) == len(text):
            return present, [int(x) for x in pos[:k]]
        starts = np.cumsum((data & 0xC0) != 0x80)
        return present, [int(starts[x - 1]) if x > 0 else 0 for x in pos[:k]]

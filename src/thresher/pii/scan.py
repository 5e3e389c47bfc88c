"""One compiled pass over a document's bytes that says where identifiers *could* be.

Python's regex engine scans a character class at 30-100 MB/s; a text has a dozen patterns to try.
This numba kernel walks the UTF-8 bytes once (350+ MB/s on one core here) and returns the windows worth a
regex: digit runs long enough for a phone, card or national id (or dotted like an IPv4 address),
letter-digit starts of IBANs and National Insurance numbers, and hex-colon runs shaped like IPv6.
Patterns and validators then run only inside those windows.

Every kernel runs over a whole batch of documents in one call (``encode_texts``: one UTF-8 buffer and
offsets); results come back in character offsets per document. One call per document would spend
more time in numba's argument checks and small array allocations than in the scan itself.
"""
from __future__ import annotations

import numba
import numpy as np

from ..io.writer import utf8_texts

NUMERIC, LETTER_ID, HEXCOLON = 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _is_digit(c: int) -> bool:
    return 48 <= c <= 57


@numba.njit(cache=True, nogil=True)
def _is_alpha(c: int) -> bool:
    return 65 <= c <= 90 or 97 <= c <= 122


@numba.njit(cache=True, nogil=True)
def _is_hex(c: int) -> bool:
    return 48 <= c <= 57 or 65 <= c <= 70 or 97 <= c <= 102


@numba.njit(cache=True, nogil=True)
def _scan(b: np.ndarray, i: int, out: np.ndarray) -> tuple[int, int]:
    """Fill ``out`` with (kind, start, end) rows from byte ``i`` on; returns (rows, where to resume).

    Only digits, "+", "(" and ":" make the kernel look closer (the common byte, a letter inside a
    word, costs one compare): a numeric run starts at a digit, "+" or "("; an IBAN or NINO ("GB82...",
    "QQ 12 34 56 C": two letters at a word start, maybe a space, two digits) is found from its
    first two digits; a hex-colon run is found from its first colon and extended both ways."""
    n = b.shape[0]
    cap = out.shape[0] - 2          # room for the (at most two) rows one position can add
    k = 0
    hex_end = 0                     # hex-colon runs end before this (a run is looked at once)
    num_start = num_end = 0         # the last numeric run: a hex run starting inside it is its tail
    while i < n:
        if k >= cap:
            return k, i
        c = b[i]
        if _is_digit(c) or c == 43 or c == 40:          # digit, "+", "("
            if _is_digit(c) and i + 1 < n and _is_digit(b[i + 1]) and i >= 2:
                s = i - 2 if _is_alpha(b[i - 1]) else i - 3 if b[i - 1] == 32 and i >= 3 else -1
                if s >= 0 and _is_alpha(b[s]) and _is_alpha(b[s + 1]) and (
                        s == 0 or not (_is_alpha(b[s - 1]) or _is_digit(b[s - 1]))):
                    out[k, 0] = LETTER_ID
                    out[k, 1] = s
                    out[k, 2] = min(n, s + 48)
                    k += 1
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
            num_start, num_end = i, j
            i = j if j > i + 1 else i + 1
        elif c == 58 and i >= hex_end:                  # ":" of a hex-colon run shaped like IPv6
            s = i
            while s > hex_end and (_is_hex(b[s - 1]) or b[s - 1] == 58):
                s -= 1
            j = i
            ncolon = 0
            while j < n and (_is_hex(b[j]) or b[j] == 58):
                if b[j] == 58:
                    ncolon += 1
                j += 1
            hex_end = j
            if ncolon >= 2 and j - s >= 6 and not num_start < s < num_end:
                out[k, 0] = HEXCOLON
                out[k, 1] = s
                out[k, 2] = j
                k += 1
                i = j
            else:
                i += 1
        else:
            i += 1
    return k, n


Encoded = tuple[np.ndarray, np.ndarray, np.ndarray, int]


def encode_texts(texts: list[str]) -> Encoded:
    """(UTF-8 bytes of all texts, their offsets, which texts are pure ASCII, longest in bytes)."""
    buf, offs = utf8_texts(texts)
    lens = np.diff(offs)
    plain = np.fromiter((n == len(t) for n, t in zip(lens.tolist(), texts)), dtype=np.bool_, count=len(texts))
    return buf, offs, plain, int(lens.max()) if len(texts) else 0


@numba.njit(cache=True, nogil=True)
def _char_table(b: np.ndarray, chars: np.ndarray) -> None:
    """``chars[x]``: the character offset of byte offset ``x`` of the UTF-8 text ``b``."""
    chars[0] = 0
    for j in range(b.shape[0]):
        chars[j + 1] = chars[j] + ((b[j] & 0xC0) != 0x80)


@numba.njit(cache=True, nogil=True)
def _scan_docs(buf: np.ndarray, offs: np.ndarray, plain: np.ndarray, d: int, i: int, out: np.ndarray,
               doc: np.ndarray, chars: np.ndarray) -> tuple[int, int, int]:
    """Windows of documents d, d+1, ... (document d from byte i on) into ``out`` (kind, start, end in
    characters) and ``doc``, until ``out`` is nearly full; returns (rows, d, i) to resume from."""
    k = 0
    while d < offs.shape[0] - 1:
        b = buf[offs[d]:offs[d + 1]]
        k0 = k
        while i < b.shape[0] and out.shape[0] - k >= 3:
            m, i = _scan(b, i, out[k:])
            k += m
        doc[k0:k] = d
        if not plain[d] and k > k0:
            _char_table(b, chars)
            for r in range(k0, k):
                out[r, 1] = chars[out[r, 1]]
                out[r, 2] = chars[out[r, 2]]
        if i < b.shape[0]:
            return k, d, i
        d += 1
        i = 0
    return k, d, 0


def _spread(per: list[list], doc: np.ndarray, rows: np.ndarray) -> list[list]:
    """Append each kernel result row to the list of the text it belongs to (``doc``)."""
    for j, row in zip(doc.tolist(), rows.tolist()):
        per[j].append(row)
    return per


def candidate_windows_batch(texts: list[str]) -> list[list[list[int]]]:
    """For each text, its [kind, start, end] character ranges that may hold a number-like identifier."""
    buf, offs, plain, longest = encode_texts(texts)
    out = np.empty((4096, 3), dtype=np.int64)
    doc = np.empty(4096, dtype=np.int64)
    chars = np.empty(longest + 1, dtype=np.int64)
    per: list[list] = [[] for _ in texts]
    d = i = 0
    while d < len(texts):
        k, d, i = _scan_docs(buf, offs, plain, d, i, out, doc, chars)
        _spread(per, doc[:k], out[:k])
    return per


def candidate_windows(text: str) -> list[list[int]]:
    """[kind, start, end] character ranges of ``text`` that may hold a number-like identifier."""
    return candidate_windows_batch([text])[0]


@numba.njit(cache=True, nogil=True)
def _token_runs(buf: np.ndarray, offs: np.ndarray, plain: np.ndarray, min_len: int, limit: int,
                out: np.ndarray, doc: np.ndarray, chars: np.ndarray) -> int:
    """(start, end) of runs of key-like bytes ([A-Za-z0-9_+/=-]) at least ``min_len`` long that mix
    letters and digits (a long identifier has no digits; a token almost always has), at most
    ``limit`` per document, in characters; ``out`` has room for every run of the batch."""
    k = 0
    for d in range(offs.shape[0] - 1):
        b = buf[offs[d]:offs[d + 1]]
        n = b.shape[0]
        k0 = k
        i = 0
        while i < n and k - k0 < limit:
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
                out[k, 0] = i
                out[k, 1] = j
                doc[k] = d
                k += 1
            i = j + 1
        if not plain[d] and k > k0:
            _char_table(b, chars)
            for r in range(k0, k):
                out[r, 0] = chars[out[r, 0]]
                out[r, 1] = chars[out[r, 1]]
    return k


def token_runs_batch(texts: list[str], min_len: int = 9, limit: int = 8192,
                     encoded: Encoded | None = None) -> list[list[list[int]]]:
    """For each text, the [start, end] character ranges of key-like runs of ``min_len``+ characters
    mixing letters and digits (at most ``limit``): the only places a key, token or high-entropy value
    can be. ``encoded``: ``encode_texts(texts)`` when already done."""
    buf, offs, plain, longest = encoded or encode_texts(texts)
    room = int(offs[-1]) // (min_len + 1) + len(texts)      # runs are min_len long and apart
    out = np.empty((room, 2), dtype=np.int64)
    doc = np.empty(room, dtype=np.int64)
    k = _token_runs(buf, offs, plain, min_len, limit, out, doc, np.empty(longest + 1, dtype=np.int64))
    return _spread([[] for _ in texts], doc[:k], out[:k])


@numba.njit(cache=True, nogil=True)
def _literals(buf: np.ndarray, offs: np.ndarray, plain: np.ndarray, lits: np.ndarray, lens: np.ndarray,
              fold: np.ndarray, first2: np.ndarray, bucket: np.ndarray, limit: int, found: np.ndarray,
              pos: np.ndarray, doc: np.ndarray, chars: np.ndarray) -> int:
    """Mark which literals occur in each document (``found[d, j]``; ``fold[j]``: ASCII case-insensitive)
    and record the character positions of case-insensitive hits (the keyword stems whose lines are
    examined next), at most ``limit`` per document."""
    npos = 0
    for d in range(offs.shape[0] - 1):
        b = buf[offs[d]:offs[d + 1]]
        n = b.shape[0]
        k0 = npos
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
                    found[d, j] = True
                    if fold[j] and npos - k0 < limit:
                        pos[npos] = i
                        doc[npos] = d
                        npos += 1
        if not plain[d] and npos > k0:
            _char_table(b, chars)
            for r in range(k0, npos):
                pos[r] = chars[pos[r]]
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

    def scan_batch(self, texts: list[str], limit: int = 8192,
                   encoded: Encoded | None = None) -> list[tuple[set[str], list[int]]]:
        """For each text: (literals present, character offsets of folded-literal hits)."""
        buf, offs, plain, longest = encoded or encode_texts(texts)
        found = np.zeros((len(texts), len(self.words)), dtype=np.bool_)
        room = int(np.minimum(limit, np.diff(offs) * int(self.fold.sum())).sum())
        pos = np.empty(room, dtype=np.int64)
        doc = np.empty(room, dtype=np.int64)
        k = _literals(buf, offs, plain, self.lits, self.lens, self.fold, self.first2, self.bucket, limit,
                      found, pos, doc, np.empty(longest + 1, dtype=np.int64))
        hits = _spread([[] for _ in texts], doc[:k], pos[:k])
        words = self.words
        rows, cols = np.nonzero(found)
        present: list[set[str]] = [set() for _ in texts]
        for r, c in zip(rows.tolist(), cols.tolist()):
            present[r].add(words[c])
        return list(zip(present, hits))

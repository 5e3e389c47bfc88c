"""spaCy's ``URL_MATCH`` (``spacy/lang/tokenizer_exceptions.py``) as a numba kernel.

The tokenizer keeps a core string whole, instead of splitting it at infixes such as ``/`` or ``:``,
when it matches this pattern: optional protocol, optional user info ending in ``@``, a host (a public
IPv4 address, or dot-separated labels ending in a lower-case top-level domain), an optional port
and an optional path. The regex's backtracking is resolved by hand: labels cannot contain dots, so
the host ends at the first character that is neither a label character nor a dot.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .jit import leaf

from .charclass import RE_DIGIT, RE_WORD, SP_LOWER, URL_HOST


@njit(cache=True, inline="always")
def is_ascii_digit(c: np.uint32) -> bool:
    return 48 <= c <= 57


@leaf
def _octet(cps, q, hi):
    """Value and end of up to three ASCII digits at q (value -1 when none)."""
    v = 0
    e = q
    while e < hi and e - q < 3 and is_ascii_digit(cps[e]):
        v = v * 10 + int(cps[e]) - 48
        e += 1
    return (v if e > q else -1), e


@leaf
def _ipv4_end(cps, h, hi) -> int:
    """End of a public dotted-quad IPv4 address at h as the URL pattern accepts it, or -1."""
    o0, q = _octet(cps, h, hi)
    if o0 < 0 or q >= hi or cps[q] != 46 or (q - h > 1 and cps[h] == 48):
        return -1
    o1, q2 = _octet(cps, q + 1, hi)
    if o1 < 0 or q2 >= hi or cps[q2] != 46:
        return -1
    o2, q3 = _octet(cps, q2 + 1, hi)
    if o2 < 0 or q3 >= hi or cps[q3] != 46:
        return -1
    o3, q4 = _octet(cps, q3 + 1, hi)
    if o3 < 0 or (q4 < hi and is_ascii_digit(cps[q4])) or (q4 - q3 - 1 > 1 and cps[q3 + 1] == 48):
        return -1
    if not (1 <= o0 <= 223 and o1 <= 255 and o2 <= 255 and 1 <= o3 <= 254):
        return -1
    if o0 == 10 or o0 == 127 or (o0 == 169 and o1 == 254) or (o0 == 192 and o1 == 168) \
            or (o0 == 172 and 16 <= o1 <= 31):
        return -1
    return q4


@leaf
def _url_host(cps, h, hi, fl) -> bool:
    """Host (domain with a lower-case TLD, or a public IPv4) + optional port and path up to hi."""
    if h >= hi:
        return False
    e = -1
    if is_ascii_digit(cps[h]):
        e = _ipv4_end(cps, h, hi)
    if e < 0:
        seg = h
        labels = 0
        while True:
            x = seg
            while x < hi and ((fl[cps[x]] & URL_HOST) or cps[x] == 95 or cps[x] == 45):
                x += 1
            if x < hi and cps[x] == 46:
                n = x - seg
                if n < 1 or n > 64 or not (fl[cps[seg]] & URL_HOST) or not (fl[cps[x - 1]] & URL_HOST):
                    return False
                labels += 1
                seg = x + 1
                continue
            n = x - seg
            if labels == 0 or n < 2 or n > 63:
                return False
            for y in range(seg, x):
                if not (fl[cps[y]] & SP_LOWER):
                    return False
            e = x
            break
    if e == hi:
        return True
    c = cps[e]
    if c == 58:
        d = e + 1
        while d < hi and (fl[cps[d]] & RE_DIGIT):
            d += 1
        if not 2 <= d - e - 1 <= 5:
            return False
        if d == hi:
            return True
        c = cps[d]
    return c == 47 or c == 63 or c == 35


@leaf
def url_match(cps, lo, hi, fl) -> bool:
    """spaCy's URL_MATCH (protocol, user info, host, port, path), for a whitespace-free string."""
    k = lo
    while k < hi and ((fl[cps[k]] & RE_WORD) or cps[k] == 43 or cps[k] == 45 or cps[k] == 46):
        k += 1
    if k - lo >= 2 and k + 3 <= hi and cps[k] == 58 and cps[k + 1] == 47 and cps[k + 2] == 47:
        if _url_host(cps, k + 3, hi, fl):
            return True
    if _url_host(cps, lo, hi, fl):
        return True
    for q in range(lo + 1, hi):
        if cps[q] == 64 and _url_host(cps, q + 1, hi, fl):
            return True
    return False

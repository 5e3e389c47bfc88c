"""Compiled (numba) kernels over candidate pairs and clusters: exact set similarity, bucket edges
(with verification), union-find. Arrays of document indices in, arrays out: no Python object per
document or pair."""
from __future__ import annotations

import numba as nb
import numpy as np

from .kernels import U64, band_keys, minhash_batch, normalize_batch


@nb.njit(inline="always")
def sets_similarity(sa: np.ndarray, oa: np.ndarray, i: int, sb: np.ndarray, ob: np.ndarray, j: int,
                    containment: bool) -> float:
    """Exact Jaccard (or containment in the smaller set) of sorted distinct shingle set ``i`` of the
    store (sa, oa) and set ``j`` of the store (sb, ob)."""
    a0, a1, b0, b1 = oa[i], oa[i + 1], ob[j], ob[j + 1]
    na, nb_ = a1 - a0, b1 - b0
    if na == 0 or nb_ == 0:
        return 0.0
    inter = 0
    while a0 < a1 and b0 < b1:
        x, y = sa[a0], sb[b0]
        if x == y:
            inter += 1
            a0 += 1
            b0 += 1
        elif x < y:
            a0 += 1
        else:
            b0 += 1
    if containment:
        return inter / min(na, nb_)
    return inter / (na + nb_ - inter)


@nb.njit(inline="always")
def set_similarity(store: np.ndarray, offs: np.ndarray, i: int, j: int, containment: bool) -> float:
    """Exact Jaccard (or containment) of two sets of one store."""
    return sets_similarity(store, offs, i, store, offs, j, containment)


@nb.njit(cache=True)
def similarities(store: np.ndarray, offs: np.ndarray, a: np.ndarray, b: np.ndarray, containment: bool) -> np.ndarray:
    out = np.empty(a.shape[0], dtype=np.float64)
    for k in range(a.shape[0]):
        out[k] = set_similarity(store, offs, a[k], b[k], containment)
    return out


@nb.njit(inline="always")
def _root(parent: np.ndarray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@nb.njit(inline="always")
def _shared_earlier_band(bands: np.ndarray, a: int, b: int, band: int) -> bool:
    for j in range(band):
        if bands[a, j] == bands[b, j]:
            return True
    return False


@nb.njit(cache=True)
def bucket_edges(keys: np.ndarray, docs: np.ndarray, store: np.ndarray, offs: np.ndarray, bands: np.ndarray,
                 band: int, verify: bool, threshold: float, containment: bool, tries: int):
    """Candidate edges from runs of equal keys (``keys`` sorted, ``docs`` ascending within a run).

    Without verification every member links to the run's first document (a star: enough for
    union-find). With it, each member is checked against earlier members, nearest first, skipping
    those it is already connected to through verified edges (a union-find local to the bucket),
    for at most ``tries`` checks and ``8 * tries`` earlier members: a false positive in a bucket
    cannot hide the true pairs behind it, and a bucket of many copies costs one check per copy.
    A pair that also shares an earlier band is left to that band's task (``bands``: every
    document's band keys), so a pair is verified once, not once per shared band.
    Returns (src, dst, similarity, pairs checked).
    """
    n = keys.shape[0]
    cap = n if not verify else n * 2 + 16
    src = np.empty(cap, dtype=np.int64)
    dst = np.empty(cap, dtype=np.int64)
    sim = np.empty(cap, dtype=np.float32)
    local = np.arange(n)
    m, checked, i = 0, 0, 0
    while i < n:
        j = i + 1
        while j < n and keys[j] == keys[i]:
            j += 1
        for t in range(i + 1, j):
            if not verify:
                src[m], dst[m], sim[m] = docs[i], docs[t], np.nan
                m += 1
                continue
            checks = 0
            for u in range(t - 1, max(i, t - 8 * tries) - 1, -1):
                ru, rt = _root(local, u), _root(local, t)
                if ru == rt or _shared_earlier_band(bands, docs[u], docs[t], band):
                    continue
                checked += 1
                checks += 1
                s = set_similarity(store, offs, docs[u], docs[t], containment)
                if s >= threshold:
                    if m == cap:                # grow (rare: many disjoint similar groups in a bucket)
                        cap *= 2
                        src2, dst2, sim2 = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.float32)
                        src2[:m], dst2[:m], sim2[:m] = src[:m], dst[:m], sim[:m]
                        src, dst, sim = src2, dst2, sim2
                    src[m], dst[m], sim[m] = docs[u], docs[t], s
                    m += 1
                    if ru < rt:
                        local[rt] = ru
                    else:
                        local[ru] = rt
                if checks >= tries:
                    break
        i = j
    return src[:m], dst[:m], sim[:m], checked


@nb.njit(cache=True)
def exact_edges(hi: np.ndarray, lo: np.ndarray, docs: np.ndarray):
    """Star edges within runs of equal 128-bit hashes (sorted by hi, lo, doc)."""
    n = hi.shape[0]
    src = np.empty(n, dtype=np.int64)
    dst = np.empty(n, dtype=np.int64)
    m, i = 0, 0
    while i < n:
        j = i + 1
        while j < n and hi[j] == hi[i] and lo[j] == lo[i]:
            j += 1
        for t in range(i + 1, j):
            src[m], dst[m] = docs[i], docs[t]
            m += 1
        i = j
    return src[:m], dst[:m]


@nb.njit(cache=True)
def union_edges(parent: np.ndarray, src: np.ndarray, dst: np.ndarray) -> int:
    """Union-find with the smaller index as root (so roots are deterministic); returns unions made."""
    unions = 0
    for k in range(src.shape[0]):
        x = src[k]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        y = dst[k]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x != y:
            if x < y:
                parent[y] = x
            else:
                parent[x] = y
            unions += 1
    return unions


@nb.njit(cache=True)
def best_matches(src: np.ndarray, dst: np.ndarray, sim: np.ndarray, best: np.ndarray, match: np.ndarray) -> None:
    """For every document, its most similar verified neighbour (the pair that explains a drop); a
    tie goes to the smaller index, so the result does not depend on the order edges arrive in."""
    for k in range(src.shape[0]):
        s = sim[k]
        if not s == s:                  # NaN: an unverified candidate pair
            continue
        a, b = src[k], dst[k]
        if s > best[a] or (s == best[a] and b < match[a]):
            best[a], match[a] = s, b
        if s > best[b] or (s == best[b] and a < match[b]):
            best[b], match[b] = s, a


@nb.njit(cache=True)
def flatten(parent: np.ndarray) -> None:
    """Point every node at its root. Parents are never larger than their child, so one ascending pass."""
    for i in range(parent.shape[0]):
        parent[i] = parent[parent[i]]


@nb.njit(cache=True)
def choose_kept(root: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per component (indexed by root): the member with the smallest (rank, index), and the size."""
    n = root.shape[0]
    best = np.empty_like(root)
    best[:] = -1
    size = np.zeros_like(root)
    for i in range(n):
        r = root[i]
        size[r] += 1
        k = best[r]
        if k < 0 or rank[i] < rank[k]:
            best[r] = i
    return best, size


def warmup() -> None:
    """Load every kernel (from numba's on-disk cache, or compile it) once, in the parent process,
    so forked workers inherit the machine code instead of each loading it again. The argument
    types match the real calls (numba compiles one version per type, e.g. read-only or not)."""
    buf = np.frombuffer("a b c d e f 日本語".encode(), dtype=np.uint8)    # read-only: stage files are memory-mapped
    offs = np.array([0, buf.shape[0]], dtype=np.int64)
    ab = np.ones(2, dtype=np.uint64)
    sig, _, _, sets, soffs = minhash_batch(buf, offs, -1, 5, 5, ab, ab, True)
    band_keys(sig, 2, 1, U64(1))
    sets.setflags(write=False)              # the shingle-set store is memory-mapped read-only
    soffs.setflags(write=False)
    d = np.zeros(1, np.int64)
    bk = np.zeros((1, 2), np.uint64)
    bk.setflags(write=False)
    bucket_edges(np.zeros(1, np.uint64), d, sets, soffs, bk, 1, True, 0.5, False, 1)
    similarities(sets, soffs, d, d, False)
    exact_edges(np.zeros(1, np.uint64), np.zeros(1, np.uint64), d)
    normalize_batch(buf, offs, 1)
    parent = np.arange(2, dtype=np.int32)   # union-find arrays are int32 below 2**31 documents
    union_edges(parent, d, d + 1)
    best_matches(d, d + 1, np.ones(1, np.float32), np.zeros(2, np.float32), np.zeros(2, np.int32))
    flatten(parent)
    choose_kept(parent, np.zeros(2))

"""Matching the new documents of an update against the dedup index of the release it extends
(``dedup/index.py``): the pairs that share a band key (exact: all 128 bits of the hash), their
similarity by the same check as a fit (the shingle sets or the MinHash signatures, read for the old
documents only where they lie), and for each new document the earliest old cluster it reaches."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from .pairs import sets_similarity
from .shards import ShardOut

if TYPE_CHECKING:
    from .base import DedupStep
    from .index import Index, _Kept


def similarity_source(step: "DedupStep") -> str:
    return step.similarity_source() if step.kind == "minhash" else "one"


@nb.njit(cache=True)
def _cross_similarity(sa, oa, sb, ob, a, b, containment):     # pragma: no cover - compiled
    """Exact Jaccard (or containment) of set a[k] of store (sa, oa) and set b[k] of store (sb, ob)."""
    out = np.empty(a.shape[0], dtype=np.float64)
    for k in range(a.shape[0]):
        out[k] = sets_similarity(sa, oa, a[k], sb, ob, b[k], containment)
    return out


def _candidates(old: Index, new: _Kept, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """(new global document, old index number) pairs that share a band key (exact: all 128 bits)."""
    news, olds = [], []
    lo_new = np.concatenate(new.lo) if new.lo else np.zeros(0, np.uint64)
    for seg in old.segments:
        lo_old = seg.lo()[0] if exact and seg.n else None
        for b in range(seg.keys.shape[0]):
            keys, docs = new.band(b)
            ok = np.asarray(seg.keys[b])
            left, right = np.searchsorted(ok, keys, "left"), np.searchsorted(ok, keys, "right")
            cnt = right - left
            total = int(cnt.sum())
            if not total:
                continue
            pos = np.repeat(left, cnt) + (np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt))
            nd, od = np.repeat(docs, cnt), np.asarray(seg.docs[b])[pos]
            if lo_old is not None:
                same = np.repeat(lo_new, cnt) == lo_old[pos]
                nd, od = nd[same], od[same]
            news.append(nd)
            olds.append(od)
    if not news:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pairs = np.unique(np.stack([np.concatenate(news), np.concatenate(olds)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _similarities(step: "DedupStep", old: Index, workdir: Path, shards: list[int], offsets: list[int],
                  nd: np.ndarray, od: np.ndarray) -> np.ndarray:
    source = similarity_source(step)
    containment = step.containment()
    sims = np.ones(nd.shape[0])
    if source == "one":
        return sims
    if source == "sets":
        sa, oa = np.load(workdir / "store" / "sets.npy", mmap_mode="r"), np.load(workdir / "store" / "offs.npy")
    starts = np.asarray([s.first for s in old.segments])
    seg_of = np.searchsorted(starts, od, "right") - 1
    for k in np.unique(seg_of).tolist():
        seg, sel = old.segments[k], np.flatnonzero(seg_of == k)
        rows, at = np.unique(od[sel] - seg.first, return_inverse=True)     # the old documents read, once each
        if source == "sets":
            sb, ob = seg.sets_of(rows)
            sims[sel] = _cross_similarity(sa, oa, sb, ob, nd[sel], at.astype(np.int64), containment)
            continue
        sig_b, cnt_b = seg.signatures_of(rows)
        local_old = at.astype(np.int64)         # rows of sig_b / cnt_b
        owner = np.searchsorted(np.asarray(offsets), nd[sel], "right") - 1
        for j in np.unique(owner).tolist():
            so = ShardOut(workdir, shards[j])
            w = np.flatnonzero(owner == j)
            local = nd[sel][w] - offsets[j]
            sig_a, cnt_a = so.load("sig.npy"), so.load("counts.npy")
            ob_ = local_old[w]
            sim = np.mean(np.asarray(sig_a[local]) == np.asarray(sig_b[ob_]), axis=1)
            if containment:
                na, nb_ = np.asarray(cnt_a[local], np.float64), np.asarray(cnt_b[ob_], np.float64)
                sim = np.minimum(1.0, sim * (na + nb_) / ((1 + sim) * np.maximum(1, np.minimum(na, nb_))))
            sims[sel[w]] = sim
    return sims


def match_old(step: "DedupStep", old: Index, new: _Kept, workdir: Path, shards: list[int],
           offsets: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every new document near (or equal to) an old one: (new global doc, old kept index number, sim),
    the old cluster being that of the matched old document (kept or dropped). Keep-first across
    versions: the earliest old kept document it reaches (the old copy is never dropped)."""
    nd, od = _candidates(old, new, step.kind == "exact")
    sims = np.ones(nd.shape[0])
    if nd.size:
        sims = _similarities(step, old, workdir, shards, offsets, nd, od)
        ok = sims >= step.threshold - 1e-12 if step.kind == "minhash" else np.ones(nd.shape[0], bool)
        nd, od, sims = nd[ok], od[ok], sims[ok]
    rep = old.rep()[od] if od.size else od
    order = np.lexsort((-sims, rep, nd))           # per new document, its earliest old cluster first
    nd, rep, sims = nd[order], rep[order], sims[order]
    first = np.ones(nd.shape[0], dtype=bool)
    first[1:] = nd[1:] != nd[:-1]
    return nd[first], rep[first], sims[first]

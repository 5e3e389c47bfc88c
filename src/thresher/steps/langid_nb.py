"""py3langid's naive-Bayes language model, compiled (numba) over whole batches of texts.

py3langid featurises a text as UTF-8 bytes walked through a byte automaton (``tk_nextmove`` rows
at ``tk_row[state] << 8``; ``tk_output[state]`` names the n-gram feature that ends there, or -1),
then scores every class as ``nb_pc + log1p(count) . nb_ptc[features]``, divides by sqrt(bytes),
takes a softmax and folds aliased columns (two ``sr`` classes, Cyrillic and Latin). This module
walks and scores all texts of a batch in one compiled call, with the model's own parameters read
from the installed package. It sums in float64, where every ``log1p(count) * weight`` product
(float32 times float16) is exact, so the probabilities are py3langid's own computation without its
float32 rounding: equal to ``LanguageIdentifier`` holding float64 copies of its model to ~1e-10, and to
the packaged float32 identifier within that one's rounding (its BLAS sgemv sums ~1e4-sized float32
scores in a processor-dependent order: up to 1.5e-5 off on a probability), with the same labels
(``tests/test_langid.py`` checks both).

The second kernel, ``combine_batch``, is ``thresher.steps.langid.combine`` (py3langid's
probabilities times cld2's text shares) for every text of a batch at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

LID_FLOOR = 1e-6        # py3langid probabilities at or below this are not candidates (as before)


@dataclass(frozen=True)
class NBModel:
    """py3langid's model as flat arrays the kernels take."""

    classes: tuple[str, ...]
    nextmove: np.ndarray     # uint16/uint32, 256 per DFA row
    rowbase: np.ndarray      # int32, row offset per state (small types: the walk is cache-bound)
    output: np.ndarray       # int32, feature id per state or -1
    ptc: np.ndarray          # uint16 (features, classes): log P(feature | class), the model's float16 bits
    pc: np.ndarray           # float32 (classes,): log P(class)
    alias: np.ndarray        # int64 (k, 2): (first, duplicate) columns of one label
    log1p: np.ndarray        # float32 log1p(count) as numpy computes it, for small counts


@lru_cache(maxsize=1)
def identifier():
    """py3langid's own identifier (normalised probabilities), loaded from the installed package."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=1)
def nb_model() -> NBModel:
    ident = identifier()
    nm = ident.tk_nextmove
    # a copy in numpy's own memory, which it asks the kernel to back with huge pages (fewer TLB misses
    # on the walk's random reads: ~10% here)
    nextmove = np.array(np.frombuffer(nm, dtype=np.dtype(nm.typecode)) if hasattr(nm, "typecode") else nm,
                        copy=True)
    alias = np.array(ident._alias_pairs, dtype=np.int64).reshape(-1, 2)
    return NBModel(tuple(ident.nb_classes), nextmove, np.asarray(ident._rowbase, dtype=np.int32),
                   np.asarray(ident.tk_output, dtype=np.int32), _half_bits(ident.nb_ptc),
                   np.asarray(ident.nb_pc, dtype=np.float32), alias,
                   np.log1p(np.arange(1 << 16, dtype=np.float32)))


def _half_bits(ptc: np.ndarray) -> np.ndarray:
    """The float16 table as its bits (no copy), which the kernel widens to float32 row by row:
    reading half the bytes matters more than the arithmetic (the rows are a cache miss each). The
    widening below is exact for normal numbers, and every entry of the model is one (checked)."""
    bits = np.ascontiguousarray(ptc, dtype=np.float16).view(np.uint16)
    exp = bits & 0x7C00
    if np.any(exp == 0) or np.any(exp == 0x7C00):
        raise ValueError("py3langid model has zero, subnormal or non-finite weights; thresher expects none")
    return bits


def encode(text: str) -> bytes:
    """The bytes py3langid scores: NFC, lower-cased when all upper case, UTF-8."""
    return identifier()._encode(text)


def pack_bytes(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in blobs], out=offsets[1:])
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), offsets


@njit(cache=True)
def walk_kernel(data, offsets, nextmove, rowbase, output, feats):
    """The automaton's feature (or -1) after every byte, ``feats[i]``; each text starts at state 0.

    One walk is a chain of dependent loads from a 40 MB table, a cache miss per byte: walking eight
    texts in lock-step lets the processor wait for those misses together (6x here). The eight lanes
    are written out so that their positions and states stay in registers (a loop over arrays of
    lanes keeps them in memory, and walks 25% slower)."""
    n = offsets.shape[0] - 1
    nxt = 0
    p0 = e0 = s0 = p1 = e1 = s1 = p2 = e2 = s2 = p3 = e3 = s3 = 0
    p4 = e4 = s4 = p5 = e5 = s5 = p6 = e6 = s6 = p7 = e7 = s7 = 0
    busy = True
    while busy:
        busy = False
        if p0 < e0:
            s0 = nextmove[rowbase[s0] + data[p0]]
            feats[p0] = output[s0]
            p0 += 1
            busy = True
        elif nxt < n:
            p0, e0, s0 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p1 < e1:
            s1 = nextmove[rowbase[s1] + data[p1]]
            feats[p1] = output[s1]
            p1 += 1
            busy = True
        elif nxt < n:
            p1, e1, s1 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p2 < e2:
            s2 = nextmove[rowbase[s2] + data[p2]]
            feats[p2] = output[s2]
            p2 += 1
            busy = True
        elif nxt < n:
            p2, e2, s2 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p3 < e3:
            s3 = nextmove[rowbase[s3] + data[p3]]
            feats[p3] = output[s3]
            p3 += 1
            busy = True
        elif nxt < n:
            p3, e3, s3 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p4 < e4:
            s4 = nextmove[rowbase[s4] + data[p4]]
            feats[p4] = output[s4]
            p4 += 1
            busy = True
        elif nxt < n:
            p4, e4, s4 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p5 < e5:
            s5 = nextmove[rowbase[s5] + data[p5]]
            feats[p5] = output[s5]
            p5 += 1
            busy = True
        elif nxt < n:
            p5, e5, s5 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p6 < e6:
            s6 = nextmove[rowbase[s6] + data[p6]]
            feats[p6] = output[s6]
            p6 += 1
            busy = True
        elif nxt < n:
            p6, e6, s6 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True
        if p7 < e7:
            s7 = nextmove[rowbase[s7] + data[p7]]
            feats[p7] = output[s7]
            p7 += 1
            busy = True
        elif nxt < n:
            p7, e7, s7 = offsets[nxt], offsets[nxt + 1], 0
            nxt += 1
            busy = True


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Ask the processor to start loading ``arr[idx]``'s cache line (LLVM's prefetch: read, keep)."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(builder.gep(ary.data, [args[1]]), i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.void(arr, types.intp), codegen


PREFETCH_AHEAD = 8      # rows of ``ptc`` requested this many features before they are read


@njit(cache=True)
def nb_kernel(data, offsets, seg_a, seg_b, groups, nextmove, rowbase, output, ptc, pc, log1p_tab, alias, out):
    """Normalised class probabilities (float64) of byte spans ``data[seg_a[s]:seg_b[s]]``
    of the texts ``data[offsets[t]:offsets[t+1]]``.

    Each text is walked once through the automaton (from state 0); a span's features are those
    found inside it, so a document's head and its paragraphs are scored from one walk. Spans
    ``groups[g] .. groups[g+1]-1`` (one document's: its head, then its paragraphs in order, which
    do not overlap; ``nb_probs_packed`` checks) share most features: one pass over the group's
    bytes numbers its features and counts them per span, and each feature's row of ``ptc`` is read
    once per group (requested ``PREFETCH_AHEAD`` features early: the rows are a cache miss each) and
    added to every span that has it, in float64."""
    nfeat, ncls = ptc.shape
    feats = np.empty(data.shape[0], dtype=np.int32)
    walk_kernel(data, offsets, nextmove, rowbase, output, feats)
    slot = np.full(nfeat, -1, dtype=np.int32)
    row32 = np.empty(ncls, dtype=np.uint32)
    row = row32.view(np.float32)
    ufeat = np.zeros(nfeat, dtype=np.int32)
    scores = np.zeros(ncls, dtype=np.float64)
    lines = (ncls * ptc.itemsize + 63) // 64
    per_line = 64 // ptc.itemsize
    cnt = np.zeros((1, 1), dtype=np.int32)      # (feature of the group, span), grown on demand, zero between groups
    for g in range(groups.shape[0] - 1):
        s0, s1 = groups[g], groups[g + 1]
        m = s1 - s0
        lo, hb = seg_a[s0], seg_b[s0]
        hi = hb
        for j in range(1, m):
            hi = max(hi, seg_b[s0 + j])
        if hi - lo > cnt.shape[0] or m > cnt.shape[1]:      # at most one feature per byte
            cnt = np.zeros((max(hi - lo, cnt.shape[0]), max(m, cnt.shape[1])), dtype=np.int32)
        # the group's features, in order of first occurrence over its bytes: its first span (the
        # document's head) starts them, so the head's come first, in py3langid's order
        has = np.zeros(m, dtype=np.uint8)
        nu = 0
        p = s0 + 1          # the paragraph span that may hold byte i
        for i in range(lo, hi):
            f = feats[i]
            if f < 0:
                continue
            u = slot[f]
            if u < 0:
                u = nu
                slot[f] = u
                ufeat[u] = f
                nu += 1
            if i < hb:
                cnt[u, 0] += 1
                has[0] = 1
            while p < s1 and seg_b[p] <= i:
                p += 1
            if p < s1 and seg_a[p] <= i:
                cnt[u, p - s0] += 1
                has[p - s0] = 1
        acc = np.zeros((m, ncls), dtype=np.float64)
        for u in range(nu):
            if u + PREFETCH_AHEAD < nu:
                ahead = ptc[ufeat[u + PREFETCH_AHEAD]]
                for q in range(lines):
                    _prefetch(ahead, q * per_line)  # type: ignore[call-arg]  # numba intrinsic (typing context is implicit)
            f = ufeat[u]
            slot[f] = -1
            half = ptc[f]
            for k in range(ncls):       # float16 -> float32: sign, rebiased exponent, mantissa
                x = np.uint32(half[k])
                row32[k] = ((x & np.uint32(0x8000)) << np.uint32(16)) | (
                    ((x & np.uint32(0x7FFF)) + np.uint32(0x1C000)) << np.uint32(13))
            for j in range(m):
                c = cnt[u, j]
                if c:
                    cnt[u, j] = 0
                    w = np.float64(log1p_tab[c] if c < log1p_tab.shape[0] else np.float32(math.log1p(c)))
                    _axpy(acc[j], w, row)
        for j in range(m):
            s = s0 + j
            a, b = seg_a[s], seg_b[s]
            for k in range(ncls):   # no feature at all: py3langid abstains with a uniform distribution
                scores[k] = acc[j, k] + np.float64(pc[k]) if has[j] else 0.0
            _softmax(scores, 1.0 / math.sqrt(b - a if b > a else 1), alias, out[s])


@njit(cache=True, fastmath={"nsz", "arcp", "contract"})
def _axpy(acc, w, row):
    """acc += w * row in float64. ``w * row`` (a float32 times a float16 value) is exact in float64,
    so an FMA changes nothing and each sum is rounded once in float64."""
    for k in range(acc.shape[0]):
        acc[k] += w * np.float64(row[k])


@njit(cache=True)
def _softmax(scores, scale, alias, out):
    """py3langid's ``scores *= 1/sqrt(bytes)``, softmax and folding of aliased columns (float64)."""
    ncls = scores.shape[0]
    top = -np.inf
    for k in range(ncls):
        scores[k] = scores[k] * scale
        if scores[k] > top:
            top = scores[k]
    z = 0.0
    for k in range(ncls):
        scores[k] = math.exp(scores[k] - top)
        z += scores[k]
    for k in range(ncls):
        out[k] = scores[k] / z
    for q in range(alias.shape[0]):
        out[alias[q, 0]] += out[alias[q, 1]]
        out[alias[q, 1]] = 0.0


def nb_probs(texts: list[str]) -> np.ndarray:
    """py3langid's normalised probabilities for each text: float64 (len(texts), classes)."""
    return nb_probs_packed(*pack_bytes([encode(t) for t in texts]))


@njit(cache=True)
def _groups_in_order(seg_a, seg_b, groups):
    """Whether ``groups`` covers every span, none empty, each group's later spans in order, not
    overlapping, and starting at or after its first (what ``nb_kernel``'s one pass needs)."""
    if groups.shape[0] == 0 or groups[0] != 0 or groups[-1] != seg_a.shape[0]:
        return False
    for g in range(groups.shape[0] - 1):
        s0, s1 = groups[g], groups[g + 1]
        if s1 <= s0:
            return False
        for s in range(s0 + 1, s1):
            if seg_a[s] < seg_a[s0] or (s > s0 + 1 and seg_a[s] < seg_b[s - 1]):
                return False
    return True


def nb_probs_packed(data: np.ndarray, offsets: np.ndarray, spans: tuple[np.ndarray, np.ndarray] | None = None,
                    groups: np.ndarray | None = None) -> np.ndarray:
    """Probabilities of byte ``spans`` (start, end arrays) of packed texts, default: each whole
    text; ``groups`` (offsets into the spans) marks spans of one document."""
    m = nb_model()
    seg_a, seg_b = spans if spans is not None else (offsets[:-1], offsets[1:])
    if groups is None:
        groups = np.arange(len(seg_a) + 1, dtype=np.int64)
    elif not _groups_in_order(seg_a, seg_b, groups):
        raise ValueError("nb_probs_packed: groups must cover every span, none empty; a group's spans after its "
                         "first must be in order, not overlap, and start at or after the first")
    out = np.empty((len(seg_a), len(m.classes)), dtype=np.float64)      # every row is written
    nb_kernel(data, offsets, seg_a, seg_b, groups, m.nextmove, m.rowbase, m.output, m.ptc, m.pc, m.log1p, m.alias,
              out)
    return out


def classify(texts: list[str]) -> list[tuple[str, float]]:
    """``LanguageIdentifier.classify`` for many texts: (label, probability) each."""
    probs = nb_probs(texts)
    best = probs.argmax(axis=1)
    cls = nb_model().classes
    return [(cls[i], float(probs[r, i])) for r, i in enumerate(best.tolist())]


@njit(cache=True)
def combine_batch(probs, seg_doc, cls_iso, lid_known, cld_idx, cld_share, n_iso, weight, floor, res_i, res_f):
    """Per text: py3langid's probabilities merged per ISO code, times cld2's shares of the text's
    document, renormalised over the candidates (see ``langid.combine``). Writes
    res_i[s] = (best language, py3langid's top language) and res_f[s] = (posterior, py3langid's top
    probability); -1 where there is no candidate."""
    lid = np.zeros(n_iso, dtype=np.float64)
    cld = np.zeros(n_iso, dtype=np.float64)
    logs = np.zeros(n_iso, dtype=np.float64)
    cand = np.zeros(n_iso, dtype=np.uint8)
    cl = np.zeros(n_iso, dtype=np.int64)        # the candidates, visited in code order
    no_cld = weight * math.log(floor)           # the factor of a language cld2 did not name
    for s in range(probs.shape[0]):
        d = seg_doc[s]
        nc = 0
        for k in range(probs.shape[1]):
            p = np.float64(probs[s, k])
            c = cls_iso[k]
            if c >= 0 and p > 1e-6:
                lid[c] += p
                if not cand[c]:
                    cand[c] = 1
                    cl[nc] = c
                    nc += 1
        for j in range(cld_idx.shape[1]):
            c = cld_idx[d, j]
            if c >= 0:
                cld[c] += cld_share[d, j]
                if not cand[c]:
                    cand[c] = 1
                    cl[nc] = c
                    nc += 1
        for i in range(1, nc):          # insertion sort: a handful of candidates, no allocation
            c = cl[i]
            j = i - 1
            while j >= 0 and cl[j] > c:
                cl[j + 1] = cl[j]
                j -= 1
            cl[j + 1] = c
        cs = cl[:nc]
        top_i = -1
        top_p = 0.0
        for c in cs:
            if lid[c] > top_p:
                top_i, top_p = c, lid[c]
        lid_top = top_p if top_i >= 0 else 1.0
        best = -np.inf
        best_i = -1
        for c in cs:
            p_lid = lid[c] if lid_known[c] else lid_top
            logs[c] = math.log(p_lid + 1e-4) + (weight * math.log(cld[c] + floor) if cld[c] else no_cld)
            if logs[c] > best:
                best, best_i = logs[c], c
        z = 0.0
        for c in cs:
            z += math.exp(logs[c] - best)
            lid[c] = 0.0
            cld[c] = 0.0
            cand[c] = 0
        res_i[s, 0] = best_i
        res_i[s, 1] = top_i
        res_f[s, 0] = 1.0 / z if best_i >= 0 else 0.0
        res_f[s, 1] = top_p

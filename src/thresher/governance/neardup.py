"""Near-duplicate expansion: copies and quotes of a removed document, found with MinHash.

A request filed with ``near_duplicates`` removes, besides its direct matches (the *seeds*), every
document B that is a copy or an excerpt of a seed A, or that quotes a substantial seed:

- estimated containment of B in A >= ``threshold`` (B is a copy or a cut-and-paste excerpt of A), or
- estimated containment of A in B >= ``threshold`` and A has >= ``MIN_QUOTED`` shingles (B quotes A).

Containment comes from the MinHash Jaccard estimate J and the exact shingle-set sizes:
``|A∩B| = J (|A| + |B|) / (1 + J)``. Signatures (word 5-grams, 128 permutations) are cached per shard
in ``RELEASE/index/minhash/`` keyed by the shard's sha256, so a second request costs no re-hashing.
Seeds are few; candidates are compared exhaustively with numpy (no LSH false negatives).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ..dedup import kernels
from ..dedup.minhash import permutations
from ..io.writer import utf8_texts

NUM_PERM = 128
NGRAM = 5
SEED = 42
THRESHOLD = 0.5
MIN_QUOTED = 50
MIN_SHINGLES = 5          # a three-word document is nobody's copy
ALGORITHM = "thresher.dedup.kernels.minhash_batch"   # stored with the cache: a change re-hashes


def algorithm() -> str:
    return ALGORITHM


def signatures(texts: list[str], num_perm: int = NUM_PERM, ngram: int = NGRAM,
               seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures ``uint64 [n, num_perm]`` and distinct-shingle counts ``int64 [n]``.

    The dedup area's numba kernel (word 5-grams, character n-grams for scripts without spaces), the one
    MinHash of the project; the sizes make containment estimable."""
    a, b = permutations(num_perm, seed)
    buf, offs = utf8_texts(texts)
    sig, counts, *_ = kernels.minhash_batch(buf, offs, -1, ngram, 5, a, b, True)   # -1: auto words/chars
    return sig, counts.astype(np.int64)


def shard_signatures(release: Path, rel: str, sha256: str) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of every row of one shard file, from the cache when its sha256 still matches."""
    cache = release / "index" / "minhash" / (rel.replace("/", "__") + ".npz")
    if cache.exists():
        z = np.load(cache)
        fresh = "algo" in z.files and str(z["sha256"]) == sha256 and str(z["algo"]) == algorithm()
        if fresh and z["sig"].shape[1:] == (NUM_PERM,):
            return z["sig"], z["size"]
    texts = pq.ParquetFile(release / rel).read(columns=["text"]).column("text").to_pylist()
    sig, size = signatures(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.name + ".tmp.npz")
    np.savez(tmp, sig=sig, size=size, sha256=np.array(sha256), algo=np.array(algorithm()))
    tmp.replace(cache)
    return sig, size


def similar(seed_sig: np.ndarray, seed_size: int, sigs: np.ndarray, sizes: np.ndarray,
            threshold: float = THRESHOLD, min_quoted: int = MIN_QUOTED) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``sigs`` that are copies/excerpts of the seed or quote it; (mask, containment score)."""
    if len(sigs) == 0 or seed_size < MIN_SHINGLES:
        return np.zeros(len(sigs), dtype=bool), np.zeros(len(sigs))
    j = (sigs == seed_sig[None, :]).mean(axis=1)
    inter = j * (seed_size + sizes) / (1.0 + j)
    copy = inter / np.maximum(sizes, 1)              # containment of the candidate in the seed
    quote = inter / max(seed_size, 1)                # containment of the seed in the candidate
    score = np.maximum(copy, quote if seed_size >= min_quoted else 0.0)
    mask = (sizes >= MIN_SHINGLES) & ((copy >= threshold) | ((quote >= threshold) & (seed_size >= min_quoted)))
    return mask, np.minimum(score, 1.0)

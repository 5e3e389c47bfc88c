"""MinHash near-duplicate removal: word n-gram shingles (character n-grams for scripts written without
spaces), 64-bit hashes, LSH bands, optional exact verification of candidate pairs.

``signatures(texts)`` is the reusable part: the same signatures the pipeline step computes, for any
list of strings (governance uses it to find near-copies of a document named in a removal request).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError
from ..io.writer import utf8_texts
from .base import DedupStep
from .shards import ShardOut, iter_batches, ranks, sorted_runs

TOKEN_MODES = {"auto": -1, "words": 0, "chars": 1}       # kernels.MODE_WORDS, kernels.MODE_CHARS
DEFAULT_SEED = 42


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of the hash family x -> a*x + b mod 2**64; a is odd so each one is a bijection."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, np.iinfo(np.uint64).max, size=num_perm, dtype=np.uint64, endpoint=True) | np.uint64(1)
    b = rng.integers(0, np.iinfo(np.uint64).max, size=num_perm, dtype=np.uint64, endpoint=True)
    return a, b


def signatures(texts: list[str], num_perm: int = 112, ngram: int = 5, char_ngram: int = 5,
               tokens: str = "auto", seed: int = DEFAULT_SEED) -> np.ndarray:
    """MinHash signatures, uint64 array of shape [len(texts), num_perm].

    The fraction of equal columns of two rows estimates the Jaccard similarity of the two texts'
    shingle sets. A text with no words has an all-``2**64-1`` row (it matches nothing useful).

    Example: ``(signatures([a, b])[0] == signatures([a, b])[1]).mean()`` ~ Jaccard(a, b).
    """
    from . import kernels
    if tokens not in TOKEN_MODES:
        raise ConfigError(f"tokens must be one of {', '.join(TOKEN_MODES)}")
    a, b = permutations(num_perm, seed)
    buf, offs = utf8_texts(list(texts))
    sig, *_ = kernels.minhash_batch(buf, offs, TOKEN_MODES[tokens], ngram, char_ngram, a, b, False)
    return sig


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Row-wise estimated Jaccard similarity of two signature arrays (or one row against many)."""
    return np.mean(np.asarray(sig_a) == np.asarray(sig_b), axis=-1)


def minhash_keys(item: tuple[int, str], workdir: str, num_perm: int, bands: int, rows: int, ngram: int,
                 char_ngram: int, mode: int, seed: int, verify: bool, keep: str, quality_key: str) -> dict:
    """Signatures of one shard -> band keys as sorted runs, plus shingle sets (verification) or
    signatures (estimates) for the later stages."""
    from . import kernels
    index, path = item
    out = ShardOut(Path(workdir), index)
    if out.done():
        return out.info()
    out.dir.mkdir(parents=True, exist_ok=True)
    a, b = permutations(num_perm, seed)
    keys, docs, rank, ids, sigs, counts, set_offs = [], [], [], [], [], [], [np.zeros(1, np.int64)]
    n = nbytes = nsets = 0
    modes = np.zeros(2, np.int64)
    with open(out.path("sets.bin"), "wb") as sets_f, open(out.path("bands.bin"), "wb") as band_f:
        for bt in iter_batches(Path(path), meta=keep == "quality"):
            sig, cnt, mds, sets, soffs = kernels.minhash_batch(bt.buf, bt.offs, mode, ngram, char_ngram, a, b, verify)
            sel = np.flatnonzero(cnt > 0)      # a document without words has no shingles to compare
            bk = kernels.band_keys(sig, bands, rows, np.uint64(seed))
            keys.append(bk[:, sel])
            docs.append(sel + bt.start)
            if verify:
                band_f.write(np.ascontiguousarray(bk.T).tobytes())     # [doc, band]: which bands a pair shares
                sets_f.write(sets.tobytes())
                set_offs.append(soffs[1:] + nsets)
                nsets += int(soffs[-1])
            else:
                sigs.append(sig)
                counts.append(cnt)
            modes += np.bincount(mds, minlength=2)[:2]
            rank.append(ranks(bt, keep, quality_key))
            ids.append(bt.ids)
            n += len(bt.ids)
            nbytes += int(bt.offs[-1] - bt.offs[0])
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))
    sorted_runs(out, np.concatenate(keys, axis=1) if keys else np.zeros((bands, 0), np.uint64), cat(docs, np.int64))
    if verify:
        out.save("set_offs.npy", np.concatenate(set_offs))
    else:
        out.save("sig.npy", np.concatenate(sigs) if sigs else np.zeros((0, num_perm), np.uint64))
        out.save("counts.npy", cat(counts, np.int64))
    out.save("rank.npy", cat(rank, np.float64))
    out.write_ids(ids)
    return out.finish({"documents": n, "keyed": int(sum(len(d) for d in docs)), "bytes": nbytes,
                       "word_docs": int(modes[0]), "char_docs": int(modes[1])})


class MinhashDedup(DedupStep):
    """Drop near-duplicates: MinHash + LSH bands, union-find clusters, exact verification of pairs.

    Shingles are word ``ngram``-grams (character ``char_ngram``-grams for documents mostly in CJK,
    Thai, Khmer ...: ``tokens: auto``). ``bands`` x ``rows`` <= ``num_perm`` set the LSH curve
    (default 14 x 8: candidates from about Jaccard 0.7). With ``verify`` a candidate pair counts only
    if its exact shingle-set ``similarity`` (jaccard, or containment of the smaller document) reaches
    ``threshold``. ``keep``: first (input order), longest, or quality (highest meta ``quality_key``).
    """

    name = "minhash_dedup"
    version = 1
    kind = "minhash"
    reason = "near_duplicate"

    def __init__(self, num_perm: int = 112, bands: int = 14, rows: int = 8, ngram: int = 5,
                 char_ngram: int = 5, tokens: Literal["auto", "words", "chars"] = "auto",
                 threshold: float = 0.8, verify: bool = True,
                 similarity: Literal["jaccard", "containment"] = "jaccard",
                 keep: Literal["first", "longest", "quality"] = "first", quality_key: str | None = None,
                 seed: int = DEFAULT_SEED):
        if num_perm < 1 or bands < 1 or rows < 1 or bands * rows > num_perm:
            raise ConfigError(f"minhash_dedup: bands x rows ({bands} x {rows}) must be at most num_perm ({num_perm})")
        if ngram < 1 or char_ngram < 1:
            raise ConfigError("minhash_dedup: ngram and char_ngram must be at least 1")
        if not 0.0 < threshold <= 1.0:
            raise ConfigError(f"minhash_dedup: threshold must be in (0, 1], not {threshold}")
        if tokens not in TOKEN_MODES:
            raise ConfigError(f"minhash_dedup: tokens must be one of {', '.join(TOKEN_MODES)}")
        if similarity not in ("jaccard", "containment"):
            raise ConfigError("minhash_dedup: similarity must be jaccard or containment")
        self.num_perm, self.bands, self.rows = num_perm, bands, rows
        self.ngram, self.char_ngram, self.tokens = ngram, char_ngram, tokens
        self.threshold, self._verify, self.similarity, self.seed = threshold, verify, similarity, seed
        self._init_keep(keep, quality_key)

    def key_task(self):
        return minhash_keys, (self.num_perm, self.bands, self.rows, self.ngram, self.char_ngram,
                              TOKEN_MODES[self.tokens], self.seed, self._verify, self.keep, self.quality_key)

    def verify(self) -> bool:
        return self._verify

    def containment(self) -> bool:
        return self.similarity == "containment"

    def similarity_source(self) -> str:
        return "sets" if self._verify else "signatures"

    def lsh_probability(self, similarity: float) -> float:
        """Chance that a pair of this Jaccard similarity becomes a candidate (shares a band)."""
        return 1.0 - (1.0 - similarity ** self.rows) ** self.bands

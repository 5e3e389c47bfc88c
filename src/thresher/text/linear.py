"""A fastText-style linear text classifier: hashed word uni/bigrams and character n-grams, logistic
regression trained with AdaGrad, all in compiled kernels over packed code points.

Features of a document (Joulin et al. 2017, "Bag of Tricks"): every word (a run of ``\\w``
characters, lower-cased), every pair of adjacent words, and the character n-grams (``minn``..``maxn``)
of ``<word>``, each hashed (FNV-1a) into ``2**bits`` buckets. The score is
``sigmoid(bias + sum(w[f]) / sqrt(#features))``. Training is deterministic for a given seed.

Example::

    from thresher.text.linear import LinearModel
    m = LinearModel.train(pos_texts, neg_texts, seed=0)
    m.score(["some text"])           # -> array of probabilities of the positive class
    m.save("clf/"); LinearModel.load("clf/")
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from ..errors import InputError
from .charclass import RE_WORD, char_flags, lower_map, pack

FORMAT = "thresher-linear-classifier/1"
FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True)
def _mix(h, salt):
    # splitmix64 finaliser: spreads FNV hashes of the three feature kinds over all buckets
    x = h ^ (salt * np.uint64(0x9E3779B97F4A7C15))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True)
def _doc_features(cps, a, b, flags, lower, mask, minn, maxn, word_bit, out):
    """Bucket ids of document cps[a:b] into ``out``; returns how many. ``out`` holds at least
    ``feature_bound(b - a)`` entries."""
    n = 0
    prev = np.uint64(0)
    have_prev = False
    i = a
    wbuf = np.empty(b - a + 2, dtype=np.uint32)
    while i < b:
        if not (flags[cps[i]] & word_bit):
            i += 1
            continue
        j = i
        L = 1
        wbuf[0] = 60  # "<"
        hw = FNV_OFFSET
        while j < b and (flags[cps[j]] & word_bit):
            c = lower[cps[j]]
            wbuf[L] = c
            L += 1
            hw = (hw ^ np.uint64(c)) * FNV_PRIME
            j += 1
        wbuf[L] = 62  # ">"
        L += 1
        out[n] = np.int64(_mix(hw, np.uint64(1)) & mask)
        n += 1
        if have_prev:
            out[n] = np.int64(_mix(prev * FNV_PRIME ^ hw, np.uint64(2)) & mask)
            n += 1
        prev = hw
        have_prev = True
        for s in range(0, L):           # n-grams starting at s, grown one character at a time
            hc = FNV_OFFSET
            for q in range(s, min(L, s + maxn)):
                hc = (hc ^ np.uint64(wbuf[q])) * FNV_PRIME
                if q - s + 1 >= minn:
                    out[n] = np.int64(_mix(hc, np.uint64(4 + q - s)) & mask)
                    n += 1
        i = j
    return n


def feature_bound(nchars: int, minn: int, maxn: int) -> int:
    """Most features a text of ``nchars`` code points can have (each code point starts at most one
    word; a word of length L has at most L+2 character n-grams of each size)."""
    per = 2 + max(0, maxn - minn + 1) * 3
    return nchars * per + 16


@njit(cache=True)
def _features_batch(cps, offsets, flags, lower, mask, minn, maxn, word_bit, feats, foff):
    """CSR features of every document: ``feats[foff[d]:foff[d+1]]``; returns total written."""
    pos = 0
    for d in range(offsets.shape[0] - 1):
        foff[d] = pos
        pos += _doc_features(cps, offsets[d], offsets[d + 1], flags, lower, mask, minn, maxn, word_bit, feats[pos:])
    foff[offsets.shape[0] - 1] = pos
    return pos


@njit(cache=True)
def _score_batch(cps, offsets, flags, lower, mask, minn, maxn, word_bit, w, bias, scratch, out):
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        n = _doc_features(cps, a, b, flags, lower, mask, minn, maxn, word_bit, scratch)
        z = bias
        if n > 0:
            s = 0.0
            for k in range(n):
                s += w[scratch[k]]
            z += s / math.sqrt(n)
        out[d] = 1.0 / (1.0 + math.exp(-z))


@njit(cache=True)
def _train(feats, foff, y, cw, order, epochs, lr, l2, w, g2, bias_state):
    """AdaGrad on the logistic loss, one document at a time in ``order`` (per epoch)."""
    bias = bias_state[0]
    gb = bias_state[1]
    nd = order.shape[1]
    for e in range(epochs):
        for t in range(nd):
            d = order[e, t]
            a, b = foff[d], foff[d + 1]
            n = b - a
            inv = 1.0 / math.sqrt(n) if n > 0 else 0.0
            z = bias
            for k in range(a, b):
                z += w[feats[k]] * inv
            p = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
            g = (p - y[d]) * cw[d]
            for k in range(a, b):
                f = feats[k]
                gi = g * inv + l2 * w[f]
                g2[f] += gi * gi
                w[f] -= lr * gi / math.sqrt(g2[f] + 1e-8)
            gb += g * g
            bias -= lr * g / math.sqrt(gb + 1e-8)
    bias_state[0] = bias
    bias_state[1] = gb


@dataclass
class LinearModel:
    """Weights and the options that produced them (features must be computed the same way)."""

    weights: np.ndarray
    bias: float = 0.0
    bits: int = 20
    minn: int = 3
    maxn: int = 5
    info: dict[str, Any] = field(default_factory=dict)
    _scratch: np.ndarray | None = field(default=None, repr=False)

    @property
    def mask(self) -> np.uint64:
        return np.uint64((1 << self.bits) - 1)

    def features(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        cps, offsets = pack(texts)
        feats = np.empty(feature_bound(len(cps), self.minn, self.maxn), dtype=np.int64)
        foff = np.empty(len(texts) + 1, dtype=np.int64)
        total = _features_batch(cps, offsets, char_flags(), lower_map(), self.mask, self.minn, self.maxn,
                                np.uint32(RE_WORD), feats, foff)
        return feats[:total].copy(), foff

    def score(self, texts: list[str]) -> np.ndarray:
        """Probability of the positive class for each text."""
        cps, offsets = pack(texts)
        longest = int(np.diff(offsets).max()) if len(texts) else 0
        need = feature_bound(longest, self.minn, self.maxn)
        if self._scratch is None or self._scratch.shape[0] < need:
            self._scratch = np.empty(max(need, 1 << 16), dtype=np.int64)
        out = np.empty(len(texts), dtype=np.float64)
        _score_batch(cps, offsets, char_flags(), lower_map(), self.mask, self.minn, self.maxn, np.uint32(RE_WORD),
                     self.weights, float(self.bias), self._scratch, out)
        return out

    @classmethod
    def train(cls, positive: list[str], negative: list[str], *, bits: int = 20, minn: int = 3, maxn: int = 5,
              epochs: int = 5, lr: float = 0.2, l2: float = 1e-6, seed: int = 0) -> "LinearModel":
        """Fit on two lists of texts; classes are weighted so each carries half the loss."""
        if not positive or not negative:
            raise InputError("training needs at least one positive and one negative text")
        model = cls(np.zeros(1 << bits, dtype=np.float64), 0.0, bits, minn, maxn)
        texts = list(positive) + list(negative)
        y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
        cw = np.where(y == 1, len(texts) / (2 * len(positive)), len(texts) / (2 * len(negative)))
        feats, foff = model.features(texts)
        rng = np.random.default_rng(seed)
        order = np.stack([rng.permutation(len(texts)) for _ in range(epochs)]).astype(np.int64)
        g2 = np.zeros_like(model.weights)
        state = np.zeros(2)
        _train(feats, foff, y, cw, order, epochs, lr, l2, model.weights, g2, state)
        model.bias = float(state[0])
        model.weights = model.weights.astype(np.float32).astype(np.float64)   # what save() keeps
        return model

    def digest(self) -> str:
        h = hashlib.sha256(self.weights.astype(np.float32).tobytes())
        h.update(json.dumps([self.bias, self.bits, self.minn, self.maxn]).encode())
        return h.hexdigest()[:16]

    def save(self, folder: str | Path) -> Path:
        """``model.npy`` (float32 weights) and ``model.json`` (options, bias, metrics), written atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".model.npy.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            np.save(f, self.weights.astype(np.float32))
        tmp.replace(folder / "model.npy")
        meta = {"format": FORMAT, "bias": self.bias, "bits": self.bits, "minn": self.minn, "maxn": self.maxn,
                "digest": self.digest(), **self.info}
        tmpj = folder / f".model.json.tmp{os.getpid()}"
        tmpj.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        tmpj.replace(folder / "model.json")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> "LinearModel":
        folder = Path(folder)
        try:
            meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
            weights = np.load(folder / "model.npy").astype(np.float64)
        except FileNotFoundError:
            raise InputError(f"{folder}: not a classifier folder (needs model.json and model.npy; "
                             "make one with `thresher classifier train`)") from None
        except (ValueError, OSError) as e:
            raise InputError(f"{folder}: unreadable classifier ({e})") from None
        if meta.get("format") != FORMAT or weights.shape[0] != 1 << int(meta["bits"]):
            raise InputError(f"{folder}: not a {FORMAT} model")
        info = {k: v for k, v in meta.items() if k not in {"format", "bias", "bits", "minn", "maxn", "digest"}}
        return cls(weights, float(meta["bias"]), int(meta["bits"]), int(meta["minn"]), int(meta["maxn"]), info)


def metrics(scores: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Precision, recall, F1 and accuracy of ``scores >= threshold`` against labels ``y`` (1 = positive)."""
    pred = scores >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "accuracy": (tp + tn) / max(1, len(y)),
            "tp": tp, "fp": fp, "fn": fn, "tn": tn, "n": int(len(y))}


def split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held out) of ``n`` items: a seeded permutation, ``holdout`` of them held out."""
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(n * holdout))
    return np.sort(perm[k:]), np.sort(perm[:k])


def train_and_evaluate(positive: list[str], negative: list[str], *, holdout: float = 0.2, seed: int = 0,
                       **opts: Any) -> tuple[LinearModel, dict[str, float]]:
    """Hold out ``holdout`` of each class, train on the rest, measure on the held-out part."""
    if not 0 < holdout < 1:
        raise InputError(f"holdout must be in (0, 1), got {holdout}")
    ptr, pte = split(len(positive), holdout, seed)
    ntr, nte = split(len(negative), holdout, seed + 1)
    if len(pte) == 0 or len(nte) == 0 or len(ptr) == 0 or len(ntr) == 0:
        raise InputError("too few texts to hold some out: give at least 5 of each class")
    model = LinearModel.train([positive[i] for i in ptr], [negative[i] for i in ntr], seed=seed, **opts)
    scores = model.score([positive[i] for i in pte] + [negative[i] for i in nte])
    m = metrics(scores, np.r_[np.ones(len(pte)), np.zeros(len(nte))])
    model.info = {"heldout": m, "train_docs": {"positive": len(ptr), "negative": len(ntr)},
                  "holdout": holdout, "seed": seed, "epochs": opts.get("epochs", 5)}
    return model, m

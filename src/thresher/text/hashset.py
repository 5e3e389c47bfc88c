"""Open-addressing hash tables for numba kernels (n-gram and line duplicate counts).

One preallocated table is reused for every document of a batch: a slot belongs to the current
document when its stamp equals the current generation, so "clearing" costs one increment.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .jit import leaf


@njit(cache=True, inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser: spreads a key's bits over the low bits used as the slot index."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@leaf
def slot_of(keys, stamp, gen, mask, key) -> int:
    """The slot holding ``key``, or the empty slot where it would go (check ``stamp[i] == gen``)."""
    i = np.int64(mix64(key) & np.uint64(mask))
    while stamp[i] == gen and keys[i] != key:
        i = (i + 1) & mask
    return i


@njit(cache=True, inline="always")
def count_key(keys, stamp, val, order, gen, slot, key, distinct) -> int:
    """Count one occurrence of ``key`` at ``slot`` (from ``slot_of``); a new key is appended to
    ``order``. Returns the number of distinct keys so far (``distinct`` + 1 when the key is new)."""
    if stamp[slot] == gen:
        val[slot] += 1
        return distinct
    stamp[slot] = gen
    keys[slot] = key
    val[slot] = 1
    order[distinct] = slot
    return distinct + 1


@njit(cache=True, inline="always")
def mask_for(n: int, cap: int) -> int:
    """Smallest power-of-two table (minus one) holding n keys at load <= 1/2, capped at cap."""
    m = 16
    while m < 2 * n and m < cap:
        m *= 2
    return m - 1


class Table:
    """Arrays of one reusable hash table (keys, stamps, two value columns, insertion order)."""

    def __init__(self, cap: int = 1 << 12) -> None:
        self.cap = 0
        self.gen = np.zeros(1, dtype=np.int64)
        self.ensure(cap)

    def ensure(self, n_keys: int) -> None:
        need = 16
        while need < 2 * n_keys:
            need *= 2
        if need > self.cap:
            self.cap = need
            self.keys = np.zeros(need, dtype=np.uint64)
            self.stamp = np.full(need, -1, dtype=np.int64)
            self.val = np.zeros(need, dtype=np.int64)
            self.val2 = np.zeros(need, dtype=np.int64)
            self.order = np.zeros(need, dtype=np.int64)

    def args(self) -> tuple:
        return (self.keys, self.stamp, self.val, self.val2, self.order, self.gen)

"""Decorators for the compiled kernels.

``leaf`` compiles a helper without numba's reference-counting runtime: helpers that receive arrays
but never allocate would otherwise pay an atomic incref/decref per array argument on every call,
which was 15-20 ns per call here, more than the work itself (the tokenizer calls its helpers per
character). Only the outer per-batch kernels, which allocate their scratch, use plain ``njit``.
"""
from __future__ import annotations

from numba import njit

leaf = njit(cache=True, _nrt=False)

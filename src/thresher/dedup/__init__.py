"""Deduplication: exact (normalised content hash or URL) and MinHash near-duplicates, run as
resumable stages with files in between, so memory stays bounded whatever the corpus size."""
from __future__ import annotations

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "ExactDedup": ".exact", "MinhashDedup": ".minhash", "estimated_jaccard": ".minhash", "signatures": ".minhash"})

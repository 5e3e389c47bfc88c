"""Deduplication: exact (normalised content hash or URL) and MinHash near-duplicates, run as
resumable stages with files in between, so memory stays bounded whatever the corpus size."""
from __future__ import annotations

from .exact import ExactDedup
from .minhash import MinhashDedup, estimated_jaccard, signatures

__all__ = ["ExactDedup", "MinhashDedup", "estimated_jaccard", "signatures"]

"""Merkle tree over a release's sorted (id, content_hash) pairs, RFC 6962 style (leaf prefix 0x00,
node prefix 0x01, split at the largest power of two). The root is computed streaming, in O(log n)
memory, so a release of any size gets one; proofs are for the governance receipts."""
from __future__ import annotations

import hashlib
from typing import Iterable


def leaf_hash(doc_id: str, content_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + doc_id.encode("utf-8", "surrogatepass") + b"\x00"
                          + content_hash.encode()).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def root(leaves: Iterable[bytes]) -> str:
    """Root of leaves in order; equals the recursive RFC 6962 definition."""
    stack: list[tuple[int, bytes]] = []          # (subtree size, hash), sizes strictly decreasing
    for leaf in leaves:
        size, h = 1, leaf
        while stack and stack[-1][0] == size:
            _, left = stack.pop()
            h, size = node_hash(left, h), size * 2
        stack.append((size, h))
    if not stack:
        return EMPTY_ROOT
    _, h = stack.pop()
    while stack:                                 # fold the ragged right edge
        _, left = stack.pop()
        h = node_hash(left, h)
    return h.hex()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def inclusion_proof(leaves: list[bytes], index: int) -> list[str]:
    """Audit path for leaves[index] (hex, bottom-up)."""
    path: list[str] = []

    def walk(lo: int, hi: int) -> None:
        if hi - lo == 1:
            return
        k = _split(hi - lo)
        if index < lo + k:
            walk(lo, lo + k)
            path.append(_mth(leaves[lo + k:hi]).hex())
        else:
            walk(lo + k, hi)
            path.append(_mth(leaves[lo:lo + k]).hex())

    walk(0, len(leaves))
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[str], root_hex: str) -> bool:
    """Check an audit path (RFC 6962 section 2.1.1 verification)."""
    if index >= size:
        return False
    fn, sn, h = index, size - 1, leaf
    for p in path:
        sib = bytes.fromhex(p)
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            h = node_hash(sib, h)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            h = node_hash(h, sib)
        fn >>= 1
        sn >>= 1
    return sn == 0 and h.hex() == root_hex

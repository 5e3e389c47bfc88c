"""Merkle tree over a release's sorted (id, content_hash) pairs, RFC 6962 style (leaf prefix 0x00,
node prefix 0x01, split at the largest power of two). The root is computed streaming, a block of
leaves at a time (bounded memory), so a release of any size gets one; proofs are for the governance
receipts."""
from __future__ import annotations

import hashlib
from itertools import islice
from typing import Iterable


def leaf_hash(doc_id: str, content_hash: str) -> bytes:
    return hashlib.sha256(b"\x00" + doc_id.encode("utf-8", "surrogatepass") + b"\x00"
                          + content_hash.encode()).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


_BLOCK = 1 << 14        # leaves hashed a level at a time (list comprehensions), then folded like one node


def _level_up(level: list[bytes], skip: int = 0) -> list[bytes]:
    """The next level of the tree: nodes over pairs from position ``2*skip`` on, a lone last node promoted
    unchanged. Pairing bottom-up this way builds exactly the RFC 6962 tree (split at the largest power of
    two); every tree here (the streaming root, ``MerkleTree``) is built with it."""
    sha = hashlib.sha256
    up = [sha(b"\x01" + a + b).digest() for a, b in zip(level[2 * skip::2], level[2 * skip + 1::2])]   # = node_hash
    if len(level) % 2:
        up.append(level[-1])
    return up


def _block_root(level: list[bytes]) -> bytes:
    """Root of a power-of-two number of leaves."""
    while len(level) > 1:
        level = _level_up(level)
    return level[0]


def root(leaves: Iterable[bytes]) -> str:
    """Root of leaves in order; equals the recursive RFC 6962 definition. The stack holds the roots of
    the aligned power-of-two blocks that make up the leaves so far (sizes strictly decreasing)."""
    stack: list[tuple[int, bytes]] = []

    def push(size: int, h: bytes) -> None:
        while stack and stack[-1][0] == size:
            _, left = stack.pop()
            h, size = node_hash(left, h), size * 2
        stack.append((size, h))

    it = iter(leaves)
    while len(chunk := list(islice(it, _BLOCK))) == _BLOCK:
        push(_BLOCK, _block_root(chunk))
    pos = 0
    for p in reversed(range(_BLOCK.bit_length())):      # the tail, in blocks of its binary digits
        if len(chunk) - pos >= 1 << p:
            push(1 << p, _block_root(chunk[pos:pos + (1 << p)]))
            pos += 1 << p
    if not stack:
        return EMPTY_ROOT
    _, h = stack.pop()
    while stack:                                 # fold the ragged right edge
        _, left = stack.pop()
        h = node_hash(left, h)
    return h.hex()


def inclusion_proof(leaves: list[bytes], index: int) -> list[str]:
    """Audit path for leaves[index] (hex, bottom-up)."""
    return MerkleTree(leaves).proof(index)


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


# --- Whole trees, O(log n) proofs and proofs of absence (governance receipts) -----------------------
# The same bottom-up pairing (``_level_up``), every level kept, so each audit path is a walk up.


class MerkleTree:
    """All levels of the tree over ``leaves`` (in order), for many O(log n) inclusion proofs."""

    def __init__(self, leaves: list[bytes], like: "MerkleTree | None" = None, same: int = 0):
        """``like``: a tree whose first ``same`` leaves are these leaves' first ones; its nodes over
        them are taken, not hashed again (node i of level d spans leaves i*2^d .. (i+1)*2^d - 1)."""
        self.size = len(leaves)
        self.levels: list[list[bytes]] = [list(leaves)]
        same = min(same, self.size, like.size) if like is not None else 0
        while len(self.levels[-1]) > 1:
            d = len(self.levels)
            k = same >> d
            kept = like.levels[d][:k] if like is not None and k else []
            self.levels.append(kept + _level_up(self.levels[-1], k))

    @property
    def root(self) -> str:
        return self.levels[-1][0].hex() if self.size else EMPTY_ROOT

    def proof(self, index: int) -> list[str]:
        """Audit path of leaf ``index`` (hex, bottom-up); equals ``inclusion_proof``."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        path: list[str] = []
        for lv in self.levels[:-1]:
            sib = index ^ 1
            if sib < len(lv):
                path.append(lv[sib].hex())
            index //= 2
        return path


def _neighbour(tree: MerkleTree, pairs: list[tuple[str, str]], index: int, memo: dict | None) -> dict:
    if memo is not None and index in memo:
        return memo[index]
    doc_id, chash = pairs[index]
    out = {"index": index, "id": doc_id, "content_hash": chash, "path": tree.proof(index)}
    if memo is not None:
        memo[index] = out
    return out


def absence_proof(tree: MerkleTree, pairs: list[tuple[str, str]], doc_id: str, memo: dict | None = None,
                  content_hash: str | None = None) -> dict:
    """Proof that no leaf has id ``doc_id``: leaves are sorted by (id, content_hash), so it is enough
    to prove the two adjacent leaves around where it would sit (or the first/last leaf at an edge).
    ``memo`` (a dict kept across calls on one tree) proves each neighbour once: the ids removed from
    one folder all sit between the same two leaves."""
    import bisect

    if content_hash is not None:       # absence of one (id, content) pair: another copy may share the id
        pos = bisect.bisect_left(pairs, (doc_id, content_hash))
        if pos < len(pairs) and pairs[pos] == (doc_id, content_hash):
            raise ValueError(f"{doc_id} ({content_hash[:12]}...) is present; no proof of absence exists")
    else:
        pos = bisect.bisect_left(pairs, (doc_id, ""))
        if pos < len(pairs) and pairs[pos][0] == doc_id:
            raise ValueError(f"{doc_id} is present; no proof of absence exists")
    out: dict = {"id": doc_id, "size": tree.size, "left": None, "right": None}
    if content_hash is not None:
        out["content_hash"] = content_hash
    if pos > 0:
        out["left"] = _neighbour(tree, pairs, pos - 1, memo)
    if pos < len(pairs):
        out["right"] = _neighbour(tree, pairs, pos, memo)
    return out


def verify_absence(proof: dict, root_hex: str) -> bool:
    """Check a proof from ``absence_proof`` against a root: both neighbours are in the tree, they are
    adjacent (or the edge of the tree), and the id sorts strictly between them (code-point order)."""
    doc_id, size, left, right = proof["id"], proof["size"], proof.get("left"), proof.get("right")
    if size == 0:
        return root_hex == EMPTY_ROOT and left is None and right is None
    for nb in (left, right):
        if nb is not None and not verify_inclusion(leaf_hash(nb["id"], nb["content_hash"]), nb["index"], size,
                                                   nb["path"], root_hex):
            return False
    if "content_hash" in proof:        # the pair sorts strictly between its neighbours
        key = (doc_id, proof["content_hash"])
        if left is not None and not (left["id"], left["content_hash"]) < key:
            return False
        if right is not None and not key < (right["id"], right["content_hash"]):
            return False
    else:
        if left is not None and not left["id"] < doc_id:
            return False
        if right is not None and not doc_id < right["id"]:
            return False
    if left is None:
        return right is not None and right["index"] == 0
    if right is None:
        return left["index"] == size - 1
    return right["index"] == left["index"] + 1

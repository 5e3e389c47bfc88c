"""The streaming Merkle root equals the recursive RFC 6962 definition; audit paths verify."""
import hashlib

from thresher import merkle
from thresher.merkle import EMPTY_ROOT, _mth, inclusion_proof, leaf_hash, root, verify_inclusion


def leaves(n):
    return [leaf_hash(f"doc-{i:04d}", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(n)]


def test_streaming_root_matches_recursive_definition():
    assert root([]) == EMPTY_ROOT
    for n in range(1, 70):
        ls = leaves(n)
        assert root(iter(ls)) == _mth(ls).hex()


def test_root_in_blocks_matches_recursive_definition(monkeypatch):
    monkeypatch.setattr(merkle, "_BLOCK", 4)        # full blocks, a tail of every shape
    for n in range(1, 70):
        ls = leaves(n)
        assert root(iter(ls)) == _mth(ls).hex() == merkle.MerkleTree(ls).root


def test_rfc6962_known_shape():
    a, b, c = leaves(3)
    node = lambda x, y: hashlib.sha256(b"\x01" + x + y).digest()
    assert root([a, b, c]) == node(node(a, b), c).hex()


def test_inclusion_proofs_verify_and_detect_tampering():
    for n in (1, 2, 3, 5, 8, 13, 32, 33):
        ls = leaves(n)
        r = root(ls)
        for i in range(n):
            path = inclusion_proof(ls, i)
            assert verify_inclusion(ls[i], i, n, path, r)
            other = leaf_hash("forged", "0" * 64)
            assert not verify_inclusion(other, i, n, path, r)
            if n > 1:
                assert not verify_inclusion(ls[i], (i + 1) % n, n, path, r)

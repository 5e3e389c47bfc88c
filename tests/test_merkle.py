"""The streaming Merkle root equals the recursive RFC 6962 definition; audit paths verify."""
import hashlib

from thresher import merkle
from thresher.merkle import EMPTY_ROOT, inclusion_proof, leaf_hash, node_hash, root, verify_inclusion


def _mth(ls):
    """RFC 6962 section 2.1, written as the spec says (the reference the one implementation is checked by)."""
    if len(ls) == 1:
        return ls[0]
    k = 1
    while k * 2 < len(ls):
        k *= 2
    return node_hash(_mth(ls[:k]), _mth(ls[k:]))


def _mth_path(ls, m):
    """RFC 6962 section 2.1.1 PATH(m, D[n]), as the spec says."""
    if len(ls) == 1:
        return []
    k = 1
    while k * 2 < len(ls):
        k *= 2
    if m < k:
        return _mth_path(ls[:k], m) + [_mth(ls[k:]).hex()]
    return _mth_path(ls[k:], m - k) + [_mth(ls[:k]).hex()]


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


# Roots computed before the three tree builders became one (streaming root, recursive proofs, MerkleTree):
# releases and receipts already published carry these, so they must never change.
GOLDEN = {0: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          1: "bfba81de8c7186c04aba7cd9de216ae15a80d0785867ab9edace6c573243c886",
          2: "98771377b340c0a74aee3c38e35c68f3826f053979ae370d4648a3d3c612a774",
          3: "512e5b59b94abc582238733d321d25da96a08f1e7cac04b040b8b98acc09ebb0",
          7: "12d0431b30edd928cdbcdcce833d14ca89189891eb6b454b88ac00ce85c504d6",
          1000: "4ead9de200fc1ca97e9f77dee320aeb39a5f690019a35b6fce56fd25bae6548a",
          32773: "776ad9e7fc1c7c54ee8c0199b6b98e82e46849d3f6086d0c0ddcd2995fa77ac7"}


def test_golden_roots_and_one_tree_builder():
    for n, want in GOLDEN.items():
        ls = [leaf_hash(f"doc-{i:06d}", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(n)]
        assert root(iter(ls)) == want
        if n:
            assert merkle.MerkleTree(ls).root == want
    assert not hasattr(merkle, "_mth") and not hasattr(merkle, "_split")     # no second tree builder


def test_proofs_equal_the_rfc_path():
    for n in range(1, 40):
        ls = leaves(n)
        for i in range(n):
            assert inclusion_proof(ls, i) == _mth_path(ls, i)


def test_sorted_leaf_merge_of_small_and_large_files(tmp_path):
    """Leaves files merged in (id, content_hash) order whether a file is read whole (at most a batch of
    rows) or a batch at a time: the same leaves in the order of one sort, the same root (a version's
    root, ``thresher update``: many small shard files beside the new ones)."""
    import random

    import pyarrow.parquet as pq

    from thresher.release import leaf_table, sorted_leaf_batches, sorted_tables, write_leaves

    rng = random.Random(7)
    rows = [(f"doc:{rng.randrange(10**6):06d}#{rng.randrange(3)}", hashlib.sha256(str(i).encode()).hexdigest())
            for i in range(3000)]
    rows += [(rows[5][0], "0" * 64), (rows[5][0], "f" * 64)]       # one id with several contents
    rng.shuffle(rows)
    files = []
    for k, n in enumerate((1, 40, 700, 2261)):
        part, rows = rows[:n], rows[n:]
        files.append(tmp_path / f"part-{k:05d}.parquet")
        write_leaves(files[-1], leaf_table([i for i, _ in part], [h for _, h in part]))
    everything = sorted((i, h) for f in files
                        for i, h in zip(pq.read_table(f)["id"].to_pylist(), pq.read_table(f)["content_hash"].to_pylist()))
    want = [leaf_hash(i, h) for i, h in everything]
    for batch in (50, 1000, 1 << 16):
        got = [(i, h) for t in sorted_tables(files, ["leaf"], batch)
               for i, h in zip(t["id"].to_pylist(), t["content_hash"].to_pylist())]
        assert got == everything
        assert [x for b in sorted_leaf_batches(files, batch) for x in b] == want
    assert root(x for b in sorted_leaf_batches(files, 50) for x in b) == _mth(want).hex()

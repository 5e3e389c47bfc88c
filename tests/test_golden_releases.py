"""Releases are byte-identical to the recorded goldens: the Merkle root, every output file's sha256 and
the step counts of real pipelines on the bundled samples and the fixtures (tests/golden_releases.py;
regenerate with `.venv/bin/python tests/golden_releases.py --write` when a change alters outputs on purpose)."""
from __future__ import annotations

import pytest

import golden_releases as g


SLOW = {"demo", "dedup_docs"}      # a minute each on a loaded 2-core machine


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in g.PIPELINES])
def test_release_equals_golden(name, tmp_path):
    want = g.load()[name]
    got = g.build(name, tmp_path)
    assert got["merkle_root"] == want["merkle_root"]
    assert got["outputs"] == want["outputs"]
    assert got == want

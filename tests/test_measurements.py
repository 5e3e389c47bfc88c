"""Data measurements: per-shard sketches written during the build merge to the values of one pass."""
import math
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from thresher import run
from thresher.measurements import Sketch, _window_pairs, identity_terms, merged, npmi, summary, zipf_fit

FIX = Path(__file__).parent / "fixtures" / "web"


def build(tmp_path: Path) -> Path:
    with open(tmp_path / "in.jsonl", "wb") as f:
        for name in ("lingua_sentences.jsonl", "udhr_paragraphs.jsonl", "lingua_sentences.jsonl"):
            f.write((FIX / name).read_bytes())      # lingua twice: real exact duplicates
    (tmp_path / "p.yaml").write_text("name: m\ninput: {path: in.jsonl, format: jsonl, shard_mb: 0.03}\n"
                                     "steps:\n  - language_id: {}\noutput: {path: out}\n")
    return run(tmp_path / "p.yaml", workers=2, progress=False)


def test_shard_sketches_merge_to_one_pass(tmp_path):
    out = build(tmp_path)
    shards = sorted((out / "data").glob("*.parquet"))
    assert len(shards) >= 3
    texts, langs = [], []
    for s in shards:
        t = pq.read_table(s, columns=["text", "meta"])
        texts += t.column("text").to_pylist()
        langs += [orjson.loads(m).get("language", "unknown") for m in t.column("meta").to_pylist()]
    one = Sketch(terms=tuple(identity_terms()))
    one.add(texts, langs)
    assert summary(merged(out)) == summary(one)
    s = summary(one)
    assert s["documents"] == 192 * 2 + 46 and s["exact_duplicates"] == 192
    eng = s["languages"]["eng"]
    assert eng["vocabulary"] == len({w for t, l in zip(texts, langs) if l == "eng" for w in __import__("re").findall(r"\w+", t.lower())})


def test_measurements_can_be_turned_off(tmp_path):
    (tmp_path / "in.jsonl").write_bytes((FIX / "udhr_paragraphs.jsonl").read_bytes())
    (tmp_path / "p.yaml").write_text("name: m\ninput: {path: in.jsonl, format: jsonl}\noutput: {path: out}\n"
                                     "card: {measurements: false}\n")
    assert merged(run(tmp_path / "p.yaml", workers=1, progress=False)) is None


def test_npmi_and_window_pairs_by_hand():
    assert _window_pairs(3, 5) == 6 and _window_pairs(12, 5) == sum(
        min(i, 5) + min(11 - i, 5) for i in range(12))
    sk = Sketch(terms=("she",))
    sk.add(["she codes", "she codes", "he codes", "cats nap"], ["eng"] * 4)
    ls = sk.languages["eng"]
    # words: she 2, codes 3, he 1, cats 1, nap 1 (8); pairs within the window: 2 per two-word doc (8)
    assert ls.npairs == 8 and ls.pairs["she\tcodes"] == 2
    import thresher.measurements as M
    old, M.MIN_PAIR = M.MIN_PAIR, 1
    try:
        got = npmi(ls, ["she"])["she"][0]
    finally:
        M.MIN_PAIR = old
    ptw, pt, pw = 2 / 8, 2 / 8, 3 / 8
    assert got["word"] == "codes" and got["npmi"] == pytest.approx(math.log(ptw / (pt * pw)) / -math.log(ptw), abs=1e-4)


def test_zipf_fit_recovers_exponent():
    counts = [int(1e6 / r ** 1.1) for r in range(1, 2000)]
    assert zipf_fit(counts)["alpha"] == pytest.approx(1.1, abs=0.02)

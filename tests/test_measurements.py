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


# -- the compiled word counts against the pure-Python definition they replaced -----------------------
def python_add(sk: Sketch, texts, languages) -> None:
    """``Sketch.add`` by its pure-Python definition (``re`` words of the lower-cased text, a ``Counter``,
    the window loop), which the package keeps for small shards: what the compiled kernel must reproduce."""
    sk._add_small(list(texts), list(languages))


TRICKY = ["İSTANBUL'da ΣΟΦΟΣ ΌΣΟΣ Σ ß ǅ ﬁ ⅷ ½ ²³ ①②", "snake_case __init__ x1_y2 ٣٤ ໑໒ १२३", "e\u0301te\u0301 ﻿zero\u200bwidth",
         "lone \ud800 surrogate\udfff here", "emoji 👩‍👩‍👧 text 𝐁𝐨𝐥𝐝 𝔣𝔯𝔞𝔨", "", "   ", "she he she he " * 40,
         "Trans\ttrans-women WOMEN man-made"]


def fixture_docs() -> tuple[list[str], list[str]]:
    texts, langs = [], []
    for name in ("pages.jsonl", "udhr_paragraphs.jsonl", "lingua_sentences.jsonl"):
        for line in (FIX / name).read_bytes().splitlines():
            d = orjson.loads(line)
            texts.append(d["text"])
            langs.append(d.get("lang", "unknown"))
    for p in sorted((FIX.parent / "text").glob("*.txt")):
        texts.append(p.read_text(encoding="utf-8"))
        langs.append(p.name[:3])
    return texts + TRICKY, langs + ["und"] * len(TRICKY)


@pytest.mark.parametrize("chunk,small", [(1 << 22, 0), (3000, 0), (3000, 50_000), (1 << 22, 1 << 30)])
def test_compiled_counts_equal_the_python_definition(chunk, small, monkeypatch):
    """Byte-identical sketch JSON (same counts, same first-seen order) and summary, on real web pages,
    UDHR and news sentences in many scripts plus tricky strings; with one kernel call per shard and with
    many (tables grown from their initial size, words spelled from several batches); the kernel taking
    over after ``SMALL`` characters; and all of it below ``SMALL``, counted by ``Sketch._add_small``."""
    import thresher.measurements as M

    monkeypatch.setattr(M, "CHUNK", chunk)
    monkeypatch.setattr(M, "SMALL", small)
    texts, langs = fixture_docs()
    terms = tuple(identity_terms()) + ("non-binary", "two words")     # never one \w+ word: never match
    want, got = Sketch(terms=terms), Sketch(terms=terms)
    python_add(want, texts, langs)
    got.add(texts, langs)
    assert sum(len(ls.words) for ls in got.languages.values()) > 10_000
    assert sum(sum(ls.pairs.values()) for ls in got.languages.values()) > 1000
    assert orjson.dumps(got.to_json()) == orjson.dumps(want.to_json())
    assert summary(got) == summary(want)
    # a second add into the same sketch updates the counters (not only fills empty ones)
    python_add(want, texts[::-1], langs[::-1])
    got.add(texts[::-1], langs[::-1])
    assert orjson.dumps(got.to_json()) == orjson.dumps(want.to_json())
    assert summary(Sketch.from_json(orjson.loads(orjson.dumps(got.to_json())))) == summary(want)


def test_word_hash_keys_words_by_their_bytes():
    """The kernel's words are ``re``'s ``\\w+`` words; a term's key is its word's key."""
    import numpy as np

    from thresher.text import wordcount

    texts = ["Ünïcode_words 123 and ΣΟΦΟΣ", "she said: ünïcode_WORDS", "She said: AND_123 and_123 and"]
    data, off = wordcount.pack(texts)
    flags, bit = wordcount.word_flags()
    keys, ids = wordcount.term_keys(("she", "ünïcode_words", "not one"))
    assert sorted(ids.tolist()) == [0, 1]
    words, pairs = wordcount.count_batch(np.frombuffer(data, dtype=np.uint8), off, np.zeros(3, dtype=np.int64),
                                         flags, bit, keys, ids, 5, wordcount.new_counts(16),
                                         wordcount.new_counts(16), nw := np.zeros(3, dtype=np.int64))
    n = int(words.used[0])
    assert data[off[2]:].decode() == texts[2]          # an ASCII document is packed as it is ...
    spelled = wordcount.spell(data, words, 0)           # ... and its words spelled lower-cased
    assert spelled == ["ünïcode_words", "123", "and", "σοφος", "she", "said", "and_123"]
    assert words.n[:n].tolist() == [2, 1, 2, 1, 2, 2, 2] and nw.tolist() == [4, 3, 5]
    assert int(pairs.used[0]) > 0


def test_top_words_and_merge_equal_their_definitions():
    """The card's top words (only those at least as frequent as the n-th are sorted) and the merge of
    sketches (a copy plus an update) give what ``sorted`` and ``Counter``'s ``+`` give, ties included."""
    import random
    from collections import Counter

    from thresher.measurements import LanguageSketch, _top_words

    rng = random.Random(7)
    words = Counter({f"w{i}": rng.choice([1, 2, 3, 5, 5, 8]) for i in range(5000)})
    for n in (1, 20, 5000, 6000):
        assert _top_words(words, n) == [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]
    other = Counter({f"w{i}": rng.randint(1, 9) for i in range(3000, 9000)})
    a, b = LanguageSketch(3, words, other, 10), LanguageSketch(4, other, words, 20)
    s = a + b
    assert list(s.words.items()) == list((words + other).items())
    assert list(s.pairs.items()) == list((other + words).items())
    assert (s.docs, s.npairs) == (7, 30) and a.words == words      # the operands are left as they were


def test_a_term_with_capitals_matches_nothing_in_either_path():
    """Texts are lower-cased before words are counted, so a term with capitals never matches, in the
    Python definition and in the kernel alike (the kernel lower-cases ASCII itself)."""
    from thresher.text import wordcount

    keys, ids = wordcount.term_keys(("She", "she", "ÜBER", "über"))
    assert sorted(ids.tolist()) == [1, 3]
    texts = ["She said she was über tired. " * 40000]        # over SMALL characters: the kernel counts it
    small, big = Sketch(terms=("She", "über")), Sketch(terms=("She", "über"))
    small._add_small(texts, ["eng"])
    big.add(texts, ["eng"])
    assert orjson.dumps(big.to_json()) == orjson.dumps(small.to_json())
    assert not any(k.startswith("She\t") for k in big.languages["eng"].pairs)
    assert any(k.startswith("über\t") for k in big.languages["eng"].pairs)

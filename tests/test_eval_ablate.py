"""The ablation report: means and spreads over seeds, which differences exceed the spread, the card
section. (Training itself is thresher.train's and is tested there.)"""
import pytest

from thresher.errors import ConfigError
from thresher.eval.ablate import CARD_BEGIN, add_card_section, parse_tokens, summarize, write_report


def _rep(overall, langs):
    return {"overall": {"bits_per_byte": overall, "gzip-9": 2.9, "zstd-19": 2.7, "xz-9": 2.6},
            "languages": {k: {"bits_per_byte": v} for k, v in langs.items()}}


SCORES = {
    "base": [_rep(2.00, {"eng": 1.9, "fra": 2.2}), _rep(2.02, {"eng": 1.92, "fra": 2.21}), _rep(2.04, {"eng": 1.95, "fra": 2.2})],
    "shuffled": [_rep(2.30, {"eng": 2.2, "fra": 2.5}), _rep(2.25, {"eng": 2.15, "fra": 2.45}), _rep(2.28, {"eng": 2.2, "fra": 2.4})],
    "noisy": [_rep(1.98, {"eng": 1.9}), _rep(2.10, {"eng": 2.0}), _rep(2.03, {"eng": 1.95})],
}


def test_parse_tokens():
    assert parse_tokens("20M") == 20_000_000 and parse_tokens("500k") == 500_000 and parse_tokens("1000") == 1000
    assert parse_tokens("1.5G") == 1_500_000_000
    with pytest.raises(ConfigError):
        parse_tokens("lots")


def test_summary_means_spreads_and_verdicts():
    s = summarize(SCORES)
    base = s["releases"]["base"]["overall"]
    assert base["mean"] == pytest.approx(2.02) and base["spread"] == pytest.approx(0.04)
    assert base["std"] == pytest.approx(0.02)                       # sample std of 2.00, 2.02, 2.04
    assert s["releases"]["shuffled"]["languages"]["fra"]["mean"] == pytest.approx(2.45)
    d = {(x["a"], x["b"]): x for x in s["differences"]}
    assert d[("base", "shuffled")]["better"] == "base" and d[("base", "shuffled")]["exceeds_seed_spread"]
    assert d[("base", "shuffled")]["difference"] == pytest.approx(2.02 - (2.30 + 2.25 + 2.28) / 3)
    assert not d[("base", "noisy")]["exceeds_seed_spread"]         # ranges 2.00-2.04 and 1.98-2.10 overlap


def test_report_and_card_section(tmp_path):
    s = summarize(SCORES)
    settings = {"preset": "tiny", "tokens": 1_000_000, "seeds": 3, "tokenizer_sha256": "ab" * 32,
                "held_out": "union of the releases' validation splits", "documents": 42,
                "energy": {"kwh": 0.01, "kg_co2eq": 0.00475, "method": "estimate: test", "grid_intensity_g_per_kwh": 475.0}}
    curves = {"base": [[(1, 5.0), (2, 4.0)]] * 3, "shuffled": [[(1, 5.1), (2, 4.5)]] * 3, "noisy": [[]] * 3}
    report = write_report(s, curves, tmp_path / "abl", settings)
    text = report.read_text()
    assert "| base | 2.0200 ± 0.0200 | 2.0000–2.0400 |" in text
    assert "base vs shuffled: -0.2567 bits/byte, base better, exceeds the seed spread" in text
    assert "base vs noisy" in text and "within the seed spread" in text
    assert (tmp_path / "abl" / "bits_per_byte.png").stat().st_size > 1000
    assert (tmp_path / "abl" / "loss_curves.png").stat().st_size > 1000
    rel = tmp_path / "rel"
    (rel / "card").mkdir(parents=True)
    (rel / "card" / "README.md").write_text("# Card\n\ntext\n")
    add_card_section(rel, report, s, "base")
    add_card_section(rel, report, s, "base")                       # replaced, not repeated
    card = (rel / "card" / "README.md").read_text()
    assert card.count(CARD_BEGIN) == 1 and card.startswith("# Card\n\ntext\n")
    assert "2.0200 ± 0.0200 bits per byte" in card and "vs shuffled: better, beyond the seed spread" in card
    assert "(../../abl/report.md)" in card


def _word_shuffled(text: str, rng) -> str:
    words = text.split()
    rng.shuffle(words)
    return " ".join(words)


@pytest.mark.slow
def test_ablation_tells_real_text_from_word_shuffled(tmp_path):
    """The ablation that must show a difference: release A (real English fixture text) against B, the same
    release with half its training documents replaced by word-shuffled copies of themselves (the same
    words in a random order, joined by single spaces). Same tokenizer, preset, token budget and seeds; scored on A's held-out
    documents (real text). A must be better on every seed than B on any seed."""
    import json
    import random

    import torch

    from thresher.eval.ablate import ablate
    from token_release import build_token_release, read_texts, train_tokenizer

    docs = read_texts()
    valid_every = 10
    tok = train_tokenizer([t for _, t in docs], 512)
    rng = random.Random(0)
    train_i = [i for i in range(len(docs)) if i % valid_every != valid_every - 1]
    shuffled = set(train_i[::2])                                        # half the training documents
    docs_b = [(d, _word_shuffled(t, rng)) if i in shuffled else (d, t) for i, (d, t) in enumerate(docs)]
    assert sum(a != b for a, b in zip(docs, docs_b)) >= len(train_i) // 2 - 1
    a = build_token_release(tmp_path / "A", docs, valid_every=valid_every, tokenizer=tok)
    b = build_token_release(tmp_path / "B", docs_b, valid_every=valid_every, tokenizer=tok)
    held = tmp_path / "held_out.jsonl"
    held.write_text("".join(json.dumps({"id": d, "text": t, "language": "eng"}) + "\n"
                            for i, (d, t) in enumerate(docs) if i % valid_every == valid_every - 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)        # one thread: on a loaded 2-core machine two threads wait on each other (10x slower)
    try:
        report = ablate([a, b], tmp_path / "ablation", preset="tiny", tokens=TOKENS, seeds=3, held_out=held)
    finally:
        torch.set_num_threads(threads)
    r = json.loads((tmp_path / "ablation" / "report.json").read_text())
    print(report.read_text())
    (d,) = r["differences"]
    ra, rb = r["releases"]["A"]["overall"], r["releases"]["B"]["overall"]
    assert r["settings"]["documents"] == 12 and len(ra["seeds"]) == len(rb["seeds"]) == 3
    assert d["better"] == "A" and d["exceeds_seed_spread"], (ra, rb)
    assert rb["min"] - ra["max"] > 0.01, (ra, rb)     # a clear gap (measured: A 2.680-2.713, B 2.742-2.785)
    assert "A vs B" in report.read_text() and "exceeds the seed spread" in report.read_text()


TOKENS = 300 * 16 * 128          # 300 steps of the tiny preset (16 windows of 128 tokens)

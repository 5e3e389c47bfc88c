"""The packing encoder: tiktoken built from a tokenizer.json gives exactly ``tokenizers``' ids (the reference)
on real text in every script the fixtures have and on every code point; where it could not, thresher
says why and packs with ``tokenizers``; the token shards are the same bytes either way."""
from __future__ import annotations

import json
import logging
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
import tiktoken
from tokenizers import Tokenizer, pre_tokenizers, trainers

import thresher
from thresher.config import InputConfig, OutputConfig, PipelineConfig
from thresher.tokens import encoder, pack
from thresher.tokens.encoder import NotExpressible, choose, convert
from thresher.tokens.pack import tokenize
from thresher.tokens.report import udhr_texts
from thresher.tokens.train import SPECIAL_TOKENS, new_tokenizer

FIX = Path(__file__).parent / "fixtures"
JSONL = [FIX / "card" / "multilingual.jsonl", FIX / "io" / "lingua.jsonl", FIX / "web" / "udhr_paragraphs.jsonl",
         FIX / "web" / "lingua_sentences.jsonl", FIX / "web" / "pages.jsonl", FIX / "governance" / "clough_stevenson.jsonl"]


def code_texts() -> list[str]:
    """The Python packages in tests/fixtures/code/repos (idna's tables are long runs of hex and digits)."""
    out = []
    with tarfile.open(FIX / "code" / "repos" / "idna-3.13.tar.gz") as tf:
        for m in tf.getmembers():
            if m.isfile():
                out.append(tf.extractfile(m).read().decode("utf-8"))      # type: ignore[union-attr]
    with zipfile.ZipFile(FIX / "code" / "repos" / "certifi-2026.5.20.zip") as zf:
        out += [zf.read(n).decode("utf-8") for n in zf.namelist() if not n.endswith("/")]
    return out


def real_texts() -> list[str]:
    texts = [json.loads(line)["text"] for p in JSONL for line in p.read_text(encoding="utf-8").splitlines()]
    texts += [p.read_text(encoding="utf-8") for p in sorted((FIX / "text").glob("*.txt"))]
    return texts + list(udhr_texts().values()) + code_texts() + encoder.EDGE_CASES


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """thresher's tokenizer (new_tokenizer: its regex, byte level, special tokens) trained on the fixtures."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(real_texts(), trainer=trainer)
    path = tmp_path_factory.mktemp("enc") / "tokenizer.json"
    tok.save(str(path))
    return path


def reference(path: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(path))
    tok.encode_special_tokens = True        # as packing reads text: "<|endoftext|>" in a page is text
    return tok


def test_same_ids_as_tokenizers_on_every_script_and_code(trained: Path) -> None:
    (enc, _), tok = convert(trained), reference(trained)
    texts = real_texts()
    scripts = set()
    for t in texts:
        assert enc.encode_ordinary(t) == tok.encode(t, add_special_tokens=False).ids, t[:60]
        scripts.update(ord(c) >> 8 for c in t)
    assert len(scripts) > 20 and len(texts) > 300      # Latin, Arabic, Devanagari, CJK, Hangul, Thai, Ethiopic ...
    assert choose(trained, tok).name == "tiktoken"


def code_point_text(lo: int, hi: int) -> list[str]:
    """Every code point in [lo, hi) (surrogates aside) in contexts that exercise each branch of the regex:
    after a space, inside a word, next to a digit, doubled, before a newline."""
    chunks, cur = [], []
    for c in range(lo, hi):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        cur.append(f" {ch}a{ch}1{ch}{ch}'s \n{ch}")
        if len(cur) == 512:
            chunks.append("".join(cur))
            cur = []
    return chunks + (["".join(cur)] if cur else [])


def same_on_code_points(path: Path, lo: int, hi: int) -> None:
    (enc, _), tok = convert(path), reference(path)
    chunks = code_point_text(lo, hi)
    for k in range(0, len(chunks), 64):
        want = [e.ids for e in tok.encode_batch_fast(chunks[k:k + 64], add_special_tokens=False)]
        got = enc.encode_ordinary_batch(chunks[k:k + 64], num_threads=2)
        bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
        assert not bad, f"code points {lo + 512 * (k + bad[0]):#x}.. (surrogates aside) differ"


def test_same_ids_on_every_code_point_of_the_bmp(trained: Path) -> None:
    """Oniguruma (tokenizers) and fancy-regex (tiktoken) agree on \\s, \\p{L}, \\p{M}, \\p{N} for every BMP character."""
    same_on_code_points(trained, 0, 0x10000)


@pytest.mark.slow
def test_same_ids_on_every_code_point(trained: Path) -> None:
    same_on_code_points(trained, 0x10000, 0x110000)


def test_gpt2_byte_level_converts(tmp_path: Path) -> None:
    """GPT-2's layout (ByteLevel with its own regex, tiktoken's r50k pattern) converts too."""
    from tokenizers import decoders, models

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(real_texts(), trainers.BpeTrainer(vocab_size=1500, special_tokens=SPECIAL_TOKENS,
                            show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    (enc, _), ref = convert(tmp_path / "tokenizer.json"), reference(tmp_path / "tokenizer.json")
    for t in real_texts():
        assert enc.encode_ordinary(t) == ref.encode(t, add_special_tokens=False).ids


def hand_made(path: Path, merges: list[tuple[str, str]], new: list[str]) -> Path:
    vocab = {s: i for i, s in enumerate(SPECIAL_TOKENS)}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    for t in new:
        vocab[t] = len(vocab)
    new_tokenizer(vocab, merges).save(str(path))
    return path


def test_a_token_bpe_never_makes_is_left_out(tmp_path: Path) -> None:
    """b+c merges first, so tokenizers makes [a, bc] of "abc" although abc = ab+c is a token: a naive
    conversion (every token a rank) takes the piece "abc" whole; convert leaves abc out and agrees."""
    path = hand_made(tmp_path / "tokenizer.json", [("b", "c"), ("a", "b"), ("ab", "c")], ["bc", "ab", "abc"])
    ref = reference(path)
    byte_of = {c: b for b, c in encoder.bytes_to_unicode().items()}
    naive = tiktoken.Encoding("naive", pat_str=encoder.GPT2_PATTERN, mergeable_ranks={
        bytes(byte_of[c] for c in s): i for s, i in ref.get_vocab().items() if s not in SPECIAL_TOKENS}, special_tokens={})
    enc, left_out = convert(path)
    for text in ("abc", "xabcx abcabc", " abc", "ab c bc"):
        assert enc.encode_ordinary(text) == ref.encode(text, add_special_tokens=False).ids
    assert ref.encode("abc", add_special_tokens=False).tokens == ["a", "bc"]
    assert naive.encode_ordinary("abc") == [ref.token_to_id("abc")]         # why the check exists
    assert left_out == 1 + len(SPECIAL_TOKENS)           # abc, and the special tokens' text (a plain vocab entry here)


def test_merge_order_against_ids_is_refused(tmp_path: Path) -> None:
    path = hand_made(tmp_path / "tokenizer.json", [("a", "b"), ("t", "h")], ["th", "ab"])
    with pytest.raises(NotExpressible, match="merge order and token ids disagree"):
        convert(path)


def test_pre_tokenizer_tiktoken_cannot_run_is_refused_with_reason(tmp_path: Path, caplog) -> None:
    """StarCoder's layout (Digits then ByteLevel) has no single regex here: packing says so and uses tokenizers."""
    tok = new_tokenizer()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.train_from_iterator(real_texts()[:50], trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL_TOKENS,
                            show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(tmp_path / "tokenizer.json"))
    with caplog.at_level(logging.WARNING, logger="thresher"):
        c = choose(tmp_path / "tokenizer.json", reference(tmp_path / "tokenizer.json"))
    assert c.name == "tokenizers" and "Digits + ByteLevel" in c.reason
    assert "packing with tokenizers" in caplog.text and "Digits + ByteLevel" in caplog.text


def test_normalizer_and_added_tokens_are_refused(tmp_path: Path, trained: Path) -> None:
    from tokenizers import AddedToken, normalizers

    tok = Tokenizer.from_file(str(trained))
    tok.normalizer = normalizers.NFKC()
    tok.save(str(tmp_path / "nfkc.json"))
    with pytest.raises(NotExpressible, match="normalizer"):
        convert(tmp_path / "nfkc.json")
    tok = Tokenizer.from_file(str(trained))
    tok.add_tokens([AddedToken("<user>", special=False)])
    tok.save(str(tmp_path / "added.json"))
    with pytest.raises(NotExpressible, match="not special"):
        convert(tmp_path / "added.json")


def test_probe_catches_a_regex_that_differs(trained: Path, tmp_path: Path) -> None:
    """The start-up probe compares ids: an Encoding whose regex does not split digits differs on the probe."""
    ref = reference(trained)
    good, _ = convert(trained)
    assert encoder.probe(ref, good) is None
    bad = tiktoken.Encoding("bad", pat_str=encoder.GPT2_PATTERN, mergeable_ranks=good._mergeable_ranks,
                            special_tokens=good._special_tokens)
    diff = encoder.probe(ref, bad)
    assert diff is not None and "differs at token" in diff


def build(out: Path) -> Path:
    docs = out.parent / f"{out.name}.jsonl"
    with open(docs, "w", encoding="utf-8") as f:
        for i, t in enumerate(real_texts()):
            f.write(json.dumps({"id": f"d{i}", "text": t}) + "\n")
    cfg = PipelineConfig(name="enc", input=[InputConfig(path=str(docs), format="jsonl", shard_mb=0.3)], steps=[],
                         output=OutputConfig(path=str(out)))
    return thresher.run(cfg, workers=1, progress=False, overwrite=True)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_shards_byte_identical_with_either_encoder(trained: Path, tmp_path: Path, monkeypatch) -> None:
    fast = build(tmp_path / "fast")
    slow = tmp_path / "slow"
    shutil.copytree(fast, slow)
    sec = tokenize(fast, trained, workers=2, progress=False, valid_fraction=0.1)
    assert sec["encoder"]["name"] == "tiktoken" and set(sec["encoder"]["shards"]) == {"tiktoken"}
    assert sum(sec["documents"].values()) == len(real_texts()) and len(sec["files"]) > 6     # several data shards

    def hf_only(path, tok):
        return encoder.Choice("tokenizers", "test", "forced by the test")
    monkeypatch.setattr(pack, "choose", hf_only)
    pack._ENCODERS.clear()
    sec2 = tokenize(slow, trained, workers=1, progress=False, valid_fraction=0.1)
    assert sec2["encoder"] == {"name": "tokenizers", "version": "test", "reason": "forced by the test",
                               "shards": {"tokenizers": sec2["encoder"]["shards"]["tokenizers"]}}
    assert tree(fast / "tokens") == tree(slow / "tokens")        # token shards, index, fertility figure
    m, m2 = (json.loads((r / "manifest.json").read_text())["tokens"] for r in (fast, slow))
    assert m["encoder"]["name"] == "tiktoken" and m["encoder"]["version"] == tiktoken.__version__
    assert {k: v for k, v in m.items() if k != "encoder"} == {k: v for k, v in m2.items() if k != "encoder"}


def test_byte_map_is_byte_levels() -> None:
    """The byte -> character map the conversion decodes tokens with is the one ByteLevel spells text with."""
    fwd = encoder.bytes_to_unicode()
    assert len(set(fwd.values())) == 256 and set(fwd.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    bl = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    text = "".join(map(chr, range(0x800))) + "\u0800\uffff\U00010000\U0010ffff 한국어 👩‍👩‍👧"
    (spelt, _), = bl.pre_tokenize_str(text)
    assert spelt == "".join(fwd[b] for b in text.encode("utf-8"))

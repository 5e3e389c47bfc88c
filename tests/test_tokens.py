"""Tokenizer training, the fertility report and token shards, on real multilingual fixtures.

The ``.bin``/``.idx`` pair is read back by a reader written here from Megatron-LM's format
description (not thresher's reader), and compared with encoding the texts directly."""
from __future__ import annotations

import hashlib
import json
import math
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import xxhash
from tokenizers import Tokenizer

import thresher
from thresher import Annotator, Document
from thresher.config import InputConfig, OutputConfig, PipelineConfig
from thresher.tokens import paths
from thresher.tokens.pack import SPLIT_SEED, tokenize
from thresher.tokens.report import fertility_report, measure, udhr_texts, write_report, HFTokenizer
from thresher.tokens.train import (SPECIAL_TOKENS, Sample, TokenizerConfig, copies, new_tokenizer, sampling_rates,
                                   train)

FIX = Path(__file__).parent / "fixtures"
INPUTS = [FIX / "card" / "multilingual.jsonl", FIX / "io" / "lingua.jsonl", FIX / "web" / "udhr_paragraphs.jsonl"]
CLI = [sys.executable, "-c", "from thresher.cli import main; main()"]


class GoldLanguage(Annotator):
    """The fixtures' gold language label as ``meta.language``."""

    name = "gold_language"

    def annotate(self, doc: Document) -> None:
        f = doc.source.get("fields", {})
        lang = f.get("gold_language") or f.get("lang") or f.get("language")
        if lang:
            doc.meta["language"] = lang

    def __repr__(self) -> str:
        return "GoldLanguage()"


def build_release(out: Path) -> Path:
    cfg = PipelineConfig(name="tok-fixture", input=[InputConfig(path=str(p), format="jsonl") for p in INPUTS],
                         steps=[GoldLanguage()], output=OutputConfig(path=str(out)))
    return thresher.run(cfg, workers=1, progress=False, overwrite=True)


def fixture_texts() -> list[str]:
    texts = []
    for p in INPUTS + [FIX / "web" / "lingua_sentences.jsonl"]:
        texts += [json.loads(line)["text"] for line in p.read_text(encoding="utf-8").splitlines()]
    return texts


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return build_release(tmp_path_factory.mktemp("tok") / "rel")


@pytest.fixture(scope="module")
def tok_dir(release: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tokenizer")
    train(release, out, TokenizerConfig(vocab=1200), report=False)
    return out


@pytest.fixture(scope="module")
def packed(release: Path, tok_dir: Path, tmp_path_factory) -> Path:
    rel = tmp_path_factory.mktemp("packed") / "rel"
    shutil.copytree(release, rel)
    tokenize(rel, tok_dir / "tokenizer.json", workers=1, progress=False, valid_fraction=0.1)
    return rel


# ---------------------------------------------------------------- training

def test_round_trip_on_every_script(tok_dir: Path) -> None:
    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    texts = fixture_texts() + list(udhr_texts().values()) + [
        "tabs\tand\r\nCRLF  double  spaces \u00a0nbsp", "emoji 👩‍👩‍👧 ZWJ and 🇫🇷 flags", "digits 1234567890 ١٢٣ ४५६",
        "a literal <|endoftext|> in a web page", "combining e\u0301 vs \u00e9, Hangul 한국어, Thai ภาษาไทย", "\x00\x1f control"]
    scripts = set()
    for t in texts:
        ids = tok.encode(t, add_special_tokens=False).ids
        assert tok.decode(ids, skip_special_tokens=False) == t
        scripts.update(ord(c) >> 8 for c in t)
    assert len(scripts) > 20        # Latin, Arabic, Devanagari, Bengali, Tamil, CJK, Hangul, Thai, Ethiopic ...


def test_special_tokens_and_transformers_load(tok_dir: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    assert [tok.token_to_id(s) for s in SPECIAL_TOKENS] == list(range(6))
    assert SPECIAL_TOKENS[:5] == ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>"]
    hf = PreTrainedTokenizerFast(tokenizer_file=str(tok_dir / "tokenizer.json"), eos_token="<|endoftext|>",
                                 pad_token="<pad>")
    text = "Toute personne a droit à l'éducation. 人人有受教育的权利 12345"
    assert hf(text)["input_ids"] == tok.encode(text).ids
    assert hf.decode(hf(text)["input_ids"]) == text
    assert (hf.eos_token_id, hf.pad_token_id) == (0, 5)
    # digits are split one by one
    assert [tok.decode([i]) for i in tok.encode("2024", add_special_tokens=False).ids] == ["2", "0", "2", "4"]


def test_training_is_deterministic(release: Path, tok_dir: Path, tmp_path: Path) -> None:
    train(release, tmp_path, TokenizerConfig(vocab=1200), report=False)
    assert (tmp_path / "tokenizer.json").read_bytes() == (tok_dir / "tokenizer.json").read_bytes()
    rec = json.loads((tmp_path / "training.json").read_text())
    assert rec["vocab_size"] == 1200 and rec["options"]["alpha"] == 0.3


def test_language_weighted_sampling(release: Path) -> None:
    # p_l ∝ n_l^alpha, hand-computed for two languages
    rates = sampling_rates({"big": 10_000, "small": 100}, alpha=0.5, sample_bytes=None)
    z = 100 + 10
    assert math.isclose(rates["big"] * 10_000, 10_100 * 100 / z)
    assert math.isclose(rates["small"] * 100, 10_100 * 10 / z)
    assert rates["small"] > 1 > rates["big"]                 # the small language is upsampled
    # the coin depends on (seed, id) only: floor(rate) copies, plus one with probability frac(rate)
    assert copies(0, "doc-1", 2.0) == 2 and copies(0, "doc-1", 0.0) == 0
    ids = [f"d{i}" for i in range(20000)]
    share = sum(copies(7, i, 0.25) for i in ids) / len(ids)
    assert abs(share - 0.25) < 0.015
    assert [copies(7, i, 1.5) for i in ids[:50]] == [copies(7, i, 1.5) for i in reversed(ids[:50])][::-1]
    # a real sample: every language in the release is present, shares closer to uniform than the release's
    s = Sample(release, TokenizerConfig(alpha=0.3))
    texts = [t for b in s.batches() for t in b]
    assert sum(s.docs.values()) == len(texts)
    rel_share = {k: v / sum(s.lang_bytes.values()) for k, v in s.lang_bytes.items()}
    smp_share = {k: v / sum(s.bytes.values()) for k, v in s.bytes.items()}
    big, small = max(rel_share, key=rel_share.get), min(rel_share, key=rel_share.get)
    assert set(smp_share) == set(rel_share)
    assert smp_share[big] < rel_share[big] and smp_share[small] > rel_share[small]


def test_tokenizer_section_from_yaml(tmp_path: Path) -> None:
    from thresher.errors import ConfigError
    from thresher.tokens.train import load_tokenizer_config

    p = tmp_path / "tok.yaml"
    p.write_text("tokenizer:\n  vocab: 4096\n  alpha: 0.5\n")
    cfg = load_tokenizer_config(p)
    assert (cfg.vocab, cfg.alpha, cfg.min_frequency) == (4096, 0.5, 2)
    p.write_text("tokenizer:\n  vocab: 10\n")
    with pytest.raises(ConfigError, match="vocab"):
        load_tokenizer_config(p)


# ---------------------------------------------------------------- fertility and parity

def tiny_tokenizer(path: Path) -> Path:
    """The byte alphabet plus three merges: t+h, th+e, Ġ+the (Ġ is byte-level's space)."""
    from tokenizers import pre_tokenizers

    vocab = {s: i for i, s in enumerate(SPECIAL_TOKENS)}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    for t in ("th", "the", "Ġthe"):
        vocab[t] = len(vocab)
    tok = new_tokenizer(vocab, [("t", "h"), ("th", "e"), ("Ġ", "the")])
    tok.save(str(path))
    return path


def test_fertility_and_parity_by_hand(tmp_path: Path) -> None:
    tok = tiny_tokenizer(tmp_path / "tokenizer.json")
    texts = {"eng": "the cat the dog", "fra": "le chat", "cmn_hans": "猫狗", "amh": "ሰው፡ልጅ"}
    rep = fertility_report(tok, texts)
    eng, fra, cmn, amh = (rep["languages"][k]["thresher"] for k in ("eng", "fra", "cmn_hans", "amh"))
    # eng: the | Ġ c a t | Ġthe | Ġ d o g = 10 tokens, 4 words; " cat" and " dog" are continued
    assert (eng["tokens"], eng["units"], eng["fertility"], eng["continued"]) == (10, 4, 2.5, 0.5)
    assert eng["bytes_per_token"] == 1.5 and eng["parity"] == 1.0
    # fra: l e | Ġ c h a t = 7 tokens, 2 words, both continued; parity 7/10
    assert (fra["tokens"], fra["fertility"], fra["continued"], fra["parity"]) == (7, 3.5, 1.0, 0.7)
    # cmn: written without spaces, per character: 2 chars, 6 UTF-8 bytes = 6 tokens
    assert (cmn["unit"], cmn["units"], cmn["tokens"], cmn["fertility"], cmn["parity"]) == ("char", 2, 6, 3.0, 0.6)
    # amh: the Ethiopic word space ፡ separates words: 2 words; 2+1+2 chars x 3 UTF-8 bytes = 15 tokens
    assert (amh["units"], amh["tokens"], amh["fertility"]) == (2, 15, 7.5)
    files = write_report(rep, tmp_path / "rep")
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(files["json"].read_text())["languages"]["fra"]["thresher"]["parity"] == 0.7


def test_report_with_shipped_comparison_tokenizers(tok_dir: Path) -> None:
    import sentencepiece as spm
    from thresher.tokens.report import _mistral_data

    texts = {k: v for k, v in udhr_texts().items() if k in ("eng", "hin", "cmn_hans")}
    rep = fertility_report(tok_dir / "tokenizer.json", texts, ["mistral-v1", "tekken"])
    assert rep["tokenizers"] == ["thresher", "mistral-v1", "tekken"]
    sp = spm.SentencePieceProcessor(model_file=str(_mistral_data("tokenizer.model.v1")))
    words = texts["eng"].split()
    m = rep["languages"]["eng"]["mistral-v1"]
    assert m["tokens"] == len(sp.encode(texts["eng"])) and m["fertility"] == m["tokens"] / len(words)
    assert sp.get_piece_size() == 32000
    for name in rep["tokenizers"]:
        assert rep["languages"]["eng"][name]["parity"] == 1.0
        assert rep["languages"]["hin"][name]["parity"] > 1.0          # Hindi costs more than English everywhere
    # the big multilingual vocabulary is cheaper per English word than a 1,200-token one
    assert rep["languages"]["eng"]["tekken"]["fertility"] < rep["languages"]["eng"]["thresher"]["fertility"]


def test_udhr_package_data_is_parallel() -> None:
    texts = udhr_texts()
    assert len(texts) >= 30 and "eng" in texts
    tok = HFTokenizer.__new__(HFTokenizer)      # measure() needs only counts: a character counter
    tok.count = len
    tok.word_counts = lambda ws: [len(w) for w in ws]
    m = measure(tok, "eng", texts["eng"])
    assert 1500 < m["units"] < 2000          # the declaration's ~1,770 English words


# ---------------------------------------------------------------- token shards

def read_megatron(prefix: Path) -> tuple[np.ndarray, list[np.ndarray]]:
    """Independent reader from the format description: 9-byte magic, <Q version, <B dtype code, <Q
    sequence count, <Q document count, int32 lengths, int64 byte pointers, int64 document indices."""
    raw = (prefix.parent / (prefix.name + ".idx")).read_bytes()
    assert raw[:9] == b"MMIDIDX\x00\x00"
    version, = struct.unpack_from("<Q", raw, 9)
    code, = struct.unpack_from("<B", raw, 17)
    n_seq, n_doc = struct.unpack_from("<QQ", raw, 18)
    assert version == 1 and code == 8          # 8: uint16
    assert len(raw) == 34 + 4 * n_seq + 8 * n_seq + 8 * n_doc
    lengths = struct.unpack_from(f"<{n_seq}i", raw, 34)
    pointers = struct.unpack_from(f"<{n_seq}q", raw, 34 + 4 * n_seq)
    doc_idx = struct.unpack_from(f"<{n_doc}q", raw, 34 + 12 * n_seq)
    assert list(doc_idx) == list(range(n_seq + 1))       # one document per sequence
    data = (prefix.parent / (prefix.name + ".bin")).read_bytes()
    assert len(data) == 2 * sum(lengths)
    pos = 0
    seqs = []
    for n, p in zip(lengths, pointers):
        assert p == pos
        seqs.append(np.array(struct.unpack_from(f"<{n}H", data, p)))
        pos += 2 * n
    return np.array(lengths), seqs


def test_shards_read_back_equal_direct_encoding(packed: Path, tok_dir: Path) -> None:
    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    tok.encode_special_tokens = True
    index = pq.read_table(paths.index_file(packed)).to_pylist()
    assert list(index[0]) == ["id", "split", "shard", "seq", "n_tokens", "n_bytes"]
    texts = {}
    for f in sorted((packed / "data").glob("*.parquet")):
        t = pq.read_table(f, columns=["id", "text"])
        texts.update(zip(t["id"].to_pylist(), t["text"].to_pylist()))
    assert len(index) == len(texts)
    seen = 0
    for split in ("train", "valid"):
        for shard in sorted({r["shard"] for r in index}):
            rows = sorted((r for r in index if r["split"] == split and r["shard"] == shard), key=lambda r: r["seq"])
            lengths, seqs = read_megatron(packed / "tokens" / split / f"part-{shard:05d}")
            assert [r["seq"] for r in rows] == list(range(len(seqs)))
            for r, s in zip(rows, seqs):
                text = texts[r["id"]]
                assert s.tolist() == tok.encode(text, add_special_tokens=False).ids + [0]
                assert r["n_tokens"] == len(s) and r["n_bytes"] == len(text.encode("utf-8"))
                valid = xxhash.xxh64_intdigest(r["id"].encode(), seed=SPLIT_SEED) < 0.1 * 2**64
                assert r["split"] == ("valid" if valid else "train")
                seen += 1
    assert seen == len(texts)
    assert 0 < sum(r["split"] == "valid" for r in index) < len(index) / 4
    m = json.loads((packed / "manifest.json").read_text())["tokens"]
    assert m["tokenizer"]["sha256"] == hashlib.sha256((tok_dir / "tokenizer.json").read_bytes()).hexdigest()
    for rel, info in m["files"].items():
        assert hashlib.sha256((packed / rel).read_bytes()).hexdigest() == info["sha256"]
    assert sum(m["tokens"].values()) == sum(r["n_tokens"] for r in index)
    assert m["languages"]["fra"]["docs"] >= 1


def test_literal_special_token_text_stays_text(tmp_path: Path, tok_dir: Path) -> None:
    from thresher.tokens.indexed import IndexedDataset

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "x", "text": "a page quoting <|endoftext|> and <fim_prefix>"}) + "\n")
    cfg = PipelineConfig(name="lit", input=[InputConfig(path=str(src), format="jsonl")], steps=[],
                         output=OutputConfig(path=str(tmp_path / "rel")))
    rel = thresher.run(cfg, workers=1, progress=False)
    tokenize(rel, tok_dir / "tokenizer.json", workers=1, progress=False)
    ds = IndexedDataset(rel / "tokens" / "train" / "part-00000")
    assert ds[0].tolist().count(0) == 1 and ds[0][-1] == 0          # only the appended end of document
    tok = Tokenizer.from_file(str(tok_dir / "tokenizer.json"))
    assert tok.decode(ds[0][:-1].tolist()) == "a page quoting <|endoftext|> and <fim_prefix>"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_one_and_two_workers_byte_identical_and_resume(release: Path, tok_dir: Path, packed: Path, tmp_path: Path) -> None:
    two = tmp_path / "two"
    shutil.copytree(release, two)
    tokenize(two, tok_dir / "tokenizer.json", workers=2, progress=False, valid_fraction=0.1)
    assert tree(two / "tokens") == tree(packed / "tokens")
    # equal but for the signature: the copies sit in two projects, each with its own custodian key
    m1, m2 = ({k: v for k, v in json.loads((p / "manifest.json").read_text()).items() if k not in ("signing", "signature")}
              for p in (packed, two))
    assert m1 == m2
    # resume: one shard's files and marker gone (a crash), another shard's marker kept: only it is redone
    for f in paths.shard_files(two, "train", 1):
        f.unlink()
    paths.marker_file(two, 1).unlink()
    done0 = paths.marker_file(two, 0).stat().st_mtime_ns
    m = json.loads((two / "manifest.json").read_text())
    m.pop("tokens")
    (two / "manifest.json").write_text(json.dumps(m))
    tokenize(two, tok_dir / "tokenizer.json", workers=2, progress=False, valid_fraction=0.1)
    assert paths.marker_file(two, 0).stat().st_mtime_ns == done0
    assert tree(two / "tokens") == tree(packed / "tokens")


@pytest.mark.slow
def test_cli_tokenizer_and_tokenize(release: Path, tmp_path: Path) -> None:
    rel = tmp_path / "rel"
    shutil.copytree(release, rel)
    tok = tmp_path / "tok"
    r = subprocess.run(CLI + ["tokenizer", "train", str(rel), "-o", str(tok), "--vocab", "800", "--no-report"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Tokenizer written" in r.stdout and (tok / "tokenizer_card.md").exists()
    r = subprocess.run(CLI + ["tokenize", str(rel), "-t", str(tok / "tokenizer.json"), "-w", "2"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "Tokens written" in r.stdout and "encoder: tiktoken" in r.stdout
    r = subprocess.run(CLI + ["verify", str(rel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(CLI + ["tokenize", str(rel), "-t", str(tmp_path / "nope.json")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip() == f"Error: {tmp_path / 'nope.json'}: tokenizer file not found"
    r = subprocess.run(CLI + ["tokenizer", "report", str(tok / "tokenizer.json"), "--compare", "none",
                              "-o", str(tmp_path / "rep")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "rep" / "fertility.json").read_text())
    assert len(rep["languages"]) >= 30 and rep["reference"] == "eng"


# ---------------------------------------------------------------- governance

def test_forget_removes_exactly_the_removed_token_ranges(packed: Path, tmp_path: Path) -> None:
    from thresher.governance.forget import forget
    from thresher.governance.ledger import Ledger
    from thresher.governance.verify import verify
    from thresher.errors import ReleaseError

    project = tmp_path / "project"
    v1 = project / "corpus"
    shutil.copytree(packed, v1)
    index = pq.read_table(paths.index_file(v1)).to_pylist()
    texts = {}
    for f in sorted((v1 / "data").glob("*.parquet")):
        t = pq.read_table(f, columns=["id", "text"])
        texts.update(zip(t["id"].to_pylist(), t["text"].to_pylist()))
    train0 = [r for r in index if r["split"] == "train" and r["shard"] == 0]
    valid = [r for r in index if r["split"] == "valid"]
    victims = [train0[3], train0[len(train0) // 2], valid[0]]
    ledger = Ledger(project)
    for r in victims:
        req = ledger.add("content_hash", hashlib.sha256(texts[r["id"]].encode()).hexdigest())
        ledger.approve(req, by="steward")             # only approved requests are applied
    res = forget(project, workers=1)
    v2 = project / "corpus@v2"
    assert res["versions"] == [v2]
    gone = {r["id"] for r in victims}
    touched = {("train", 0), ("valid", valid[0]["shard"])}
    for split in ("train", "valid"):
        for shard in sorted({r["shard"] for r in index}):
            old_len, old = read_megatron(v1 / "tokens" / split / f"part-{shard:05d}")
            new_len, new = read_megatron(v2 / "tokens" / split / f"part-{shard:05d}")
            rows = sorted((r for r in index if r["split"] == split and r["shard"] == shard), key=lambda r: r["seq"])
            expect = [s.tolist() for r, s in zip(rows, old) if r["id"] not in gone]
            assert [s.tolist() for s in new] == expect
            same_inode = (v1 / "tokens" / split / f"part-{shard:05d}.bin").stat().st_ino == \
                (v2 / "tokens" / split / f"part-{shard:05d}.bin").stat().st_ino
            assert same_inode == ((split, shard) not in touched)     # only the shards holding them are rewritten
    new_index = pq.read_table(paths.index_file(v2)).to_pylist()
    assert {r["id"] for r in new_index} == {r["id"] for r in index} - gone
    assert len(new_index) == len(index) - 3
    m = json.loads((v2 / "manifest.json").read_text())["tokens"]
    assert sum(m["documents"].values()) == len(new_index)
    assert sum(m["tokens"].values()) == sum(r["n_tokens"] for r in index) - sum(r["n_tokens"] for r in victims)
    receipts = res["receipts"]
    assert len(receipts) == 3
    for rp in receipts:
        body = json.loads(Path(rp).read_text())
        part = body["releases"][0]["parts"]["tokens"]
        assert len(part["removed"]) == 1 and part["removed"][0]["id"] in gone
        r = next(x for x in victims if x["id"] == part["removed"][0]["id"])
        assert {k: part["removed"][0][k] for k in ("split", "shard", "seq", "n_tokens")} == \
            {k: r[k] for k in ("split", "shard", "seq", "n_tokens")}
        out = verify(v2, rp)
        assert out["parts"]["tokens"]["documents"] == len(new_index)
    # a token file that no longer matches is named; so is a document left in the tokens
    f = v2 / "tokens" / "train" / "part-00000.bin"
    data = bytearray(f.read_bytes())
    data[0] ^= 1
    f.unlink()
    f.write_bytes(bytes(data))
    with pytest.raises(ReleaseError, match="tokens/train/part-00000.bin does not match"):
        verify(v2)
    from thresher.tokens.governance import verify as verify_tokens

    m1 = json.loads((v1 / "manifest.json").read_text())
    with pytest.raises(ReleaseError, match="tokens/index.parquet lacks not-in-tokens"):
        verify_tokens(v1, m1, set(texts) | {"not-in-tokens"}, None)
    with pytest.raises(ReleaseError, match=f"tokens/index.parquet holds {victims[0]['id']}, which the release does not"):
        verify_tokens(v1, m1, set(texts) - {victims[0]["id"]}, None)


def test_card_tokenization_section(packed: Path, tmp_path: Path) -> None:
    from thresher.card import write_card

    rel = tmp_path / "rel"
    shutil.copytree(packed, rel)
    card = write_card(rel).read_text(encoding="utf-8")
    m = json.loads((rel / "manifest.json").read_text())["tokens"]
    sec = card.split("## Tokenization", 1)[1]
    assert f"| train | {m['documents']['train']:,} | {m['tokens']['train']:,} |" in sec
    fra = m["languages"]["fra"]
    assert f"| fra | {fra['docs']:,} | {fra['tokens']:,} | {fra['bytes'] / fra['tokens']:.2f} |" in sec
    hin = m["fertility"]["languages"]["hin"]
    assert f"| hin | word | {hin['fertility']:.2f} |" in sec and "../tokens/fertility.png" in sec
    assert (rel / "tokens" / "fertility.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_on_a_release_text_per_language(release: Path, tok_dir: Path) -> None:
    from thresher.tokens.report import release_texts

    texts = release_texts(release, max_bytes=3000)
    assert {"fra", "fr", "hi", "zh", "yo"} <= set(texts)
    rep = fertility_report(tok_dir / "tokenizer.json", texts, parallel=False)
    assert rep["reference"] is None and all(v["thresher"]["parity"] is None for v in rep["languages"].values())
    zh, fr = rep["languages"]["zh"]["thresher"], rep["languages"]["fr"]["thresher"]
    assert zh["unit"] == "char" and zh["units"] == sum(1 for c in texts["zh"] if not c.isspace())
    assert fr["unit"] == "word" and fr["units"] == len(texts["fr"].split())
    assert zh == dict(measure(HFTokenizer(tok_dir / "tokenizer.json"), "cmn_hans", texts["zh"]), parity=None)

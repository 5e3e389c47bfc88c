"""Bits per byte: a fixed tiny model on fixed text equals the hand computation; windows score every
token once; release validation splits; the CLI."""
import gzip
import os
import subprocess
import sys
from pathlib import Path
import lzma
import math

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

import thresher
from thresher.config import InputConfig, OutputConfig, PipelineConfig
from thresher.eval.bpb import bits_per_byte, compressed_bpb, windows
from thresher.eval.data import load_eval_docs
from thresher.eval.models import load_model

TEXT = ("The quick brown fox jumps over the lazy dog. Über den Wolken muss die Freiheit wohl grenzenlos sein. "
        "def f(x):\n    return x * 2\n")


def _make_model(path, zero=False):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([TEXT] * 5, trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
    torch.manual_seed(1234)
    cfg = GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=16, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=0, eos_token_id=0)
    m = GPT2LMHeadModel(cfg)
    if zero:
        with torch.no_grad():
            for p in m.parameters():
                p.zero_()
    m.save_pretrained(path)
    fast.save_pretrained(path)
    return m.eval(), fast


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models on a shared 2-core machine: one torch thread is ~50x faster than two contending."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-gpt2")
    m, tok = _make_model(path)
    return path, m, tok


def _docs(tmp_path, texts, **extra):
    f = tmp_path / "docs.jsonl"
    f.write_bytes(b"".join(orjson.dumps({"text": t, **extra}) + b"\n" for t in texts))
    return load_eval_docs(f)[0]


@pytest.mark.parametrize("n,ctx,stride", [(1, 4, 2), (2, 4, 2), (9, 4, 2), (9, 4, 3), (10, 4, 1), (30, 8, 7), (5, 16, 8)])
def test_windows_score_every_token_once_with_enough_context(n, ctx, stride):
    targets = []
    for i, (b, e, f) in enumerate(windows(n, ctx, stride)):
        assert e - b <= ctx and b < f <= e
        if i:
            assert f - b >= ctx - stride or e == n     # each later window keeps ctx - stride of context
        targets += range(f, e)
    assert targets == list(range(1, n))


def test_uniform_model_is_log2_vocab_per_token(tmp_path):
    """All-zero weights give uniform next-token probabilities: bpb = tokens x log2(V) / bytes, by hand."""
    _, tok = _make_model(tmp_path / "zero", zero=True)
    lm = load_model(f"hf:{tmp_path / 'zero'}")
    docs = _docs(tmp_path, [TEXT, "ok"])
    rep = bits_per_byte(lm, docs, stride=5)
    n_tok = len(tok(TEXT)["input_ids"]) + len(tok("ok")["input_ids"])
    n_bytes = len(TEXT.encode()) + 2
    assert rep["overall"]["tokens"] == n_tok
    assert rep["overall"]["bits_per_byte"] == pytest.approx(n_tok * math.log2(len(tok)) / n_bytes, rel=1e-6)   # float32 softmax


def test_random_model_equals_hand_computation(tiny, tmp_path):
    """Every token's log-probability computed one at a time from the context its window gives it."""
    path, m, tok = tiny
    lm = load_model(f"hf:{path}")
    assert lm.context == 16
    docs = _docs(tmp_path, [TEXT, "short text", "x"])
    ctx, stride = 16, 6
    rep = bits_per_byte(lm, docs, stride=stride)
    total_nats, total_bytes = 0.0, 0
    for text in (TEXT, "short text", "x"):
        seq = [0] + tok(text)["input_ids"]
        total_bytes += len(text.encode())
        for i in range(1, len(seq)):
            k = 0          # the first window whose end passes target i
            while min(k * stride + ctx, len(seq)) <= i:
                k += 1
            ctx_ids = seq[k * stride:i]
            with torch.no_grad():
                logits = m(torch.tensor([ctx_ids])).logits[0, -1].double()
            total_nats -= float(torch.log_softmax(logits, -1)[seq[i]])
    assert rep["overall"]["bits_per_byte"] == pytest.approx(total_nats / (math.log(2) * total_bytes), rel=1e-6)
    # a document that fits one window: the plain full-sequence likelihood
    seq = [0] + tok("short text")["input_ids"]
    with torch.no_grad():
        lp = torch.log_softmax(m(torch.tensor([seq])).logits[0].double(), -1)
    nats = -sum(float(lp[j, seq[j + 1]]) for j in range(len(seq) - 1))
    short = bits_per_byte(lm, _docs(tmp_path, ["short text"]))
    assert short["overall"]["bits_per_byte"] == pytest.approx(nats / (math.log(2) * 10), rel=1e-6)


def test_compressors_beside_each_figure(tiny, tmp_path):
    path, _, _ = tiny
    texts = [TEXT * 3, "Zweiter Text auf Deutsch, etwas länger als nötig."]
    docs = _docs(tmp_path, texts, language="mixed")
    rep = bits_per_byte(load_model(f"hf:{path}"), docs)
    blob = "".join(texts).encode()
    assert rep["overall"]["xz-9"] == pytest.approx(8 * len(lzma.compress(blob, preset=9)) / len(blob))
    assert rep["overall"]["gzip-9"] == pytest.approx(8 * len(gzip.compress(blob, 9, mtime=0)) / len(blob))
    assert set(rep["languages"]) == {"mixed"} and rep["languages"]["mixed"]["bytes"] == len(blob)
    assert compressed_bpb([b"abc" * 10000])["zstd-19"] < 0.1


def test_release_validation_split_per_language_and_source(tiny, tmp_path, fixtures):
    cfg = PipelineConfig(name="bpb", input=[InputConfig(path=str(fixtures / "io" / "lingua.jsonl"), format="jsonl")],
                         steps=[], output=OutputConfig(path=str(tmp_path / "rel")))
    rel = thresher.run(cfg, workers=1, progress=False, overwrite=True)
    ids = pq.read_table(rel / "data", columns=["id"])["id"].to_pylist()
    with pytest.raises(thresher.InputError, match="tokens/index.parquet"):
        load_eval_docs(rel)
    valid = set(ids[::10])
    (rel / "tokens").mkdir()
    pq.write_table(pa.table({"id": ids, "split": ["valid" if i in valid else "train" for i in ids],
                             "shard": [0] * len(ids), "seq": list(range(len(ids))), "n_tokens": [1] * len(ids),
                             "n_bytes": [1] * len(ids)}), rel / "tokens" / "index.parquet")
    docs, info = load_eval_docs(rel)
    assert {d.id for d in docs} == valid and info["split"] == "valid"
    assert len(load_eval_docs(rel, split="all")[0]) == len(ids)
    rep = bits_per_byte(load_model(f"hf:{tiny[0]}"), docs)
    langs = {d.language for d in docs}
    assert set(rep["languages"]) == langs and len(langs) > 3
    assert sum(g["documents"] for g in rep["languages"].values()) == len(valid) == rep["overall"]["documents"]
    assert list(rep["sources"]) == ["io/lingua.jsonl"]      # the input file, relative to the input root


def _cli(*args):
    exe = Path(sys.executable).parent / "thresher"          # the console script: it registers every command
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow          # three fresh processes, one loading torch and transformers
def test_cli_bpb_and_code_permission(tiny, tmp_path):
    f = tmp_path / "t.jsonl"
    f.write_bytes(orjson.dumps({"text": TEXT, "language": "en"}) + b"\n")
    r = _cli("eval", f"hf:{tiny[0]}", "--bpb", f, "-o", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    rep = orjson.loads((tmp_path / "out" / "bpb.json").read_bytes())
    assert rep["overall"]["documents"] == 1 and rep["energy"]["kwh"] >= 0 and "grid_intensity_g_per_kwh" in rep["energy"]
    assert "gzip -9" in r.stdout and "lang en" in r.stdout
    r = _cli("eval", "--code", "humaneval", "--generations", f, "-o", tmp_path / "o2")
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and "--allow-code-execution" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _cli("eval", "hf:" + str(tmp_path / "nope"), "--bpb", f)
    assert r.returncode == 1 and r.stderr.startswith("Error: ") and "config.json" in r.stderr


def test_generate_samples_resumes_and_executes(tiny, tmp_path):
    from thresher.eval.code import evaluate_samples, read_samples
    from thresher.eval.generate import generate_samples

    lm = load_model(f"hf:{tiny[0]}")
    out = tmp_path / "samples.jsonl"
    assert generate_samples(lm, "humaneval", out, n=2, temperature=0.8, max_new_tokens=8, limit=2) == 4
    with open(out, "ab") as f:
        f.write(b'{"task_id": "HumanEval/1", "compl')           # a crash mid-line
    assert generate_samples(lm, "humaneval", out, n=3, temperature=0.8, max_new_tokens=8, limit=2) == 2
    read = read_samples(out, "humaneval")
    assert [(s.task_id, s.sample) for s in read.samples][:3] == [("HumanEval/0", 0), ("HumanEval/0", 1), ("HumanEval/1", 0)]
    assert len(read.samples) == 6 and not read.skipped
    s = evaluate_samples(read.samples, "humaneval", tmp_path / "code.jsonl", ks=(1, 3))
    assert s["samples"] == 6 and s["pass@1"] == 0.0 and s["pass@3"] == 0.0     # random weights write no solution
    with pytest.raises(thresher.ConfigError, match="temperature"):
        generate_samples(lm, "humaneval", out, n=2, temperature=0.0)

"""Test helper: a tokenized release folder as `thresher tokenize` writes it, from real fixture text.

Trains a small byte-level BPE with `tokenizers` (the special tokens of the token-shard contract take ids
0-5), encodes every document with the end-of-document token appended, and writes Megatron indexed
shards (train in two shards, so windows cross a shard boundary) and ``tokens/index.parquet``.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from thresher.tokens.indexed import IndexedWriter, dtype_for_vocab

FIXTURES = Path(__file__).parent / "fixtures"
ENGLISH = [FIXTURES / "web" / "pages.jsonl", FIXTURES / "governance" / "clough_stevenson.jsonl"]
SPECIALS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<pad>"]


def read_texts(files=ENGLISH) -> list[tuple[str, str]]:
    out = []
    for f in files:
        opener = gzip.open if str(f).endswith(".gz") else open
        for i, line in enumerate(opener(f, "rt", encoding="utf-8")):
            rec = json.loads(line)
            out.append((str(rec.get("id", f"{Path(f).stem}-{i}")), rec["text"]))
    return out


def train_tokenizer(texts: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return tok


def build_token_release(root: Path, docs: list[tuple[str, str]] | None = None, vocab_size: int = 512,
                        valid_every: int = 10, train_shards: int = 2, tokenizer=None) -> Path:
    """Write ROOT/tokens/...; every `valid_every`-th document goes to the valid split. Returns ROOT.
    `tokenizer`: encode with this one (releases compared by an ablation share one) instead of training."""
    docs = read_texts() if docs is None else docs
    tok = tokenizer or train_tokenizer([t for _, t in docs], vocab_size)
    out = Path(root) / "tokens"
    (out / "train").mkdir(parents=True, exist_ok=True)
    (out / "valid").mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    eod = tok.token_to_id("<|endoftext|>")
    dtype = dtype_for_vocab(tok.get_vocab_size())
    valid = [d for i, d in enumerate(docs) if i % valid_every == valid_every - 1]
    train = [d for i, d in enumerate(docs) if i % valid_every != valid_every - 1]
    per = -(-len(train) // train_shards)
    rows = []
    for split, shards in (("train", [train[i:i + per] for i in range(0, len(train), per)]), ("valid", [valid])):
        for s, shard in enumerate(shards):
            with IndexedWriter(out / split / f"part-{s:05d}", dtype) as w:
                for seq, (doc_id, text) in enumerate(shard):
                    ids = tok.encode(text).ids + [eod]
                    w.add(ids)
                    rows.append({"id": doc_id, "split": split, "shard": s, "seq": seq, "n_tokens": len(ids),
                                 "n_bytes": len(text.encode("utf-8"))})
    pq.write_table(pa.Table.from_pylist(rows), out / "index.parquet")
    return Path(root)

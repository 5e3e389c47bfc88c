"""Train a byte-level BPE tokenizer on a release (Hugging Face ``tokenizers``' Rust trainer).

The tokenizer is lossless: no normaliser, a byte-level alphabet of all 256 bytes, so
``decode(encode(x)) == x`` for every UTF-8 text. Text is first split by a GPT-2-style regex that keeps
combining marks with their letters (Devanagari, Tamil ... vowel signs are ``\\p{M}``, which GPT-2's
regex cut off) and splits numbers into single digits (as StarCoder and LLaMA do). Special tokens take
the first ids, in StarCoder's order: ``<|endoftext|>`` (end of document) 0, ``<fim_prefix>`` 1,
``<fim_middle>`` 2, ``<fim_suffix>`` 3, ``<fim_pad>`` 4, then ``<pad>`` 5.

The training text is a language-weighted sample of the release, as BLOOM's and XLM-R's: language
``l`` with ``n_l`` UTF-8 bytes gets the share ``p_l = n_l^alpha / sum_k n_k^alpha`` of the sample
(alpha < 1 raises low-resource languages). A document is taken ``floor(r_l)`` times plus once more
with probability ``frac(r_l)``, where ``r_l = p_l * sample_bytes / n_l``; the coin is a hash of
(seed, document id), so the sample is the same whatever the order or the number of workers, is
streamed shard by shard (never the release in memory), and a document keeps its fate across
versions of the release.
"""
from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow.parquet as pq
import xxhash
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError, InputError
from ..io.writer import write_json
from ..paths import stats_path
from ..release import Release

SPECIAL_TOKENS = ["<|endoftext|>", "<fim_prefix>", "<fim_middle>", "<fim_suffix>", "<fim_pad>", "<pad>"]
EOD, PAD = 0, 5
# GPT-2's pre-tokenizer regex, with letters keeping their combining marks and digits split one by one
PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+"""
BATCH = 1000


class TokenizerConfig(BaseModel):
    """Options of ``thresher tokenizer train`` (the ``tokenizer:`` section of a YAML file)."""

    model_config = ConfigDict(extra="forbid")

    vocab: int = Field(32000, ge=300, le=1 << 20, description="vocabulary size, special tokens included")
    alpha: float = Field(0.3, gt=0, le=1, description="language sampling exponent: p_lang ∝ bytes_lang^alpha")
    sample_mb: float | None = Field(None, gt=0, description="size of the weighted sample (default: the release's size)")
    min_frequency: int = Field(2, ge=1, description="a pair seen fewer times is never merged")
    seed: int = Field(0, description="seed of the sampling coin")
    max_token_chars: int | None = Field(None, ge=1, description="longest token in characters (default: no limit)")


def load_tokenizer_config(path: str | Path) -> TokenizerConfig:
    """The ``tokenizer:`` section of a YAML file (a pipeline file or its own)."""
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        return TokenizerConfig(**(doc.get("tokenizer") or {}))
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{p}: tokenizer.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    except (yaml.YAMLError, TypeError, AttributeError) as e:
        raise ConfigError(f"{p}: bad tokenizer section ({str(e).splitlines()[0]})") from None


def new_tokenizer(vocab: dict[str, int] | None = None, merges: list | None = None):
    """An untrained (or given) byte-level BPE with thresher's pre-tokenizer, decoder and no normaliser."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    tok = Tokenizer(models.BPE(vocab, merges) if vocab is not None else models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def _doc_language(meta: str | None) -> str:
    if meta and '"language"' in meta:
        return str(orjson.loads(meta).get("language") or "unknown")
    return "unknown"


def language_bytes(release: Path) -> dict[str, int]:
    """UTF-8 bytes per ``meta.language`` of a release's kept documents (from stats.json when it has them)."""
    rel = Release(release)
    langs = rel.stats.languages if stats_path(release).exists() else {}
    if langs:
        return {k: int(v["bytes"]) for k, v in sorted(langs.items()) if v["bytes"] > 0}
    out: Counter = Counter()
    for f in rel.files("data"):
        for b in pq.ParquetFile(f).iter_batches(batch_size=8192, columns=["text", "meta"]):
            for t, m in zip(b.column("text").to_pylist(), b.column("meta").to_pylist()):
                out[_doc_language(m)] += len(t.encode("utf-8", "surrogatepass"))
    return dict(sorted(out.items()))


def sampling_rates(lang_bytes: dict[str, int], alpha: float, sample_bytes: float | None) -> dict[str, float]:
    """r_l: how many times (in expectation) each document of language l enters the sample."""
    total = sum(lang_bytes.values())
    if not total:
        return {}
    sample = float(sample_bytes) if sample_bytes else float(total)
    z = sum(n ** alpha for n in lang_bytes.values())
    return {lang: (n ** alpha / z) * sample / n for lang, n in lang_bytes.items()}


def copies(seed: int, doc_id: str, rate: float) -> int:
    """floor(rate), plus one with probability frac(rate): a coin from (seed, id) alone."""
    whole = math.floor(rate)
    u = xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed=seed & 0xFFFFFFFFFFFFFFFF) / 2.0**64
    return whole + (u < rate - whole)


class Sample:
    """The weighted training text of a release, streamed in batches; counts what it yielded."""

    def __init__(self, release: Path, cfg: TokenizerConfig):
        self.release = Path(release)
        self.cfg = cfg
        self.lang_bytes = language_bytes(self.release)
        self.rates = sampling_rates(self.lang_bytes, cfg.alpha, cfg.sample_mb * 1e6 if cfg.sample_mb else None)
        self.bytes: Counter = Counter()
        self.docs: Counter = Counter()

    def batches(self) -> Iterator[list[str]]:
        out: list[str] = []
        for f in Release(self.release).files("data"):
            for b in pq.ParquetFile(f).iter_batches(batch_size=BATCH, columns=["id", "text", "meta"]):
                for doc_id, text, meta in zip(b.column("id").to_pylist(), b.column("text").to_pylist(),
                                              b.column("meta").to_pylist()):
                    lang = _doc_language(meta)
                    k = copies(self.cfg.seed, doc_id, self.rates.get(lang, 0.0))
                    if not k:
                        continue
                    self.docs[lang] += k
                    self.bytes[lang] += k * len(text.encode("utf-8", "surrogatepass"))
                    out.extend([text] * k)
                    if len(out) >= BATCH:
                        yield out
                        out = []
        if out:
            yield out


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def train(release: str | Path, out_dir: str | Path, cfg: TokenizerConfig | None = None,
          progress: bool = False, report: bool = True) -> dict[str, Any]:
    """Train on the release; writes ``tokenizer.json``, ``tokenizer_card.md`` and ``training.json``
    into ``out_dir``. Returns the training record (also ``training.json``)."""
    from tokenizers import pre_tokenizers, trainers

    cfg = cfg or TokenizerConfig()
    release, out = Path(release), Path(out_dir)
    Release(release)                        # a release, or one Error line
    sample = Sample(release, cfg)
    if not sample.lang_bytes:
        raise InputError(f"{release}: the release holds no text to train a tokenizer on")
    tok = new_tokenizer()
    kw: dict[str, Any] = {}
    if cfg.max_token_chars:
        kw["max_token_length"] = cfg.max_token_chars
    trainer = trainers.BpeTrainer(vocab_size=cfg.vocab, min_frequency=cfg.min_frequency, show_progress=progress,
                                  special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  **kw)
    t0 = time.perf_counter()
    tok.train_from_iterator(sample.batches(), trainer=trainer)
    seconds = time.perf_counter() - t0
    for i, s in enumerate(SPECIAL_TOKENS):          # the contract the packer and the trainer rely on
        if tok.token_to_id(s) != i:
            raise ConfigError(f"special token {s} got id {tok.token_to_id(s)}, expected {i}")
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "tokenizer.json.tmp"
    tok.save(str(tmp))
    tmp.replace(out / "tokenizer.json")
    record = {
        "tokenizer": "tokenizer.json", "sha256": sha256_file(out / "tokenizer.json"),
        "vocab_size": tok.get_vocab_size(), "special_tokens": {s: i for i, s in enumerate(SPECIAL_TOKENS)},
        "pre_tokenizer_regex": PATTERN, "options": cfg.model_dump(),
        "release": {"path": str(release.resolve()), "merkle_root": Release(release).manifest["merkle"]["root"]},
        "seconds": round(seconds, 3),
        "sample": {lang: {"release_bytes": n, "rate": round(sample.rates[lang], 6), "documents": sample.docs[lang],
                          "bytes": sample.bytes[lang]} for lang, n in sample.lang_bytes.items()},
        "tool": {"tokenizers": _version("tokenizers")},
    }
    write_json(out / "training.json", record, sort_keys=False)
    fert = None
    if report:
        from .report import fertility_report

        fert = fertility_report(out / "tokenizer.json")
    write_card(out, record, fert)
    return record


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def write_card(out: Path, record: dict[str, Any], fert: dict[str, Any] | None) -> Path:
    """``tokenizer_card.md``: what it was trained on (bytes per language), with which options, and how
    it does per language (fertility and parity on the UDHR)."""
    o = record["options"]
    lines = [
        "# Tokenizer card", "",
        f"Byte-level BPE, {record['vocab_size']:,} tokens, trained with Hugging Face `tokenizers` "
        f"{record['tool']['tokenizers']} by `thresher tokenizer train` in {record['seconds']:.1f} s.",
        f"`tokenizer.json` sha256 `{record['sha256']}`.", "",
        "Lossless: no normaliser and all 256 bytes in the alphabet, so `decode(encode(x)) == x` for any UTF-8 text.",
        f"Pre-tokenizer regex (GPT-2's, letters keep combining marks, digits split): `{record['pre_tokenizer_regex']}`",
        "", "Special tokens: " + ", ".join(f"`{s}`={i}" for s, i in record["special_tokens"].items()) +
        " (`<|endoftext|>` ends every document in `tokens/`).", "",
        "## Options", "", "| option | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in o.items()], "",
        "## Training sample", "",
        f"From release `{record['release']['path']}` (Merkle root `{record['release']['merkle_root'][:16]}…`), "
        f"languages weighted by bytes^{o['alpha']} (BLOOM / XLM-R sampling).", "",
        "| language | bytes in release | share of release | sample rate | documents sampled | bytes sampled | share of sample |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    tot_r = sum(v["release_bytes"] for v in record["sample"].values()) or 1
    tot_s = sum(v["bytes"] for v in record["sample"].values()) or 1
    for lang, v in sorted(record["sample"].items(), key=lambda kv: -kv[1]["release_bytes"]):
        lines.append(f"| {lang} | {v['release_bytes']:,} | {v['release_bytes'] / tot_r:.1%} | {v['rate']:.3f} | "
                     f"{v['documents']:,} | {v['bytes']:,} | {v['bytes'] / tot_s:.1%} |")
    if fert:
        from .report import markdown_table

        lines += ["", "## Fertility and parity (UDHR, parallel text)", "", markdown_table(fert), "",
                  "Fertility: tokens per whitespace word (per character for scripts written without spaces); "
                  "continued: share of words split into two tokens or more; parity: tokens for the text / "
                  "tokens for the same text in English (Petrov et al., 2023)."]
    path = out / "tokenizer_card.md"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path

"""``thresher tokenize``: pack a release's documents into Megatron-LM indexed datasets under ``tokens/``.

Every data shard becomes one ``.bin``/``.idx`` pair per split (``tokens/train/part-NNNNN``,
``tokens/valid/part-NNNNN``), one document per sequence with ``<|endoftext|>`` appended, uint16 when
the vocabulary fits. A document goes to ``valid`` when a hash of its id (xxh64, fixed seed) falls
below the valid fraction: the split depends on the id alone, so it is the same in every version of
the release and whatever the sharding. The end-of-document id is the tokenizer's ``<|endoftext|>`` (0 in
thresher's tokenizers; GPT-2's or StarCoder's tokenizer.json work too). Text that spells a special token (``<|endoftext|>`` in a web
page) is encoded as the text it is, never as the special token.

Each data shard's ``token_count`` column (the text's tokens, without the end-of-document token) is
filled in as the shard is packed, and the manifest's outputs get the rewritten shards' sha256 (the
documents, hence the Merkle root, do not change).

The encoder is tiktoken, built from the tokenizer.json, where ``encoder.choose`` shows at the start that
it gives the ids ``tokenizers`` gives (4-5x less CPU); otherwise ``tokenizers``, with a warning saying why.
Either way the shards are the same bytes; the manifest's ``tokens.encoder`` says which one packed them.

Shards are packed by the executor like any stage: each worker writes its files under temporary
names, renames them, then its completion marker; a re-run skips marked shards, so an interrupted run
resumes, and 1 or N workers give the same bytes. ``tokens/index.parquet`` (id, split, shard, seq,
n_tokens, n_bytes) and the ``tokens`` section of ``manifest.json`` (every token file with its sha256,
the tokenizer's hash, counts per split and per language) are written last.
"""
from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from ..errors import ConfigError, InputError, ReleaseError
from ..executors import Executor, LocalExecutor
from ..io.writer import file_sha256, set_token_counts, write_json
from ..release import Release, child_versions, write_signed_manifest
from . import paths
from .encoder import Choice, NotExpressible, choose, convert
from .indexed import IndexedWriter, dtype_for_vocab
from .report import TiktokenCounter, fertility_report, plot
from .train import EOD, SPECIAL_TOKENS

FORMAT = "megatron-mmidxidx-v1"
SPLIT_SEED = 0x7468726573686572          # b"thresher": part of the split's definition, never change
VALID_FRACTION = 0.005
BATCH = 1024
INDEX_SCHEMA = pa.schema([("id", pa.string()), ("split", pa.string()), ("shard", pa.int32()), ("seq", pa.int64()),
                          ("n_tokens", pa.int64()), ("n_bytes", pa.int64())])

_TOKENIZERS: dict[str, Any] = {}
_ENCODERS: dict[tuple[str, str], Any] = {}


def is_valid(doc_id: str, fraction: float) -> bool:
    """The split of a document: ``valid`` when xxh64(id) / 2^64 < fraction."""
    return xxhash.xxh64_intdigest(doc_id.encode("utf-8", "surrogatepass"), seed=SPLIT_SEED) < fraction * 2.0**64


def load_packing_tokenizer(path: str | Path):
    """The tokenizer with special-token strings in the text read as plain text (loaded once per process)."""
    from tokenizers import Tokenizer

    key = str(path)
    if key not in _TOKENIZERS:
        tok = Tokenizer.from_file(key)
        tok.encode_special_tokens = True
        _TOKENIZERS[key] = tok
    return _TOKENIZERS[key]


Encode = Callable[[list[str], "ThreadPoolExecutor | None", int], list]


def packing_encoder(path: str | Path, name: str) -> Encode:
    """The batch encoder ``name`` (``tiktoken`` or ``tokenizers``, as :func:`encoder.choose` picked it at the
    run's start) for ``path``: (texts, thread pool or None, its threads) -> each text's token ids (uint32 arrays),
    special-token text read as text. Built once per process."""
    key = (str(path), name)
    if key not in _ENCODERS:
        if name == "tiktoken":
            try:
                enc, _ = convert(path)
            except NotExpressible as e:      # the run's start converted this very file: never expected
                raise ReleaseError(f"{path}: tiktoken cannot encode it here ({e}); repack") from None
            _ENCODERS[key] = _tiktoken_batch(enc)
        else:
            tok = load_packing_tokenizer(path)        # its own thread pool (Rayon) over the batch
            _ENCODERS[key] = lambda texts, pool, k: [np.asarray(e.ids, dtype=np.uint32) for e in
                                                      tok.encode_batch_fast(texts, add_special_tokens=False)]
    return _ENCODERS[key]


def _tiktoken_batch(enc) -> Encode:
    """tiktoken's ``encode_ordinary`` into uint32 arrays (no Python ints), the batch dealt out to the
    pool's threads (tiktoken releases the GIL), so a worker left alone at the end uses every core."""
    def part(texts: list[str]) -> list:
        return [enc.encode_to_numpy(t, disallowed_special=()) for t in texts]   # = encode_ordinary

    def run(texts: list[str], pool: ThreadPoolExecutor | None, k: int) -> list:
        if pool is None or k < 2 or len(texts) < 64:
            return part(texts)
        out: list = [None] * len(texts)
        for j, ids in enumerate(pool.map(part, [texts[j::k] for j in range(k)])):
            out[j::k] = ids
        return out
    return run


def check_tokenizer(path: Path):
    """Loads ``path`` and checks the special-token layout the packer and the trainers rely on."""
    from tokenizers import Tokenizer

    if not path.is_file():
        raise InputError(f"{path}: tokenizer file not found")
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as e:              # tokenizers raises a bare Exception for a bad file
        raise InputError(f"{path}: not a tokenizers tokenizer.json ({str(e).splitlines()[0]})") from None
    if tok.token_to_id(SPECIAL_TOKENS[EOD]) is None:
        raise InputError(f"{path}: has no {SPECIAL_TOKENS[EOD]} token to end documents with")
    return tok


def _language(meta: str | None) -> str:
    if meta and '"language"' in meta:
        return str(orjson.loads(meta).get("language") or "unknown")
    return "unknown"


def pack_shard(item: tuple[int, str], release: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Pack one data shard (``item`` = (shard number, data file relative to the release)); returns and
    writes its completion marker."""
    shard, data_rel = item
    out = Path(release)
    marker = paths.marker_file(out, shard)
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    t0 = time.perf_counter()
    encode = packing_encoder(paths.tokenizer_file(out), settings["encoder"])
    dtype = np.dtype(settings["dtype"])
    fraction, eod = settings["valid_fraction"], settings["eod_id"]
    eod_arr = np.array([eod], dtype=np.uint32)
    for split in paths.SPLITS:
        paths.shard_prefix(out, split, shard).parent.mkdir(parents=True, exist_ok=True)
    writers = {s: IndexedWriter(paths.shard_prefix(out, s, shard), dtype) for s in paths.SPLITS}
    seq = {s: 0 for s in paths.SPLITS}
    rows: dict[str, list] = {k: [] for k in INDEX_SCHEMA.names}
    counts: list[int] = []          # the data shard's token_count column, in row order
    langs: dict[str, Counter] = {}
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    pool = ThreadPoolExecutor(threads) if settings["encoder"] == "tiktoken" and threads > 1 else None
    try:
        pf = pq.ParquetFile(out / data_rel)
        for b in pf.iter_batches(batch_size=BATCH, columns=["id", "text", "meta"]):
            ids, texts, metas = (b.column(k).to_pylist() for k in ("id", "text", "meta"))
            encs = encode(texts, pool, threads)
            parts: dict[str, list] = {s: [] for s in paths.SPLITS}      # one write per batch and split
            lens: dict[str, list[int]] = {s: [] for s in paths.SPLITS}
            for doc_id, text, meta, toks in zip(ids, texts, metas, encs):
                split = "valid" if is_valid(doc_id, fraction) else "train"
                counts.append(len(toks))
                n = len(toks) + 1                           # the end-of-document token appended
                parts[split] += (toks, eod_arr)
                lens[split].append(n)
                nbytes = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
                for k, v in zip(INDEX_SCHEMA.names, (doc_id, split, shard, seq[split], n, nbytes)):
                    rows[k].append(v)
                seq[split] += 1
                c = langs.setdefault(_language(meta), Counter())
                c["docs"] += 1
                c["tokens"] += n
                c["bytes"] += nbytes
            for split in paths.SPLITS:
                if lens[split]:
                    writers[split].add_many(np.concatenate(parts[split]), lens[split])
        for w in writers.values():
            w.close()
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    finally:
        if pool is not None:
            pool.shutdown()
    data_sha = set_token_counts(out / data_rel, counts)      # before the marker: a re-run redoes both
    piece = paths.index_piece(out, shard)
    piece.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows, schema=INDEX_SCHEMA), piece.with_name(piece.name + ".tmp"))
    piece.with_name(piece.name + ".tmp").replace(piece)
    files = {}
    for split in paths.SPLITS:
        for f in paths.shard_files(out, split, shard):
            files[paths.rel(out, f)] = {"bytes": f.stat().st_size, "sha256": file_sha256(f)}
    n_tok = {s: int(sum(t for t, sp in zip(rows["n_tokens"], rows["split"]) if sp == s)) for s in paths.SPLITS}
    result = {"shard": shard, "docs": len(rows["id"]), "bytes": int(sum(rows["n_bytes"])),
              "tokens": sum(n_tok.values()), "splits": {s: {"documents": seq[s], "tokens": n_tok[s]} for s in paths.SPLITS},
              "languages": {k: dict(v) for k, v in sorted(langs.items())}, "files": files,
              "data": {data_rel: {"rows": len(counts), "sha256": data_sha}},
              "encoder": settings["encoder"], "seconds": round(time.perf_counter() - t0, 3)}
    write_json(marker, result)
    return result


def data_shards(release: Path, manifest: dict[str, Any]) -> list[tuple[int, str]]:
    rels = sorted(r for r in manifest["outputs"] if r.startswith("data/"))
    return [(paths.data_shard_number(r), r) for r in rels]


def tokenize(release: str | Path, tokenizer: str | Path, workers: int | None = None, progress: bool | None = None,
             valid_fraction: float = VALID_FRACTION, overwrite: bool = False,
             executor: Executor | None = None) -> dict[str, Any]:
    """Pack ``release`` with ``tokenizer`` (a tokenizer.json); returns the manifest's ``tokens`` section.
    ``executor``: any ``Executor`` (default: the local pool with ``workers``)."""
    out = Path(release)
    manifest = Release(out).manifest
    kids = child_versions(out)
    if kids:          # versions are immutable: a child's receipts prove against this manifest
        raise ReleaseError(f"{out}: has a newer version ({kids[-1].name}); tokenize that one instead")
    if not 0.0 <= valid_fraction < 1.0:
        raise ConfigError(f"valid fraction {valid_fraction} is not in [0, 1)")
    tok_path = Path(tokenizer)
    tok = check_tokenizer(tok_path)
    tok_sha = file_sha256(tok_path)
    settings = {"tokenizer_sha256": tok_sha, "valid_fraction": valid_fraction,
                "dtype": dtype_for_vocab(tok.get_vocab_size()).name, "eod_id": tok.token_to_id(SPECIAL_TOKENS[EOD]),
                # the documents (not the shards' bytes: packing fills in their token_count column)
                "data": {"shards": [r for _, r in data_shards(out, manifest)], "merkle_root": manifest["merkle"]["root"]}}
    plan = paths.work_dir(out) / "plan.json"
    done = manifest.get("tokens")
    if done and not overwrite:
        if done["tokenizer"]["sha256"] == tok_sha and done["valid_fraction"] == valid_fraction:
            return done                 # already packed with this tokenizer and split
        raise ReleaseError(f"{out}: tokens/ was packed with another tokenizer or split; pass --overwrite to repack")
    if overwrite or (plan.exists() and orjson.loads(plan.read_bytes()) != settings):
        if plan.exists() and not overwrite:
            raise ReleaseError(f"{out}: an unfinished tokenize with other settings is there; pass --overwrite")
        shutil.rmtree(paths.tokens_dir(out), ignore_errors=True)
        shutil.rmtree(paths.work_dir(out), ignore_errors=True)
    write_json(plan, settings)
    dst = paths.tokenizer_file(out)
    if not dst.exists() or file_sha256(dst) != tok_sha:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tok_path, dst.with_name(dst.name + ".tmp"))
        dst.with_name(dst.name + ".tmp").replace(dst)
    choice = choose(dst, load_packing_tokenizer(dst))     # tiktoken where it gives the same ids (logged)
    if choice.encoding is not None:                       # forked workers inherit it
        _ENCODERS[(str(dst), choice.name)] = _tiktoken_batch(choice.encoding)
    items = data_shards(out, manifest)
    t0 = time.perf_counter()
    executor = executor or LocalExecutor(workers, progress)
    results = executor.map(pack_shard, items, str(out), {**settings, "encoder": choice.name}, desc="tokenize")
    seconds = time.perf_counter() - t0
    section = finalize(out, tok, settings, results, choice)
    section["seconds"] = round(seconds, 3)      # not in the manifest: differs from run to run
    return section


def finalize(out: Path, tok, settings: dict[str, Any], results: list[dict[str, Any]], choice: Choice) -> dict[str, Any]:
    """Write ``tokens/index.parquet`` and the manifest's ``tokens`` section from the shards' markers;
    ``choice``: the encoder of this run (shards packed by an earlier, interrupted run say theirs)."""
    index = paths.index_file(out)
    pieces = [pq.read_table(paths.index_piece(out, r["shard"])) for r in results]
    table = pa.concat_tables(pieces) if pieces else INDEX_SCHEMA.empty_table()
    tmp = index.with_name(index.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(index)
    files: dict[str, Any] = {}
    for r in results:
        files.update(r["files"])
    files[paths.rel(out, index)] = {"bytes": index.stat().st_size, "sha256": file_sha256(index), "rows": table.num_rows}
    # the tokenizer on the UDHR, for the data card (the same counts with tiktoken, faster)
    fert = fertility_report(TiktokenCounter(choice.encoding) if choice.encoding is not None else paths.tokenizer_file(out))
    fig = paths.fertility_figure(out)
    plot(fert, fig.with_name(fig.name + ".tmp"))
    fig.with_name(fig.name + ".tmp").replace(fig)
    files[paths.rel(out, fig)] = {"bytes": fig.stat().st_size, "sha256": file_sha256(fig)}
    langs: dict[str, Counter] = {}
    for r in results:
        for k, v in r["languages"].items():
            langs.setdefault(k, Counter()).update(v)
    section = {
        "format": FORMAT,
        "tokenizer": {"path": paths.rel(out, paths.tokenizer_file(out)), "sha256": settings["tokenizer_sha256"],
                      "vocab_size": tok.get_vocab_size(), "eod_id": settings["eod_id"], "eod": SPECIAL_TOKENS[EOD]},
        "encoder": {**choice.record(), "shards": dict(sorted(Counter(r.get("encoder", "tokenizers")
                                                                    for r in results).items()))},
        "dtype": settings["dtype"],
        "valid_fraction": settings["valid_fraction"],
        "split": f"valid when xxh64(id, seed={SPLIT_SEED:#x}) / 2^64 < valid_fraction",
        "documents": {s: sum(r["splits"][s]["documents"] for r in results) for s in paths.SPLITS},
        "tokens": {s: sum(r["splits"][s]["tokens"] for r in results) for s in paths.SPLITS},
        "languages": {k: dict(v) for k, v in sorted(langs.items())},
        "files": dict(sorted(files.items())),
        "fertility": {"texts": "UDHR (parallel)", "reference": fert["reference"],
                      "languages": {lang: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in per[name].items()}
                                    for lang, per in fert["languages"].items() for name in fert["tokenizers"][:1]}},
    }
    data: dict[str, Any] = {}
    for r in results:
        data.update(r.get("data", {}))      # a marker written before the column: its shard unchanged
    write_manifest_tokens(out, section, data)
    return section


def write_manifest_tokens(out: Path, section: dict[str, Any] | None, data: dict[str, Any] | None = None) -> None:
    """The manifest with its ``tokens`` section (None: without one) and ``data``'s new rows and sha256
    of the data shards whose ``token_count`` column was filled in."""
    m = Release(out).manifest
    if section is None:
        m.pop("tokens", None)
    else:
        m["tokens"] = section
    if data:
        m["outputs"] = dict(sorted({**m["outputs"], **data}.items()))
    write_signed_manifest(out, m)        # the manifest is signed: re-sign it with the tokens section

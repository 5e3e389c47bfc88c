"""The documents an evaluation scores: a release's validation split, or any JSONL / Parquet file.

A release's split is the one its token shards were cut with (``tokens/index.parquet``: ``id``,
``split``, …; ``split == "valid"``), so a model trained on ``train`` is never scored on what it saw.
``split="all"`` takes every kept document (for a release without ``tokens/``). Files go through the
project's own readers (the same id, source and meta rules as a pipeline input; bad records skipped and
counted). Language: ``meta.language``, else a ``language`` field, else ``unknown``. Source: a
``source`` field, else the code repository, else the input file the document came from.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow.parquet as pq

from ..errors import InputError
from ..io import ShardSpec, reader
from ..release import Release

__all__ = ["EvalDoc", "load_eval_docs", "TOKEN_INDEX"]

TOKEN_INDEX = "tokens/index.parquet"      # issue 17's contract (id, split, shard, seq, n_tokens, n_bytes)


@dataclass(frozen=True)
class EvalDoc:
    id: str
    text: str
    language: str
    source: str


def _language(doc) -> str:
    fields = doc.source.get("fields") or {}
    lang = (doc.meta.get("language") or fields.get("language") or fields.get("lang")
            or (fields.get("meta") or {}).get("language"))
    return str(lang) if lang else "unknown"


def _source(doc) -> str:
    fields = doc.source.get("fields") or {}
    for v in (fields.get("source"), doc.source.get("repo"), doc.source.get("file")):
        if isinstance(v, str) and v:
            return v
    url = doc.source.get("uri") or doc.source.get("url")
    return urlsplit(url).hostname or "unknown" if isinstance(url, str) else "unknown"


def _read(fmt: str, path: Path, counters: Counter):
    spec = ShardSpec(0, fmt, (str(path.resolve()),), str(path.resolve().parent))
    yield from reader(fmt).read(spec, counters)


def _fmt(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if any(name.endswith(s) for s in (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".ndjson")):
        return "jsonl"
    raise InputError(f"{path}: not a release folder, .jsonl(.gz/.zst) or .parquet file")


def load_eval_docs(spec: str | Path, split: str = "valid", max_docs: int | None = None) -> tuple[list[EvalDoc], dict]:
    """Documents to score and a description of where they came from (kept in results)."""
    path = Path(spec)
    counters: Counter = Counter()
    if not path.exists():
        raise InputError(f"{path}: no such release or file")
    docs: list[EvalDoc] = []
    wanted: set[str] | None = None
    if path.is_dir():
        rel = Release(path)
        if split != "all":
            index = path / TOKEN_INDEX
            if not index.is_file():
                raise InputError(f"{path}: no {TOKEN_INDEX} to take the '{split}' split from "
                                 "(run `thresher tokenize` first, or pass --split all)")
            t = pq.read_table(index, columns=["id", "split"])
            wanted = {i for i, s in zip(t["id"].to_pylist(), t["split"].to_pylist()) if s == split}
        files = [(f, "parquet") for f in rel.files("data")]
        info = {"release": str(path.resolve()), "split": split, "manifest_merkle_root": rel.manifest["merkle"]["root"]}
    else:
        files = [(path, _fmt(path))]
        info = {"file": str(path.resolve()), "split": "all"}
    for f, fmt in files:
        for d in _read(fmt, f, counters):
            if wanted is not None and d.id not in wanted:
                continue
            docs.append(EvalDoc(d.id, d.text, _language(d), _source(d)))
            if max_docs and len(docs) >= max_docs:
                break
        if max_docs and len(docs) >= max_docs:
            break
    if not docs:
        raise InputError(f"{path}: no documents to evaluate (split '{split}')")
    info.update(documents=len(docs), skipped_bad_record=counters.get("skipped_bad_record", 0))
    return docs, info

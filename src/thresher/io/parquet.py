"""Parquet reader. Row groups are grouped into shards; a thresher release reads back losslessly
(its ``source`` and ``meta`` JSON columns become dicts again)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ..document import BadId, Document, given_id, stable_id
from ..errors import InputError
from . import ShardSpec, bad_record, lost


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    limit = int(cfg.shard_mb * 2**20)
    out = []
    for f in files:
        try:
            md = pq.ParquetFile(f).metadata
        except Exception as e:
            raise InputError(f"{f}: not a readable Parquet file ({e})") from None
        start, size = 0, 0
        for g in range(md.num_row_groups):
            size += md.row_group(g).total_byte_size
            if size >= limit:
                out.append({"files": (str(f),), "start": start, "end": g + 1})
                start, size = g + 1, 0
        if start < md.num_row_groups or md.num_row_groups == 0:
            out.append({"files": (str(f),), "start": start, "end": md.num_row_groups})
    return out


def _as_dict(v: Any) -> dict:
    if isinstance(v, dict):
        return v
    if isinstance(v, (str, bytes)) and v:
        try:
            d = orjson.loads(v)
            return d if isinstance(d, dict) else {"value": d}
        except orjson.JSONDecodeError:
            return {"value": v}
    return {}


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    path = spec.files[0]
    rel = spec.rel(path)
    text_key, id_key = spec.options.get("text_key", "text"), spec.options.get("id_key", "id")
    pf = pq.ParquetFile(path, page_checksum_verification=True)     # where the writer stored page CRCs
    if text_key not in pf.schema_arrow.names:
        raise InputError(f"{rel}: no column '{text_key}' (columns: {', '.join(pf.schema_arrow.names)})")
    row = sum(pf.metadata.row_group(g).num_rows for g in range(spec.start))
    groups = list(range(spec.start, spec.end if spec.end is not None else pf.metadata.num_row_groups))
    if not groups:
        return
    for g in groups:                 # one row group at a time: a corrupt page costs the rest of its group
        n = pf.metadata.row_group(g).num_rows
        done = 0
        try:
            for batch in pf.iter_batches(row_groups=[g], batch_size=4096):
                for rec in batch.to_pylist():
                    doc = _document(rec, rel, row + done, text_key, id_key, counters)
                    done += 1
                    if doc is not None:
                        yield doc
        except (OSError, ValueError, pa.ArrowException) as e:
            lost(counters, rel, row + done, "skipped_bad_row_group",
                 f"row group {g}: {n - done} rows unreadable: {type(e).__name__}: {e}")
            counters["skipped_rows"] += n - done
        row += n


def _document(rec: dict[str, Any], rel: str, row: int, text_key: str, id_key: str,
              counters: Counter) -> Document | None:
    text = rec.pop(text_key, None)
    if not isinstance(text, str):
        bad_record(counters, rel, row, f"column '{text_key}' is not a string")
        return None
    given = rec.pop(id_key, None)
    try:
        doc_id = given_id(given) if given is not None else stable_id(f"{rel}:{row}")
    except BadId as e:
        bad_record(counters, rel, row, str(e), "skipped_bad_id")
        return None
    source = _as_dict(rec.pop("source", None)) or {"file": rel, "row": row}
    meta = _as_dict(rec.pop("meta", None))
    meta.setdefault("modality", "text")
    if rec:
        source.setdefault("fields", {}).update(rec)
    counters["docs_read"] += 1
    counters["bytes_read"] += len(text.encode("utf-8", "surrogatepass"))
    return Document(doc_id, text, source, meta)

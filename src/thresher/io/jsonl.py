"""JSON Lines reader (plain, .gz, .zst). Plain files split into byte ranges: a line belongs to the
shard its first byte falls in, so ranges never lose or double a record."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import orjson

from ..document import Document, stable_id
from . import READ_BUFFER, ShardSpec, bad_record, is_compressed, open_stream

URL_KEYS = ("url", "uri", "warc_url")
DATE_KEYS = ("date", "timestamp", "created", "crawl_date")


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    step = int(cfg.shard_mb * 2**20)
    out = []
    for f in files:
        size = f.stat().st_size
        if is_compressed(f) or size <= step:
            out.append({"files": (str(f),)})
        else:
            out.extend({"files": (str(f),), "start": s, "end": min(s + step, size)} for s in range(0, size, step))
    return out


def _lines(spec: ShardSpec) -> Iterator[tuple[int, bytes]]:
    path = spec.files[0]
    if spec.end is None:
        with open_stream(path) as f:
            pos = 0
            for line in f:
                yield pos, line
                pos += len(line)
        return
    with open(path, "rb", buffering=READ_BUFFER) as f:
        pos = spec.start
        if pos > 0:
            f.seek(pos - 1)
            pos += len(f.readline()) - 1     # skip the tail of a line that began in the previous range
        while pos < spec.end:
            line = f.readline()
            if not line:
                break
            yield pos, line
            pos += len(line)


def record_to_document(obj: Any, rel: str, offset: int, text_key: str, id_key: str) -> Document | None:
    if not isinstance(obj, dict) or not isinstance(obj.get(text_key), str):
        return None
    source: dict[str, Any] = {"file": rel, "offset": offset}
    given = obj.get(id_key)
    fields = {k: v for k, v in obj.items() if k not in (text_key, id_key)}
    for k in URL_KEYS:
        if isinstance(fields.get(k), str):
            source["url"] = fields[k]
            break
    for k in DATE_KEYS:
        if k in fields:
            source["date"] = str(fields[k])
            break
    if fields:
        source["fields"] = fields
    doc_id = str(given) if given is not None else stable_id(f"{rel}:{offset}")
    return Document(doc_id, obj[text_key], source, {"modality": "text"})


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    path = spec.files[0]
    rel = spec.rel(path)
    text_key, id_key = spec.options.get("text_key", "text"), spec.options.get("id_key", "id")
    nbytes = ndocs = 0                 # counted locally, added once: a Counter update per line is not free
    try:
        for offset, line in _lines(spec):
            nbytes += len(line)
            if not line or line.isspace():
                continue
            try:
                doc = record_to_document(orjson.loads(line), rel, offset, text_key, id_key)
            except orjson.JSONDecodeError as e:
                bad_record(counters, rel, offset, f"invalid JSON: {e}")
                continue
            if doc is None:
                bad_record(counters, rel, offset, f"no string field '{text_key}'")
                continue
            ndocs += 1
            yield doc
    finally:
        counters["bytes_read"] += nbytes
        counters["docs_read"] += ndocs

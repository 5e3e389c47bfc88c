"""JSON Lines reader (plain, .gz, .zst). Plain files split into byte ranges: a line belongs to the
shard its first byte falls in, so ranges never lose or double a record."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import orjson

from ..document import BadId, Document, given_id, stable_id
from . import CHUNK, READ_BUFFER, ShardSpec, bad_record, is_compressed, limits, lost, read_chunks

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


BOM = b"\xef\xbb\xbf"


def _lines(spec: ShardSpec, rel: str, counters: Counter) -> Iterator[tuple[int, bytes]]:
    """(offset, line) of a shard. Compressed files stream in chunks, so a corrupt or truncated stream
    costs only what follows the damage (the cut line is counted at its offset); plain files and byte
    ranges read line by line. Either way a line longer than the document limit is skipped and counted
    without ever being held whole."""
    path = spec.files[0]
    max_doc, max_member = limits(spec)
    if spec.end is None and is_compressed(path):
        pos, buf, skipping = 0, b"", False
        errors: list = []
        for chunk in read_chunks(path, rel, counters, max_member, errors):
            parts = (buf + chunk).split(b"\n")
            buf = parts.pop()
            for p in parts:
                n = len(p) + 1
                if skipping:            # the end of an over-long line
                    skipping = False
                elif n > max_doc:
                    lost(counters, rel, pos, "skipped_too_large", f"line longer than {max_doc} bytes")
                else:
                    yield pos, p + b"\n"
                pos += n
            if len(buf) > max_doc:      # a line too long to hold: dropped as it streams
                if not skipping:
                    lost(counters, rel, pos, "skipped_too_large", f"line longer than {max_doc} bytes")
                skipping = True
                pos += len(buf)
                buf = b""
        if errors:                      # counted once, at the start of the line it cut
            reason, at, why = errors[0]
            lost(counters, rel, pos if buf and not skipping else at, reason, why)
        elif buf and not skipping:
            yield pos, buf
        return
    with open(path, "rb", buffering=READ_BUFFER) as f:
        pos = spec.start
        end = spec.end if spec.end is not None else float("inf")
        if pos > 0:
            f.seek(pos - 1)
            pos += _skip_line(f) - 1     # skip the tail of a line that began in the previous range
        readline = f.readline
        while pos < end:
            line = readline(max_doc + 1)
            if not line:
                break
            if len(line) > max_doc and not line.endswith(b"\n"):
                lost(counters, rel, pos, "skipped_too_large", f"line longer than {max_doc} bytes")
                pos += len(line) + _skip_line(f)
                continue
            yield pos, line
            pos += len(line)


def _skip_line(f: Any) -> int:
    """Read past the end of the current line without holding it; the bytes skipped."""
    n = 0
    while True:
        piece = f.readline(CHUNK)
        n += len(piece)
        if not piece or piece.endswith(b"\n"):
            return n


def record_to_document(obj: Any, rel: str, offset: int, text_key: str, id_key: str) -> Document | None:
    if not isinstance(obj, dict) or not isinstance(obj.get(text_key), str):
        return None
    source: dict[str, Any] = {"file": rel, "offset": offset}
    given = obj.get(id_key)
    if len(obj) > 1 + (id_key in obj and id_key != text_key):      # fields besides the text and the id
        fields = {k: v for k, v in obj.items() if k not in (text_key, id_key)}
        for k in URL_KEYS:
            if isinstance(fields.get(k), str):
                source["url"] = fields[k]
                break
        for k in DATE_KEYS:
            if k in fields:
                source["date"] = str(fields[k])
                break
        source["fields"] = fields
    doc_id = given_id(given) if given is not None else stable_id(f"{rel}:{offset}")
    return Document(doc_id, obj[text_key], source, {"modality": "text"})


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    path = spec.files[0]
    rel = spec.rel(path)
    text_key, id_key = spec.options.get("text_key", "text"), spec.options.get("id_key", "id")
    nbytes = ndocs = 0                 # counted locally, added once: a Counter update per line is not free
    try:
        for offset, line in _lines(spec, rel, counters):
            nbytes += len(line)
            if offset == 0 and line.startswith(BOM):       # a UTF-8 byte order mark is not JSON
                line = line[len(BOM):]
            if not line or line.isspace():
                continue
            try:
                doc = record_to_document(orjson.loads(line), rel, offset, text_key, id_key)
            except orjson.JSONDecodeError as e:
                bad_record(counters, rel, offset, f"invalid JSON: {e}")
                continue
            except BadId as e:
                bad_record(counters, rel, offset, str(e), "skipped_bad_id")
                continue
            if doc is None:
                bad_record(counters, rel, offset, f"no string field '{text_key}'")
                continue
            ndocs += 1
            yield doc
    finally:
        counters["bytes_read"] += nbytes
        counters["docs_read"] += ndocs

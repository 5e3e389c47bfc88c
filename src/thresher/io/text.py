"""Plain-text folders: one document per file, small files grouped into shards by size."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ..document import Document, stable_id
from . import ShardSpec, decode, limits, lost, read_chunks, size_groups, stream_failures


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    return size_groups(files, int(cfg.shard_mb * 2**20))


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    max_doc, max_member = limits(spec)
    for path in spec.files:
        rel = spec.rel(path)
        parts, size, failed = [], 0, stream_failures(counters)
        for chunk in read_chunks(path, rel, counters, max_member):
            size += len(chunk)
            if size > max_doc:          # stop decompressing: a 1 MB .gz must not become 1 GiB here
                lost(counters, rel, 0, "skipped_too_large", f"document larger than {max_doc} bytes (max_document_mb)")
                break
            parts.append(chunk)
        if size > max_doc or stream_failures(counters) != failed:
            continue                    # a cut or corrupt file is counted, not kept half-read
        raw = b"".join(parts)
        counters["bytes_read"] += len(raw)
        if b"\x00" in raw[:8192]:
            counters["skipped_binary"] += 1
            continue
        text, enc = decode(raw)
        if enc == "utf-8+replaced":
            counters["invalid_utf8_replaced"] += 1
        counters["docs_read"] += 1
        yield Document(stable_id(rel), text, {"file": rel, "encoding": enc}, {"modality": "text"})

"""Plain-text folders: one document per file, small files grouped into shards by size."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ..document import Document, stable_id
from . import ShardSpec, decode, open_stream, size_groups


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    return size_groups(files, int(cfg.shard_mb * 2**20))


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    for path in spec.files:
        rel = spec.rel(path)
        with open_stream(path) as f:
            raw = f.read()
        counters["bytes_read"] += len(raw)
        if b"\x00" in raw[:8192]:
            counters["skipped_binary"] += 1
            continue
        text, enc = decode(raw)
        counters["docs_read"] += 1
        yield Document(stable_id(rel), text, {"file": rel, "encoding": enc}, {"modality": "text"})

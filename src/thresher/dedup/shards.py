"""Reading a stage's shard file (Arrow IPC) for dedup: text as one UTF-8 buffer (zero copy from Arrow), ids,
and the keep-rule rank of every document; plus the small per-shard files the later stages share."""
from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import orjson
import pyarrow as pa

from ..io.writer import stage_batches, utf8_buffer, write_json
from ..paths import shard_name

BATCH_ROWS = 4096
KEEP_RULES = ("first", "longest", "quality")


@dataclass
class Batch:
    """A slice of one shard: documents ``start .. start + len(ids)`` in shard order."""

    start: int
    ids: pa.Array
    buf: np.ndarray       # UTF-8 bytes of the texts
    offs: np.ndarray      # int64, len(ids) + 1 (absolute positions in buf)
    meta: list[str] | None
    source: list[str] | None


def iter_batches(path: Path, meta: bool = False, source: bool = False, rows: int = BATCH_ROWS) -> Iterator[Batch]:
    cols = ["id", "text"] + (["meta"] if meta else []) + (["source"] if source else [])
    start = 0
    for rb in stage_batches(path, cols, rows):
        buf, offs = utf8_buffer(rb.column("text"))
        yield Batch(start, rb.column("id"), buf, offs,
                    rb.column("meta").to_pylist() if meta else None,
                    rb.column("source").to_pylist() if source else None)
        start += rb.num_rows


def _dig(d: object, path: list[str]) -> object:
    for k in path:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def ranks(batch: Batch, keep: str, quality_key: str) -> np.ndarray:
    """Keep-rule rank (lower wins; ties go to the earlier document): 0, -bytes, or -quality score."""
    n = len(batch.ids)
    if keep == "longest":
        return -np.diff(batch.offs).astype(np.float64)
    if keep == "quality":
        path = quality_key.split(".")
        out = np.full(n, np.inf)
        for i, m in enumerate(batch.meta or []):
            v = _dig(orjson.loads(m), path) if m else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                out[i] = -float(v)
        return out
    return np.zeros(n)


class ShardOut:
    """The files one shard leaves for the later fit stages, under ``<workdir>/shards/part-NNNNN``."""

    def __init__(self, workdir: Path, index: int):
        self.dir = workdir / "shards" / shard_name(index)
        self.index = index

    @property
    def marker(self) -> Path:
        return self.dir / "done.json"

    def done(self) -> bool:
        return self.marker.exists()

    def path(self, name: str) -> Path:
        return self.dir / name

    def save(self, name: str, arr: np.ndarray) -> None:
        tmp = self.dir / (name + ".tmp.npy")
        np.save(tmp, arr)
        os.replace(tmp, self.dir / name)

    def load(self, name: str, mmap: bool = True) -> np.ndarray:
        return np.load(self.dir / name, mmap_mode="r" if mmap else None)

    def write_ids(self, ids: list[pa.Array]) -> None:
        arr = pa.concat_arrays([a.cast(pa.string()) for a in ids]) if ids else pa.array([], pa.string())
        tmp = self.dir / "ids.arrow.tmp"
        with pa.OSFile(str(tmp), "wb") as f, pa.ipc.new_file(f, pa.schema([("id", pa.string())])) as w:
            w.write_table(pa.table({"id": arr}))
        os.replace(tmp, self.dir / "ids.arrow")

    def ids(self) -> pa.Array:
        with pa.memory_map(str(self.dir / "ids.arrow")) as src:
            return pa.ipc.open_file(src).read_all().column("id").combine_chunks()

    def finish(self, info: dict) -> dict:
        write_json(self.marker, {**info, "peak_rss_mb": peak_rss_mb()})
        return self.info()

    def info(self) -> dict:
        return orjson.loads(self.marker.read_bytes())


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (a pool worker: its peak over the tasks it ran)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def sorted_runs(out: ShardOut, keys: np.ndarray, docs: np.ndarray, extra: np.ndarray | None = None) -> None:
    """Sort every band row by (key, doc) and save: the shard's sorted runs for the external merge."""
    order = np.argsort(keys, axis=1, kind="stable")        # docs ascend already: stable keeps ties in order
    out.save("keys.npy", np.take_along_axis(keys, order, axis=1))
    out.save("docs.npy", docs[order].astype(np.uint32))
    if extra is not None:
        out.save("extra.npy", np.take_along_axis(extra, order, axis=1))

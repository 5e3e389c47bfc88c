"""Shard writer: Parquet (zstd, row groups of a fixed row count) for releases, or Arrow IPC for the
files between two stages; written to a temp name and renamed, so a crash never leaves a half-written
file under a final name."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..document import Document
from ..errors import ReleaseError
from ..layout import KEY, order_keys
from .arrow_pandas import defer_pandas
from .columns import FILTER_FIELDS, FILTER_NAMES, TOKEN_COUNT, add_filter_columns
from ..steps.base import Dropped

DATA_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
                         ("meta", pa.string())])
EXCLUDED_SCHEMA = pa.schema(list(DATA_SCHEMA) + [("step", pa.string()), ("reason", pa.string()),
                                                 ("score", pa.float64()), ("threshold", pa.float64())])


def json_text(d: dict) -> str:
    """How source and meta are stored: JSON with sorted keys (so the bytes do not depend on the order
    steps added keys in)."""
    return orjson.dumps(d, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def _num(x) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def drop_columns(drops: list) -> dict[str, list]:
    """The excluded-only columns (step, reason, score, threshold) for (step name, Drop) pairs."""
    return {"step": [step for step, _ in drops], "reason": [d.reason for _, d in drops],
            "score": [_num(d.score) for _, d in drops], "threshold": [_num(d.threshold) for _, d in drops]}


class ShardWriter:
    """Streams documents (or dropped documents), or Arrow tables of the same columns, into one
    Parquet file; with ``stage=True`` into an uncompressed Arrow IPC file instead: a stage file is
    read once, memory-mapped, by the next stage (zero copy, 10x faster than reading Parquet back)
    and deleted when the release is final. Parquet row groups hold exactly ``row_group_rows`` rows
    however the rows arrived, so the bytes written do not depend on batch sizes."""

    def __init__(self, path: Path, excluded: bool = False, compression: str = "zstd",
                 row_group_rows: int = 10_000, stage: bool = False, order: bool = False,
                 public: Callable[[pa.Table], pa.Table] | None = None):
        self.path = Path(path)
        self.public = None if stage else public    # what a published file's rows become (thresher.public)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.excluded = excluded
        self.schema = EXCLUDED_SCHEMA if excluded else DATA_SCHEMA
        self.order = order and stage        # a stage file with the source key, sorted by it when closed
        if self.order:
            self.schema = self.schema.append(pa.field(KEY, pa.string()))
        self.input_schema = self.schema       # what write() builds; write_table derives the filter columns
        if not stage:           # a published shard: top-level columns to filter on (io/columns.py)
            for f in FILTER_FIELDS + ([] if excluded else [TOKEN_COUNT]):
                self.schema = self.schema.append(f)
        self.row_group_rows = row_group_rows
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.count = 0
        self.stage = stage
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if stage:
            self.writer = pa.ipc.new_file(str(self.tmp), self.schema)
        else:
            # no dictionary pages: ids and texts are unique, and a dictionary that overflows makes the
            # file larger and three times slower to read; zstd already folds repeated source/meta
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression=compression,
                                           use_dictionary=["step", "reason"] if excluded else False)

    def write(self, items: Iterable[Document | Dropped]) -> None:
        items = list(items)
        if not items:
            return
        defer_pandas()          # a ``thresher run`` converts without importing pandas (io/arrow_pandas.py)
        docs = [it.doc for it in items] if self.excluded else items
        early = getattr(self.public, "documents", None)     # text and meta published from the objects
        done = early([d.text for d in docs], [d.meta for d in docs], json_text) if early is not None else None
        cols = {"id": [d.id for d in docs], "text": done[0] if done else [d.text for d in docs],
                "source": [json_text(d.source) for d in docs],
                "meta": done[1] if done else [json_text(d.meta) for d in docs]}
        if self.excluded:
            cols.update(drop_columns([(it.step, it.drop) for it in items]))
        if self.order:
            cols[KEY] = order_keys(docs)
        self.write_table(pa.table(cols, schema=self.input_schema), public=getattr(self.public, "sources", None) if done else None)

    def write_table(self, table: pa.Table, public: Callable[[pa.Table], pa.Table] | None = None) -> None:
        """Rows of the file's columns (``public``: what is left of the file's transform, when ``write``
        has done part of it)."""
        if not table.num_rows:
            return
        defer_pandas()
        if self.stage:          # never published: batches go out as they come, no copy into row groups
            if table.schema.names != self.schema.names:     # the key column of a stage file goes, or is put last
                table = table.select(self.schema.names)
            self.writer.write_table(table)
            self.count += table.num_rows
            return
        table = table.select([n for n in self.schema.names if n not in FILTER_NAMES and n != TOKEN_COUNT.name])
        if self.public is not None:
            table = (public or self.public)(table)
        table = add_filter_columns(table)       # from the published meta/source
        if not self.excluded:                   # no tokens yet: `thresher tokenize` fills them in
            table = table.append_column(TOKEN_COUNT, pa.nulls(table.num_rows, TOKEN_COUNT.type))
        table = table.select(self.schema.names)
        self.pending.append(table)
        self.pending_rows += table.num_rows
        if self.pending_rows >= self.row_group_rows:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self.pending_rows:
            return
        t = pa.concat_tables(self.pending).combine_chunks()
        full = t.num_rows if final else t.num_rows - t.num_rows % self.row_group_rows
        for k in range(0, full, self.row_group_rows):
            self.writer.write_table(t.slice(k, min(self.row_group_rows, full - k)))
        self.count += full
        self.pending = [t.slice(full)] if full < t.num_rows else []
        self.pending_rows = t.num_rows - full

    def close(self) -> tuple[int, str | None]:
        """Finish the file and move it into place; returns (rows, sha256; None for a stage file,
        which is never published)."""
        self._flush(final=True)
        self.writer.close()
        if self.order:
            self._sort()
        digest = None if self.stage else file_sha256(self.tmp)
        os.replace(self.tmp, self.path)
        return self.count, digest

    def _sort(self) -> None:
        src = pa.ipc.open_file(pa.memory_map(str(self.tmp))).read_all()
        keys = src[KEY]
        if len(keys) < 2 or pc.all(pc.less_equal(keys[:-1], keys[1:])).as_py():
            return                  # a stage after the first keeps its input's order: sorted already
        src = src.combine_chunks()                 # take from one chunk: several times faster
        idx = pc.sort_indices(src[KEY])            # stable: equal keys keep the order they came in
        out = self.tmp.with_name(self.tmp.name + ".sorted")
        with pa.ipc.new_file(str(out), self.schema) as w:
            for k in range(0, len(idx), 4096):
                w.write_table(src.take(idx[k:k + 4096]))
        del src
        os.replace(out, self.tmp)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


def stage_batches(path: Path, columns: list[str] | None = None, rows: int = 4096, start: int = 0,
                  stop: int | None = None) -> Iterator[pa.RecordBatch]:
    """The record batches of a stage file (see ``ShardWriter(stage=True)``), memory-mapped, at most
    ``rows`` rows each, of its rows ``start`` to ``stop``. The arrays point into the map, which lives
    as long as they do."""
    reader = pa.ipc.open_file(pa.memory_map(str(path)))
    at = 0
    for i in range(reader.num_record_batches):
        if stop is not None and at >= stop:
            return
        rb = reader.get_batch(i)
        a, b = max(start - at, 0), rb.num_rows if stop is None else min(stop - at, rb.num_rows)
        at += rb.num_rows
        if a >= b:
            continue
        if columns is not None:
            rb = rb.select(columns)
        for k in range(a, b, rows):
            yield rb.slice(k, min(rows, b - k))


def utf8_buffer(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The bytes and offsets of a string array without creating Python strings."""
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    _, ob, db = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offs = np.frombuffer(ob, dtype=width)[arr.offset: arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(db if db is not None and len(arr) else b"\0", dtype=np.uint8)
    return data, offs


def utf8_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of many strings as one read-only array (like a memory-mapped stage file's)
    and their int64 offsets: the input of the compiled kernels."""
    raw = [t.encode("utf-8", "surrogatepass") for t in texts]
    offs = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raw], out=offs[1:])
    return np.frombuffer(b"".join(raw) or b"\0", dtype=np.uint8), offs


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_json(path: Path, obj, sort_keys: bool = True) -> None:
    opt = orjson.OPT_INDENT_2 | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    atomic_write_bytes(path, orjson.dumps(obj, option=opt, default=str))


def link_or_copy(src: Path, dst: Path) -> None:
    """Unchanged files of a new version are hard links (instant, no extra space); a copy where links are
    not possible."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def set_token_counts(path: Path, counts: list[int]) -> str:
    """Rewrite the data shard ``path`` with its ``token_count`` column set to ``counts`` (one per row,
    in row order), as the shard writer writes (zstd, no dictionary, the same row groups), under a
    temporary name then renamed: a hard link to it (an older version's shard) keeps the old bytes.
    Returns the new file's sha256."""
    pf = pq.ParquetFile(path)
    md = pf.metadata
    if md.num_rows != len(counts):
        raise ReleaseError(f"{path}: {md.num_rows} rows but {len(counts)} token counts")
    schema = pf.schema_arrow
    if TOKEN_COUNT.name not in schema.names:        # a shard written before the column existed
        schema = schema.append(TOKEN_COUNT)
    comp = md.row_group(0).column(0).compression.lower() if md.num_row_groups else "zstd"
    tmp = path.with_name(path.name + ".tmp")
    at = 0
    with pq.ParquetWriter(tmp, schema, compression=comp if comp != "uncompressed" else "none",
                          use_dictionary=False) as w:
        for g in range(md.num_row_groups):
            t = pf.read_row_group(g)
            col = pa.array(counts[at:at + t.num_rows], TOKEN_COUNT.type)
            at += t.num_rows
            if TOKEN_COUNT.name in t.column_names:
                t = t.set_column(t.schema.get_field_index(TOKEN_COUNT.name), TOKEN_COUNT, col)
            else:
                t = t.append_column(TOKEN_COUNT, col)
            w.write_table(t.select(schema.names))
    sha = file_sha256(tmp)
    os.replace(tmp, path)
    return sha

"""Parquet shard writer: zstd, row groups of a fixed row count, written to a temp name and renamed,
so a crash never leaves a half-written file under a final name."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from ..document import Document
from ..steps.base import Dropped

DATA_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
                         ("meta", pa.string())])
EXCLUDED_SCHEMA = pa.schema(list(DATA_SCHEMA) + [("step", pa.string()), ("reason", pa.string()),
                                                 ("score", pa.float64()), ("threshold", pa.float64())])


def _json(d: dict) -> str:
    return orjson.dumps(d, option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY, default=str).decode()


def _num(x) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


class ShardWriter:
    """Streams documents (or dropped documents) into one Parquet file."""

    def __init__(self, path: Path, excluded: bool = False, compression: str = "zstd",
                 row_group_rows: int = 10_000):
        self.path = Path(path)
        self.tmp = self.path.with_name(self.path.name + ".tmp")
        self.excluded = excluded
        self.schema = EXCLUDED_SCHEMA if excluded else DATA_SCHEMA
        self.row_group_rows = row_group_rows
        self.rows: list = []
        self.count = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression=compression)

    def write(self, items: Iterable[Document | Dropped]) -> None:
        self.rows.extend(items)
        while len(self.rows) >= self.row_group_rows:
            self._flush(self.rows[: self.row_group_rows])
            self.rows = self.rows[self.row_group_rows:]

    def _flush(self, items: list) -> None:
        if not items:
            return
        docs = [it.doc for it in items] if self.excluded else items
        cols = {"id": [d.id for d in docs], "text": [d.text for d in docs],
                "source": [_json(d.source) for d in docs], "meta": [_json(d.meta) for d in docs]}
        if self.excluded:
            cols["step"] = [it.step for it in items]
            cols["reason"] = [it.drop.reason for it in items]
            cols["score"] = [_num(it.drop.score) for it in items]
            cols["threshold"] = [_num(it.drop.threshold) for it in items]
        self.writer.write_table(pa.table(cols, schema=self.schema))
        self.count += len(items)

    def close(self) -> tuple[int, str]:
        """Finish the file and move it into place; returns (rows, sha256)."""
        self._flush(self.rows)
        self.rows = []
        self.writer.close()
        digest = file_sha256(self.tmp)
        os.replace(self.tmp, self.path)
        return self.count, digest

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)


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

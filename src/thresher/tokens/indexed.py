"""Megatron-LM's memory-mapped indexed dataset: a `.bin` of concatenated tokens and an `.idx` describing them.

The format (Megatron-LM `megatron/core/datasets/indexed_dataset.py`, also read by NeMo and datatrove):

    .idx  b"MMIDIDX\\x00\\x00"            9-byte magic
          <Q version (1)
          <B dtype code                   1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64, 7 float32, 8 uint16
          <Q sequence count  S
          <Q document count  D            len(document_indices), i.e. documents + 1
          int32[S] sequence lengths       in tokens
          int64[S] sequence pointers      byte offsets into .bin
          int64[D] document indices       sequence index where each document starts, then S

thresher writes one document per sequence, so the document indices are 0, 1, ..., S.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from ..errors import ReleaseError

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64,
               6: np.float64, 7: np.float32, 8: np.uint16}
CODE_OF = {np.dtype(v): k for k, v in DTYPE_CODES.items()}


def dtype_for_vocab(vocab_size: int) -> np.dtype:
    """uint16 when every token id fits (as Megatron's preprocess_data picks), else int32."""
    return np.dtype(np.uint16 if vocab_size <= 65536 else np.int32)


class IndexedWriter:
    """Writes `prefix.bin` and `prefix.idx` under temporary names; `close()` renames them into place (idx last)."""

    def __init__(self, prefix: str | os.PathLike, dtype: np.dtype | type) -> None:
        self.prefix = Path(prefix)
        self.dtype = np.dtype(dtype)
        if self.dtype not in CODE_OF:
            raise ValueError(f"unsupported token dtype {self.dtype}")
        self.bin_path = self.prefix.with_name(self.prefix.name + ".bin")
        self.idx_path = self.prefix.with_name(self.prefix.name + ".idx")
        self._bin_tmp = self.bin_path.with_name(self.bin_path.name + ".tmp")
        self._idx_tmp = self.idx_path.with_name(self.idx_path.name + ".tmp")
        self._bin = open(self._bin_tmp, "wb")
        self._lengths: list[int] = []

    def add(self, tokens) -> None:
        """Append one document (one sequence)."""
        arr = np.asarray(tokens, dtype=self.dtype)
        self._bin.write(arr.tobytes(order="C"))
        self._lengths.append(int(arr.size))

    def add_many(self, tokens, lengths: list[int]) -> None:
        """Append several documents at once: their tokens concatenated, and each one's length."""
        arr = np.asarray(tokens, dtype=self.dtype)
        if int(arr.size) != sum(lengths):
            raise ValueError(f"{arr.size} tokens, the lengths add up to {sum(lengths)}")
        self._bin.write(arr.tobytes(order="C"))
        self._lengths.extend(int(n) for n in lengths)

    def close(self) -> None:
        self._bin.close()
        lengths = np.asarray(self._lengths, dtype=np.int32)
        pointers = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            np.cumsum(lengths[:-1].astype(np.int64) * self.dtype.itemsize, out=pointers[1:])
        doc_idx = np.arange(len(lengths) + 1, dtype=np.int64)
        with open(self._idx_tmp, "wb") as f:
            f.write(MAGIC)
            f.write(struct.pack("<Q", VERSION))
            f.write(struct.pack("<B", CODE_OF[self.dtype]))
            f.write(struct.pack("<Q", len(lengths)))
            f.write(struct.pack("<Q", len(doc_idx)))
            f.write(lengths.tobytes())
            f.write(pointers.tobytes())
            f.write(doc_idx.tobytes())
        os.replace(self._bin_tmp, self.bin_path)
        os.replace(self._idx_tmp, self.idx_path)

    def abort(self) -> None:
        self._bin.close()
        for p in (self._bin_tmp, self._idx_tmp):
            p.unlink(missing_ok=True)

    def __enter__(self) -> "IndexedWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class IndexedDataset:
    """Reads a `.bin`/`.idx` pair through memory maps; `ds[i]` is sequence i as a read-only array view."""

    def __init__(self, prefix: str | os.PathLike) -> None:
        prefix = Path(prefix)
        self.idx_path = prefix.with_name(prefix.name + ".idx")
        self.bin_path = prefix.with_name(prefix.name + ".bin")
        try:
            raw = np.memmap(self.idx_path, dtype=np.uint8, mode="r")
        except (OSError, ValueError) as e:
            raise ReleaseError(f"{self.idx_path}: cannot read token index ({e})") from None
        head = bytes(raw[:34])
        if len(head) < 34 or head[:9] != MAGIC:
            raise ReleaseError(f"{self.idx_path}: not a Megatron indexed dataset (bad magic)")
        version, = struct.unpack("<Q", head[9:17])
        code, = struct.unpack("<B", head[17:18])
        n_seq, n_doc = struct.unpack("<QQ", head[18:34])
        if version != VERSION or code not in DTYPE_CODES:
            raise ReleaseError(f"{self.idx_path}: unsupported version {version} or dtype code {code}")
        need = 34 + n_seq * 4 + n_seq * 8 + n_doc * 8
        if raw.size < need:
            raise ReleaseError(f"{self.idx_path}: truncated ({raw.size} bytes, {need} expected)")
        self.dtype = np.dtype(DTYPE_CODES[code])
        off = 34
        self.lengths = np.frombuffer(raw, dtype=np.int32, count=n_seq, offset=off)
        off += n_seq * 4
        self.pointers = np.frombuffer(raw, dtype=np.int64, count=n_seq, offset=off)
        off += n_seq * 8
        self.document_indices = np.frombuffer(raw, dtype=np.int64, count=n_doc, offset=off)
        size = os.path.getsize(self.bin_path) if self.bin_path.exists() else -1
        total = int(self.lengths.sum(dtype=np.int64)) * self.dtype.itemsize
        if size != total:
            raise ReleaseError(f"{self.bin_path}: {size} bytes, the index describes {total}")
        self.tokens = (np.memmap(self.bin_path, dtype=self.dtype, mode="r") if total
                       else np.zeros(0, dtype=self.dtype))

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.pointers[i]) // self.dtype.itemsize
        return self.tokens[start:start + int(self.lengths[i])]

    @property
    def num_tokens(self) -> int:
        return int(self.tokens.size)

"""Readers: each input format plans shards (a file, or a byte/record/row-group range of one) and reads
one shard into Documents. A shard is plain data, so any executor can ship it to any worker."""
from __future__ import annotations

import glob
import importlib
import io
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from ..errors import InputError

if TYPE_CHECKING:
    from ..config import InputConfig, PipelineConfig
    from ..document import Document

log = logging.getLogger("thresher.io")
READ_BUFFER = 1 << 16     # 8x the default: line-by-line readers make 8x fewer read() calls (2x faster)

# format -> module with plan(files, root, cfg) and read(spec, counters); plugins may add entries.
READERS: dict[str, str] = {
    "jsonl": "thresher.io.jsonl",
    "parquet": "thresher.io.parquet",
    "text": "thresher.io.text",
    "warc": "thresher.io.warc",
    "code": "thresher.io.code",
    "pdf": "thresher.media.pdf",           # text from media (thresher.media): text layer, OCR, ASR
    "image": "thresher.media.image",
    "audio": "thresher.media.audio",
}


@dataclass(frozen=True)
class ShardSpec:
    """One unit of work: files of one format, optionally a [start, end) byte or row range of one file."""

    index: int
    format: str
    files: tuple[str, ...]
    root: str                      # locators are relative to this folder, so ids are machine-independent
    start: int = 0
    end: int | None = None
    options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def rel(self, path: str) -> str:
        return Path(path).resolve().relative_to(self.root).as_posix()


def reader(fmt: str):
    return importlib.import_module(READERS[fmt])


def resolve_files(pattern: str, base: Path) -> tuple[list[Path], Path]:
    """Expand a file, folder or glob; return sorted files and the folder locators are relative to."""
    p = Path(pattern).expanduser()
    p = p if p.is_absolute() else base / p
    if p.is_file():
        return [p.resolve()], p.resolve().parent.parent
    if p.is_dir():
        return sorted(_walk(p.resolve())), p.resolve().parent
    files = sorted(Path(f).resolve() for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
    if not files:
        raise InputError(f"{pattern}: no input files match")
    parts = []
    for part in p.parts:            # the folder before the first wildcard, as for a folder input
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    return files, Path(*parts).resolve().parent


def _walk(folder: Path) -> Iterator[Path]:
    """Files under a folder (not hidden ones; hidden folders such as .git are walked: the code reader
    needs them). scandir's cached types make this ~10x faster than rglob + resolve on 40k files."""
    with os.scandir(folder) as it:
        for e in it:
            if e.is_dir(follow_symlinks=False):
                yield from _walk(Path(e.path))
            elif e.is_file() and not e.name.startswith("."):
                yield Path(e.path)


def plan_shards(cfg: "PipelineConfig") -> list[ShardSpec]:
    """Every input's shards, numbered in a deterministic order (inputs, then sorted files)."""
    shards: list[ShardSpec] = []
    for inp in cfg.inputs():
        for pattern in inp.paths():
            path = cfg.resolve(pattern)
            if not path.exists() and not any(c in pattern for c in "*?["):
                raise InputError(f"{pattern}: input not found")
            files, root = resolve_files(pattern, Path(cfg.base_dir))
            if not files:
                raise InputError(f"{pattern}: folder holds no input files")
            for spec in reader(inp.format).plan(files, root, inp):
                options = {"text_key": inp.text_key, "id_key": inp.id_key, **spec.get("options", {})}
                shards.append(ShardSpec(len(shards), inp.format, spec["files"], str(root),
                                        spec.get("start", 0), spec.get("end"), options))
    return shards


def read_shard(spec: ShardSpec, counters: Counter) -> Iterator["Document"]:
    return reader(spec.format).read(spec, counters)


def open_stream(path: str | Path) -> io.BufferedIOBase:
    """Open a file, decompressing .gz / .zst / .bz2 / .xz transparently."""
    path = str(path)
    if path.endswith(".gz"):
        import gzip
        return gzip.open(path, "rb")
    if path.endswith((".zst", ".zstd")):
        import zstandard
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")))
    if path.endswith(".bz2"):
        import bz2
        return bz2.open(path, "rb")
    if path.endswith(".xz"):
        import lzma
        return lzma.open(path, "rb")
    return open(path, "rb", buffering=READ_BUFFER)


def is_compressed(path: str | Path) -> bool:
    return str(path).endswith((".gz", ".zst", ".zstd", ".bz2", ".xz", ".lz4"))


def decode(raw: bytes, declared: str | None = None) -> tuple[str, str]:
    """Bytes to text: the declared charset if it decodes, else UTF-8, else detected (uchardet)."""
    for enc in filter(None, (declared, "utf-8")):
        try:
            return raw.decode(enc), enc.lower()
        except (UnicodeDecodeError, LookupError):
            continue
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    enc = detect_encoding(raw)
    return bytes_to_str(raw, enc), enc


def size_groups(files: list[Path], shard_bytes: int) -> list[dict[str, Any]]:
    """Group small files into shards of about shard_bytes (for formats with one document per file)."""
    groups, cur, size = [], [], 0
    for f in files:
        cur.append(str(f))
        size += f.stat().st_size
        if size >= shard_bytes:
            groups.append({"files": tuple(cur)})
            cur, size = [], 0
    if cur:
        groups.append({"files": tuple(cur)})
    return groups


def bad_record(counters: Counter, path: str, offset: int, why: str) -> None:
    counters["skipped_bad_record"] += 1
    log.warning("skipped bad record: %s at offset %d: %s", path, offset, why)

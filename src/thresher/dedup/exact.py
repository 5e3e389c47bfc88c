"""Exact deduplication on a normalised content hash (xxh3-128), or on the document URL."""
from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import orjson
import xxhash

from ..errors import ConfigError
from .base import DedupStep
from .shards import ShardOut, iter_batches, ranks, sorted_runs

NORMALIZE = {"none": 0, "whitespace": 1, "text": 2}


def normalize_url(url: str) -> str:
    """Scheme and host lower-cased, default port, fragment and a trailing slash dropped."""
    try:
        p = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = (p.hostname or "").lower()
    if p.port and not ((p.scheme == "http" and p.port == 80) or (p.scheme == "https" and p.port == 443)):
        host = f"{host}:{p.port}"
    path = p.path.rstrip("/") or "/"
    return urlunsplit((p.scheme.lower(), host, path, p.query, ""))


def _hash128(view: memoryview, offs: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> None:
    digest = xxhash.xxh3_128_intdigest
    mask = (1 << 64) - 1
    o = offs.tolist()
    for i in range(len(o) - 1):
        h = digest(view[o[i]:o[i + 1]])
        hi[i] = h >> 64
        lo[i] = h & mask


def exact_keys(item: tuple[int, str], workdir: str, normalize: int, by_url: bool, keep: str,
               quality_key: str) -> dict:
    """Hash every document of one shard; save sorted runs (hi as key, lo beside it)."""
    from . import kernels
    index, path = item
    out = ShardOut(Path(workdir), index)
    if out.done():
        return out.info()
    out.dir.mkdir(parents=True, exist_ok=True)
    his, los, docs, rank, ids = [], [], [], [], []
    n = nbytes = 0
    for b in iter_batches(Path(path), meta=keep == "quality", source=by_url):
        m = len(b.ids)
        hi, lo = np.empty(m, np.uint64), np.empty(m, np.uint64)
        if by_url:
            keep_rows = []
            for i, src in enumerate(b.source or []):
                url = orjson.loads(src).get("url") if src else None
                if isinstance(url, str) and url:
                    h = xxhash.xxh3_128_intdigest(normalize_url(url).encode("utf-8", "surrogatepass"))
                    hi[i], lo[i] = h >> 64, h & ((1 << 64) - 1)
                    keep_rows.append(i)
            sel = np.asarray(keep_rows, dtype=np.int64)
        else:
            if normalize:
                buf, offs = kernels.normalize_batch(b.buf, b.offs, normalize)
            else:
                buf, offs = b.buf, b.offs
            _hash128(memoryview(buf), offs, hi, lo)
            sel = np.arange(m, dtype=np.int64)
        his.append(hi[sel])
        los.append(lo[sel])
        docs.append(sel + b.start)
        rank.append(ranks(b, keep, quality_key))
        ids.append(b.ids)
        n += m
        nbytes += int(b.offs[-1] - b.offs[0])
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))
    sorted_runs(out, cat(his, np.uint64)[None, :], cat(docs, np.int64), cat(los, np.uint64)[None, :])
    out.save("rank.npy", cat(rank, np.float64))
    out.write_ids(ids)
    return out.finish({"documents": n, "keyed": int(sum(len(d) for d in docs)), "bytes": nbytes})


class ExactDedup(DedupStep):
    """Drop exact duplicates (normalised content hash, or URL); one deterministic copy is kept.

    ``normalize``: none (bytes as is), whitespace (runs of white space count as one space; the
    default), text (also lower-case and ignore punctuation). ``key: url`` treats documents with the
    same normalised ``source.url`` as duplicates (recrawls). ``keep``: first (earliest in input
    order), longest, or quality (highest ``meta`` value at ``quality_key``, a dotted path).
    """

    name = "exact_dedup"
    version = 1
    kind = "exact"

    def __init__(self, normalize: Literal["none", "whitespace", "text"] = "whitespace",
                 key: Literal["content", "url"] = "content",
                 keep: Literal["first", "longest", "quality"] = "first", quality_key: str | None = None):
        if normalize not in NORMALIZE:
            raise ConfigError(f"exact_dedup: normalize must be one of {', '.join(NORMALIZE)}")
        self.normalize, self.key = normalize, key
        self.reason = "duplicate_url" if key == "url" else "exact_duplicate"
        self.bands, self.threshold = 1, 1.0
        self._init_keep(keep, quality_key)

    def key_task(self):
        return exact_keys, (NORMALIZE[self.normalize], self.key == "url", self.keep, self.quality_key)

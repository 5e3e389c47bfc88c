"""Applying removal requests to the shard files of one release: find the rows they cover (direct
matches, then near-duplicate expansion), and rewrite only the files that hold such rows.

Used by ``forget`` (which writes the result into a new version folder) and by the build hook (which
rewrites a fresh build in place). Removed rows leave a text-less trace in
``excluded/part-NNNNN-governance*.parquet`` (id, step ``governance``, the request ids as reason,
the content hash in meta) so ``thresher why`` can answer, while the text itself is gone.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..executors import Executor, LocalExecutor
from ..io.writer import EXCLUDED_SCHEMA, file_sha256
from ..progress import Progress
from ..layout import may_hold
from ..release import leaf_table
from .matchers import Compiled

if TYPE_CHECKING:
    from .request import Request

GOV_STEP = "governance"
THRESHOLD = 0.5            # containment for near-duplicate expansion (see neardup.py)
_SHARD = re.compile(r"^(part-\d+)")


class SaltedHasher:
    """Picklable salted hash for e-mails and handles (workers get the salt, never the values)."""

    def __init__(self, salt: bytes):
        self.salt = salt
        self.memo: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        h = self.memo.get(value)
        if h is None:
            h = self.memo[value] = "salted-sha256:" + hashlib.sha256(self.salt + value.encode("utf-8")).hexdigest()
        return h


@dataclass
class Hit:
    """One row a set of requests removes: request id -> how ({"how": "direct"} or near-duplicate info)."""

    id: str
    why: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return ",".join(sorted(self.why))

    @property
    def score(self) -> float | None:
        s = [w["score"] for w in self.why.values() if "score" in w]
        return max(s) if s else None


Hits = dict[str, dict[int, Hit]]        # file relpath -> row index -> Hit


@lru_cache(maxsize=4096)
def shard_of(rel: str) -> str:
    m = _SHARD.match(Path(rel).name)
    return m.group(1) if m else Path(rel).stem


def release_files(release: Path) -> list[str]:
    """Relpaths of the data and excluded shard files (governance traces are never matched again)."""
    out = [f"data/{p.name}" for p in sorted((release / "data").glob("*.parquet"))]
    out += [f"excluded/{p.name}" for p in sorted((release / "excluded").glob("*.parquet"))
            if f"-{GOV_STEP}" not in p.name]
    return out


def _match_file(rel: str, release: Path, requests: list[Request], hasher: SaltedHasher) -> dict[int, Hit]:
    comp = Compiled(requests, hasher)
    cols = ["id"] + (["text"] if comp.needs_text else []) + (["source"] if comp.needs_source else [])
    hits: dict[int, Hit] = {}
    row = 0
    for b in pq.ParquetFile(release / rel).iter_batches(batch_size=8192, columns=cols):
        found = comp.match_batch(b.column("text") if comp.needs_text else None,
                                 b.column("source") if comp.needs_source else None, b.num_rows)
        if found:
            ids = b.column("id")
            for k, reqs in sorted(found.items()):
                hits[row + k] = Hit(ids[k].as_py(), {r: {"how": "direct"} for r in reqs})
        row += b.num_rows
    return hits


def find_hits(release: Path, requests: list[Request], hasher: SaltedHasher,
              executor: Executor | None = None, files: list[str] | None = None,
              threshold: float = THRESHOLD, layout: dict[str, Any] | None = None) -> Hits:
    """Every row of the release's shard files that ``requests`` remove, with the reasons. With the
    ``layout`` of a release ordered by source, URL and domain requests only read the shards whose
    key range may hold their documents."""
    executor = executor or LocalExecutor(1, False)
    files = release_files(release) if files is None else files
    if not requests or not files:
        return {}
    scan = may_hold(files, requests, layout)
    found = thread_map(lambda rel: _match_file(rel, release, requests, hasher), scan, threads_for(executor),
                       desc=f"{Path(release).name}: matching requests", progress=getattr(executor, "progress", None))
    hits: Hits = {rel: h for rel, h in zip(scan, found) if h}
    near = [r.id for r in requests if r.near_duplicates]
    if near and any(r in h.why for fh in hits.values() for h in fh.values() for r in near):
        from .neardup import similar      # numba compiles on first use: only when a request asks for it
        shas = [file_sha256(release / rel) for rel in files]
        sigs = executor.map(_sig_pair, list(zip(files, shas)), release, desc="governance: minhash")
        seeds = [(rel, row, h.id, r) for rel, fh in hits.items() for row, h in fh.items() for r in near if r in h.why]
        by_rel = dict(zip(files, sigs))
        ids: dict[str, list[str]] = {}
        for rel, row, seed_id, rid in seeds:
            s_sig, s_size = by_rel[rel][0][row], int(by_rel[rel][1][row])
            for other, (sig, size) in by_rel.items():
                mask, score = similar(s_sig, s_size, sig, size, threshold)
                for k in np.flatnonzero(mask):
                    k = int(k)
                    if other == rel and k == row:
                        continue
                    fh = hits.setdefault(other, {})
                    if k not in fh:
                        if other not in ids:
                            ids[other] = pq.ParquetFile(release / other).read(columns=["id"]).column("id").to_pylist()
                        fh[k] = Hit(ids[other][k])
                    prev = fh[k].why.get(rid)
                    if prev is None or (prev.get("how") != "direct" and prev["score"] < float(score[k])):
                        fh[k].why[rid] = {"how": "near-duplicate", "of": seed_id, "score": round(float(score[k]), 4),
                                          "threshold": threshold}
    return hits


def _sig_pair(item: tuple[str, str], release: Path) -> tuple[np.ndarray, np.ndarray]:
    from .neardup import shard_signatures

    return shard_signatures(release, item[0], item[1])


# --- rewriting ----------------------------------------------------------------------------------------
@dataclass
class Removed:
    """What one removed row leaves behind: id, content hash, where it was, why, and its stats."""

    id: str
    content_hash: str
    file: str
    reason: str
    score: float | None
    why: dict[str, dict[str, Any]]
    language: str
    nbytes: int


def _writer_opts(path: Path) -> dict[str, Any]:
    md = pq.ParquetFile(path).metadata
    comp = md.row_group(0).column(0).compression.lower() if md.num_row_groups else "zstd"
    rows = md.row_group(0).num_rows if md.num_row_groups else 10_000
    # dictionary encoding only where values repeat: trying it on the text column costs a fifth of the write
    # and statistics only for ids (what `Release.find` filters on): min/max of long texts cost time too
    dict_cols = [c for c in md.schema.names if c not in ("text", "id")]
    return {"compression": comp if comp != "uncompressed" else "none", "row_group_size": max(rows, 1),
            "use_dictionary": dict_cols, "write_statistics": ["id"]}


def threads_for(executor: Executor) -> int:
    """Threads to use beside an executor: as many as it has workers."""
    return max(1, int(executor.workers))


def thread_map(fn: Callable[..., Any], items: list[Any], workers: int, desc: str | None = None,
               progress: bool | None = None) -> list[Any]:
    """Map in threads: Parquet decoding, zstd and the Arrow string kernels release the GIL, so threads
    use every core without a process pool's start-up and pickling (seconds on a 200 MB release).
    With ``desc``, a progress bar (log lines off a terminal) counts the files done."""
    with Progress(desc or "", total=len(items), unit="files", enabled=False if desc is None else progress) as bar:
        if workers <= 1 or len(items) <= 1:
            out = []
            for it in items:
                out.append(fn(it))
                bar.advance()
            return out
        with ThreadPoolExecutor(max_workers=workers) as pool:
            out = []
            for r in pool.map(fn, items):
                out.append(r)
                bar.advance()
            return out


def rewrite_file(src: Path, dst: Path, rel: str, hits: dict[int, Hit],
                 old_leaves: pa.Table | None = None) -> tuple[int, str, list[Removed], pa.Table | None]:
    """Write ``src`` minus the hit rows to ``dst`` (atomically); returns rows, sha256, what was removed
    and, for data files, the kept rows' leaves (a ``leaf_table``: ``old_leaves`` minus the removed
    rows when given and consistent with them, which saves hashing every kept text again)."""
    # one file per thread (thread_map): no nested thread pool; and not read_table, whose dataset
    # machinery costs ~0.4 s on first use
    table = pq.ParquetFile(src).read(use_threads=False)
    opts = _writer_opts(src)
    rows = sorted(hits)
    gone = table.take(pa.array(rows, pa.int64()))
    # the kept rows as zero-copy slices between the removed ones (a filter would copy every text)
    bounds = [-1] + rows + [table.num_rows]
    kept = pa.concat_tables([table.slice(a + 1, b - a - 1) for a, b in zip(bounds, bounds[1:]) if b - a > 1]
                            or [table.slice(0, 0)])
    removed = []
    for r, text, meta in zip(rows, gone.column("text").to_pylist(), gone.column("meta").to_pylist()):
        m = orjson.loads(meta) if meta else {}
        h = hits[r]
        removed.append(Removed(h.id, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), rel,
                               h.reason, h.score, h.why, str(m.get("language", "unknown")),
                               len(text.encode("utf-8", "surrogatepass"))))
    tmp = dst.with_name(dst.name + ".tmp")
    dst.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(kept, tmp, **opts)
    sha = file_sha256(tmp)
    os.replace(tmp, dst)
    leaves = None
    if rel.startswith("data/"):
        if old_leaves is not None:
            leaves = minus_leaves(old_leaves, [(r.id, r.content_hash) for r in removed])
        if leaves is None or leaves.num_rows != kept.num_rows:
            leaves = leaves_of_texts(kept.column("id").to_pylist(), kept.column("text").to_pylist())
    return kept.num_rows, sha, removed, leaves


def minus_leaves(leaves: pa.Table, gone: list[tuple[str, str]]) -> pa.Table | None:
    """A ``leaf_table`` without one leaf per removed (id, content_hash); None if one of them is not
    there (the leaves do not describe the file)."""
    if not gone:
        return leaves
    ids = leaves["id"]
    hit = pc.is_in(ids, value_set=pa.array(sorted({i for i, _ in gone}), pa.string()))
    at = pc.indices_nonzero(hit).to_pylist()
    have = Counter(zip(ids.take(at).to_pylist(), leaves["content_hash"].take(at).to_pylist()))
    want = Counter(gone)
    if any(have[p] < n for p, n in want.items()):
        return None
    if have == want:          # the usual case: every leaf with a removed id goes
        return leaves.filter(pc.invert(hit))
    keep = np.ones(leaves.num_rows, dtype=bool)
    for k, pair in zip(at, zip(ids.take(at).to_pylist(), leaves["content_hash"].take(at).to_pylist())):
        if want.get(pair):
            want[pair] -= 1
            keep[k] = False
    return leaves.filter(pa.array(keep))


def leaves_of_texts(ids: list[str], texts: list[str]) -> pa.Table:
    return leaf_table(ids, [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts])


def leaves_of_file(path: Path) -> pa.Table:
    t = pq.ParquetFile(path).read(columns=["id", "text"])
    return leaves_of_texts(t.column("id").to_pylist(), t.column("text").to_pylist())


def write_trace(path: Path, removed: list[Removed], previous: Path | None = None) -> tuple[int, str]:
    """The text-less governance trace of removed rows (appending to an earlier trace if given)."""
    cols: dict[str, list] = {"id": [], "text": [], "source": [], "meta": [], "step": [], "reason": [],
                             "score": [], "threshold": []}
    for r in removed:
        near = [w for w in r.why.values() if w["how"] == "near-duplicate"]
        cols["id"].append(r.id)
        cols["text"].append("")
        cols["source"].append("{}")
        cols["meta"].append(orjson.dumps({"governance": {"content_sha256": r.content_hash, "from": r.file,
                                                         "requests": r.why}}, option=orjson.OPT_SORT_KEYS).decode())
        cols["step"].append(GOV_STEP)
        cols["reason"].append(r.reason)
        cols["score"].append(r.score)
        cols["threshold"].append(near[0]["threshold"] if near else None)
    table = pa.table(cols, schema=EXCLUDED_SCHEMA)
    if previous is not None and previous.exists():
        old = pq.read_table(previous, schema=EXCLUDED_SCHEMA)
        table = pa.concat_tables([old.filter(pc.invert(pc.is_in(old.column("id"), table.column("id")))), table])
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp, compression="zstd")
    sha = file_sha256(tmp)
    os.replace(tmp, path)
    return table.num_rows, sha


def language_drops(removed: list[Removed]) -> dict[str, Counter]:
    out: dict[str, Counter] = {}
    for r in removed:
        if r.file.startswith("data/"):
            c = out.setdefault(r.language, Counter())
            c["docs"] += 1
            c["bytes"] += r.nbytes
    return out

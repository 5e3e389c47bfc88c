"""Clusters from streamed candidate edges: union-find over global document indices (numpy arrays,
never a Python object per document), the kept document per cluster by the keep rule, then one
decision file per shard (and the release's ``clusters`` table) written by the executor."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from ..paths import clusters_path, shard_name
from ..io.writer import write_json
from .shards import ShardOut, peak_rss_mb

EDGE_CHUNK = 1 << 20

# similarity: to the kept document; matched / match_similarity: the closest verified pair that
# put the document in its cluster (clusters are transitive, so the kept one may be further away)
DECISION_SCHEMA = pa.schema([("pos", pa.int64()), ("id", pa.string()), ("cluster_id", pa.string()),
                             ("kept", pa.bool_()), ("duplicate_of", pa.string()), ("similarity", pa.float64()),
                             ("cluster_size", pa.int64()), ("matched", pa.string()),
                             ("match_similarity", pa.float64())])


def build_clusters(workdir: Path, shards: list[int], counts: list[int], edge_files: list[Path]) -> dict:
    """Union-find over every edge file (read in chunks), then per shard its members of clusters of
    two or more: (local position, root, kept global index, cluster size) in ``assign/``."""
    from . import pairs
    marker = workdir / "assign" / "done.json"
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    n = int(sum(counts))
    # int32 where it fits: parent, match, best similarity, rank, kept and size: 28 bytes per document
    idx = np.int32 if n < 2**31 - 1 else np.int64
    parent = np.arange(n, dtype=idx)
    best_sim = np.full(n, -1.0, dtype=np.float32)      # each document's closest verified neighbour
    match = np.full(n, -1, dtype=idx)
    edges = unions = 0
    for f in edge_files:
        e = np.load(f, mmap_mode="r")       # streamed: one chunk of edges in memory at a time
        for k in range(0, e.shape[0], EDGE_CHUNK):
            chunk = e[k:k + EDGE_CHUNK]
            a, b = np.ascontiguousarray(chunk["src"]), np.ascontiguousarray(chunk["dst"])
            unions += pairs.union_edges(parent, a, b)
            pairs.best_matches(a, b, np.ascontiguousarray(chunk["sim"]), best_sim, match)
        edges += int(e.shape[0])
        del e
    pairs.flatten(parent)
    rank = np.concatenate([ShardOut(workdir, s).load("rank.npy", mmap=False) for s in shards]) if n else np.zeros(0)
    best, size = pairs.choose_kept(parent, rank)
    del rank
    (workdir / "assign").mkdir(parents=True, exist_ok=True)
    off = 0
    members = clusters = 0
    for s, c in zip(shards, counts):
        root = parent[off:off + c]
        sz = size[root]
        pos = np.flatnonzero(sz >= 2)
        r = root[pos]
        kept = best[r]
        tmp = workdir / "assign" / f"{shard_name(s)}.tmp.npz"
        np.savez(tmp, pos=pos, root=r.astype(np.int64), kept=kept.astype(np.int64), size=sz[pos].astype(np.int64),
                 match=match[off:off + c][pos].astype(np.int64), match_sim=best_sim[off:off + c][pos])
        os.replace(tmp, workdir / "assign" / f"{shard_name(s)}.npz")
        members += int(pos.shape[0])
        clusters += int(np.count_nonzero(kept == pos + off))
        off += c
    info = {"documents": n, "edges": edges, "unions": unions, "clusters": clusters, "members": members,
            "duplicates": members - clusters, "peak_rss_mb": peak_rss_mb()}
    write_json(marker, info)
    return info


@dataclass(frozen=True)
class DecisionJob:
    workdir: str
    release: str                  # the release folder (for clusters/<label>/)
    label: str                    # step name: the clusters table folder and the cluster id salt
    shards: tuple[int, ...]
    offsets: tuple[int, ...]      # global index of each shard's first document (len = shards + 1)
    similarity: str               # "one" | "sets" | "signatures"
    containment: bool = False


def decisions_path(workdir: Path, shard: int) -> Path:
    return workdir / "decisions" / f"{shard_name(shard)}.arrow"


def cluster_id(label: str, kept_id: str) -> str:
    """Stable across runs: the same kept document names the same cluster."""
    return xxhash.xxh3_64_hexdigest(f"{label}\x00{kept_id}".encode("utf-8", "surrogatepass"))


def _lookup_ids(job: DecisionJob, glob_idx: np.ndarray, cache: dict[int, pa.Array]) -> list[str]:
    """Document ids for global indices, reading only the shards they live in (once per task)."""
    out: list[str | None] = [None] * glob_idx.shape[0]
    owner = np.searchsorted(np.asarray(job.offsets), glob_idx, "right") - 1
    for k in np.unique(owner).tolist():
        sel = np.flatnonzero(owner == k)
        if k not in cache:
            cache[k] = ShardOut(Path(job.workdir), job.shards[k]).ids()
        ids = cache[k]
        got = ids.take(pa.array(glob_idx[sel] - job.offsets[k])).to_pylist()
        for i, v in zip(sel.tolist(), got):
            out[i] = v
    return out  # type: ignore[return-value]


def _signature_similarity(job: DecisionJob, member: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Estimated Jaccard (or containment) of member and kept from their MinHash signatures,
    one vectorised comparison per (member shard, kept shard) pair."""
    offsets = np.asarray(job.offsets)
    sims = np.ones(member.shape[0])
    own = np.searchsorted(offsets, member, "right") - 1
    other = np.searchsorted(offsets, kept, "right") - 1
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def shard(k: int) -> tuple[np.ndarray, np.ndarray]:
        if k not in cache:
            out = ShardOut(Path(job.workdir), job.shards[k])
            cache[k] = (out.load("sig.npy"), out.load("counts.npy"))
        return cache[k]

    for ka, kb in sorted(set(zip(own.tolist(), other.tolist()))):
        sel = np.flatnonzero((own == ka) & (other == kb))
        (sa, ca), (sb, cb) = shard(ka), shard(kb)
        la, lb = member[sel] - offsets[ka], kept[sel] - offsets[kb]
        j = np.mean(np.asarray(sa[la]) == np.asarray(sb[lb]), axis=1)
        if job.containment:
            na, nb = np.asarray(ca[la], np.float64), np.asarray(cb[lb], np.float64)
            j = np.minimum(1.0, j * (na + nb) / ((1 + j) * np.maximum(1, np.minimum(na, nb))))
        sims[sel] = j
    return sims


def run_decision_task(index: int, job: DecisionJob) -> dict:
    """Write shard ``job.shards[index]``'s decisions (read by the filter stage) and clusters rows."""
    from . import pairs
    workdir = Path(job.workdir)
    s = job.shards[index]
    path = decisions_path(workdir, s)
    marker = path.with_suffix(".json")
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    with np.load(workdir / "assign" / f"{shard_name(s)}.npz") as z:
        pos, kept, size, match, match_sim = z["pos"], z["kept"], z["size"], z["match"], z["match_sim"]
    off = job.offsets[index]
    member = pos + off
    ids = ShardOut(workdir, s).ids().take(pa.array(pos, pa.int64())).to_pylist() if pos.size else []
    id_cache: dict[int, pa.Array] = {}
    kept_ids = _lookup_ids(job, kept, id_cache) if pos.size else []
    is_kept = member == kept
    if job.similarity == "sets" and pos.size:
        store = np.load(workdir / "store" / "sets.npy", mmap_mode="r")
        offs = np.load(workdir / "store" / "offs.npy", mmap_mode="r")
        sims = pairs.similarities(store, offs, member, kept, job.containment)
    elif job.similarity == "signatures" and pos.size:
        sims = _signature_similarity(job, member, kept)
    else:
        sims = np.ones(pos.shape[0])
    sims[is_kept] = 1.0
    has = match >= 0
    matched: list[str | None] = [None] * int(pos.size)
    for i, v in zip(np.flatnonzero(has).tolist(), _lookup_ids(job, match[has], id_cache) if has.any() else []):
        matched[i] = v
    msim = np.where(has, match_sim.astype(np.float64), np.nan)
    cids = [cluster_id(job.label, k) for k in kept_ids]
    dup_of = [None if k else kid for k, kid in zip(is_kept.tolist(), kept_ids)]
    table = pa.table({"pos": pos.astype(np.int64), "id": pa.array(ids, pa.string()),
                      "cluster_id": pa.array(cids, pa.string()), "kept": pa.array(is_kept),
                      "duplicate_of": pa.array(dup_of, pa.string()), "similarity": sims.astype(np.float64),
                      "cluster_size": size.astype(np.int64), "matched": pa.array(matched, pa.string()),
                      "match_similarity": pa.array(msim, from_pandas=True)}, schema=DECISION_SCHEMA)
    table = table.take(pc.sort_indices(table["pos"]))        # by position: the filter slices it by rows
    path.parent.mkdir(parents=True, exist_ok=True)       # for the filter stage: Arrow IPC, read once
    with pa.OSFile(str(path) + ".tmp", "wb") as f, pa.ipc.new_file(f, DECISION_SCHEMA) as w:
        w.write_table(table)
    os.replace(str(path) + ".tmp", path)
    dest = clusters_path(Path(job.release), job.label, s)     # published
    dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.drop(["pos"]).append_column("shard", pa.array(np.full(len(table), s, np.int64))),
                   dest.with_name(dest.name + ".tmp"), compression="zstd")
    os.replace(dest.with_name(dest.name + ".tmp"), dest)
    info = {"shard": s, "members": int(pos.size), "dropped": int((~is_kept).sum()), "peak_rss_mb": peak_rss_mb()}
    write_json(marker, info)
    return info


def load_decisions(workdir: Path, shard: int) -> pa.Table:
    """One shard's decisions (documents in clusters of two or more, see ``DECISION_SCHEMA``), sorted
    by position: ``decision_rows`` takes those of a range of rows."""
    path = decisions_path(workdir, shard)
    if not path.exists():
        return DECISION_SCHEMA.empty_table()
    with pa.memory_map(str(path)) as src:
        t = pa.ipc.open_file(src).read_all().combine_chunks()
    pos = t["pos"].to_numpy()
    if len(pos) > 1 and (np.diff(pos) < 0).any():        # written before decisions were sorted
        t = t.take(pc.sort_indices(t["pos"])).combine_chunks()
    return t


def decision_rows(t: pa.Table, start: int, stop: int) -> tuple[dict[int, int], dict[str, list]]:
    """The decisions for positions ``start .. stop - 1``: position -> row, and the rows' columns as
    lists (only these rows become Python objects: a shard's last stage may read a range of each)."""
    pos = t["pos"].to_numpy()
    a, b = np.searchsorted(pos, [start, stop])
    cols = {c: t.column(c).slice(a, b - a).to_pylist() for c in DECISION_SCHEMA.names}
    return {p: i for i, p in enumerate(cols["pos"])}, cols

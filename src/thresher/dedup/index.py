"""The persistent dedup index of a release: what a later ``thresher update`` deduplicates new documents
against, without reading the old documents again.

For every dedup step (``LABEL``) of a build, ``RELEASE/.thresher/dedup-index/LABEL/`` holds one segment
per version (``seg-NNNN/``), each with the keys of the documents that step saw in that version, its
kept documents and the duplicates it dropped (so a new document that is near a dropped copy joins that
copy's cluster, as union-find does in a build of everything at once):

    meta.json      the step's kind and key settings (an update refuses an index made with others), the segments
    seg-NNNN/ids.parquet  row r: ``id`` and ``rep`` (the index number of the kept document of its cluster)
    seg-NNNN/keys.npy     uint64 [bands, n]: every band key (exact: the high 64 bits of the xxh3-128 hash),
                          each band row sorted; docs.npy beside it (int64, index number of each key)
    seg-NNNN/lo.npy       exact only: the low 64 bits, aligned with keys.npy (a match needs all 128 bits)
    seg-NNNN/sets.bin     MinHash with verification: shingle sets (uint32), offs.npy (int64, local rows)
    seg-NNNN/sig.bin      MinHash without verification: signatures (uint64 [n, num_perm]), counts.npy

A new version's index hard-links the old segments and adds one, so an update costs what its new
documents cost. :func:`after_fit` is called by ``DedupStep.fit`` once the fit has decided, while its
per-shard runs are still on disk. In a build it writes the first segment. In the staging folder of an
update (``paths.update_state`` names the parent release) it first matches the new documents against
the parent's index (``dedup/index_match.py``: the same band keys and the same similarity check as a
fit), turns every new cluster
that touches an old one into drops with ``duplicate_of`` the old cluster's kept document (keep-first
across versions: the old copy is never dropped), rewrites those decision files, and writes the index:
the parent's segments plus the new one.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ReleaseError
from ..io.writer import link_or_copy, write_json
from ..paths import clusters_path, dedup_index_dir, is_release_workdir, release_of, update_state
from .clusters import DECISION_SCHEMA, cluster_id, decisions_path, load_decisions
from .index_match import match_old, similarity_source
from .shards import ShardOut

if TYPE_CHECKING:
    from .base import DedupStep

PARAM_KEYS = ("kind", "normalize", "key", "num_perm", "bands", "rows", "ngram", "char_ngram", "tokens", "seed",
              "_verify", "similarity", "threshold")


def params(step: "DedupStep") -> dict[str, Any]:
    """The settings that decide a step's keys and matches (an index is only reused with the same)."""
    return {k.lstrip("_"): getattr(step, k) for k in PARAM_KEYS if hasattr(step, k)}


class Segment:
    """One version's part of an index (arrays memory-mapped; ``first``: its first index number)."""

    def __init__(self, path: Path, first: int, n: int, num_perm: int | None):
        self.path, self.first, self.n, self.num_perm = Path(path), first, n, num_perm
        self.keys = np.load(self.path / "keys.npy", mmap_mode="r")
        self.docs = np.load(self.path / "docs.npy", mmap_mode="r")

    def column(self, name: str) -> pa.ChunkedArray:
        # ParquetFile, not pq.read_table: that imports pyarrow.dataset (most of a second) for one file
        return pq.ParquetFile(self.path / "ids.parquet").read(columns=[name]).column(name)

    def lo(self) -> np.ndarray:
        return np.load(self.path / "lo.npy", mmap_mode="r")

    def sets_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shingle sets of local rows ``rows`` (ascending, unique) as a store of their own (values,
        offsets; set r of the result is that of ``rows[r]``), read from ``sets.bin`` where they lie and
        nowhere else: an update compares its new documents with the few old ones they share a band with,
        scattered over the whole file, and a memory map of it faulted in pages around each of them
        (the page cache maps 64 KB around a fault), so all of the old sets became resident (63 MB, the
        whole file, for the 5,470 pairs of the update benchmark)."""
        offs = np.load(self.path / "offs.npy", mmap_mode="r")
        lo = np.asarray(offs[rows], np.int64)
        lens = np.asarray(offs[rows + 1], np.int64) - lo
        return _read_rows(self.path / "sets.bin", lo, lens, np.uint32), np.concatenate([[0], np.cumsum(lens)])

    def signatures_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The MinHash signatures ([len(rows), num_perm]) and shingle counts of local rows ``rows``, read
        where they lie (as ``sets_of``)."""
        p = int(self.num_perm or 1)
        sig = _read_rows(self.path / "sig.bin", rows * p, np.full(rows.shape[0], p, np.int64), np.uint64)
        return sig.reshape(rows.shape[0], p), np.asarray(np.load(self.path / "counts.npy", mmap_mode="r")[rows])


def _read_rows(path: Path, starts: np.ndarray, lens: np.ndarray, dtype: type) -> np.ndarray:
    """Items ``starts[k] .. starts[k] + lens[k]`` of a flat binary file of ``dtype``, end to end."""
    size = np.dtype(dtype).itemsize
    out: np.ndarray = np.empty(int(lens.sum()), dtype)
    buf = memoryview(out.data).cast("B")
    at = 0
    with open(path, "rb") as f:
        fd = f.fileno()
        for a, n in zip(starts.tolist(), lens.tolist()):
            if n and os.preadv(fd, [buf[at:at + n * size]], a * size) != n * size:
                raise ReleaseError(f"{path}: shorter than its index says (truncated or damaged)")
            at += n * size
    return out


class Index:
    """Read access to one step's index in a release: its segments, in version order."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta = orjson.loads((self.path / "meta.json").read_bytes())
        self.n = int(self.meta["documents"])
        perm = self.meta["params"].get("num_perm")
        self.segments = [Segment(self.path / s["dir"], s["first"], s["documents"], perm) for s in self.meta["segments"]]
        self._rep: np.ndarray | None = None

    @staticmethod
    def exists(path: Path) -> bool:
        return (Path(path) / "meta.json").is_file()

    def rep(self) -> np.ndarray:
        """The index number of the kept document of every index document's cluster, in index order."""
        if self._rep is None:
            reps = [s.column("rep").to_numpy() for s in self.segments]
            self._rep = np.concatenate(reps) if reps else np.zeros(0, np.int64)
        return self._rep

    def ids(self, nums: np.ndarray) -> list[str]:
        """The ids of index documents ``nums`` (index numbers, any order): only the segments they are in are read."""
        starts = np.asarray([s.first for s in self.segments], np.int64)
        seg_of = np.searchsorted(starts, nums, "right") - 1
        out = np.empty(nums.shape[0], dtype=object)
        for k in np.unique(seg_of).tolist():
            sel = np.flatnonzero(seg_of == k)
            seg = self.segments[k]
            out[sel] = seg.column("id").take(pa.array(nums[sel] - seg.first, pa.int64())).to_pylist()
        return out.tolist()


# -- collecting what a fit kept ------------------------------------------------------------------------
class _Kept:
    """Band entries (key, global document) of the documents a fit kept, and what else the index needs."""

    def __init__(self, bands: int):
        self.keys: list[list[np.ndarray]] = [[] for _ in range(bands)]
        self.docs: list[list[np.ndarray]] = [[] for _ in range(bands)]
        self.lo: list[np.ndarray] = []
        self.kept: list[np.ndarray] = []        # per shard, global indices of its (kept) keyed documents

    def band(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        k, d = self.keys[b], self.docs[b]
        return (np.concatenate(k) if k else np.zeros(0, np.uint64)), (np.concatenate(d) if d else np.zeros(0, np.int64))


def _collect(step: "DedupStep", workdir: Path, shards: list[int], counts: list[int], offsets: list[int],
             only_kept: bool = True) -> _Kept:
    bands = int(step.bands)
    out = _Kept(bands)
    for s, c, off in zip(shards, counts, offsets):
        so = ShardOut(workdir, s)
        keys, docs = so.load("keys.npy", mmap=False), so.load("docs.npy", mmap=False).astype(np.int64)
        dec = load_decisions(workdir, s)
        kept = np.ones(c, dtype=bool)
        if dec.num_rows and only_kept:
            gone = dec.filter(pc.invert(dec["kept"]))["pos"].to_numpy()
            kept[gone] = False
        lo = so.load("extra.npy", mmap=False) if step.kind == "exact" else None
        for b in range(bands):
            sel = kept[docs[b]]
            out.keys[b].append(keys[b][sel])
            out.docs[b].append(docs[b][sel] + off)
            if lo is not None:
                out.lo.append(lo[0][sel])
        out.kept.append(np.unique(docs[0][kept[docs[0]]]) + off if docs.shape[1] else np.zeros(0, np.int64))
    return out


# -- rewriting the decisions of the matched documents --------------------------------------------------
def _rewrite_decisions(workdir: Path, release: Path, label: str, shards: list[int], offsets: list[int],
                       nd: np.ndarray, od: np.ndarray, old_ids: list[str], sims: np.ndarray) -> dict[str, str]:
    """Every new cluster with a member that matched an old document joins the old document's cluster:
    its kept document and its members are dropped with ``duplicate_of`` the old document (the earliest
    old document any member matched: keep-first across versions). Returns new kept id -> old id."""
    owner = np.searchsorted(np.asarray(offsets), nd, "right") - 1
    decs = {k: load_decisions(workdir, shards[k]) for k in range(len(shards))}
    rows = {k: {p: r for r, p in enumerate(decs[k]["pos"].to_pylist())} for k in decs}
    redirect: dict[str, tuple[int, str, float]] = {}
    singles: dict[int, list[tuple[int, str]]] = {}
    for k in np.unique(owner).tolist():
        sel = np.flatnonzero(owner == k)
        local = nd[sel] - offsets[k]
        ids = ShardOut(workdir, shards[k]).ids().take(pa.array(local, pa.int64())).to_pylist()
        kept_col, dup_col = decs[k]["kept"], decs[k]["duplicate_of"]
        for p, i, j in zip(local.tolist(), ids, sel.tolist()):
            r = rows[k].get(p)
            rep = i if r is None or kept_col[r].as_py() else dup_col[r].as_py()
            if r is None:
                singles.setdefault(k, []).append((p, i))
            cand = (int(od[j]), old_ids[j], float(sims[j]))
            if rep not in redirect or cand[0] < redirect[rep][0]:
                redirect[rep] = cand
    for k, s in enumerate(shards):
        cols = {c: decs[k].column(c).to_pylist() for c in DECISION_SCHEMA.names}
        touched = False
        for r in range(len(cols["pos"])):
            target = redirect.get(cols["id"][r]) if cols["kept"][r] else redirect.get(cols["duplicate_of"][r] or "")
            if target is None:
                continue
            touched = True
            _, old, sim = target
            cols["cluster_id"][r] = cluster_id(label, old)
            cols["duplicate_of"][r] = old
            cols["cluster_size"][r] += 1
            if cols["kept"][r]:
                cols["kept"][r] = False
                cols["similarity"][r], cols["matched"][r], cols["match_similarity"][r] = sim, old, sim
        for p, i in singles.get(k, []):
            _, old, sim = redirect[i]
            touched = True
            for c, v in (("pos", p), ("id", i), ("cluster_id", cluster_id(label, old)), ("kept", False),
                         ("duplicate_of", old), ("similarity", sim), ("cluster_size", 2), ("matched", old),
                         ("match_similarity", sim)):
                cols[c].append(v)
        if touched:
            _write_decisions(workdir, release, label, s, pa.table(cols, schema=DECISION_SCHEMA))
    return {k: v[1] for k, v in redirect.items()}


def _write_decisions(workdir: Path, release: Path, label: str, shard: int, table: pa.Table) -> None:
    """The decision file (read by the filter stage) and the published clusters table, as the fit
    writes them (``clusters.run_decision_task``)."""
    table = table.take(pc.sort_indices(table["pos"]))
    path = decisions_path(workdir, shard)
    with pa.OSFile(str(path) + ".tmp", "wb") as f, pa.ipc.new_file(f, DECISION_SCHEMA) as w:
        w.write_table(table)
    os.replace(str(path) + ".tmp", path)
    dest = clusters_path(Path(release), label, shard)
    dest.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table.drop(["pos"]).append_column("shard", pa.array(np.full(len(table), shard, np.int64))),
                   dest.with_name(dest.name + ".tmp"), compression="zstd")
    os.replace(dest.with_name(dest.name + ".tmp"), dest)


# -- writing the (extended) index ----------------------------------------------------------------------
def _global_ids(workdir: Path, shards: list[int], offsets: list[int], docs: np.ndarray) -> list[str]:
    owner = np.searchsorted(np.asarray(offsets), docs, "right") - 1
    out: list[str] = []
    for k in range(len(shards)):         # docs ascend, so shard by shard keeps their order
        sel = np.flatnonzero(owner == k)
        if sel.size:
            out += ShardOut(workdir, shards[k]).ids().take(pa.array(docs[sel] - offsets[k], pa.int64())).to_pylist()
    return out


def _write_sets(path: Path, store: np.ndarray, offs: np.ndarray, docs: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Write the shingle sets of ``docs`` (global indices into the fit's store) end to end, a slice of
    documents at a time (never the whole store in memory); returns their offsets."""
    lens = (offs[docs + 1] - offs[docs]).astype(np.int64) if docs.size else np.zeros(0, np.int64)
    new_offs = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    with open(path, "wb") as f:
        for a in range(0, docs.shape[0], chunk):
            d, ln = docs[a:a + chunk], lens[a:a + chunk]
            total = int(ln.sum())
            if not total:
                continue
            local = np.concatenate([[0], np.cumsum(ln)[:-1]])
            idx = np.repeat(offs[d].astype(np.int64) - local, ln) + np.arange(total)
            f.write(np.asarray(store[idx], np.uint32).tobytes())
    return new_offs


def _reps(workdir: Path, shards: list[int], offsets: list[int], lookup: np.ndarray, add: np.ndarray,
          ids: list[str], old_num: dict[str, int]) -> np.ndarray:
    """Index number of the kept document of each new document's cluster (its own when it was kept)."""
    rep = lookup[add].copy()
    num = dict(zip(ids, rep.tolist()))
    at = {g: r for r, g in enumerate(add.tolist())}
    for k, s in enumerate(shards):
        d = load_decisions(workdir, s)
        d = d.filter(pc.invert(d["kept"]))
        for p, dup in zip(d["pos"].to_pylist(), d["duplicate_of"].to_pylist()):
            r = at.get(offsets[k] + p)
            target = num.get(dup, old_num.get(dup))
            if r is not None and target is not None:
                rep[r] = target
    return rep


def _write_index(step: "DedupStep", workdir: Path, dest: Path, old: Index | None, new: _Kept, add: np.ndarray,
                 version: str, shards: list[int], offsets: list[int], old_num: dict[str, int]) -> dict[str, Any]:
    """``dest``: the old index's segments (hard links) plus a segment of the documents ``add`` (global
    indices, ascending: every document this fit keyed, kept or dropped)."""
    n_old = old.n if old else 0
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    segments = []
    for seg, info in zip(old.segments if old else [], old.meta["segments"] if old else []):
        for f in seg.path.iterdir():
            link_or_copy(f, tmp / seg.path.name / f.name)
        segments.append(info)
    name = f"seg-{len(segments):04d}"
    sd = tmp / name
    sd.mkdir()
    bands = int(step.bands)
    lookup = np.full(int(offsets[-1]) if offsets else 0, -1, np.int64)
    lookup[add] = np.arange(n_old, n_old + add.shape[0])
    lo_new = np.concatenate(new.lo) if new.lo else np.zeros(0, np.uint64)
    keys_out, docs_out, lo_out = [], [], []
    for b in range(bands):
        k, d = new.band(b)
        order = np.argsort(k, kind="stable")
        keys_out.append(k[order])
        docs_out.append(lookup[d[order]])
        if step.kind == "exact":
            lo_out.append(lo_new[order])
    np.save(sd / "keys.npy", np.stack(keys_out) if keys_out else np.zeros((bands, 0), np.uint64))
    np.save(sd / "docs.npy", np.stack(docs_out) if docs_out else np.zeros((bands, 0), np.int64))
    if step.kind == "exact":
        np.save(sd / "lo.npy", np.stack(lo_out))
    ids = _global_ids(workdir, shards, offsets, add)
    rep = _reps(workdir, shards, offsets, lookup, add, ids, old_num)
    pq.write_table(pa.table({"id": pa.array(ids, pa.string()), "rep": pa.array(rep, pa.int64())}),
                   sd / "ids.parquet", compression="zstd")
    source = similarity_source(step)
    if source == "sets":
        offs = _write_sets(sd / "sets.bin", np.load(workdir / "store" / "sets.npy", mmap_mode="r"),
                           np.load(workdir / "store" / "offs.npy", mmap_mode="r"), add)
        np.save(sd / "offs.npy", offs)
    elif source == "signatures":
        owner = np.searchsorted(np.asarray(offsets), add, "right") - 1
        cnts = []
        with open(sd / "sig.bin", "wb") as f:
            for k in range(len(shards)):
                sel = np.flatnonzero(owner == k)
                if sel.size:
                    so = ShardOut(workdir, shards[k])
                    local = add[sel] - offsets[k]
                    f.write(np.ascontiguousarray(np.asarray(so.load("sig.npy")[local], np.uint64)).tobytes())
                    cnts.append(np.asarray(so.load("counts.npy")[local], np.int64))
        np.save(sd / "counts.npy", np.concatenate(cnts) if cnts else np.zeros(0, np.int64))
    segments.append({"dir": name, "version": version, "first": n_old, "documents": int(add.shape[0]),
                     "kept": int(np.count_nonzero(rep == lookup[add]))})
    meta = {"step": step.name, "kind": step.kind, "params": params(step), "similarity": source,
            "documents": n_old + int(add.shape[0]), "segments": segments}
    write_json(tmp / "meta.json", meta)
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return meta


def _dropped_for(workdir: Path, shards: list[int], old_ids: set[str]) -> list[str]:
    """The new documents whose decision now names an old document as the one they duplicate."""
    out: list[str] = []
    vs = pa.array(sorted(old_ids), pa.string())
    for s in shards:
        d = load_decisions(workdir, s)
        out += d.filter(pc.is_in(d["duplicate_of"], value_set=vs))["id"].to_pylist()
    return out


# -- the hook -----------------------------------------------------------------------------------------
def parent_index(release: Path, label: str) -> tuple[str, Path | None]:
    """(this version's name, the parent's index folder for ``label`` or None) of a release being built."""
    state = update_state(release)
    if not state.exists():
        return release.name, None
    st = orjson.loads(state.read_bytes())
    return st["version"], dedup_index_dir(Path(st["parent"]), label)


def after_fit(step: "DedupStep", workdir: Path, shards: list[int], counts: list[int], offsets: list[int]) -> dict:
    """Called by ``DedupStep.fit`` after its decisions: match against the parent's index (in an update)
    and write the index kept with the release. Returns what it did (it goes into the fit summary)."""
    workdir = Path(workdir)
    if not is_release_workdir(workdir):
        return {}
    marker = workdir / "index.json"
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    release = release_of(workdir)
    label = workdir.name
    version, parent_dir = parent_index(release, label)
    old = None
    info: dict[str, Any] = {}
    if parent_dir is not None:
        if not Index.exists(parent_dir):
            info["warning"] = (f"the parent release has no dedup index for {label}: new documents were not "
                               "deduplicated against it")
        else:
            old = Index(parent_dir)
            if old.meta.get("params") != params(step):
                raise ReleaseError(f"{parent_dir}: the parent's {label} index was made with other settings "
                                   f"({old.meta.get('params')}); an update must use the same dedup settings")
    # every document the fit keyed, kept or dropped: all are matched, and all go into the index
    new = _collect(step, workdir, shards, counts, offsets, only_kept=False)
    add = np.unique(np.concatenate(new.kept)) if new.kept else np.zeros(0, np.int64)
    matched, old_num = 0, {}
    if old is not None and old.n and add.size:
        nd, od, sims = match_old(step, old, new, workdir, shards, offsets)
        if nd.size:
            old_ids = old.ids(od)
            redirect = _rewrite_decisions(workdir, release, label, shards, offsets, nd, od, old_ids, sims)
            old_num = dict(zip(old_ids, od.tolist()))
            matched = len(_dropped_for(workdir, shards, set(redirect.values())))
    meta = _write_index(step, workdir, dedup_index_dir(release, label), old, new, add, version, shards, offsets,
                        old_num)
    info.update({"index_documents": meta["documents"], "added_to_index": int(add.size),
                 "duplicates_of_parent": matched, "parent_index": str(parent_dir) if old is not None else None})
    write_json(marker, info)
    return info

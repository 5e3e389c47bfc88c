"""What exact and MinHash dedup share: the fit as named, resumable stages over shard files, and the
filter that applies the fitted decisions shard by shard.

fit:  keys     (executor, per shard)      hashes / signatures -> sorted runs on disk
      buckets  (executor, per band slice) external merge of the runs -> candidate edges on disk
      clusters (driver)                   union-find over streamed edges -> kept document per cluster
      decide   (executor, per shard)      decision file per shard + the release's clusters table
Each stage leaves a marker per unit of work, so an interrupted fit resumes where it stopped. The
outputs depend only on the shard files, never on the worker count or the order tasks finish in.
"""
from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import numpy as np
import pyarrow as pa

from ..errors import ConfigError, ReleaseError
from ..executors.base import forks
from ..io.writer import write_json
from ..paths import release_of
from ..steps.base import Drop, GlobalStep, StepContext, step_label
from .buckets import BucketJob, edge_files, plan_tasks, run_bucket_task
from .index import after_fit
from .clusters import DecisionJob, build_clusters, decision_rows, load_decisions, run_decision_task
from .shards import KEEP_RULES, ShardOut

if TYPE_CHECKING:
    from ..executors import Executor

log = logging.getLogger("thresher.dedup")
INTERMEDIATE = ("shards", "store", "edges", "assign")


class DedupStep(GlobalStep):
    """Base of the dedup steps: subclasses provide the per-shard key function and its options."""

    reason: ClassVar[str] = "duplicate"
    kind: ClassVar[str] = "exact"
    bands: int = 1
    threshold: float = 1.0

    def _init_keep(self, keep: str, quality_key: str | None) -> None:
        if keep not in KEEP_RULES:
            raise ConfigError(f"{self.name}: keep must be one of {', '.join(KEEP_RULES)}, not '{keep}'")
        if keep == "quality" and not quality_key:
            raise ConfigError(f"{self.name}: keep: quality needs quality_key (a meta key, e.g. fineweb_quality_v1.score)")
        self.keep, self.quality_key = keep, quality_key or ""
        self._decisions: dict[int, pa.Table] = {}          # shard -> its decisions (load_decisions)
        self._workdir: Path | None = None

    # -- fit -----------------------------------------------------------------------------------
    def prepare(self) -> None:
        from . import pairs        # numba and the kernels: imported here, not when a config is read

        pairs.warmup()

    def key_task(self) -> tuple[Callable[..., dict], tuple[Any, ...]]:
        """(module-level function(item, *args) -> shard info, args): writes one shard's runs."""
        raise NotImplementedError

    def similarity_source(self) -> str:
        return "one"

    def verify(self) -> bool:
        return False

    def containment(self) -> bool:
        return False

    def fit(self, shards: list[Path], workdir: Path, executor: "Executor") -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        complete = workdir / "fit.json"
        if complete.exists():
            return
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if forks(executor, len(shards)):
            self.prepare()          # the kernels, loaded once here for the workers forked below
        fn, args = self.key_task()
        items = [(i, str(p)) for i, p in enumerate(shards)]
        infos = executor.map(fn, items, str(workdir), *args, desc=f"{self.name}: keys")
        timings["keys"] = time.perf_counter() - t0
        idx = list(range(len(shards)))
        counts = [int(i["documents"]) for i in infos]
        offsets = [0] + list(np.cumsum(counts).tolist())
        t = time.perf_counter()
        if self.verify():
            _concat_sets(workdir, idx, counts, self.bands)
        timings["store"] = time.perf_counter() - t
        t = time.perf_counter()
        keyed = sum(int(i["keyed"]) for i in infos)
        tasks = plan_tasks(self.bands, keyed, executor.workers)
        if forks(executor, len(tasks)):
            self.prepare()
        job = BucketJob(str(workdir), tuple(idx), tuple(offsets[:-1]), self.kind, self.verify(),
                        self.threshold, self.containment())
        binfo = executor.map(run_bucket_task, tasks, job, desc=f"{self.name}: buckets") if keyed else []
        timings["buckets"] = time.perf_counter() - t
        t = time.perf_counter()
        cinfo = build_clusters(workdir, idx, counts, edge_files(workdir, tasks) if keyed else [])
        timings["clusters"] = time.perf_counter() - t
        t = time.perf_counter()
        # a pipeline fits in <release>/.thresher/global/<label>: the clusters table goes to the release
        release = release_of(workdir)
        djob = DecisionJob(str(workdir), str(release), step_label(self), tuple(idx), tuple(offsets),
                           self.similarity_source(), self.containment())
        dinfo = executor.map(run_decision_task, idx, djob, desc=f"{self.name}: decisions")
        timings["decide"] = time.perf_counter() - t
        t = time.perf_counter()
        index_info = after_fit(self, workdir, idx, counts, offsets)    # the index kept with the release (issue 24)
        timings["index"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        summary = {"documents": sum(counts), "bytes": sum(int(i["bytes"]) for i in infos),
                   "candidate_edges": sum(b["edges"] for b in binfo),
                   "pairs_checked": sum(b["checked"] for b in binfo), "bucket_tasks": len(tasks),
                   "clusters": cinfo["clusters"], "duplicates": cinfo["duplicates"],
                   "seconds": {k: round(v, 4) for k, v in timings.items()},
                   # per stage, the largest peak RSS of a process that ran it (the driver for clusters)
                   "peak_rss_mb": {"keys": max((i.get("peak_rss_mb", 0) for i in infos), default=0),
                                   "buckets": max((b.get("peak_rss_mb", 0) for b in binfo), default=0),
                                   "clusters": cinfo.get("peak_rss_mb", 0),
                                   "decide": max((d.get("peak_rss_mb", 0) for d in dinfo), default=0)},
                   "disk_bytes": _du(workdir), "index": index_info}
        write_json(complete, summary)
        for name in INTERMEDIATE:       # only the decisions are needed from here on
            shutil.rmtree(workdir / name, ignore_errors=True)
        log.info("%s: %s", self.name, summary)

    # -- filter --------------------------------------------------------------------------------
    def load(self, workdir: Path) -> None:
        self._workdir = workdir

    def decide_rows(self, start: int, ids: list[str], ctx: StepContext) -> dict[int, tuple[dict, Drop | None]]:
        workdir = self._workdir or ctx.workdir
        if workdir is None:
            raise ReleaseError(f"{self.name}: no fitted state (a global step runs inside a pipeline)")
        if ctx.shard not in self._decisions:      # one shard's decisions in memory at a time
            self._decisions = {ctx.shard: load_decisions(workdir, ctx.shard)}
        row, c = decision_rows(self._decisions[ctx.shard], start, start + len(ids))
        get, key, out, clusters = row.get, self.meta_key, {}, 0
        for k, seen in enumerate(ids):
            i = get(start + k)
            if i is None:
                continue
            if c["id"][i] != seen:
                raise ReleaseError(f"{self.name}: shard {ctx.shard} changed since the fit (document {start + k} "
                                   f"is '{seen}', the fit saw '{c['id'][i]}'); re-run with --overwrite")
            info = {"cluster_id": c["cluster_id"][i], "cluster_size": c["cluster_size"][i], "kept": c["kept"][i],
                    "similarity_to_kept": round(c["similarity"][i], 6)}
            # the score of a drop: the verified pair that justifies it (>= threshold); without
            # verification, the estimated similarity to the kept document
            score = info["similarity_to_kept"]
            if c["matched"][i] is not None:
                info["matched"] = c["matched"][i]
                info["match_similarity"] = score = round(c["match_similarity"][i], 6)
            if c["kept"][i]:
                clusters += 1
                # meta.cluster_size: how many documents this one stands for (FineWeb-2's rehydration)
                out[k] = ({"cluster_id": info["cluster_id"], "cluster_size": info["cluster_size"], key: info}, None)
            else:
                out[k] = ({"cluster_id": info["cluster_id"], key: info, "duplicate_of": c["duplicate_of"][i]},
                          Drop(self.reason, score, self.threshold))
        if clusters:
            ctx.count(self.name, "clusters", clusters)
        return out


def _concat_sets(workdir: Path, shards: list[int], counts: list[int], bands: int) -> None:
    """Global stores for verification: every document's shingle set (uint32, with offsets) and its
    band keys ([document, band]). Each is the shards' files end to end, so it is a ``.npy`` header
    followed by the files' bytes, copied by the kernel (``copy_file_range``), never through memory."""
    store = workdir / "store"
    if (store / "offs.npy").exists():
        return
    store.mkdir(parents=True, exist_ok=True)
    n = sum(counts)
    set_offs = [np.load(ShardOut(workdir, s).path("set_offs.npy")) for s in shards]
    sizes = [int(so[-1]) for so in set_offs]
    for name, dtype, shape in (("sets", np.uint32, (sum(sizes),)), ("bands", np.uint64, (n, bands))):
        tmp = store / f"{name}.tmp.npy"
        with open(tmp, "wb") as dst:
            empty = shape[0] == 0                     # np.load cannot memory-map an empty array
            np.lib.format.write_array_header_2_0(dst, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                       "shape": (1,) + shape[1:] if empty else shape})
            if empty:
                dst.write(np.zeros((1,) + shape[1:], dtype).tobytes())
            for s in shards:
                with open(ShardOut(workdir, s).path(f"{name}.bin"), "rb") as src:
                    _copy_file(src, dst)
        tmp.replace(store / f"{name}.npy")
    offs = np.zeros(n + 1, dtype=np.int64)
    pos = doc = 0
    for so, size, c in zip(set_offs, sizes, counts):
        offs[doc + 1: doc + c + 1] = so[1:] + pos
        pos += size
        doc += c
    np.save(store / "offs.tmp.npy", offs)
    (store / "offs.tmp.npy").replace(store / "offs.npy")


def _copy_file(src, dst) -> None:
    """Append all of ``src`` to ``dst`` inside the kernel where it can (Linux), else in chunks."""
    size = os.fstat(src.fileno()).st_size
    dst.flush()
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < size:
                k = os.copy_file_range(src.fileno(), dst.fileno(), size - done)
                if k == 0:
                    break
                done += k
        except OSError:
            pass
    if done < size:
        src.seek(done)
        shutil.copyfileobj(src, dst, 1 << 22)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


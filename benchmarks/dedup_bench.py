#!/usr/bin/env python3
"""Dedup benchmark: thresher exact + MinHash vs datatrove 0.10.1 (4-stage MinHash), rensa and datasketch.

    .venv/bin/python benchmarks/dedup_bench.py --corpus /tmp/bench/corpus.jsonl

Prints markdown tables: throughput (MB/s, docs/s), peak memory of the whole process tree, duplicates
removed; accuracy on a 20,000-document subset against brute-force exact Jaccard >= 0.8 pairs;
scaling at 50/100/200 MB; the ``dedup-plan`` estimate beside the measurement.

Peers run in their own virtualenv (``benchmarks/.venv-peers``, created on first use with pip), so
none of them becomes a thresher dependency. Every tool runs as a subprocess; a sampler thread reads
/proc every 200 ms and records the peak of the summed PSS (proportional set size: shared pages are
counted once) and the largest single RSS over the subprocess and all its children.
The same file is also the worker of those subprocesses (``--thresher-run`` / ``--peer``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _peers import peer_python, venv_dir  # noqa: E402

PEERS_VENV = venv_dir("peers")       # datatrove 0.10.1, rensa 0.5.0, datasketch 2.0.0 (_peers.PEERS)
THRESHOLD, NUM_PERM, BANDS, ROWS, NGRAM = 0.8, 112, 14, 8, 5
WORD = re.compile(r"\w+")


# -- memory sampling -------------------------------------------------------------------------------
class TreeSampler(threading.Thread):
    """Peak summed PSS and peak single RSS of a process and its descendants, from /proc."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_pss = self.peak_rss = 0
        self.stop = threading.Event()

    def _tree(self) -> list[int]:
        children = defaultdict(list)
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat", "rb") as f:
                        ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                    children[ppid].append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo.extend(children.get(p, []))
        return out

    @staticmethod
    def _mem(pid: int) -> tuple[int, int]:
        pss = rss = 0
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1]) * 1024
                    elif line.startswith("Rss:"):
                        rss = int(line.split()[1]) * 1024
        except OSError:
            pass
        return pss, rss

    def run(self) -> None:
        while not self.stop.is_set():
            mems = [self._mem(p) for p in self._tree()]
            self.peak_pss = max(self.peak_pss, sum(m[0] for m in mems))
            self.peak_rss = max(self.peak_rss, max((m[1] for m in mems), default=0))
            self.stop.wait(self.every)


def measure(cmd: list[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run a command; its stdout's last line is a JSON result. Adds wall time and peak memory."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{err[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(process_wall=wall, peak_pss=sampler.peak_pss, peak_rss=sampler.peak_rss)
    return res


# -- corpus subsets --------------------------------------------------------------------------------
def subset(corpus: Path, work: Path, mb: float | None = None, docs: int | None = None, parts: int = 8) -> dict:
    """The first documents of the (shuffled) corpus up to ``mb`` MB of text or ``docs`` documents,
    as one JSONL file plus ``parts`` files (datatrove shards by file)."""
    name = f"sub-{mb:g}mb" if mb else f"sub-{docs}docs"
    d = work / name
    meta = d / "meta.json"
    if meta.exists():
        return json.loads(meta.read_text())
    d.mkdir(parents=True, exist_ok=True)
    lines, nbytes = [], 0
    with open(corpus, "rb") as f:
        for line in f:
            text = json.loads(line)["text"]
            b = len(text.encode("utf-8", "surrogatepass"))
            if (mb and nbytes + b > mb * 1e6) or (docs and len(lines) >= docs):
                break
            lines.append(line)
            nbytes += b
    (d / "all.jsonl").write_bytes(b"".join(lines))
    (d / "parts").mkdir(exist_ok=True)
    for k in range(parts):
        (d / "parts" / f"part-{k:02d}.jsonl").write_bytes(b"".join(lines[k::parts]))
    info = {"name": name, "path": str(d / "all.jsonl"), "parts": str(d / "parts"), "docs": len(lines), "bytes": nbytes}
    meta.write_text(json.dumps(info))
    return info


# -- thresher worker ---------------------------------------------------------------------------------
def thresher_worker(spec: dict) -> dict:
    from thresher.config import PipelineConfig
    from thresher.executors import LocalExecutor
    from thresher.paths import global_dir
    from thresher.pipeline import run
    from thresher.release import Release

    log: list[tuple[str, float]] = []

    class Timed(LocalExecutor):     # the local pool, timing each map (stage, fit phase)
        def map(self, fn, items, *args, desc="shards", **kw):
            t = time.perf_counter()
            r = super().map(fn, items, *args, desc=desc, **kw)
            log.append((desc, time.perf_counter() - t))
            return r

    cfg = PipelineConfig(name="bench", input={"path": spec["input"], "format": "jsonl"}, steps=spec["steps"],
                         output={"path": spec["output"]})
    t0 = time.perf_counter()
    out = run(cfg, executor=Timed(spec["workers"], False), overwrite=True)
    total = time.perf_counter() - t0
    stage0 = next(t for d, t in log if " stage 1/" in d)      # the pass-through stage that writes shards
    fits = {}
    for s in spec["steps"]:
        name = s if isinstance(s, str) else next(iter(s))
        fits[name] = json.loads((global_dir(out, name) / "fit.json").read_text())
    m = Release(out).manifest
    stats = Release(out).stats
    clusters = {}
    if spec.get("pairs"):
        import pyarrow.parquet as pq
        for name in fits:
            t = pq.ParquetDataset(out / "clusters" / name).read(columns=["cluster_id", "id"]).to_pylist()
            groups = defaultdict(list)
            for r in t:
                groups[r["cluster_id"]].append(r["id"])
            clusters[name] = list(groups.values())
    return {"total": total, "stage0": stage0, "log": log, "fits": fits, "kept": m["documents"],
            "excluded": m["excluded_documents"], "read_docs": stats.reader.get("docs_read", 0),
            "clusters": clusters}


def run_thresher(inp: dict, work: Path, steps: list, workers: int, pairs: bool = False) -> dict:
    spec = {"input": inp["path"], "steps": steps, "workers": workers, "output": str(work / "thresher-out"),
            "pairs": pairs}
    res = measure([str(ROOT / ".venv" / "bin" / "python"), __file__, "--thresher-run", json.dumps(spec)])
    shutil.rmtree(work / "thresher-out", ignore_errors=True)
    return res


# -- peers (run under the peers venv) ----------------------------------------------------------------
def shingles(text: str) -> list[str]:
    w = WORD.findall(text.lower())
    if len(w) < NGRAM:
        return [" ".join(w)] if w else []
    return list({" ".join(w[i:i + NGRAM]) for i in range(len(w) - NGRAM + 1)})


def _clusters_from_pairs(n: int, pairs) -> list[list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]


def peer_rensa(path: str, batch: int = 2000) -> dict:
    from rensa import RMinHash, RMinHashLSH

    ids, sketches, pairs = [], [], []
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=BANDS)

    def flush(texts: list[str]) -> None:            # sketches a batch at a time (rensa's batch API)
        for mh in RMinHash.from_token_sets([shingles(t) for t in texts], num_perm=NUM_PERM, seed=42):
            i = len(sketches)
            for j in lsh.query(mh):
                if mh.jaccard(sketches[j]) >= THRESHOLD:     # as rensa's deduplicator checks candidates
                    pairs.append((j, i))
            lsh.insert(i, mh)
            sketches.append(mh)
    texts: list[str] = []
    with open(path, "rb") as f:
        for line in f:
            d = json.loads(line)
            ids.append(d["id"])
            texts.append(d["text"])
            if len(texts) == batch:
                flush(texts)
                texts = []
    flush(texts)
    return _result(ids, pairs)


def peer_datasketch(path: str) -> dict:
    from datasketch import MinHash, MinHashLSH

    ids, sketches = [], []
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, params=(BANDS, ROWS))
    pairs = []
    with open(path, "rb") as f:
        for i, line in enumerate(f):
            d = json.loads(line)
            ids.append(d["id"])
            mh = MinHash(num_perm=NUM_PERM, seed=42)
            mh.update_batch([s.encode() for s in shingles(d["text"])])
            for j in lsh.query(mh):
                if mh.jaccard(sketches[j]) >= THRESHOLD:
                    pairs.append((j, i))
            lsh.insert(i, mh)
            sketches.append(mh)
    return _result(ids, pairs)


def _result(ids: list[str], pairs) -> dict:
    clusters = _clusters_from_pairs(len(ids), pairs)
    return {"docs": len(ids), "removed": sum(len(c) - 1 for c in clusters),
            "clusters": [[ids[i] for i in c] for c in clusters]}


def peer_datatrove(parts: str, out: str, workers: int) -> dict:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig

    cfg = MinhashConfig(hash_config=HashConfig(precision=64), num_buckets=BANDS, hashes_per_bucket=ROWS, n_grams=NGRAM)
    tasks = len(list(Path(parts).glob("*.jsonl")))
    o = Path(out)
    times = {}

    def stage(name, pipeline, n):
        t = time.perf_counter()
        LocalPipelineExecutor(pipeline=pipeline, tasks=n, workers=workers, logging_dir=str(o / "logs" / name)).run()
        times[name] = time.perf_counter() - t
    stage("signatures", [JsonlReader(parts), MinhashDedupSignature(output_folder=str(o / "sigs"), config=cfg)], tasks)
    stage("buckets", [MinhashDedupBuckets(input_folder=str(o / "sigs"), output_folder=str(o / "buckets"), config=cfg)],
          cfg.num_buckets)
    stage("cluster", [MinhashDedupCluster(input_folder=str(o / "buckets"), output_folder=str(o / "remove"), config=cfg,
                                          save_cluster_id=True)], 1)
    stage("filter", [JsonlReader(parts), MinhashDedupFilter(input_folder=str(o / "remove"), load_cluster_ids=True,
                                                             exclusion_writer=JsonlWriter(str(o / "removed"))),
                     JsonlWriter(str(o / "kept"))], tasks)
    import gzip
    import struct

    kept = removed = 0
    for kind in ("kept", "removed"):
        for f in sorted((o / kind).glob("*.jsonl.gz")):
            with gzip.open(f, "rt") as fh:
                n = sum(1 for _ in fh)
            kept += n if kind == "kept" else 0
            removed += n if kind == "removed" else 0
    # clusters from the cluster stage's (document index, cluster id) files, one per reader rank
    # (the filter stage only copies them into documents of ranks that also have removals)
    groups = defaultdict(list)
    for rank, part in enumerate(sorted(Path(parts).glob("*.jsonl"))):
        f = o / "remove" / f"{rank:06d}.clusters"
        if not f.exists():
            continue
        with open(part, "rb") as fh:
            ids = [json.loads(line)["id"] for line in fh]
        raw = f.read_bytes()
        for doc, cid in struct.iter_unpack("<II", raw):
            groups[cid].append(ids[doc])
    return {"docs": kept + removed, "removed": removed, "stages": times,
            "clusters": [g for g in groups.values() if len(g) > 1]}


def run_peer(name: str, inp: dict, work: Path, workers: int) -> dict:
    out = work / f"peer-{name}"
    shutil.rmtree(out, ignore_errors=True)
    args = {"datatrove": [inp["parts"], str(out), str(workers)]}.get(name, [inp["path"]])
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"}
    res = measure([str(PEERS_VENV / "bin" / "python"), __file__, "--peer", name, *args], env=env)
    shutil.rmtree(out, ignore_errors=True)
    return res


def ensure_peers() -> None:
    peer_python("peers")        # _peers.py: created and installed on first use


# -- accuracy: exact all-pairs Jaccard >= t (prefix filtering, exact) --------------------------------
def truth_pairs(path: str, t: float = THRESHOLD) -> tuple[list[str], set[tuple[int, int]]]:
    """Every pair with exact Jaccard >= t of word 5-gram sets. Prefix filtering (Chaudhuri et al.,
    AllPairs): with tokens ordered rarest first, two sets with J >= t share a token among the first
    |x| - ceil(t|x|) + 1 of each, so candidates come from an index of prefixes; each is then
    verified exactly. The result equals the O(n^2) comparison (checked on a sample with --self-check)."""
    import math

    ids, sets = [], []
    with open(path, "rb") as f:
        for line in f:
            d = json.loads(line)
            ids.append(d["id"])
            sets.append(set(shingles(d["text"])))
    freq: dict[str, int] = defaultdict(int)
    for s in sets:
        for x in s:
            freq[x] += 1
    order = {x: (c, x) for x, c in freq.items()}
    ranked = [sorted(s, key=order.__getitem__) for s in sets]
    index: dict[str, list[int]] = defaultdict(list)
    pairs = set()
    for i in sorted(range(len(sets)), key=lambda k: len(sets[k])):
        toks = ranked[i]
        if not toks:
            continue
        p = len(toks) - math.ceil(t * len(toks)) + 1
        cands = set()
        for x in toks[:p]:
            cands.update(index[x])
        for j in cands:
            a, b = sets[i], sets[j]
            if len(b) >= t * len(a):
                inter = len(a & b)
                if inter / (len(a) + len(b) - inter) >= t:
                    pairs.add((min(i, j), max(i, j)))
        for x in toks[:p]:
            index[x].append(i)
    return ids, pairs


def brute_pairs(path: str, limit: int, t: float = THRESHOLD) -> set[tuple[int, int]]:
    sets = []
    with open(path, "rb") as f:
        for line, _ in zip(f, range(limit)):
            sets.append(set(shingles(json.loads(line)["text"])))
    out = set()
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            a, b = sets[i], sets[j]
            if a and b and len(a & b) / len(a | b) >= t:
                out.add((i, j))
    return out


def pair_scores(clusters: list[list[str]], ids: list[str], truth: set[tuple[int, int]]) -> dict:
    pos = {x: i for i, x in enumerate(ids)}
    got = set()
    for c in clusters:
        idx = sorted(pos[x] for x in c if x in pos)
        got.update((a, b) for k, a in enumerate(idx) for b in idx[k + 1:])
    tp = len(got & truth)
    dup_truth = {i for p in truth for i in p}
    dup_got = {i for p in got for i in p}
    return {"pairs": len(got), "recall": tp / max(1, len(truth)), "precision": tp / max(1, len(got)),
            "doc_recall": len(dup_truth & dup_got) / max(1, len(dup_truth)),
            "doc_precision": len(dup_truth & dup_got) / max(1, len(dup_got))}


# -- report ------------------------------------------------------------------------------------------
def mb(x: float) -> str:
    return f"{x / 2**20:,.0f} MiB"


def table(headers: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def median_of(rs: list[dict], f) -> float:
    return statistics.median(f(r) for r in rs)


def fit_seconds(r: dict) -> float:
    return sum(f["seconds"]["total"] for f in r["fits"].values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", default="/tmp/bench/corpus.jsonl")
    ap.add_argument("--work", default="/tmp/dedup_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="thresher runs per size (median)")
    ap.add_argument("--sizes", default="50,100,200", help="MB of text for the scaling table")
    ap.add_argument("--peers", default="datatrove,rensa,datasketch")
    ap.add_argument("--accuracy-docs", type=int, default=20000,
                    help="the side-by-side subset: every tool runs on it once (datatrove: ~4 min per 200 MB)")
    ap.add_argument("--self-check", type=int, default=1500, help="verify the exact join against O(n^2) on N docs")
    ap.add_argument("--thresher-run", help=argparse.SUPPRESS)
    ap.add_argument("--peer", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.thresher_run:
        print(json.dumps(thresher_worker(json.loads(a.thresher_run))))
        return
    if a.peer:
        name, *rest = a.peer
        fn = {"rensa": peer_rensa, "datasketch": peer_datasketch}.get(name)
        res = peer_datatrove(rest[0], rest[1], int(rest[2])) if name == "datatrove" else fn(rest[0])
        print(json.dumps(res))
        return
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(a)     # the worker modes above get their inputs from the parent, not --corpus
    if Path(str(a.corpus) + ".building").exists() or not Path(a.corpus).exists():
        sys.exit(f"{a.corpus} is missing or still being built (python3 ../shared/bench/build_corpus.py --help)")
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    peers = [p for p in a.peers.split(",") if p]
    if peers:
        ensure_peers()
    sizes = sorted(float(x) for x in a.sizes.split(",") if x)
    big = max(sizes)
    results: dict = {"args": vars(a), "cpus": os.cpu_count(), "load_before": os.getloadavg()}
    print(f"# dedup benchmark ({a.workers} workers, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start)\n")

    # 1. thresher at every size (median of --runs); the other configurations at the largest size
    configs = {"exact": ["exact_dedup"], "minhash": ["minhash_dedup"],
               "minhash (no verify)": [{"minhash_dedup": {"verify": False}}],
               "exact + minhash": ["exact_dedup", "minhash_dedup"]}
    runs: dict = defaultdict(dict)
    for size in sizes:
        inp = subset(Path(a.corpus), work, mb=size)
        for label, steps in configs.items():
            if label not in ("exact", "minhash") and size != big:
                continue
            rs = [run_thresher(inp, work, steps, a.workers) for _ in range(a.runs)]
            runs[label][size] = {"input": inp, "runs": rs}
            print(f"  thresher {label} @ {size:g} MB: " + ", ".join(f"{r['total']:.1f}s" for r in rs), file=sys.stderr)
    results["thresher"] = runs

    rows = []
    for label in configs:
        inp, rs = runs[label][big]["input"], runs[label][big]["runs"]
        tot, fit = median_of(rs, lambda r: r["total"]), median_of(rs, fit_seconds)
        dedup = median_of(rs, lambda r: r["total"] - r["stage0"])
        rows.append([f"thresher {label}", f"{inp['bytes'] / 1e6:.0f}", f"{tot:.1f}", f"{inp['bytes'] / 1e6 / tot:.1f}",
                     f"{inp['bytes'] / 1e6 / dedup:.1f}", f"{inp['bytes'] / 1e6 / fit:.1f}", f"{inp['docs'] / tot:,.0f}",
                     mb(median_of(rs, lambda r: r["peak_pss"])), mb(max(r["peak_rss"] for r in rs)),
                     f"{rs[0]['excluded']:,}"])
    print(f"## thresher throughput at {big:g} MB ({a.workers} workers, median of {a.runs} runs)\n")
    print(table(["pipeline", "MB", "wall s", "MB/s whole run", "MB/s dedup stages", "MB/s fit", "docs/s",
                 "peak PSS (tree)", "max RSS (1 proc)", "documents removed"], rows))
    print("\n'whole run': JSONL in -> release out, with the pass-through stage that writes the shard files the "
          "fit reads. 'dedup stages': everything after that stage (fit + the filter stage writing the release). "
          "'fit': keys + buckets + clusters + decisions. Peak PSS: summed over the process tree (shared pages "
          "counted once), sampled every 200 ms; max RSS: the largest single process.\n")
    for label in ("exact", "minhash"):
        f = runs[label][big]["runs"][0]["fits"][f"{label}_dedup"]
        print(f"thresher {label} fit stages (s, first run): " + ", ".join(f"{k} {v:.2f}" for k, v in f["seconds"].items())
              + f"; candidate edges {f['candidate_edges']:,}, pairs verified {f['pairs_checked']:,}")

    # 2. scaling
    rows = []
    for label in ("exact", "minhash"):
        prev = None
        for size in sizes:
            d = runs[label][size]
            tot, fit = median_of(d["runs"], lambda r: r["total"]), median_of(d["runs"], fit_seconds)
            keys_rss = max(r["fits"][f"{label}_dedup"].get("peak_rss_mb", {}).get("keys", 0) for r in d["runs"])
            ratio = "" if prev is None else f"{tot / prev[0]:.2f} (fit {fit / prev[1]:.2f}) for x{size / prev[2]:.1f} data"
            rows.append([label, f"{size:g}", f"{d['input']['docs']:,}", f"{tot:.2f}", f"{fit:.2f}",
                         mb(median_of(d["runs"], lambda r: r["peak_pss"])), f"{keys_rss:.0f} MiB", ratio])
            prev = (tot, fit, size)
    print("\n## Scaling (median wall seconds)\n")
    print(table(["dedup", "MB", "docs", "whole run s", "fit s", "peak PSS (tree)", "keys-stage worker peak RSS",
                 "time ratio to previous size"], rows))

    # 3. plan vs measured
    sys.path.insert(0, str(ROOT / "src"))
    from thresher.dedup.plan import estimate
    rows = []
    for label in ("exact", "minhash"):
        d = runs[label][big]
        plan = estimate(d["input"]["bytes"], d["input"]["bytes"] / d["input"]["docs"], a.workers, kind=label,
                        bands=BANDS if label == "minhash" else 1)
        rows.append([label, mb(plan.disk_bytes), mb(d["runs"][0]["fits"][f"{label}_dedup"]["disk_bytes"]),
                     mb(plan.peak_ram_bytes), mb(median_of(d["runs"], lambda r: r["peak_pss"]))])
    print(f"\n## `thresher dedup-plan` estimate vs measured ({big:g} MB)\n")
    print(table(["dedup", "plan: fit disk", "measured fit disk", "plan: peak memory", "measured peak PSS"], rows))

    # 4. side by side with the peers on one subset: speed, memory and accuracy from the same runs
    acc = subset(Path(a.corpus), work, docs=a.accuracy_docs)
    if a.self_check:
        _, small = truth_pairs(subset(Path(a.corpus), work, docs=a.self_check)["path"])
        if small != brute_pairs(acc["path"], a.self_check):
            sys.exit("exact join self-check failed")
    t = time.perf_counter()
    ids, truth = truth_pairs(acc["path"])
    truth_s = time.perf_counter() - t
    rows = []
    variants = (("thresher minhash", ["minhash_dedup"], a.runs),
                ("thresher minhash, no verify", [{"minhash_dedup": {"verify": False}}], 1),
                ("thresher minhash 20x6", [{"minhash_dedup": {"num_perm": 120, "bands": 20, "rows": 6}}], 1))
    base_wall = None
    for label, steps, n in variants:
        rs = [run_thresher(acc, work, steps, a.workers, pairs=True) for _ in range(n)]
        wall = median_of(rs, lambda r: r["process_wall"])        # the whole process, as for the peers
        base_wall = base_wall or wall
        sc = pair_scores(rs[0]["clusters"]["minhash_dedup"], ids, truth)
        rows.append([label, f"{wall:.1f}", f"{acc['bytes'] / 1e6 / wall:.1f}", f"{acc['docs'] / wall:,.0f}",
                     mb(median_of(rs, lambda r: r["peak_pss"])), f"{rs[0]['excluded']:,}", f"{wall / base_wall:.2f}",
                     f"{sc['recall']:.3f}", f"{sc['precision']:.3f}", f"{sc['doc_recall']:.3f}", f"{sc['doc_precision']:.3f}"])
        print(f"  {label} @ {acc['docs']} docs: {wall:.1f}s", file=sys.stderr)
    for p in peers:
        r = run_peer(p, acc, work, a.workers)
        results.setdefault("peers", {})[p] = {k: v for k, v in r.items() if k != "clusters"}
        wall = r["process_wall"]
        sc = pair_scores(r["clusters"], ids, truth)
        rows.append([p, f"{wall:.1f}", f"{acc['bytes'] / 1e6 / wall:.2f}", f"{acc['docs'] / wall:,.0f}",
                     mb(r["peak_pss"]), f"{r['removed']:,}", f"{wall / base_wall:.1f}",
                     f"{sc['recall']:.3f}", f"{sc['precision']:.3f}", f"{sc['doc_recall']:.3f}", f"{sc['doc_precision']:.3f}"])
        print(f"  {p} @ {acc['docs']} docs: {wall:.1f}s", file=sys.stderr)
    print(f"\n## Side by side on {acc['docs']:,} documents ({acc['bytes'] / 1e6:.0f} MB), {a.workers} workers\n")
    print(f"Truth: {len(truth):,} pairs with exact Jaccard >= {THRESHOLD} of word 5-gram sets (exact all-pairs join "
          f"in {truth_s:.0f}s" + (f"; equal to the O(n^2) comparison on {a.self_check:,} documents" if a.self_check else "")
          + "). Wall time of the whole process (interpreter start and imports included) for every tool; "
          "thresher: median of its runs, each peer: one run.\n")
    print(table(["tool", "wall s", "MB/s", "docs/s", "peak PSS (tree)", "documents removed", "time / thresher",
                 "pair recall", "pair precision", "doc recall", "doc precision"], rows))
    print("\npairs: every two documents put in one cluster (clusters are transitive: a chain of >= 0.8 pairs can "
          "join documents further apart, which costs pair precision). doc recall / precision: documents with a "
          ">= 0.8 partner that were clustered / clustered documents that have one. Peers' settings: 112 "
          "permutations, 14 bands x 8 rows, word 5-grams (datatrove: its own spaCy tokenizer and text "
          "normalisation; rensa and datasketch: the truth's tokens, candidates kept when their estimated "
          "Jaccard >= 0.8).")
    results["load_after"] = os.getloadavg()
    (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(f"\nload average at end {os.getloadavg()[0]:.1f} (the machine is shared: other benchmarks ran "
          f"alongside); raw results: {work / 'results.json'}")


if __name__ == "__main__":
    main()

"""Incremental update benchmark on the 200 MB corpus: build a release from 90% of the documents, then
``thresher update`` it with the other 10%, against rebuilding all 100% with ``thresher run`` (same
pipeline: exact dedup, MinHash dedup, PII redaction), side by side in one run.

Every timed command is a fresh process (``thresher update`` / ``thresher run --overwrite``), as a user runs
it: wall time includes interpreter start, imports and numba's cached kernels. CPU is user + system time
of the command's whole process tree and peak RSS the largest resident set of any of its processes (the
driver or a pool worker), as ``/usr/bin/time -v`` reports them, read from ``getrusage(RUSAGE_CHILDREN)``
of a fresh wrapper process per command. The 10% are a fixed hash sample of the ids (xxh3 of the id mod
10 == 0), so near-duplicates span both parts.

    .venv/bin/python benchmarks/update_bench.py --corpus /work/bench_corpus/corpus.jsonl --runs 3

Prints a markdown table: medians over ``--runs``, ratio rebuild / update. The machine may be shared and
noisy: each run times the two commands back to back (in alternating order, so a change of load does not
always fall on the same one), and the table also gives the median of the per-run ratios; CPU seconds
depend much less on the load than wall seconds.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson
import xxhash

from thresher.dedup.buckets import VERIFY_TRIES

STEPS = """  - exact_dedup: {}
  - minhash_dedup: {}
  - pii_redact: {}
"""
WRAP = ("import resource, subprocess, sys\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(ru.ru_maxrss, rc, ru.ru_utime + ru.ru_stime, file=sys.stderr)\n")


def split(corpus: Path, work: Path, docs: int | None = None) -> tuple[Path, Path, Path, dict]:
    """old.jsonl (90%), new.jsonl (10%), and all.jsonl (old then new: keep-first ordered by version);
    ``docs``: of the corpus's first ``docs`` documents only (a slice, while developing)."""
    d = work / (f"input-{docs}" if docs else "input")
    old, new, both = d / "old.jsonl", d / "new.jsonl", d / "all.jsonl"
    if both.exists() and both.stat().st_mtime >= corpus.stat().st_mtime:
        return old, new, both, orjson.loads((d / "counts.json").read_bytes())
    d.mkdir(parents=True, exist_ok=True)
    counts = {"old": 0, "new": 0, "old_mb": 0.0, "new_mb": 0.0}
    with open(corpus, "rb") as src, open(old, "wb") as fo, open(new, "wb") as fn:
        for n, line in enumerate(src):
            if docs and n >= docs:
                break
            doc_id = orjson.loads(line)["id"]
            part = "new" if xxhash.xxh3_64_intdigest(doc_id.encode()) % 10 == 0 else "old"
            (fn if part == "new" else fo).write(line)
            counts[part] += 1
            counts[part + "_mb"] += len(line) / 1e6
    with open(both, "wb") as dst:
        for p in (old, new):
            with open(p, "rb") as f:
                shutil.copyfileobj(f, dst, 1 << 22)
    (d / "counts.json").write_bytes(orjson.dumps(counts))
    return old, new, both, counts


def yaml(work: Path, name: str, inp: Path, out: Path) -> Path:
    y = work / f"{name}.yaml"
    y.write_text(f"name: corpus\ninput:\n  - {{path: \"{inp}\", format: jsonl}}\nsteps:\n{STEPS}"
                 f"output: {{path: \"{out}\"}}\n")
    return y


def measure(cmd: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB of the command's largest process, CPU seconds of all its processes),
    the command as a fresh process."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAP, *cmd], stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    last = p.stderr.strip().splitlines()[-1].split()
    if p.returncode or last[1] != "0":
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return wall, int(last[0]) / 1024, float(last[2])


def kept_ids(release: Path) -> set[str]:
    import pyarrow.parquet as pq

    return {i for f in sorted((release / "data").glob("*.parquet")) for i in pq.read_table(f, columns=["id"])["id"].to_pylist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="/work/bench_corpus/corpus.jsonl")
    ap.add_argument("--work", default="/tmp/update_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--docs", type=int, default=None, help="only the corpus's first DOCS documents (a slice, while developing)")
    a = ap.parse_args()
    corpus, work = Path(a.corpus), Path(a.work)
    if not corpus.exists():
        sys.exit(f"{corpus} not found: build it with ../shared/bench/build_corpus.py")
    work.mkdir(parents=True, exist_ok=True)
    old, new, both, counts = split(corpus, work, a.docs)
    thresher = str(Path(sys.executable).with_name("thresher"))
    project = work / "project"
    base, full = project / "corpus", work / "full" / "corpus"
    y_old, y_new, y_all = yaml(work, "old", old, base), yaml(work, "new", new, work / "unused"), yaml(work, "all", both, full)
    w = ["--workers", str(a.workers)]
    shutil.rmtree(project, ignore_errors=True)
    t_base, rss_base, cpu_base = measure([thresher, "run", str(y_old), *w])
    upd, reb = [], []
    for k in range(a.runs):
        for p in project.glob("corpus@v*"):
            shutil.rmtree(p)
        u_cmd = [thresher, "update", str(base), str(y_new), *w]
        r_cmd = [thresher, "run", str(y_all), "--overwrite", *w]
        if k % 2 == 0:
            upd.append(measure(u_cmd))
            reb.append(measure(r_cmd))
        else:
            reb.append(measure(r_cmd))
            upd.append(measure(u_cmd))
        print(f"run {k + 1}: update {upd[-1][0]:.1f} s {upd[-1][2]:.1f} CPU-s {upd[-1][1]:.0f} MB, rebuild "
              f"{reb[-1][0]:.1f} s {reb[-1][2]:.1f} CPU-s {reb[-1][1]:.0f} MB: {reb[-1][0] / upd[-1][0]:.2f}x wall, "
              f"{reb[-1][2] / upd[-1][2]:.2f}x CPU (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    v2 = orjson.loads((project / "corpus@v2" / "manifest.json").read_bytes())
    whole = orjson.loads((full / "manifest.json").read_bytes())

    def med(xs: list[tuple[float, float, float]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    u_t, u_m, u_c = med(upd, 0), med(upd, 1), med(upd, 2)
    r_t, r_m, r_c = med(reb, 0), med(reb, 1), med(reb, 2)
    per_run = statistics.median(r[0] / u[0] for u, r in zip(upd, reb))
    per_run_cpu = statistics.median(r[2] / u[2] for u, r in zip(upd, reb))
    print(f"\n### Incremental update: 90% built, +10% updated vs 100% rebuilt ({a.workers} workers, "
          f"median of {a.runs}, fresh processes; load average {os.getloadavg()[0]:.1f} at the end)\n")
    print(f"Corpus {counts['old'] + counts['new']:,} documents ({counts['old_mb'] + counts['new_mb']:.0f} MB): "
          f"old {counts['old']:,} ({counts['old_mb']:.0f} MB), new {counts['new']:,} ({counts['new_mb']:.0f} MB). "
          f"Pipeline: exact_dedup, minhash_dedup, pii_redact.\n")
    print("| command | documents in release | wall s | CPU s | peak RSS MB | rebuild / this: wall (per-run median) | CPU |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| `thresher run` 90% (the base, once) | {orjson.loads((base / 'manifest.json').read_bytes())['documents']:,} "
          f"| {t_base:.1f} | {cpu_base:.1f} | {rss_base:.0f} | | |")
    print(f"| `thresher update` +10% -> corpus@v2 | {v2['documents']:,} | {u_t:.1f} | {u_c:.1f} | {u_m:.0f} | "
          f"**{r_t / u_t:.1f}x** ({per_run:.1f}x) | {r_c / u_c:.1f}x ({per_run_cpu:.1f}x) |")
    print(f"| `thresher run --overwrite` 100% | {whole['documents']:,} | {r_t:.1f} | {r_c:.1f} | {r_m:.0f} | 1.0x | 1.0x |")
    v1_ids, v2_ids, all_ids = kept_ids(base), kept_ids(project / "corpus@v2"), kept_ids(full)
    print(f"\nDocuments: v2 holds {v2['documents']:,}, the rebuild {whole['documents']:,} (keep-first ordered by "
          f"version); {len(v2_ids - all_ids):,} kept only by v2 ({len((v2_ids - all_ids) & v1_ids):,} of them old "
          f"documents: a new document near two old clusters joins them in a rebuild, but an update never rewrites the "
          f"old version), {len(all_ids - v2_ids):,} kept only by the rebuild (its buckets verify at most "
          f"{VERIFY_TRIES} earlier members, the update checks a new document against every old one sharing a band). "
          f"Duplicates of the old version found by the update: {v2.get('update', {}).get('duplicates_of_parent')}. "
          f"Peak RSS of the update {u_m / r_m:.2f}x the rebuild's. Target: >= 5x faster (wall, medians), RSS not "
          f"larger: {'met' if r_t / u_t >= 5 and u_m <= r_m else 'NOT met'}.")


if __name__ == "__main__":
    main()

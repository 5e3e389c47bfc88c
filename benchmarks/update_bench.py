"""Incremental update benchmark on the 200 MB corpus: build a release from 90% of the documents, then
``thresher update`` it with the other 10%, against rebuilding all 100% with ``thresher run`` (same
pipeline: exact dedup, MinHash dedup, PII redaction), side by side in one run.

Every timed command is a fresh process (``thresher update`` / ``thresher run --overwrite``), as a user runs
it: wall time includes interpreter start, imports and numba's cached kernels. Peak RSS is the largest
resident set of any process of the command (the driver or a pool worker), as ``/usr/bin/time -v``
reports it, read from ``getrusage(RUSAGE_CHILDREN)`` of a fresh wrapper process per command. The 10% are
a fixed hash sample of the ids (xxh3 of the id mod 10 == 0), so near-duplicates span both parts.

    .venv/bin/python benchmarks/update_bench.py --corpus /work/bench_corpus/corpus.jsonl --runs 3

Prints a markdown table: medians over ``--runs``, ratio rebuild / update. The machine may be shared and
noisy: compare the ratios of one run, not absolute seconds across runs.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson
import xxhash

STEPS = """  - exact_dedup: {}
  - minhash_dedup: {}
  - pii_redact: {}
"""
WRAP = ("import resource, subprocess, sys\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc, file=sys.stderr)\n")


def split(corpus: Path, work: Path) -> tuple[Path, Path, Path, dict]:
    """old.jsonl (90%), new.jsonl (10%), and all.jsonl (old then new: keep-first ordered by version)."""
    d = work / "input"
    old, new, both = d / "old.jsonl", d / "new.jsonl", d / "all.jsonl"
    if both.exists() and both.stat().st_mtime >= corpus.stat().st_mtime:
        return old, new, both, orjson.loads((d / "counts.json").read_bytes())
    d.mkdir(parents=True, exist_ok=True)
    counts = {"old": 0, "new": 0, "old_mb": 0.0, "new_mb": 0.0}
    with open(corpus, "rb") as src, open(old, "wb") as fo, open(new, "wb") as fn:
        for line in src:
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


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the command's largest process), the command as a fresh process."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", WRAP, *cmd], stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    last = p.stderr.strip().splitlines()[-1].split()
    if p.returncode or last[1] != "0":
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-3000:]}")
    return wall, int(last[0]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default="/work/bench_corpus/corpus.jsonl")
    ap.add_argument("--work", default="/tmp/update_bench")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    corpus, work = Path(a.corpus), Path(a.work)
    if not corpus.exists():
        sys.exit(f"{corpus} not found: build it with ../shared/bench/build_corpus.py")
    work.mkdir(parents=True, exist_ok=True)
    old, new, both, counts = split(corpus, work)
    thresher = str(Path(sys.executable).with_name("thresher"))
    project = work / "project"
    base, full = project / "corpus", work / "full" / "corpus"
    y_old, y_new, y_all = yaml(work, "old", old, base), yaml(work, "new", new, work / "unused"), yaml(work, "all", both, full)
    w = ["--workers", str(a.workers)]
    shutil.rmtree(project, ignore_errors=True)
    t_base, rss_base = measure([thresher, "run", str(y_old), *w])
    upd, reb = [], []
    for k in range(a.runs):
        for p in project.glob("corpus@v*"):
            shutil.rmtree(p)
        upd.append(measure([thresher, "update", str(base), str(y_new), *w]))
        reb.append(measure([thresher, "run", str(y_all), "--overwrite", *w]))
        print(f"run {k + 1}: update {upd[-1][0]:.1f} s {upd[-1][1]:.0f} MB, rebuild {reb[-1][0]:.1f} s "
              f"{reb[-1][1]:.0f} MB", file=sys.stderr)
    v2 = orjson.loads((project / "corpus@v2" / "manifest.json").read_bytes())
    whole = orjson.loads((full / "manifest.json").read_bytes())
    u_t, u_m = statistics.median(x[0] for x in upd), statistics.median(x[1] for x in upd)
    r_t, r_m = statistics.median(x[0] for x in reb), statistics.median(x[1] for x in reb)
    print(f"\n### Incremental update: 90% built, +10% updated vs 100% rebuilt ({a.workers} workers, "
          f"median of {a.runs}, fresh processes)\n")
    print(f"Corpus {counts['old'] + counts['new']:,} documents ({counts['old_mb'] + counts['new_mb']:.0f} MB): "
          f"old {counts['old']:,} ({counts['old_mb']:.0f} MB), new {counts['new']:,} ({counts['new_mb']:.0f} MB). "
          f"Pipeline: exact_dedup, minhash_dedup, pii_redact.\n")
    print("| command | documents in release | wall s | peak RSS MB | vs rebuild |")
    print("|---|---:|---:|---:|---:|")
    print(f"| `thresher run` 90% (the base, once) | {orjson.loads((base / 'manifest.json').read_bytes())['documents']:,} "
          f"| {t_base:.1f} | {rss_base:.0f} | |")
    print(f"| `thresher update` +10% -> corpus@v2 | {v2['documents']:,} | {u_t:.1f} | {u_m:.0f} | "
          f"**{r_t / u_t:.1f}x faster**, RSS {u_m / r_m:.2f}x |")
    print(f"| `thresher run --overwrite` 100% | {whole['documents']:,} | {r_t:.1f} | {r_m:.0f} | 1.0x |")
    print(f"\nSame documents: v2 holds {v2['documents']:,}, the rebuild {whole['documents']:,} "
          f"(keep-first ordered by version); duplicates of the old version found by the update: "
          f"{v2.get('update', {}).get('duplicates_of_parent')}. Target: >= 5x faster, RSS not larger: "
          f"{'met' if r_t / u_t >= 5 and u_m <= r_m else 'NOT met'}.")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What the robust readers cost: read throughput and peak RSS of this checkout's readers next to the
readers of a baseline commit (before the framing checks, streamed limits and loss accounting), on the
same files in the same run. Each measurement is a fresh process reading every document of one file.
Prints a markdown table of medians.

    python benchmarks/faults_bench.py --corpus /tmp/bench/corpus.jsonl --baseline 61c401a --runs 3

Inputs: the common 200 MB JSONL corpus (plain, and gzipped here), and a WARC built from the bundled
real crawls (iana.org 2014, a 2020 multilingual crawl) repeated to ~40 MB, per-record gzip and plain.
"""
from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "src" / "thresher" / "samples" / "web"

READ = r"""
import json, sys, time
import pyarrow, fastwarc.warc, orjson          # imported before the clock and the RSS baseline alike
from collections import Counter
from thresher.io import ShardSpec, read_shard
fmt, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
c = Counter()
n = 0
for d in read_shard(ShardSpec(0, fmt, (path,), "/"), c):
    n += 1
dt = time.perf_counter() - t0
hwm = next(int(x.split()[1]) for x in open("/proc/self/status") if x.startswith("VmHWM"))   # not inherited
print(json.dumps({"s": dt, "docs": n, "rss": hwm / 1024,
                  "lost": sum(v for k, v in c.items() if k.startswith("skipped_"))}))
"""


PIPE = r"""
import json, sys, tempfile, time
from thresher import PipelineConfig, run
with tempfile.TemporaryDirectory() as t:
    cfg = PipelineConfig(name="b", input={"path": sys.argv[2], "format": "warc"},
                         steps=[{"extract_html": {}}, {"length_filter": {"min_chars": 200}}, {"language_id": {}}],
                         output={"path": t + "/out"})
    t0 = time.perf_counter()
    out = run(cfg, workers=1, progress=False)
    docs = json.load(open(out / "manifest.json"))["documents"]
    print(json.dumps({"s": time.perf_counter() - t0, "docs": docs, "rss": 0, "lost": 0}))
"""


def build_inputs(corpus: Path, tmp: Path) -> dict[str, tuple[str, Path]]:
    out = {"jsonl (200 MB corpus)": ("jsonl", corpus)}
    gz = tmp / "corpus.jsonl.gz"
    with open(corpus, "rb") as f, gzip.open(gz, "wb", compresslevel=1) as g:
        shutil.copyfileobj(f, g, 1 << 22)
    out["jsonl.gz (same corpus)"] = ("jsonl", gz)
    members = b"".join(p.read_bytes() for p in sorted(SAMPLES.glob("*.warc.gz")))
    warc_gz = tmp / "crawl.warc.gz"
    warc_gz.write_bytes(members * 45)
    out["warc.gz (bundled crawls x45)"] = ("warc", warc_gz)
    plain = tmp / "crawl.warc"
    d, raw, pos = None, [], 0
    data = warc_gz.read_bytes()
    while pos < len(data):
        d = zlib.decompressobj(31)
        raw.append(d.decompress(data[pos:pos + (64 << 20)]))
        pos = len(data) - len(d.unused_data) if pos + (64 << 20) >= len(data) else pos + (64 << 20) - len(d.unused_data)
    plain.write_bytes(b"".join(raw))
    out["warc (same, uncompressed)"] = ("warc", plain)
    return out


def measure(src: Path, fmt: str, path: Path, runs: int, code: str = READ) -> dict[str, float]:
    res = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code, fmt, str(path)], capture_output=True, text=True,
                           env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, check=True)
        res.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return {"s": statistics.median(x["s"] for x in res), "docs": res[0]["docs"],
            "rss": statistics.median(x["rss"] for x in res), "lost": res[0]["lost"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--baseline", default="61c401a", help="git commit of the readers to compare with")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        base = tmp / "baseline"
        base.mkdir()
        arch = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "src"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=arch.stdout, check=True)
        inputs = build_inputs(args.corpus, tmp)
        print(f"readers: this checkout vs {args.baseline}; median of {args.runs} fresh processes each, one core; "
              "shared, noisy machine: compare ratios within this table\n")
        print("| input | MB | docs | baseline s | now s | now / baseline | now MB/s | RSS MiB (base / now) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, (fmt, path) in inputs.items():
            mb = path.stat().st_size / 1e6
            b = measure(base / "src", fmt, path, args.runs)
            n = measure(ROOT / "src", fmt, path, args.runs)
            same = "" if b["docs"] == n["docs"] else f" (baseline {b['docs']:,})"
            print(f"| {name} | {mb:,.0f} | {n['docs']:,}{same} | {b['s']:.2f} | {n['s']:.2f} | {n['s'] / b['s']:.2f} | "
                  f"{mb / n['s']:,.0f} | {b['rss']:,.0f} / {n['rss']:,.0f} |")
        fmt, path = inputs["warc.gz (bundled crawls x45)"]
        mb = path.stat().st_size / 1e6
        b = measure(base / "src", fmt, path, args.runs, PIPE)
        n = measure(ROOT / "src", fmt, path, args.runs, PIPE)
        print(f"| `thresher run` on the warc.gz: extract_html, length_filter, language_id (1 worker; docs kept) | "
              f"{mb:,.0f} | {n['docs']:,} | {b['s']:.2f} | {n['s']:.2f} | {n['s'] / b['s']:.2f} | {mb / n['s']:,.1f} | - |")


if __name__ == "__main__":
    main()

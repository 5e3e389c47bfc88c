#!/usr/bin/env python3
"""I/O throughput: a JSONL -> Parquet pass-through pipeline next to the floor (read + orjson + xxhash of
every text, one core), on the common benchmark corpus. Prints a markdown table of medians.

    python benchmarks/io_bench.py                       # builds the 200 MB corpus if needed
    python benchmarks/io_bench.py --corpus /tmp/bench/corpus.jsonl --runs 3 --workers 2
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED_BUILDER = Path(__file__).resolve().parents[2] / "shared" / "bench" / "build_corpus.py"


def ensure_corpus(path: Path, mb: int) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(SHARED_BUILDER), "--out", str(path), "--max-mb", str(mb)], check=True)
    return path


def floor(corpus: Path) -> float:
    """Seconds to read every line, parse it with orjson and xxhash its text (single core)."""
    import orjson
    import xxhash

    t0 = time.perf_counter()
    with open(corpus, "rb") as f:
        for line in f:
            xxhash.xxh3_64_intdigest(orjson.loads(line)["text"].encode())
    return time.perf_counter() - t0


def worker_rss(out: Path) -> float:
    """Largest peak RSS any worker reported in its shard markers (MiB)."""
    import orjson
    from thresher.paths import markers_dir

    return max(orjson.loads(p.read_bytes()).get("peak_rss_mb", 0) for p in markers_dir(out).glob("*.json"))


def passthrough(corpus: Path, workers: int, out: Path) -> tuple[float, float]:
    from thresher import PipelineConfig, run

    cfg = PipelineConfig(name="io-bench", input={"path": str(corpus), "format": "jsonl"},
                         steps=[], output={"path": str(out)})
    t0 = time.perf_counter()
    run(cfg, workers=workers, progress=False, overwrite=True)
    return time.perf_counter() - t0, worker_rss(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(a)
    corpus = ensure_corpus(a.corpus, a.mb)
    mb = corpus.stat().st_size / 1e6
    tmp = Path(tempfile.mkdtemp(prefix="io-bench-"))
    try:
        floors = [floor(corpus) for _ in range(a.runs)]
        runs = [passthrough(corpus, a.workers, tmp / "out") for _ in range(a.runs)]
        one = [passthrough(corpus, 1, tmp / "out1") for _ in range(a.runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    f = statistics.median(floors)
    r2, rss2 = statistics.median(t for t, _ in runs), max(m for _, m in runs)
    r1, rss1 = statistics.median(t for t, _ in one), max(m for _, m in one)
    print(f"corpus: {corpus} ({mb:.1f} MB), median of {a.runs} runs\n")
    print("| what | workers | seconds | MB/s | vs floor | peak RSS per process |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| floor: read + orjson + xxhash | 1 | {f:.2f} | {mb / f:.0f} | 1.00x | n/a |")
    print(f"| thresher JSONL -> Parquet (zstd) | 1 | {r1:.2f} | {mb / r1:.0f} | {f / r1:.2f}x | {rss1:.0f} MiB |")
    print(f"| thresher JSONL -> Parquet (zstd) | {a.workers} | {r2:.2f} | {mb / r2:.0f} | {f / r2:.2f}x | {rss2:.0f} MiB |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Data measurements (issue 27) and what they cost a whole run (issue 15: no slower than before).

    git -C /work/main archive 3586639 src | tar -x -C /tmp/base3586639      # the baseline tree
    .venv/bin/python benchmarks/measurements_bench.py --corpus /work/bench_corpus/corpus.jsonl \\
        --baseline /tmp/base3586639/src [--this SRC] [--mb 50] [--runs 3] [--workers 2]

1. ``Sketch.add`` on ``--mb`` MB of the corpus: the compiled word counts (``thresher.text.wordcount``)
   against the pure-Python definition they replaced (``re.findall(r"\\w+", text.lower())``, a
   ``Counter`` and the window loop, below), CPU seconds in this process, best of ``--runs``, and
   whether the two sketches' JSON is byte-identical.
2. Whole runs: fresh ``thresher run`` processes (``--workers`` workers) on the same subset, for a dedup
   pipeline (exact + MinHash) and a filter pipeline (Gopher repetition + quality, FineWeb quality), the
   baseline tree against this tree with measurements on (the default) and off
   (``card: {measurements: false}``). Wall seconds and CPU seconds (user + sys of the process and the
   workers it waited for, ``getrusage(RUSAGE_CHILDREN)``), medians of ``--runs`` rounds that alternate
   the trees; ratios this/baseline. One untimed run per tree first fills the numba caches.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _inputs import require_inputs  # noqa: E402

THRESHER = Path(sys.executable).parent / "thresher"       # the console script; PYTHONPATH picks the tree
PIPELINES = {"dedup (exact + minhash)": ["exact_dedup", "minhash_dedup"],
             "filters (gopher + fineweb)": ["gopher_repetition", "gopher_quality", "fineweb_quality"]}


def python_add(sk: Any, texts: list[str], languages: list[str]) -> None:
    """The pure-Python ``Sketch.add`` that the compiled kernel replaced (the definition it must match),
    as the package keeps it for small shards."""
    sk._add_small(list(texts), list(languages))


def subset(corpus: Path, work: Path, mb: float) -> tuple[Path, int, int]:
    """The first documents of the corpus up to ``mb`` MB of UTF-8 text, as one JSONL file."""
    path = work / f"sub-{mb:g}mb.jsonl"
    lines, nbytes = [], 0
    with open(corpus, "rb") as f:
        for line in f:
            b = len(json.loads(line)["text"].encode("utf-8", "surrogatepass"))
            if nbytes + b > mb * 1e6:
                break
            lines.append(line)
            nbytes += b
    if not path.exists():
        path.write_bytes(b"".join(lines))
    return path, len(lines), nbytes


def sketch_speed(path: Path, runs: int) -> dict:
    from thresher.measurements import Sketch, identity_terms

    texts = [orjson.loads(line)["text"] for line in path.open("rb")]
    langs = ["eng"] * len(texts)
    terms = tuple(identity_terms())
    Sketch(terms=terms).add(texts[:10], langs[:10])          # load the kernels
    best: dict[str, float] = {}
    out: dict[str, Any] = {}
    for _ in range(runs):
        for name, fn in (("python", python_add), ("compiled", Sketch.add)):
            sk = Sketch(terms=terms)
            t = time.process_time()
            fn(sk, texts, langs)
            best[name] = min(best.get(name, 1e9), time.process_time() - t)
            out[name] = sk
    same = orjson.dumps(out["python"].to_json()) == orjson.dumps(out["compiled"].to_json())
    return {**best, "same": same, "words": sum(out["compiled"].languages["eng"].words.values()),
            "vocabulary": len(out["compiled"].languages["eng"].words)}


def run_once(src: str, steps: list, inp: Path, work: Path, workers: int, card: dict | None) -> tuple[float, float]:
    cfg = {"name": "bench", "input": {"path": str(inp), "format": "jsonl"}, "steps": steps,
           "output": {"path": str(work / "out")}}
    if card is not None:
        cfg["card"] = card
    y = work / "p.yaml"
    y.write_text(json.dumps(cfg))           # JSON is YAML
    env = {**os.environ, "PYTHONPATH": src}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([str(THRESHER), "run", str(y), "--workers", str(workers), "--overwrite"],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    shutil.rmtree(work / "out", ignore_errors=True)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/work/bench_corpus/corpus.jsonl")
    ap.add_argument("--baseline", required=True, help="src/ folder of the baseline tree")
    ap.add_argument("--this", default=str(ROOT / "src"),
                    help="src/ folder of the tree to measure (default: this checkout; give a `git archive` copy "
                         "to keep edits made during the run out of it)")
    ap.add_argument("--work", default="/tmp/measurements_bench")
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pipelines", default="dedup,filters", help="whole runs of these (dedup, filters)")
    ap.add_argument("--skip-sketch", action="store_true", help="only the whole-run A/B")
    ap.add_argument("--skip-runs", action="store_true", help="only the Sketch.add comparison")
    a = ap.parse_args()
    require_inputs(a, ("corpus", "baseline", "this"))
    sys.path.insert(0, a.this)                  # Sketch.add of the tree measured
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    inp, ndocs, nbytes = subset(Path(a.corpus), work, a.mb)
    print(f"# data measurements: {ndocs} documents, {nbytes / 1e6:.1f} MB of {a.corpus}; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at start\n")
    if not a.skip_sketch:
        r = sketch_speed(inp, a.runs)
        print(f"## Sketch.add, CPU seconds in one process (best of {a.runs}; {r['words']:,} words, "
              f"vocabulary {r['vocabulary']:,})\n")
        print("| python s | compiled s | python/compiled | compiled MB/s | same JSON |\n|---|---|---|---|---|")
        print(f"| {r['python']:.2f} | {r['compiled']:.2f} | {r['python'] / r['compiled']:.1f}x | "
              f"{nbytes / 1e6 / r['compiled']:.0f} | {'yes' if r['same'] else 'NO'} |\n", flush=True)
    if a.skip_runs:
        return
    this = a.this
    variants = {"baseline": (a.baseline, None), "this, measurements on": (this, {}),
                "this, measurements off": (this, {"measurements": False})}
    chosen = {p: steps for p, steps in PIPELINES.items() if p.split()[0] in a.pipelines.split(",")}
    got: dict = {p: {v: [] for v in variants} for p in chosen}
    for src in (a.baseline, this):                      # fill each tree's numba cache, untimed
        run_once(src, PIPELINES["filters (gopher + fineweb)"] + PIPELINES["dedup (exact + minhash)"], inp, work,
                 a.workers, None)
    for i in range(a.runs):
        for p, steps in chosen.items():
            for v, (src, card) in variants.items():
                got[p][v].append(run_once(src, steps, inp, work, a.workers, card))
                print(f"  round {i + 1} {p} {v}: wall {got[p][v][-1][0]:.1f}s cpu {got[p][v][-1][1]:.1f}s",
                      file=sys.stderr, flush=True)
    print(f"## Whole runs, fresh `thresher run` processes, {a.workers} workers (median of {a.runs} alternating "
          f"rounds; load average {os.getloadavg()[0]:.1f} at the end)\n")
    print("| pipeline | tree | wall s | CPU s | wall / baseline | CPU / baseline |\n|---|---|---|---|---|---|")
    for p in chosen:
        base = [statistics.median(x[k] for x in got[p]["baseline"]) for k in (0, 1)]
        for v in variants:
            w, c = (statistics.median(x[k] for x in got[p][v]) for k in (0, 1))
            print(f"| {p} | {v} | {w:.1f} | {c:.1f} | {w / base[0]:.2f} | {c / base[1]:.2f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Speed as a user feels it: every command as a fresh process, first run and warm, peers in the same run.

    .venv/bin/python benchmarks/cold_warm.py --corpus /work/bench_corpus/corpus.jsonl
    .venv/bin/python benchmarks/cold_warm.py --mb 20 --filter-docs 5000 --runs 3      # quicker
    .venv/bin/python benchmarks/cold_warm.py --no-warmup      # first run compiles (no `thresher warmup`)

thresher runs with a NEW, empty numba cache (``NUMBA_CACHE_DIR`` in a temporary folder), as after a
fresh install: its bytecode compiled (as ``pip install`` does), ``thresher warmup`` (what ``make setup`` runs; timed and shown on its own row) and then
each case once ("first") and ``--runs`` more times ("warm", the median is shown). With
``--no-warmup`` the first run of each case pays the compilation itself. The peers run from
``benchmarks/.venv-peers`` (``_peers.py`` installs them): datatrove 0.10.1 for the quality filters
(Gopher repetition -> Gopher quality -> C4 -> FineWeb, the chain of ``parity_datatrove.py``), rensa
and datasketch for MinHash (``dedup_bench.py``'s peer code: word 5-gram shingles, 112 permutations,
14 bands, Jaccard >= 0.8 checked on candidates). Every process is timed whole, start-up included:
wall seconds and CPU seconds (user + sys of the process and its workers; datatrove's forkserver
workers are not counted, so its CPU figure is only its main process), since this machine is shared
and the wall clock alone is noisy; ratios compare wall figures of the same run.
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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peers import peer_python  # noqa: E402

THRESHER = Path(sys.executable).parent / "thresher"
FILTERS = ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None, timeout: float = 3600) -> dict:
    """One fresh process: wall and CPU seconds (its children, e.g. pool workers, included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "stdout": r.stdout}


def series(cmd: list[str], runs: int, env: dict | None = None, cwd: Path | None = None,
           before_each=None) -> dict:
    """First run, then ``runs`` warm runs: their medians."""
    out = []
    for _ in range(runs + 1):
        if before_each:
            before_each()
        out.append(timed(cmd, env, cwd))
    warm = out[1:] or out
    return {"first": out[0]["wall"], "first_cpu": out[0]["cpu"],
            "warm": statistics.median(r["wall"] for r in warm), "warm_cpu": statistics.median(r["cpu"] for r in warm)}


def write_jsonl(corpus: Path, dst: Path, mb: float | None = None, docs: int | None = None, parts: int = 1) -> float:
    """The first ``mb`` MB / ``docs`` documents of the corpus into ``parts`` files; returns text MB."""
    dst.mkdir(parents=True, exist_ok=True)
    outs = [open(dst / f"part-{i}.jsonl", "wb") for i in range(parts)]
    n, text = 0, 0
    with open(corpus, "rb") as f:
        for line in f:
            if (docs is not None and n >= docs) or (mb is not None and text >= mb * 1e6):
                break
            outs[n % parts].write(line)
            text += len(json.loads(line)["text"].encode("utf-8", "surrogatepass"))
            n += 1
    for o in outs:
        o.close()
    os.sync()       # the inputs on disk: otherwise the first run waits for their write-back (2.2x wall, same CPU)
    return text / 1e6


def pipeline_yaml(path: Path, name: str, inp: str, steps: list[str], out: Path, extra: str = "") -> Path:
    steps_yaml = "\n".join(f"  - {s}: {{}}" for s in steps) or "  []"
    path.write_text(f"name: {name}\ninput: {{path: \"{inp}\", format: jsonl}}\nsteps:{'' if steps else ' []'}\n"
                    f"{steps_yaml if steps else ''}\noutput: {{path: \"{out}\"}}\n{extra}")
    return path


def row(case: str, tool: str, r: dict, mb: float | None = None, peer: dict | None = None, note: str = "") -> str:
    ratio = r["first"] / r["warm"] if r["warm"] else float("nan")
    mbs = f"{mb / r['warm']:.1f}" if mb else ""
    vs = f"{peer['warm'] / r['warm']:.1f}x / {peer['first'] / r['first']:.1f}x" if peer else ""
    return (f"| {case} | {tool} | {r['first']:.2f} ({r['first_cpu']:.2f}) | {r['warm']:.2f} ({r['warm_cpu']:.2f}) | "
            f"{ratio:.2f} | {mbs} | {vs} | {note} |")


class _Rows(list):
    """Table rows, printed as they come (a long run shows what it has)."""

    def append(self, line: str) -> None:
        super().append(line)
        print(line, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=Path("/work/bench_corpus/corpus.jsonl"))
    ap.add_argument("--mb", type=float, default=50.0, help="text MB for MinHash and pass-through")
    ap.add_argument("--filter-docs", type=int, default=20000, help="documents for the quality filters")
    ap.add_argument("--runs", type=int, default=3, help="warm runs per case (median shown)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-warmup", action="store_true", help="skip `thresher warmup`: first runs compile")
    ap.add_argument("--keep-cache", action="store_true", help="reuse WORK/numba-cache of an earlier run (with --work)")
    ap.add_argument("--only", default="", help="comma list of cases: help,one,demo,filters,minhash,pass")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    a = ap.parse_args()
    only = set(filter(None, a.only.split(",")))
    want = lambda c: not only or c in only   # noqa: E731
    work = a.work or Path(tempfile.mkdtemp(prefix="thresher-coldwarm-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "numba-cache"
    if not a.keep_cache:
        shutil.rmtree(cache, ignore_errors=True)      # a fresh install: no compiled kernel anywhere
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONWARNINGS": "ignore"}
    peer_env = {**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"}
    w = ["-w", str(a.workers)]
    rows = _Rows()
    print(f"\nfresh processes; {a.workers} workers; warm = median of {a.runs}; seconds as wall (CPU user+sys); "
          f"load average at the start: {tuple(round(x, 1) for x in os.getloadavg())} on {os.cpu_count()} cores "
          "(shared machine)\n", flush=True)
    print("| case | tool | first run s | warm s | first/warm | MB/s warm | thresher vs peer warm / first | note |")
    print("|---|---|---|---|---|---|---|---|", flush=True)

    # `pip install` writes thresher's bytecode (.pyc); a source tree run with PYTHONDONTWRITEBYTECODE
    # (set on these machines) would compile every module from source in every process (~0.1 s)
    pkg = Path(subprocess.run([sys.executable, "-c", "import thresher; print(thresher.__file__)"], env=env,
                              capture_output=True, text=True, check=True).stdout.strip()).parent
    r = timed([sys.executable, "-m", "compileall", "-q", str(pkg)], env)
    rows.append(f"| install: bytecode of {pkg} (pip install) | thresher | {r['wall']:.2f} ({r['cpu']:.2f}) | | | | | "
                "python -m compileall |")
    if not a.no_warmup:
        r = timed([str(THRESHER), "warmup"], env)
        rows.append(f"| install: `thresher warmup` (make setup) | thresher | {r['wall']:.2f} ({r['cpu']:.2f}) | | | | | "
                    "compiles every kernel once per installation |")

    if want("help"):
        rows.append(row("`thresher --help`", "thresher", series([str(THRESHER), "--help"], a.runs, env), note="target <= 0.5 s"))

    if want("one"):
        one = work / "one"
        one.mkdir(exist_ok=True)
        (one / "one.jsonl").write_text(json.dumps({"id": "a", "text": "One small document for the start-up test."}) + "\n")
        for name, steps, target in (("one document, no steps", [], "0.7"), ("one document, minhash_dedup", ["minhash_dedup"], "1.2")):
            y = pipeline_yaml(one / f"{len(steps)}.yaml", "one", str(one / "one.jsonl"), steps, one / f"out{len(steps)}")
            rows.append(row(f"`thresher run`: {name}", "thresher", series([str(THRESHER), "run", str(y), "--overwrite"], a.runs, env),
                            note=f"target <= {target} s"))

    if want("demo"):
        rows.append(row("`thresher demo`", "thresher", series([str(THRESHER), "demo", str(work / "demo"), *w], a.runs, env),
                        note="target first <= 1.5x warm"))

    py = None
    if want("filters"):
        fdir = work / "filters-in"
        fmb = write_jsonl(a.corpus, fdir, docs=a.filter_docs, parts=4)
        y = pipeline_yaml(work / "filters.yaml", "filters", str(fdir / "*.jsonl"), FILTERS, work / "filters-out")
        th = series([str(THRESHER), "run", str(y), "--overwrite", *w], a.runs, env)
        py = py or peer_python("peers")
        from parity_datatrove import DT_SCRIPT      # logs cleared before each run: datatrove skips completed tasks
        script = work / "dt_filters.py"
        script.write_text(DT_SCRIPT)
        dt_out = work / "dt-out"
        dt = series([str(py), str(script), "pipeline", str(fdir), str(dt_out), "4", str(a.workers), str(work / "dt-logs")],
                    a.runs, peer_env, before_each=lambda: [shutil.rmtree(p, ignore_errors=True) for p in (dt_out, work / "dt-logs")])
        rows.append(row(f"filters (Gopher rep + quality + C4 + FineWeb), {a.filter_docs:,} docs", "thresher", th, fmb, dt,
                        "target >= 20x warm, >= 10x first"))
        rows.append(row("", "datatrove 0.10.1", dt, fmb))

    if want("minhash") or want("pass"):
        mdir = work / "mh-in"
        mmb = write_jsonl(a.corpus, mdir, mb=a.mb)
        src = mdir / "part-0.jsonl"
    if want("minhash"):
        y = pipeline_yaml(work / "mh.yaml", "mh", str(src), ["minhash_dedup"], work / "mh-out")
        th = series([str(THRESHER), "run", str(y), "--overwrite", *w], a.runs, env)
        py = py or peer_python("peers")
        peers = {name: series([str(py), str(HERE / "dedup_bench.py"), "--peer", name, str(src)], a.runs if name == "rensa" else 0,
                              peer_env) for name in ("rensa", "datasketch")}
        rows.append(row(f"MinHash dedup, {mmb:.0f} MB, JSONL -> release", "thresher", th, mmb, peers["rensa"],
                        "target >= 2.5x rensa"))
        rows.append(row("", "rensa 0.5.0 (one process)", peers["rensa"], mmb))
        rows.append(row("", "datasketch 2.0.0 (one process, one run)", peers["datasketch"], mmb))
    if want("pass"):
        y = pipeline_yaml(work / "pass.yaml", "pass", str(src), [], work / "pass-out")
        rows.append(row(f"JSONL -> Parquet pass-through, {mmb:.0f} MB", "thresher",
                        series([str(THRESHER), "run", str(y), "--overwrite", *w], a.runs, env), mmb, note="target >= 100 MB/s"))
        # what the card's data measurements (word counts of every kept text) cost of that
        y = pipeline_yaml(work / "pass-nm.yaml", "pass", str(src), [], work / "pass-nm-out", "card: {measurements: false}\n")
        rows.append(row("", "thresher, `card: {measurements: false}`",
                        series([str(THRESHER), "run", str(y), "--overwrite", *w], a.runs, env), mmb,
                        note="the same without the card's data measurements"))

    print(f"\nload average at the end: {tuple(round(x, 1) for x in os.getloadavg())}")
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

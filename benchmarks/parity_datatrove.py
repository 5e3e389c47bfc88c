#!/usr/bin/env python3
"""Decision parity and throughput: thresher's quality filters next to datatrove 0.10.1's.

datatrove 0.10.1 (+ spaCy, its English word tokenizer) is installed into
``benchmarks/.venv-peers`` (``_peers.py``) on first use; thresher runs from the current interpreter. Inputs: the
common benchmark corpus (split into shard files) and the article-extraction benchmark pages (their
main text, extracted by resiliparse). Two measurements, both with 2 workers:

1. agreement: every filter decides every document on its own (datatrove: each filter's ``filter``;
   thresher: a real pipeline with the four steps in annotate-only mode, ``drop: false``), per filter:
   same keep/drop decision, same rule;
2. throughput: the same chain (Gopher repetition -> Gopher quality -> C4 -> FineWeb) as a real
   pipeline in each tool, JSONL in, kept documents out; MB/s of input text, wall clock.

    python benchmarks/parity_datatrove.py                      # ~13 min: agreement on 50 MB, chain on 200 MB
    python benchmarks/parity_datatrove.py --agreement-mb 0     # agreement on the whole corpus (~30 min)
    python benchmarks/parity_datatrove.py --max-mb 20 --runs 1 # quick look
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _peers import peer_python, venv_dir  # noqa: E402

VENV = venv_dir("peers")
FILTERS = ["gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality"]
PAGES = Path("/work/shared/data/article_extraction_benchmark")

DT_SCRIPT = textwrap.dedent('''
    import json, sys, time, os
    from multiprocessing import Pool

    def decide(path):
        from datatrove.data import Document
        from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                                GopherRepetitionFilter)
        fs = {"gopher_repetition": GopherRepetitionFilter(), "gopher_quality": GopherQualityFilter(),
              "c4_quality": C4QualityFilter(), "fineweb_quality": FineWebQualityFilter()}
        out = []
        for line in open(path, encoding="utf-8"):
            rec = json.loads(line)
            row = {"id": rec["id"]}
            for name, f in fs.items():
                v = f.filter(Document(text=rec["text"], id=rec["id"]))
                row[name] = "keep" if v is True else v[1]
            out.append(row)
        return out

    def pipeline(src, dst, tasks, workers, logs):
        from datatrove.executor import LocalPipelineExecutor
        from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                                GopherRepetitionFilter)
        from datatrove.pipeline.readers import JsonlReader
        from datatrove.pipeline.writers import JsonlWriter
        ex = LocalPipelineExecutor(pipeline=[JsonlReader(src), GopherRepetitionFilter(), GopherQualityFilter(),
                                             C4QualityFilter(), FineWebQualityFilter(), JsonlWriter(dst)],
                                   tasks=tasks, workers=workers, logging_dir=logs)
        t0 = time.perf_counter()
        ex.run()
        return time.perf_counter() - t0

    if __name__ == "__main__":
        mode = sys.argv[1]
        if mode == "decide":
            files, out, workers = json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
            t0 = time.perf_counter()
            with Pool(workers) as pool:
                rows = [r for part in pool.map(decide, files, chunksize=1) for r in part]
            dt = time.perf_counter() - t0
            with open(out, "w") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\\n")
            print(json.dumps({"seconds": dt}))
        else:
            print(json.dumps({"seconds": pipeline(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]),
                                                  sys.argv[6])}))
''')


def ensure_venv() -> Path:
    """The peers' venv (``_peers.py``, shared with the other benchmarks): datatrove 0.10.1 + spaCy (its
    English word tokenizer), installed on first use."""
    return peer_python("peers")


def prepare(corpus: Path, max_mb: float | None, shards: int, work: Path) -> tuple[list[Path], Path, float, float]:
    """Split the corpus into shard files (same files for both tools) and extract the pages."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from thresher.steps.basic import _resiliparse

    cdir = work / "corpus"
    cdir.mkdir(parents=True)
    outs = [open(cdir / f"part-{i:03d}.jsonl", "w", encoding="utf-8") for i in range(shards)]
    limit = max_mb * 1e6 if max_mb else float("inf")
    mb = 0.0
    with open(corpus, encoding="utf-8") as f:
        for n, line in enumerate(f):
            rec = json.loads(line)
            size = len(rec["text"].encode("utf-8"))
            if mb + size > limit:
                break
            mb += size
            outs[n % shards].write(json.dumps({"id": rec["id"], "text": rec["text"]}) + "\n")
    for o in outs:
        o.close()
    pages = work / "pages" / "pages.jsonl"
    pages.parent.mkdir()
    pmb = 0.0
    with open(pages, "w", encoding="utf-8") as o:
        for p in sorted((PAGES / "html").glob("*.html.gz")):
            text = _resiliparse(gzip.open(p).read().decode("utf-8", "replace")).strip()
            if text:
                pmb += len(text.encode("utf-8"))
                o.write(json.dumps({"id": "page:" + p.name.split(".")[0], "text": text}) + "\n")
    return sorted(cdir.glob("*.jsonl")), pages, mb / 1e6, pmb / 1e6


def thresher_annotate(files: list[Path], pages: Path, workers: int, out: Path) -> tuple[dict, float]:
    """Every filter on every document: a real pipeline with the four steps in annotate-only mode."""
    from thresher import PipelineConfig, run
    from thresher.release import Release

    steps = [{"gopher_repetition": {"drop": False}}, {"gopher_quality": {"drop": False}},
             {"c4_quality": {"drop": False, "remove_lines": False}}, {"fineweb_quality": {"drop": False}}]
    cfg = PipelineConfig(name="parity-annotate", input=[{"path": [str(f) for f in files], "format": "jsonl"},
                                                        {"path": str(pages), "format": "jsonl"}],
                         steps=steps, output={"path": str(out)})
    t0 = time.perf_counter()
    run(cfg, workers=workers, progress=False, overwrite=True)
    dt = time.perf_counter() - t0
    import pyarrow.parquet as pq

    verdicts = {}
    for f in Release(out).files("data"):
        t = pq.read_table(f, columns=["id", "meta"])
        for i, m in zip(t.column("id").to_pylist(), t.column("meta").to_pylist()):
            meta = json.loads(m)
            verdicts[i] = {name: meta[f"{name}_v1"]["verdict"] for name in FILTERS}
    return verdicts, dt


def thresher_chain(files: list[Path], workers: int, out: Path) -> float:
    from thresher import PipelineConfig, run

    cfg = PipelineConfig(name="parity-chain", input={"path": str(files[0].parent / "*.jsonl"), "format": "jsonl"},
                         steps=[{"gopher_repetition": {}}, {"gopher_quality": {}}, {"c4_quality": {}},
                                {"fineweb_quality": {}}], output={"path": str(out)})
    t0 = time.perf_counter()
    run(cfg, workers=workers, progress=False, overwrite=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--max-mb", type=float, default=None, help="use only the first MB of the corpus")
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument("--agreement-mb", type=float, default=50,
                    help="corpus MB (whole shards, each a uniform sample) for the agreement pass; 0 = all")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3, help="thresher chain runs (median)")
    ap.add_argument("--dt-runs", type=int, default=1, help="datatrove chain runs (median; ~4 min each on 200 MB)")
    ap.add_argument("--examples", type=int, default=3, help="disagreeing ids to print per filter")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    if not args.corpus.exists():
        sys.exit(f"{args.corpus} missing: build it with python3 /work/shared/bench/build_corpus.py")
    py = ensure_venv()
    sys.path.insert(0, str(HERE.parent / "src"))
    with tempfile.TemporaryDirectory(prefix="parity-") as tmp:
        work = Path(tmp)
        files, pages, cmb, pmb = prepare(args.corpus, args.max_mb, args.shards, work)
        script = work / "dt_worker.py"
        script.write_text(DT_SCRIPT)
        env = dict(os.environ, PYTHONWARNINGS="ignore", LOGURU_LEVEL="WARNING")
        # 1. agreement, on whole shards (each one a uniform sample of the corpus)
        per_shard = cmb / len(files)
        k = len(files) if not args.agreement_mb else max(1, min(len(files), round(args.agreement_mb / per_shard)))
        sample = files[:k]
        smb = per_shard * k
        r = subprocess.run([str(py), str(script), "decide", json.dumps([str(f) for f in sample + [pages]]),
                            str(work / "dt.jsonl"), str(args.workers)], check=True, capture_output=True, text=True,
                           env=env)
        dt_decide = json.loads(r.stdout.strip().splitlines()[-1])["seconds"]
        dt = {row["id"]: row for row in map(json.loads, open(work / "dt.jsonl"))}
        th, th_annot = thresher_annotate(sample, pages, args.workers, work / "th-annot")
        print(f"\n## Decision agreement (datatrove 0.10.1 vs thresher), {len(dt)} documents: "
              f"corpus {smb:.1f} MB ({k}/{len(files)} shards) + {sum(1 for i in dt if i.startswith('page:'))} "
              f"extraction-benchmark pages ({pmb:.2f} MB)\n")
        print("| filter | source | docs | same keep/drop | agreement | same rule | datatrove drops | thresher drops |")
        print("|---|---|---|---|---|---|---|---|")
        examples = {}
        for name in FILTERS:
            for src in ("corpus", "pages", "all"):
                ids = [i for i in dt if src == "all" or (i.startswith("page:") == (src == "pages"))]
                same = sum((dt[i][name] == "keep") == (th[i][name] == "keep") for i in ids)
                rule = sum(dt[i][name] == th[i][name] for i in ids)
                dd = sum(dt[i][name] != "keep" for i in ids)
                td = sum(th[i][name] != "keep" for i in ids)
                print(f"| {name} | {src} | {len(ids)} | {same} | {100 * same / max(1, len(ids)):.3f}% | "
                      f"{100 * rule / max(1, len(ids)):.3f}% | {dd} | {td} |")
            diff = [i for i in dt if (dt[i][name] == "keep") != (th[i][name] == "keep")]
            examples[name] = (Counter((dt[i][name], th[i][name]) for i in diff).most_common(5), diff[:args.examples])
        print("\nDisagreements (datatrove rule, thresher rule): count; example ids")
        for name, (pairs, ids) in examples.items():
            print(f"- {name}: {pairs or 'none'}; {ids}")
        # 2. throughput of the chain
        th_times = [thresher_chain(files, args.workers, work / f"th-chain-{k}") for k in range(args.runs)]
        dt_times = []
        for k in range(args.dt_runs):
            r = subprocess.run([str(py), str(script), "pipeline", str(files[0].parent), str(work / f"dt-out-{k}"),
                                str(len(files)), str(args.workers), str(work / f"dt-logs-{k}")],
                               check=True, capture_output=True, text=True, env=env)
            dt_times.append(json.loads(r.stdout.strip().splitlines()[-1])["seconds"])
        tm, dm = statistics.median(th_times), statistics.median(dt_times)
        print(f"\n## Throughput, {args.workers} workers, corpus {cmb:.1f} MB of text in {len(files)} JSONL shards "
              f"(machine shared with other jobs: medians, wall clock)\n")
        print("| tool | work | runs | seconds (median) | MB/s | vs datatrove |")
        print("|---|---|---|---|---|---|")
        print(f"| datatrove 0.10.1 | chain: GopherRep -> GopherQuality -> C4 -> FineWeb, JSONL -> JSONL "
              f"(LocalPipelineExecutor) | {len(dt_times)} | {dm:.1f} | {cmb / dm:.2f} | 1.0x |")
        print(f"| thresher | same chain, JSONL -> Parquet release (thresher.run) | {len(th_times)} | {tm:.1f} | "
              f"{cmb / tm:.2f} | {dm / tm:.1f}x |")
        total = smb + pmb
        print(f"| datatrove 0.10.1 | each filter on every document (agreement pass, Pool) | 1 | {dt_decide:.1f} | "
              f"{total / dt_decide:.2f} | 1.0x |")
        print(f"| thresher | each filter on every document (annotate-only pipeline) | 1 | {th_annot:.1f} | "
              f"{total / th_annot:.2f} | {dt_decide / th_annot:.1f}x |")
        print(f"\nthresher chain runs: {[round(t, 1) for t in th_times]}; datatrove: {[round(t, 1) for t in dt_times]}")


if __name__ == "__main__":
    main()

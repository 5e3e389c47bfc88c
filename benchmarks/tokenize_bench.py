#!/usr/bin/env python3
"""Token packing throughput: ``thresher tokenize`` next to datatrove 0.10.1's tokenizers and a bare
``tokenizers`` loop, plus the time to train the tokenizer on 100 MB.

The corpus (the common 200 MB benchmark corpus) is first built into a thresher release with no steps
(not timed; cached in ``--work``), so every tool reads the same Parquet shards. Then, each as a fresh
process, timed wall clock, median of ``--runs``:

1. ``thresher tokenizer train REL --vocab 32000 --sample-mb 100`` (the tokenizer every row below uses);
2. ``thresher tokenize REL -t tokenizer.json -w 2`` (Megatron .bin/.idx, index, manifest; it encodes
   with tiktoken where that gives the ids of ``tokenizers``, and the table says which encoder it used);
3. datatrove's ``DocumentTokenizer`` (its .ds format; shuffle off) and ``MegatronDocumentTokenizer``
   (.bin/.idx like ours) behind a ``ParquetReader`` of the same shards, ``LocalPipelineExecutor`` with
   2 workers, the same tokenizer.json and ``<|endoftext|>`` (installed into benchmarks/.venv-datatrove);
4. the floor: ``Tokenizer.encode_batch`` over the texts already in memory (no I/O, no writing), in
   batches of 1,024, and ``encode_batch_fast`` (no offsets).

MB/s counts UTF-8 text bytes; peak RSS is the sum over the whole process tree of the run (sampled every 50 ms).

    python benchmarks/tokenize_bench.py --corpus /tmp/bench/corpus.jsonl
    python benchmarks/tokenize_bench.py --corpus /tmp/bench/corpus.jsonl --max-mb 20 --runs 1   # quick
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-datatrove"
THRESHER = [sys.executable, "-c", "from thresher.cli import main; main()"]

DT_SCRIPT = textwrap.dedent('''
    import sys
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.tokens import DocumentTokenizer, MegatronDocumentTokenizer

    if __name__ == "__main__":          # the executor's workers start by forkserver and import this file
        kind, src, dst, tok, tasks, workers, logs = sys.argv[1:8]
        if kind == "document":
            step = DocumentTokenizer(dst, tokenizer_name_or_path=tok, eos_token="<|endoftext|>", batch_size=1024,
                                     shuffle_documents=False)
        else:
            step = MegatronDocumentTokenizer(dst, tokenizer_name_or_path=tok, eos_token="<|endoftext|>",
                                             batch_size=1024)
        ex = LocalPipelineExecutor(pipeline=[ParquetReader(src, text_key="text", id_key="id"), step],
                                   tasks=int(tasks), workers=int(workers), logging_dir=logs)
        ex.run()
''')

FLOOR_SCRIPT = textwrap.dedent('''
    import json, sys, time
    import pyarrow.parquet as pq
    from pathlib import Path
    from tokenizers import Tokenizer

    data, tok_path, fast = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "fast"
    texts = [t for f in sorted(data.glob("*.parquet")) for t in pq.read_table(f, columns=["text"])["text"].to_pylist()]
    tok = Tokenizer.from_file(tok_path)
    tok.encode_special_tokens = True       # as thresher packs: "<|endoftext|>" inside a text is text
    enc = tok.encode_batch_fast if fast else tok.encode_batch
    t0 = time.perf_counter()
    n = 0
    for i in range(0, len(texts), 1024):
        for e in enc(texts[i:i + 1024], add_special_tokens=False):
            n += len(e.ids) + 1
    print(json.dumps({"seconds": time.perf_counter() - t0, "tokens": n}))
''')


def ensure_venv() -> Path:
    """The peers' venv (shared with parity_datatrove.py): created if missing, topped up with tokenizers."""
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = "import tokenizers, pyarrow; from importlib.metadata import version; assert version('datatrove') == '0.10.1'"
    if subprocess.run([str(py), "-c", probe], capture_output=True).returncode != 0:
        print(f"installing datatrove 0.10.1 + tokenizers into {VENV} ...", file=sys.stderr)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "datatrove==0.10.1", "tokenizers", "pyarrow", "orjson"],
                       check=True)
    return py


# Runs a command and prints, as its last stderr line, the peak RSS of its whole process tree (the sum over
# the command and every descendant, sampled every 50 ms from /proc): what the machine must hold.
RSS_WRAPPER = textwrap.dedent('''
    import os, subprocess, sys, time

    def tree(pid):
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                for t in os.listdir(f"/proc/{p}/task"):
                    todo += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
            except OSError:
                pass
        return out

    def rss_kb(pid):
        try:
            for line in open(f"/proc/{pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    p = subprocess.Popen(sys.argv[1:])
    peak = 0
    while p.poll() is None:
        peak = max(peak, sum(rss_kb(q) for q in tree(p.pid)))
        time.sleep(0.05)
    print("peak_rss_kb", peak, file=sys.stderr)
    sys.exit(p.returncode)
''')


def timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(seconds, peak RSS MB of the process tree, stdout) of a fresh process."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", RSS_WRAPPER] + cmd, capture_output=True, env=env, text=True)
    dt = time.perf_counter() - t0
    if p.returncode:
        sys.exit(f"{' '.join(cmd[:4])} ... failed:\n{p.stderr[-3000:]}")
    rss = float(p.stderr.strip().splitlines()[-1].split()[1]) / 1024
    return dt, rss, p.stdout


def build_release(corpus: Path, work: Path, max_mb: float | None, shard_mb: float) -> tuple[Path, float]:
    rel = work / "release"
    if (rel / "manifest.json").exists():
        m = json.loads((rel / "manifest.json").read_text())
        if (m.get("bench_max_mb"), m.get("bench_shard_mb")) == (max_mb, shard_mb):
            return rel, m["bench_mb"]
        shutil.rmtree(rel)
    src = corpus
    if max_mb:
        src = work / "corpus.jsonl"
        limit, mb = max_mb * 1e6, 0
        with open(corpus, encoding="utf-8") as f, open(src, "w", encoding="utf-8") as o:
            for line in f:
                mb += len(json.loads(line)["text"].encode("utf-8"))
                if mb > limit:
                    break
                o.write(line)
    sys.path.insert(0, str(HERE.parent / "src"))
    import thresher
    from thresher.config import InputConfig, OutputConfig, PipelineConfig

    cfg = PipelineConfig(name="tokenize-bench", input=[InputConfig(path=str(src), format="jsonl", shard_mb=shard_mb)],
                         steps=[], output=OutputConfig(path=str(rel)))
    thresher.run(cfg, workers=2, progress=False, overwrite=True)
    m = json.loads((rel / "manifest.json").read_text())
    stats = json.loads((rel / "stats.json").read_text())
    mb = sum(v["bytes"] for v in stats["languages"].values()) / 1e6
    m.update(bench_max_mb=max_mb, bench_shard_mb=shard_mb, bench_mb=mb)
    (rel / "manifest.json").write_text(json.dumps(m))
    return rel, mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/tokenize-bench"), help="cache of the release and outputs")
    ap.add_argument("--max-mb", type=float, default=None, help="use only the first MB of the corpus")
    ap.add_argument("--train-mb", type=float, default=100, help="tokenizer training sample (MB)")
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--train-runs", type=int, default=1,
                    help="tokenizer training runs (~1-3 min each); 0: reuse the tokenizer in --work and report its "
                         "training.json (the trainer's own time only)")
    ap.add_argument("--floors", default="plain,fast", help="floors to run: plain (encode_batch), fast (encode_batch_fast)")
    ap.add_argument("--megatron", action=argparse.BooleanOptionalAction, default=True,
                    help="also run datatrove's MegatronDocumentTokenizer")
    ap.add_argument("--shard-mb", type=float, default=24, help="input shard size of the release (default: 9 shards)")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    if not args.corpus.exists():
        sys.exit(f"{args.corpus} missing: build it with python3 /work/shared/bench/build_corpus.py")
    py = ensure_venv()
    args.work.mkdir(parents=True, exist_ok=True)
    rel, mb = build_release(args.corpus, args.work, args.max_mb, args.shard_mb)
    shards = len(list((rel / "data").glob("*.parquet")))
    env = dict(os.environ, PYTHONWARNINGS="ignore", LOGURU_LEVEL="WARNING")
    tok_dir = args.work / "tok"
    rows = []

    def run(name: str, what: str, cmd: list[str], before=None) -> list[str]:
        times, rss, outs = [], [], []
        for _ in range(args.runs):
            if before:
                before()
            dt, r, out = timed(cmd, env)
            times.append(dt)
            rss.append(r)
            outs.append(out)
        rows.append([name, what, times, max(rss)])
        print(f"  {name}: {[round(t, 1) for t in times]} s", file=sys.stderr)
        return outs

    print(f"release: {mb:.1f} MB of text in {shards} shards; {args.runs} runs each", file=sys.stderr)
    train_times = []
    for _ in range(args.train_runs):
        dt, r, _ = timed(THRESHER + ["tokenizer", "train", str(rel), "-o", str(tok_dir), "--vocab", str(args.vocab),
                                     "--sample-mb", str(args.train_mb), "--no-report"], env)
        train_times.append((dt, r))
    training = json.loads((tok_dir / "training.json").read_text())
    sampled = sum(v["bytes"] for v in training["sample"].values()) / 1e6
    tok = str(tok_dir / "tokenizer.json")

    def clear_tokens() -> None:
        shutil.rmtree(rel / "tokens", ignore_errors=True)
        shutil.rmtree(rel / ".thresher" / "tokens", ignore_errors=True)
        m = json.loads((rel / "manifest.json").read_text())
        m.pop("tokens", None)
        (rel / "manifest.json").write_text(json.dumps(m))

    floor = args.work / "floor.py"
    floor.write_text(FLOOR_SCRIPT)
    dt_script = args.work / "dt_worker.py"
    dt_script.write_text(DT_SCRIPT)
    floor_tokens = 0
    for fast in args.floors.split(","):
        outs = run(f"floor: encode_batch{'_fast' if fast == 'fast' else ''}", "texts in memory, no I/O, 1 process",
                   [sys.executable, str(floor), str(rel / "data"), tok, fast])
        rows[-1][2] = [json.loads(o)["seconds"] for o in outs]       # the loop alone, not start-up and loading
        floor_tokens = json.loads(outs[-1])["tokens"]
    run("thresher tokenize", f"{args.workers} workers, Megatron .bin/.idx + index + manifest",
        THRESHER + ["tokenize", str(rel), "-t", tok, "-w", str(args.workers)], before=clear_tokens)
    packed = json.loads((rel / "manifest.json").read_text())["tokens"]
    total_tokens = sum(packed["tokens"].values())
    if packed.get("encoder"):           # which encoder packed (tiktoken where it gives tokenizers' ids)
        rows[-1][1] += f", encoder {packed['encoder']['name']} {packed['encoder']['version']}"
    assert total_tokens == floor_tokens, (total_tokens, floor_tokens)     # same tokens, EOD included
    warm = [timed(THRESHER + ["tokenize", str(rel), "-t", tok, "-w", str(args.workers)], env)[0] for _ in range(args.runs)]
    peers = [("document", "datatrove DocumentTokenizer")]
    if args.megatron:
        peers.append(("megatron", "datatrove MegatronDocumentTokenizer"))
    for kind, label in peers:
        out = args.work / f"dt-{kind}"

        def clear(out=out) -> None:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(args.work / f"dt-logs-{kind}", ignore_errors=True)
        run(label, f"{args.workers} workers, {shards} tasks, ParquetReader",
            [str(py), str(dt_script), kind, str(rel / "data"), str(out), tok, str(shards), str(args.workers),
             str(args.work / f"dt-logs-{kind}")], before=clear)

    th_s = statistics.median(next(r for r in rows if r[0] == "thresher tokenize")[2])
    dt_s = statistics.median(next(r for r in rows if r[0] == "datatrove DocumentTokenizer")[2])
    print(f"\n## Token packing, {mb:.1f} MB of text ({shards} Parquet shards), {total_tokens:,} tokens, vocab "
          f"{args.vocab:,}; machine: 2 cores shared with other jobs, medians of {args.runs} fresh processes\n")
    print("| tool | what | seconds (median) | MB/s | tokens/s | peak RSS MB (all processes) | vs datatrove DocumentTokenizer |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, what, times, rss in rows:
        s = statistics.median(times)
        print(f"| {name} | {what} | {s:.1f} | {mb / s:.2f} | {total_tokens / s:,.0f} | {rss:.0f} | {dt_s / s:.2f}x |")
    floors = [statistics.median(r[2]) for r in rows if r[0].startswith("floor")]
    print("\nthresher tokenize (whole command) vs the floors: " + ", ".join(
        f"{f / th_s:.2f}x {r[0].split(': ')[1]}" for f, r in zip(floors, [r for r in rows if r[0].startswith("floor")]))
        + " (1.0x = as fast as encoding alone in memory)")
    print(f"warm re-run (everything packed: the command checks and returns): median {statistics.median(warm):.2f} s")
    if not train_times:
        print(f"\n## Tokenizer training (reused from {tok_dir}): the trainer alone took {training['seconds']:.1f} s "
              f"on {sampled:.1f} MB ({sampled / training['seconds']:.2f} MB/s)")
        print("\nraw seconds: " + "; ".join(f"{r[0]} {[round(t, 1) for t in r[2]]}" for r in rows))
        return
    ts = statistics.median(t for t, _ in train_times)
    print(f"\n## Tokenizer training: `thresher tokenizer train --vocab {args.vocab} --sample-mb {args.train_mb:g}` "
          f"on the release ({sampled:.1f} MB sampled), fresh process\n")
    print("| runs | seconds (median) | MB/s | peak RSS MB | tokenizers trainer alone (s) |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {len(train_times)} | {ts:.1f} | {sampled / ts:.2f} | {max(r for _, r in train_times):.0f} | "
          f"{training['seconds']:.1f} |")
    print("\nraw seconds: " + "; ".join(f"{r[0]} {[round(t, 1) for t in r[2]]}" for r in rows))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Proxy-model speed, beside transformers' BLOOM and GPTBigCode classes in the same run, and ALiBi's
length extrapolation, reproduced small.

1. training tokens/s at 6 layers, d=384, 6 heads, context 256 (forward + backward + AdamW step on real
   token windows), on `--threads` CPU threads: thresher's model (ALiBi + MHA; learned + MQA) beside
   `BloomForCausalLM` and `GPTBigCodeForCausalLM(multi_query=True)` holding the same architecture, each
   in a fresh process, interleaved, `--runs` times; the median over runs of each process's median step.
   Peak RSS of each process.
2. decoding tokens/s with the KV cache, same size: batch 1 and batch 32, the cache filled to
   context 1024 - `--decode-steps`, then `--decode-steps` single-token steps (context reaches 1024).
   MHA (6 key/value heads), GQA (2) and MQA (1); the MQA speed-up over MHA at each batch.
3. `--sections extrapolation`: three small models (alibi, learned, rope) trained at context 256 on the same
   tokens, validation bits per byte untrained, during training, and at 256, 512 and 1024 (learned
   positions cannot go past 256: the model refuses, and the table says n/a with its message).

The token release is built from `--corpus` (JSONL with "text"; default: the common benchmark corpus,
its `doc` source) by the test suite's fixture builder (byte-level BPE with `tokenizers`, Megatron shards).
transformers comes with `thresher[train]`, so no separate venv is needed.

    python benchmarks/train_bench.py                      # speed only, ~6 min on 2 busy cores
    python benchmarks/train_bench.py --sections extrapolation   # ALiBi extrapolation, 600 steps each
    python benchmarks/train_bench.py --sections extrapolation --vocab 2048 --extrap-steps 400 \
        --extrap-parallel --threads 1 --workdir /tmp/v2048      # what fitted ~1 h of a loaded 2-core machine
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))          # the shared token-release builder

SIZE = dict(n_layer=6, n_embd=384, n_head=6)
TRAIN_ARCHS = ["thresher alibi+MHA", "BloomForCausalLM", "thresher learned+MQA", "GPTBigCodeForCausalLM MQA"]


def build_release(corpus: Path, source: str, mb: float, vocab: int, root: Path) -> Path:
    from token_release import build_token_release

    if (root / "tokens" / "index.parquet").exists():          # written last: a build that stopped is redone
        return root
    docs, total = [], 0
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if source and not str(rec.get("id", "")).startswith(source + ":"):
                continue
            docs.append((str(rec.get("id", len(docs))), rec["text"]))
            total += len(rec["text"].encode())
            if total >= mb * 1e6:
                break
    return build_token_release(root, docs, vocab_size=vocab, valid_every=20, train_shards=4)


def _model(arch: str, vocab: int, ctx: int):
    import torch  # noqa: F401
    from thresher.train.export import to_hf
    from thresher.train.model import GPT, GPTConfig

    if arch.startswith("thresher"):
        pos, heads = arch.split()[1].split("+")
        kv = {"MHA": SIZE["n_head"], "GQA": 2, "MQA": 1}[heads]
        return GPT(GPTConfig(vocab_size=vocab, block_size=ctx, positions=pos, n_kv_head=kv, **SIZE))
    pos, kv = ("alibi", SIZE["n_head"]) if arch.startswith("Bloom") else ("learned", 1)
    return to_hf(GPT(GPTConfig(vocab_size=vocab, block_size=ctx, positions=pos, n_kv_head=kv, **SIZE))).train()


def worker_train(a) -> dict:
    import torch
    import torch.nn.functional as F
    from thresher.train.data import TokenData
    from thresher.train.trainer import TrainConfig, make_optimizer

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    data = TokenData(Path(a.release))
    model = _model(a.arch, data.vocab_size, a.ctx).train()
    hf = not a.arch.startswith("thresher")
    # every model gets `thresher train`'s optimiser (fused AdamW, decay on matrices only): the table compares
    # the model classes, not optimisers
    opt = make_optimizer(model, TrainConfig(lr=1e-3), "cpu")
    times = []
    for step in range(a.warmup + a.steps):
        x, y = data.batch(0, step, 0, a.batch, a.ctx)
        t0 = time.perf_counter()
        logits = model(input_ids=x).logits if hf else model(x)[0]
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    step = statistics.median(times[a.warmup:])
    impl = getattr(getattr(model, "config", None), "_attn_implementation", "sdpa")
    return {"tok_s": a.batch * a.ctx / step, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "attn": impl, "loss": loss.item()}


def worker_decode(a) -> dict:
    import torch
    from thresher.train.model import KVCache

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = _model(a.arch, a.vocab, 1024).eval()
    cfg = model.cfg
    start = 1024 - a.decode_steps
    cache = KVCache(cfg, a.batch, 1024)
    # the cache holds `start` positions of keys/values (their values do not change the cost)
    cache.k[:, :, :, :start].normal_()
    cache.v[:, :, :, :start].normal_()
    cache.pos = start
    tok = torch.randint(0, a.vocab, (a.batch, 1))
    times = []
    with torch.no_grad():
        for _ in range(a.decode_steps):
            t0 = time.perf_counter()
            logits, _ = model(tok, cache=cache, last_only=True)
            tok = logits[:, -1].argmax(-1, keepdim=True)
            times.append(time.perf_counter() - t0)
    return {"tok_s": a.batch * len(times) / sum(times),
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def worker_extrapolate(a) -> dict:
    import torch
    from thresher.train.data import TokenData, evaluate
    from thresher.train.model import GPT
    from thresher.train.trainer import load_config, load_model, train

    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    cfg = out.with_suffix(".yaml")
    cfg.write_text(json.dumps({"preset": a.preset, "model": {"positions": a.arch, "block_size": 256},
                               "train": {"max_steps": a.steps, "batch_size": 16, "eval_every": max(1, a.steps // 4),
                                         "checkpoint_every": a.steps, "threads": a.threads,
                                         "warmup_steps": 50, "eval_tokens": a.eval_tokens}}))
    data = TokenData(Path(a.release))
    stream = data.valid_stream(a.eval_tokens)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)                                    # the trainer's seed: this is its step-0 model
    start = evaluate(GPT(load_config(cfg, data.vocab_size)[0]), stream, data.byte_lengths, 256)["bits_per_byte"]
    t0 = time.perf_counter()
    train(Path(a.release), out, cfg, progress=False)
    secs = time.perf_counter() - t0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    model, _ = load_model(out)
    res: dict = {"train_s": secs, "start": start, "steps": log[-1]["step"],
                 "curve": [(r["step"], r["val_bits_per_byte"]) for r in log if "val_bits_per_byte" in r]}
    for ctx in (256, 512, 1024):
        try:
            res[str(ctx)] = evaluate(model, stream, data.byte_lengths, ctx, batch_size=4)["bits_per_byte"]
        except ValueError as e:             # learned positions: GPT.forward refuses positions past block_size
            res[str(ctx)] = None
            res.setdefault("refused", str(e))
    return res


def spawn(kind: str, arch: str, a, **extra) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--arch", arch, "--release", str(a.release),
           "--threads", str(a.threads)]
    for k, v in extra.items():
        cmd += [f"--{k.replace('_', '-')}", str(v)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{kind} {arch} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t0
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    p.add_argument("--source", default="doc", help="only documents whose id starts with SOURCE:  ('' = all)")
    p.add_argument("--mb", type=float, default=6.0, help="MB of text to tokenize")
    p.add_argument("--vocab", type=int, default=8192)
    p.add_argument("--workdir", type=Path, default=None, help="keep the token release here (reused)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--decode-steps", type=int, default=64)
    p.add_argument("--sections", default="train,decode", help="comma list of train, decode, extrapolation")
    p.add_argument("--preset", default="tiny", help="model preset of the extrapolation runs")
    p.add_argument("--extrap-steps", type=int, default=600)
    p.add_argument("--eval-tokens", type=int, default=65536)
    p.add_argument("--extrap-parallel", action="store_true", help="train the three extrapolation models at once")
    # worker mode
    p.add_argument("--worker", choices=["train", "decode", "extrapolate"])
    p.add_argument("--arch")
    p.add_argument("--release")
    p.add_argument("--out")
    a = p.parse_args()
    if a.worker:                # a worker reads the token release the parent built, not the corpus
        fn = {"train": worker_train, "decode": worker_decode, "extrapolate": worker_extrapolate}[a.worker]
        print(json.dumps(fn(a)))
        return
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(a)

    work = a.workdir or Path(tempfile.mkdtemp(prefix="train-bench-"))
    t0 = time.perf_counter()
    a.release = build_release(a.corpus, a.source, a.mb, a.vocab, work / "release")
    built_s = time.perf_counter() - t0
    import torch
    import transformers
    from thresher.train.data import TokenData

    data = TokenData(a.release)
    print(f"# Proxy-model benchmark\n\ntorch {torch.__version__}, transformers {transformers.__version__}, "
          f"{a.threads} threads, machine shared with other jobs (figures are noisy; compare ratios within this run). "
          f"Tokens: {data.num_tokens('train'):,} train / {data.num_tokens('valid'):,} valid "
          f"(vocab {data.vocab_size}, from {a.mb:g} MB of `{a.corpus.name}`, {built_s:.0f} s to build or reuse)\n")

    sections = set(a.sections.split(","))
    if "train" in sections:
        train_table(a)
    if "decode" in sections:
        decode_table(a, data)
    if "extrapolation" in sections:
        extrapolation_table(a, work)


def train_table(a) -> None:
    print(f"## Training, 6 layers d=384 ctx {a.ctx}, batch {a.batch}, fp32, the same fused AdamW for every model "
          f"(median of {a.runs} fresh processes x median of {a.steps} steps)\n")
    res: dict[str, list[dict]] = {k: [] for k in TRAIN_ARCHS}
    for _ in range(a.runs):
        for arch in TRAIN_ARCHS:
            res[arch].append(spawn("train", arch, a, steps=a.steps, warmup=a.warmup, batch=a.batch, ctx=a.ctx))
    med = {k: statistics.median(r["tok_s"] for r in v) for k, v in res.items()}
    print("| model | attention | tokens/s | vs transformers | peak RSS MB | process wall s |\n|---|---|---:|---:|---:|---:|")
    pairs = {"thresher alibi+MHA": "BloomForCausalLM", "thresher learned+MQA": "GPTBigCodeForCausalLM MQA"}
    for arch in TRAIN_ARCHS:
        ratio = f"{med[arch] / med[pairs[arch]]:.2f}x" if arch in pairs else "1.00x"
        rss = max(r["rss_mb"] for r in res[arch])
        wall = statistics.median(r["wall_s"] for r in res[arch])
        print(f"| {arch} | {res[arch][0]['attn']} | {med[arch]:,.0f} | {ratio} | {rss:,.0f} | {wall:.1f} |")


def decode_table(a, data) -> None:
    print(f"\n## Decoding with the KV cache, 6 layers d=384, last {a.decode_steps} positions up to context 1024\n")
    print("| batch | MHA tokens/s | GQA (2 kv heads) tokens/s | MQA tokens/s | MQA speed-up | MHA / MQA peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---|")
    for batch in (1, 32):
        d = {}
        for heads in ("MHA", "GQA", "MQA"):
            runs = [spawn("decode", f"thresher alibi+{heads}", a, batch=batch, decode_steps=a.decode_steps,
                          vocab=data.vocab_size) for _ in range(a.runs)]
            d[heads] = (statistics.median(r["tok_s"] for r in runs), max(r["rss_mb"] for r in runs))
        print(f"| {batch} | {d['MHA'][0]:,.1f} | {d['GQA'][0]:,.1f} | {d['MQA'][0]:,.1f} | "
              f"{d['MQA'][0] / d['MHA'][0]:.2f}x | {d['MHA'][1]:,.0f} / {d['MQA'][1]:,.0f} |")


def extrapolation_table(a, work: Path) -> None:
    import gzip

    from thresher.train.data import TokenData

    data = TokenData(a.release)
    stream = data.valid_stream(a.eval_tokens)
    text = data.tokenizer.decode(stream.tolist(), skip_special_tokens=False).encode()
    gz = len(gzip.compress(text, 9)) * 8 / len(text)
    print(f"\n## Length extrapolation: `{a.preset}` preset, trained at context 256 for "
          f"{a.extrap_steps} steps x 16 windows ({a.extrap_steps * 16 * 256:,} tokens); validation bits/byte on "
          f"the first {a.eval_tokens:,} validation tokens ({len(text):,} bytes; `gzip -9`: {gz:.3f}), the same "
          "targets scored in consecutive windows of each context\n")
    print("| positions | untrained | ctx 256 | ctx 512 | ctx 1024 | 512 vs 256 | 1024 vs 256 | train s |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")
    from concurrent.futures import ThreadPoolExecutor

    def one(pos: str) -> dict:
        return spawn("extrapolate", pos, a, out=work / f"extrap-{pos}", steps=a.extrap_steps,
                     eval_tokens=a.eval_tokens, preset=a.preset)

    with ThreadPoolExecutor(3 if a.extrap_parallel else 1) as pool:     # the three runs at once, or one by one
        results = dict(zip(("alibi", "learned", "rope"), pool.map(one, ("alibi", "learned", "rope"))))
    for pos, r in results.items():
        cells = [f"{r[c]:.4f}" if r[c] is not None else "n/a" for c in ("256", "512", "1024")]
        change = [f"{(r[c] / r['256'] - 1) * 100:+.1f}%" if r[c] is not None else "n/a" for c in ("512", "1024")]
        print(f"| {pos} | {r['start']:.3f} | {' | '.join(cells)} | {' | '.join(change)} | {r['train_s']:.0f} |")
    print()
    for pos, r in results.items():
        print(f"- {pos}: validation bits/byte during training (step: bpb) "
              + ", ".join(f"{s}: {b:.3f}" for s, b in r["curve"]))
        if r.get("refused"):
            print(f"- {pos} at 512 and 1024: n/a, the model refuses: \"{r['refused']}\" (its position table "
                  "has one row per trained position, so there is no embedding for position 256 and beyond)")


if __name__ == "__main__":
    main()

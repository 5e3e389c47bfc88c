"""`thresher train`: train a proxy GPT on a release's token shards, resumable bit for bit.

A run folder holds ``config.yaml`` (the resolved model and training options), ``tokenizer.json``,
``checkpoint.pt`` (model, optimiser, step, RNG states; written atomically every
``checkpoint_every`` steps), ``log.jsonl`` (one line per step: loss, lr, tokens/s, grad norm; with
validation loss and bits per byte every ``eval_every`` steps) and ``loss.png``.

Batches depend only on (seed, step), the optimiser and RNG states are saved, and the log is cut back to
the checkpoint's step on resume, so a run killed at any moment and resumed with ``--resume`` writes the
same loss curve as one that was never stopped (on the same device and thread count).
"""
from __future__ import annotations

import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import orjson
import torch
import yaml

from ..errors import ConfigError, ReleaseError
from .data import TokenData, evaluate
from .model import GPT, GPTConfig

# name -> (model options, training options). tiny runs in minutes on 2 CPU cores; 125m is GPT-2 small's
# shape (124M parameters with a 50k vocabulary) for one GPU.
PRESETS: dict[str, tuple[dict, dict]] = {
    "tiny": (dict(n_layer=2, n_embd=128, n_head=4, block_size=128),
             dict(batch_size=16, max_steps=600, lr=3e-3, warmup_steps=30, eval_every=100)),
    "mini": (dict(n_layer=4, n_embd=256, n_head=4, block_size=256),
             dict(batch_size=16, max_steps=2000, lr=1e-3, warmup_steps=100, eval_every=250)),
    "small": (dict(n_layer=6, n_embd=384, n_head=6, block_size=256),
              dict(batch_size=32, max_steps=5000, lr=1e-3, warmup_steps=200, eval_every=500)),
    "medium": (dict(n_layer=8, n_embd=512, n_head=8, block_size=512),
               dict(batch_size=32, max_steps=10000, lr=6e-4, warmup_steps=500, eval_every=500)),
    "125m": (dict(n_layer=12, n_embd=768, n_head=12, block_size=1024),
             dict(batch_size=16, grad_accum=8, max_steps=20000, lr=6e-4, warmup_steps=700, eval_every=1000)),
}


@dataclass
class TrainConfig:
    batch_size: int = 16
    grad_accum: int = 1
    max_steps: int = 600
    lr: float = 3e-3
    min_lr: float | None = None       # None: lr / 10
    warmup_steps: int = 30
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_every: int = 100
    eval_tokens: int = 262144          # validation tokens scored per evaluation (None/0: all)
    checkpoint_every: int = 100
    seed: int = 0
    device: str = "auto"               # auto: cuda when present, else cpu
    dtype: str = "auto"                # auto: bf16 autocast on a GPU that supports it, else fp32
    compile: bool = False
    threads: int | None = None         # torch CPU threads (None: torch's default)

    def __post_init__(self) -> None:
        if self.min_lr is None:
            self.min_lr = self.lr / 10
        for name in ("batch_size", "grad_accum", "max_steps", "eval_every", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"train.{name}: must be a positive integer, got {getattr(self, name)}")
        if self.dtype not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"train.dtype: {self.dtype!r} is not one of auto, fp32, bf16")


def _options(cls, d: dict, where: str):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cls(**d)


def load_config(path: Path | None, vocab_size: int, preset: str | None = None) -> tuple[GPTConfig, TrainConfig]:
    """A proxy YAML: ``preset: tiny`` and/or ``model: {...}`` / ``train: {...}`` overriding the preset."""
    raw: dict = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise ConfigError(f"{path}:{mark.line + 1 if mark else '?'}: invalid YAML") from None
        if not isinstance(raw, dict) or set(raw) - {"preset", "model", "train"}:
            raise ConfigError(f"{path}: expected a mapping with preset, model and train")
    name = preset or raw.get("preset", "tiny")
    if name not in PRESETS:
        raise ConfigError(f"{path or 'preset'}: unknown preset {name!r}; known: {', '.join(PRESETS)}")
    model_opts, train_opts = PRESETS[name]
    model = {**model_opts, **(raw.get("model") or {}), "vocab_size": vocab_size}
    train = {**train_opts, **(raw.get("train") or {})}
    return _options(GPTConfig, model, f"{path}: model"), _options(TrainConfig, train, f"{path}: train")


def lr_at(step: int, t: TrainConfig) -> float:
    """Linear warm-up to lr, then cosine decay to min_lr at max_steps."""
    if step < t.warmup_steps:
        return t.lr * (step + 1) / t.warmup_steps
    frac = (step - t.warmup_steps) / max(1, t.max_steps - t.warmup_steps)
    return t.min_lr + 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))) * (t.lr - t.min_lr)


def make_optimizer(model: torch.nn.Module, t: TrainConfig, device: str) -> torch.optim.AdamW:
    """AdamW; weight decay on matrices (linear weights, embeddings) only, never on biases or LayerNorms.

    The fused kernel on CPU and CUDA: one pass over each parameter instead of a dozen elementwise ops per
    tensor (torch's CPU default); on 2 CPU cores that halves the optimiser's time, ~5-10% of a step."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    keep = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": t.weight_decay}, {"params": keep, "weight_decay": 0.0}]
    fused = torch.device(device).type in ("cpu", "cuda")
    return torch.optim.AdamW(groups, lr=t.lr, betas=(t.beta1, t.beta2), fused=fused or None)


def _device(t: TrainConfig) -> str:
    if t.device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if t.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("train.device: cuda requested but no GPU is available")
    return t.device


def _autocast(t: TrainConfig, device: str):
    kind = "cuda" if device.startswith("cuda") else "cpu"
    bf16 = t.dtype == "bf16" or (t.dtype == "auto" and kind == "cuda" and torch.cuda.is_bf16_supported())
    return torch.autocast(kind, dtype=torch.bfloat16) if bf16 else nullcontext()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _save_checkpoint(path: Path, model: GPT, opt, step: int) -> None:
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
             "torch_rng": torch.get_rng_state(),
             "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
             "model_config": model.cfg.to_dict()}
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def _read_log(path: Path, upto: int | None = None) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_bytes().splitlines():
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:          # a line cut by a kill
            continue
        if upto is None or row["step"] <= upto:
            rows.append(row)
    return rows


def plot_losses(log: Path, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _read_log(log)
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=0.8, label="train loss")
    val = [r for r in rows if "val_loss" in r]
    if val:
        ax.plot([r["step"] for r in val], [r["val_loss"] for r in val], "o-", ms=3, label="validation loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = png.with_name(png.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, png)


def train(release: Path, out: Path, config: Path | None = None, resume: bool = False, preset: str | None = None,
          max_steps: int | None = None, progress: bool = True, console=None) -> Path:
    """Train (or with `resume`, continue) a run in `out`; returns `out`."""
    out = Path(out)
    ckpt_path, log_path, cfg_path = out / "checkpoint.pt", out / "log.jsonl", out / "config.yaml"
    if resume:
        if not ckpt_path.exists():
            raise ReleaseError(f"{ckpt_path}: no checkpoint to resume from")
        saved = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
        release = Path(saved["release"]) if release is None else Path(release)
        data = TokenData(release)
        mcfg = GPTConfig.from_dict(saved["model"])
        tcfg = _options(TrainConfig, saved["train"], f"{cfg_path}: train")
    else:
        if ckpt_path.exists():
            raise ConfigError(f"{out}: already holds a run; pass --resume to continue it or choose another folder")
        data = TokenData(release)
        mcfg, tcfg = load_config(config, data.vocab_size, preset)
    if max_steps is not None:
        tcfg.max_steps = max_steps
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        shutil.copyfile(data.tokenizer_path, out / "tokenizer.json")
    _write_atomic(cfg_path, yaml.safe_dump({"release": str(Path(release).resolve()), "model": mcfg.to_dict(),
                                            "train": asdict(tcfg)}, sort_keys=False).encode())
    if tcfg.threads:
        torch.set_num_threads(tcfg.threads)
    device = _device(tcfg)
    torch.manual_seed(tcfg.seed)
    model = GPT(mcfg).to(device)
    opt = make_optimizer(model, tcfg, device)
    step = 0
    if resume:
        state = torch.load(ckpt_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    # the log keeps exactly the steps the checkpoint has seen; later lines are written again
    rows = _read_log(log_path, upto=step)
    _write_atomic(log_path, b"".join(orjson.dumps(r) + b"\n" for r in rows))
    fwd = torch.compile(model) if tcfg.compile else model
    amp = _autocast(tcfg, device)
    valid = data.valid_stream(tcfg.eval_tokens or None)
    tokens_per_step = tcfg.batch_size * tcfg.grad_accum * mcfg.block_size

    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("[bold]train[/]"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[status]}"), TimeRemainingColumn(), console=console,
                   disable=not progress, transient=False)
    model.train()
    with bar, open(log_path, "ab") as log:
        task = bar.add_task("train", total=tcfg.max_steps, completed=step, status="")
        while step < tcfg.max_steps:
            t0 = time.perf_counter()
            lr = lr_at(step, tcfg)
            for g in opt.param_groups:
                g["lr"] = lr
            total = 0.0
            for micro in range(tcfg.grad_accum):
                x, y = data.batch(tcfg.seed, step, micro, tcfg.batch_size, mcfg.block_size)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with amp:
                    _, loss = fwd(x, y)
                (loss / tcfg.grad_accum).backward()
                total += loss.item() / tcfg.grad_accum
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            dt = time.perf_counter() - t0
            row = {"step": step, "loss": total, "lr": lr, "grad_norm": float(norm), "tokens_per_s": tokens_per_step / dt}
            if step % tcfg.eval_every == 0 or step == tcfg.max_steps:
                ev = evaluate(model, valid, data.byte_lengths, mcfg.block_size, device=device, autocast=amp)
                row.update(val_loss=ev["loss"], val_bits_per_byte=ev["bits_per_byte"])
            log.write(orjson.dumps(row) + b"\n")
            status = f"loss {total:.3f}  {row['tokens_per_s']:,.0f} tok/s"
            if "val_loss" in row:
                status += f"  val {row['val_loss']:.3f} ({row['val_bits_per_byte']:.3f} bits/byte)"
            bar.update(task, completed=step, status=status)
            if step % tcfg.checkpoint_every == 0 or step == tcfg.max_steps:
                log.flush()
                os.fsync(log.fileno())
                _save_checkpoint(ckpt_path, model, opt, step)
            if "val_loss" in row or step == tcfg.max_steps:
                log.flush()
                plot_losses(log_path, out / "loss.png")
    return out


def load_model(run: Path, device: str = "cpu") -> tuple[GPT, Path]:
    """The model of a run's checkpoint (eval mode) and the run's tokenizer.json path."""
    run = Path(run)
    ckpt = run / "checkpoint.pt"
    if not ckpt.is_file():
        raise ReleaseError(f"{ckpt}: missing; is {run} a thresher train run folder?")
    state = torch.load(ckpt, map_location=device, weights_only=True)
    model = GPT(GPTConfig.from_dict(state["model_config"])).to(device)
    model.load_state_dict(state["model"])
    return model.eval(), run / "tokenizer.json"

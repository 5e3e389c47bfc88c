"""CLI: ``thresher train``, ``thresher generate`` and ``thresher export`` (need ``pip install 'thresher[train]'``).

torch is imported only when one of these commands runs, so the rest of the CLI works without it.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..cli import app, console
from ..errors import ConfigError


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError("torch is not installed: pip install torch==2.13.0 'thresher[train]'") from None


@app.command("train")
def train_cmd(release: Optional[Path] = typer.Argument(None, help="tokenized release folder (holds tokens/); "
                                                                  "optional with --resume"),
              config: Optional[Path] = typer.Option(None, "--config", "-c", help="proxy YAML: preset, model, train"),
              output: Path = typer.Option(..., "--output", "-o", help="run folder (checkpoint, log, loss.png)"),
              preset: Optional[str] = typer.Option(None, help="tiny | mini | small | medium | 125m "
                                                               "(overrides the YAML's preset)"),
              resume: bool = typer.Option(False, "--resume", help="continue the run in --output from its checkpoint"),
              max_steps: Optional[int] = typer.Option(None, help="override train.max_steps")):
    """Train a proxy GPT on a release's token shards; logs JSONL and a loss curve, checkpoints, resumes.

    Example: `thresher train out/corpus --config proxy.yaml -o runs/tiny` (proxy.yaml: `preset: tiny`,
    optional `model: {positions: alibi, n_kv_head: 1}` and `train: {max_steps: 600}`)
    """
    _need_torch()
    from .trainer import train

    if release is None and not resume:
        raise ConfigError("train: give the RELEASE folder (or --resume an existing run)")
    out = train(release, output, config, resume=resume, preset=preset, max_steps=max_steps, console=console)
    import orjson

    last = [orjson.loads(line) for line in (out / "log.jsonl").read_bytes().splitlines() if b"val_loss" in line]
    console.print(f"[bold green]Run written:[/] {out.resolve()}")
    if last:
        r = last[-1]
        console.print(f"  step {r['step']}: validation loss {r['val_loss']:.4f}, "
                      f"{r['val_bits_per_byte']:.4f} bits/byte")
    console.print(f"  log: {out / 'log.jsonl'}   curve: {out / 'loss.png'}")


@app.command("generate")
def generate_cmd(run: Path = typer.Argument(..., help="run folder written by thresher train"),
                 prompt: str = typer.Option("", "--prompt", "-p", help="text to continue"),
                 max_tokens: int = typer.Option(200, help="new tokens at most"),
                 temperature: float = typer.Option(0.8, help="0 = greedy"),
                 top_p: float = typer.Option(0.95, help="nucleus sampling mass"),
                 stop: Optional[List[str]] = typer.Option(None, "--stop", help="stop before this string (repeatable)"),
                 seed: int = typer.Option(0, help="sampling seed")):
    """Sample a continuation from a trained run with the KV cache.

    Example: `thresher generate runs/tiny --prompt "The declaration" --max-tokens 60 --stop "\\n\\n"`
    """
    _need_torch()
    from .generate import generate_text

    typer.echo(generate_text(run, prompt, max_tokens, temperature, top_p, stop, seed))


@app.command("export")
def export_cmd(run: Path = typer.Argument(..., help="run folder written by thresher train"),
               output: Path = typer.Option(..., "--output", "-o", help="folder for the transformers checkpoint")):
    """Write a run as a transformers checkpoint: ALiBi + MHA as BLOOM, learned positions as GPTBigCode.

    Example: `thresher export runs/tiny -o hf/tiny` then
    `AutoModelForCausalLM.from_pretrained("hf/tiny")`
    """
    _need_torch()
    from .export import export, hf_format
    from .trainer import load_model

    fmt = hf_format(load_model(run)[0].cfg)
    out = export(run, output)
    console.print(f"[bold green]Exported[/] ({'BloomForCausalLM' if fmt == 'bloom' else 'GPTBigCodeForCausalLM'}): "
                  f"{out.resolve()}")

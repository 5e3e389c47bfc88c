"""``thresher eval``: bits per byte of a model on a release's validation split, and pass@k on HumanEval /
MBPP with generated code executed only in the sandbox."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from ..cli import app, console
from ..errors import ConfigError

if TYPE_CHECKING:
    from rich.progress import Progress


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


@app.command("eval")
def eval_cmd(model: Optional[str] = typer.Argument(None, help="hf:PATH (local transformers folder) or a thresher run folder"),
             bpb: Optional[Path] = typer.Option(None, "--bpb", help="release folder (its validation split) or a JSONL/Parquet file"),
             code: Optional[str] = typer.Option(None, "--code", help="humaneval | mbpp (500-task test split) | mbpp-full"),
             generations: Optional[Path] = typer.Option(None, "--generations", help="samples JSONL ({task_id, completion} lines) to execute instead of generating"),
             allow_code_execution: bool = typer.Option(False, "--allow-code-execution", help="required to execute model-written code (in the sandbox)"),
             output: Path = typer.Option(Path("eval"), "--output", "-o", help="folder for results"),
             split: str = typer.Option("valid", help="release split to score (valid | train | all)"),
             context: Optional[int] = typer.Option(None, help="window in tokens (default: the model's)"),
             stride: Optional[int] = typer.Option(None, help="tokens a window moves (default: context/2)"),
             max_docs: Optional[int] = typer.Option(None, "--max-docs", help="score at most this many documents"),
             n: int = typer.Option(1, "--n", help="samples per problem when generating"),
             temperature: float = typer.Option(0.2, help="sampling temperature (0 = greedy)"),
             top_p: float = typer.Option(0.95, "--top-p"),
             max_new_tokens: int = typer.Option(512, "--max-new-tokens"),
             k: str = typer.Option("1,10,100", "--k", help="pass@k to report (those every problem has samples for)"),
             timeout: float = typer.Option(3.0, help="seconds per program"),
             workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="programs run at once (default: 2 x cores)"),
             isolation: str = typer.Option("bwrap", help="bwrap (namespaces; default) | process (WEAKER: no namespaces; recorded)"),
             grid_intensity: Optional[float] = typer.Option(None, "--grid-intensity", help="gCO2eq/kWh (default 475, world average)"),
             device: str = typer.Option("cpu", help="torch device for the model")):
    """Evaluate a model: bits per byte beside gzip/zstd/xz, or pass@k with code run in a sandbox.

    Examples:
    `thresher eval hf:models/tiny --bpb out/corpus -o eval/` (the release's validation split);
    `thresher eval --code humaneval --generations samples.jsonl --allow-code-execution -o eval/`;
    `thresher eval hf:models/coder --code mbpp --n 10 --temperature 0.8 --allow-code-execution`.
    """
    if (bpb is None) == (code is None):
        raise ConfigError("give one of --bpb DATA or --code humaneval|mbpp")
    output.mkdir(parents=True, exist_ok=True)
    if bpb is not None:
        _bpb(model, bpb, output, split, context, stride, max_docs, grid_intensity, device)
    else:
        _code(model, code, generations, allow_code_execution, output, n, temperature, top_p, max_new_tokens, k,
              timeout, workers, isolation, grid_intensity, device)


def _bpb(model, data, output, split, context, stride, max_docs, grid, device):
    from .bpb import bits_per_byte
    from .data import load_eval_docs
    from .energy import EnergyMeter
    from .models import load_model

    if model is None:
        raise ConfigError("--bpb needs a MODEL (hf:PATH or a run folder)")
    lm = load_model(model, context, device)
    docs, info = load_eval_docs(data, split, max_docs)
    with EnergyMeter(grid) as meter, _progress() as bar:
        task = bar.add_task(f"scoring {len(docs):,} documents", total=None)
        rep = bits_per_byte(lm, docs, context, stride, progress=lambda t: bar.advance(task, t))
    rep.update(data=info, energy=meter.report())
    from rich.table import Table

    from ..io.writer import write_json

    write_json(output / "bpb.json", rep)
    t = Table(title=f"{lm.name} on {data}: bits per byte (lower is better)")
    for col in ("group", "docs", "tokens", "model", "gzip -9", "zstd -19", "xz -9"):
        t.add_column(col, justify="left" if col == "group" else "right")
    rows = [("overall", rep["overall"])] + [(f"lang {k}", v) for k, v in rep["languages"].items()] + \
           [(f"source {k}", v) for k, v in rep["sources"].items()]
    for name, r in rows:
        t.add_row(name, f"{r['documents']:,}", f"{r['tokens']:,}", f"{r['bits_per_byte']:.4f}",
                  *(f"{r[c]:.4f}" for c in ("gzip-9", "zstd-19", "xz-9")))
    console.print(t)
    console.print(f"{rep['tokens_per_s']:,} tokens/s; energy {rep['energy']['kwh']:.3g} kWh "
                  f"({rep['energy']['method'].split(':')[0]}); written {output / 'bpb.json'}")


def _code(model, bench, generations, allow, output, n, temperature, top_p, max_new, k, timeout, workers, isolation,
          grid, device):
    import os

    from .code import evaluate_samples, read_samples
    from .generate import generate_samples
    from .models import load_model
    from .sandbox import Limits, require_permission
    from .tasks import load_tasks

    require_permission(allow)
    tasks = load_tasks(bench)
    extra = {}
    if generations is None:
        if model is None:
            raise ConfigError("--code needs a MODEL to generate with, or --generations FILE")
        generations = output / f"samples-{bench}.jsonl"
        lm = load_model(model, None, device)
        with _progress() as bar:
            task = bar.add_task(f"generating {n} per problem", total=len(tasks))
            made = generate_samples(lm, bench, generations, n, temperature, top_p, max_new,
                                    progress=lambda: bar.advance(task))
        extra["generation"] = {"model": lm.name, "n": n, "temperature": temperature, "top_p": top_p,
                               "max_new_tokens": max_new, "generated_now": made, "samples": str(generations)}
    read = read_samples(generations, bench)
    extra["skipped_lines"] = dict(read.skipped)
    ks = [int(x) for x in k.split(",") if x.strip()]
    results = output / f"code-{bench}.jsonl"
    with _progress() as bar:
        task = bar.add_task(f"executing {len(read.samples):,} samples", total=len(read.samples))
        s = evaluate_samples(read.samples, bench, results, limits=Limits(timeout=timeout), isolation=isolation,
                             workers=workers or 2 * (os.cpu_count() or 1), ks=ks, progress=lambda: bar.advance(task),
                             grid_intensity=grid, extra=extra)
    scores = ", ".join(f"{key} = {v:.4f}" for key, v in s.items() if key.startswith("pass@") and not math.isnan(v))
    console.print(f"[bold]{bench}[/]: {s['problems']} problems, {s['samples']} samples ({s['resumed']} resumed): {scores}")
    console.print(f"statuses: {s['statuses']}; sandbox: {s['sandbox']['statement']}")
    if read.skipped:
        console.print(f"[yellow]skipped lines:[/] {dict(read.skipped)}")
    console.print(f"results: {results}  summary: {results.with_name(results.stem + '.summary.json')}")


@app.command("ablate")
def ablate_cmd(releases: list[Path] = typer.Argument(..., help="two or more tokenized releases (one tokenizer)"),
               output: Path = typer.Option(Path("ablation"), "--output", "-o", help="folder for runs and the report"),
               preset: str = typer.Option("tiny", help="proxy-model preset of thresher train"),
               tokens: str = typer.Option("20M", help="training tokens per run (K/M/G suffixes)"),
               seeds: int = typer.Option(3, help="seeds per release"),
               held_out: Optional[Path] = typer.Option(None, "--held-out", help="JSONL/Parquet to score on "
                                                       "(default: the union of the releases' validation splits)"),
               max_docs: Optional[int] = typer.Option(None, "--max-docs", help="score at most this many held-out documents"),
               grid_intensity: Optional[float] = typer.Option(None, "--grid-intensity", help="gCO2eq/kWh")):
    """Train the same proxy on each release (same tokenizer, budget and seeds), score all on one held-out
    set, and report bits per byte (mean ± spread), which differences exceed the seed spread, plots, and a
    section in each release's data card. A re-run reuses finished runs and resumes stopped ones.

    Example: `thresher ablate out/base out/filtered --preset tiny --tokens 20M --seeds 3 -o ablation/`
    """
    from .ablate import ablate, parse_tokens

    report = ablate(list(releases), output, preset, parse_tokens(tokens), seeds, held_out, max_docs,
                    grid_intensity=grid_intensity, console=console)
    console.print(report.read_text(encoding="utf-8").split("\n![")[0])
    console.print(f"report: {report}")

"""CLI commands of the model side's first step: ``tokenizer train``, ``tokenizer report``, ``tokenize``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli import WORKERS, app, console
from ..errors import InputError

tokenizer_app = typer.Typer(no_args_is_help=True, help="Train a byte-level BPE tokenizer on a release and measure it "
                            "per language.\n\nExample: `thresher tokenizer train out/demo -o tok/ --vocab 32000`")
app.add_typer(tokenizer_app, name="tokenizer")


@tokenizer_app.command("train")
def tokenizer_train(release: Path = typer.Argument(..., help="release folder"),
                    output: Path = typer.Option(..., "--output", "-o", help="folder for tokenizer.json and tokenizer_card.md"),
                    vocab: Optional[int] = typer.Option(None, "--vocab", help="vocabulary size (default 32000)"),
                    alpha: Optional[float] = typer.Option(None, "--alpha", help="language sampling exponent (default 0.3)"),
                    sample_mb: Optional[float] = typer.Option(None, "--sample-mb", help="sample size in MB (default: the release's)"),
                    min_frequency: Optional[int] = typer.Option(None, "--min-frequency", help="least count of a merged pair (default 2)"),
                    seed: Optional[int] = typer.Option(None, "--seed", help="sampling seed (default 0)"),
                    config: Optional[Path] = typer.Option(None, "--config", help="YAML file with a `tokenizer:` section"),
                    report: bool = typer.Option(True, help="measure fertility/parity on the UDHR for the card")):
    """Train a lossless byte-level BPE on a language-weighted sample of the release.

    Writes tokenizer.json (loads with tokenizers and transformers), tokenizer_card.md and training.json.

    Example: `thresher tokenizer train out/demo -o tok/ --vocab 32000 --alpha 0.3`
    """
    from pydantic import ValidationError

    from .train import TokenizerConfig, load_tokenizer_config, train

    cfg = load_tokenizer_config(config) if config else TokenizerConfig()
    given = {"vocab": vocab, "alpha": alpha, "sample_mb": sample_mb, "min_frequency": min_frequency, "seed": seed}
    try:
        cfg = TokenizerConfig(**{**cfg.model_dump(), **{k: v for k, v in given.items() if v is not None}})
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(f"tokenizer option {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    rec = train(release, output, cfg, progress=console.is_terminal, report=report)
    sampled = sum(v["bytes"] for v in rec["sample"].values())
    console.print(f"[bold green]Tokenizer written:[/] {output / 'tokenizer.json'} ({rec['vocab_size']:,} tokens, "
                  f"{len(rec['sample'])} languages, {sampled / 1e6:.1f} MB sampled, {rec['seconds']:.1f} s)")
    console.print(f"  card: {output / 'tokenizer_card.md'}")


@tokenizer_app.command("report")
def tokenizer_report(tokenizer: Path = typer.Argument(..., help="tokenizer.json"),
                     release: Optional[Path] = typer.Argument(None, help="measure on this release's text per language "
                                                              "(default: the bundled parallel UDHR)"),
                     text_dir: Optional[Path] = typer.Option(None, "--text-dir", help="folder of <language>.txt files "
                                                             "(parallel: parity against eng.txt)"),
                     compare: list[str] = typer.Option(["mistral-v1", "tekken"], "--compare",
                                                       help="tokenizers to compare with: mistral-v1, tekken, a "
                                                            "tokenizer.json, or none"),
                     output: Optional[Path] = typer.Option(None, "--output", "-o",
                                                           help="folder for fertility.json and fertility.png "
                                                                "(default: the tokenizer's folder)")):
    """Fertility, continued words, bytes per token and parity per language, side by side with other tokenizers.

    Example: `thresher tokenizer report tok/tokenizer.json --compare mistral-v1 --compare tekken`
    """
    from .report import dir_texts, fertility_report, release_texts, write_report

    if release is not None and text_dir is not None:
        raise InputError("tokenizer report: give a RELEASE or --text-dir, not both")
    texts = dir_texts(text_dir) if text_dir else release_texts(release) if release else None
    others = [c for c in compare if c.lower() != "none"]
    rep = fertility_report(tokenizer, texts, others, parallel=release is None)
    files = write_report(rep, output or tokenizer.parent)
    names = rep["tokenizers"]
    if not console.is_terminal:         # piped or redirected: a markdown table, not one cut to 80 columns
        from .report import markdown_table

        print(markdown_table(rep))
        print(f"json: {files['json']}\nfigure: {files['png']}")
        return
    from rich.table import Table

    t = Table(title=f"tokens per word (per char for spaceless scripts); parity vs {rep['reference'] or '-'}")
    t.add_column("language")
    for n in names:
        for m in ("fertility", "parity", "continued", "B/tok"):
            t.add_column(f"{n}\n{m}", justify="right")
    for lang, per in rep["languages"].items():
        cells = [f"{lang} ({per[names[0]]['unit']})"]
        for n in names:
            m = per[n]
            cells += [f"{m['fertility']:.2f}", "-" if m["parity"] is None else f"{m['parity']:.2f}",
                      f"{m['continued']:.0%}", f"{m['bytes_per_token']:.2f}"]
        t.add_row(*cells)
    console.print(t)
    console.print(f"  json: {files['json']}\n  figure: {files['png']}")


@app.command()
def tokenize(release: Path = typer.Argument(..., help="release folder"),
             tokenizer: Path = typer.Option(..., "--tokenizer", "-t", help="tokenizer.json"),
             workers: Optional[int] = WORKERS,
             valid_fraction: float = typer.Option(0.005, "--valid-fraction", help="share of documents in the "
                                                  "validation split (by hashed id)"),
             overwrite: bool = typer.Option(False, help="repack a release packed with another tokenizer")):
    """Pack a release into Megatron-LM .bin/.idx token shards under RELEASE/tokens/ (train and valid).

    A re-run resumes: packed shards are skipped. manifest.json lists every token file with its sha256.

    Example: `thresher tokenize out/demo --tokenizer tok/tokenizer.json --workers 2`
    """
    from .pack import tokenize as run_tokenize

    s = run_tokenize(release, tokenizer, workers=workers, progress=None,   # a bar, or log lines off a terminal
                     valid_fraction=valid_fraction, overwrite=overwrite)
    total = sum(s["tokens"].values())
    rate = f", {total / s['seconds']:,.0f} tokens/s" if s.get("seconds") else " (already packed)"
    console.print(f"[bold green]Tokens written:[/] {release / 'tokens'}: {total:,} tokens "
                  f"(train {s['tokens']['train']:,} in {s['documents']['train']:,} documents, valid "
                  f"{s['tokens']['valid']:,} in {s['documents']['valid']:,}), {s['dtype']}{rate}")
    if s.get("encoder"):
        console.print(f"  encoder: {s['encoder']['name']} {s['encoder']['version']} ({s['encoder']['reason']})")

"""CLI: ``thresher classifier train`` (the model the ``quality_classifier`` step loads)."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import List

import orjson
import typer

from .cli import app, console
from .errors import InputError

classifier_app = typer.Typer(no_args_is_help=True, help="Train the linear quality classifier (`quality_classifier` step).")
app.add_typer(classifier_app, name="classifier")


def read_texts(path: Path, text_key: str = "text", min_chars: int = 1) -> list[str]:
    """Texts of a file or folder: JSONL (``text_key``, .gz too) and Parquet rows, or plain-text files
    split into paragraphs at blank lines. A release folder reads its ``data/`` shards."""
    if path.is_dir():
        from .paths import data_dir, is_release

        if is_release(path) and data_dir(path).is_dir():
            path = data_dir(path)
        out: list[str] = []
        for f in sorted(q for q in path.rglob("*") if q.is_file() and not q.name.startswith(".")):
            out += read_texts(f, text_key, min_chars)
        return out
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    name = path.name.lower()
    texts: list[str] = []
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        texts = [t for t in pq.read_table(path, columns=[text_key]).column(text_key).to_pylist() if isinstance(t, str)]
    elif ".jsonl" in name or name.endswith(".json.gz"):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    t = orjson.loads(line).get(text_key)
                except (orjson.JSONDecodeError, AttributeError):
                    raise InputError(f"{path}: line {n}: not a JSON object") from None
                if isinstance(t, str):
                    texts.append(t)
    else:
        raw = path.read_bytes()
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text") from None
        texts = [p.strip() for p in content.replace("\r\n", "\n").split("\n\n")]
    return [t for t in texts if len(t.strip()) >= min_chars]


@classifier_app.command("train")
def train(positive: List[Path] = typer.Option(..., "--positive", "-p", help="reference text (file or folder; repeatable)"),
          negative: List[Path] = typer.Option(..., "--negative", "-n", help="text to tell apart from it (repeatable)"),
          output: Path = typer.Option(..., "--output", "-o", help="model folder to write"),
          text_key: str = typer.Option("text", help="JSONL/Parquet field holding the text"),
          holdout: float = typer.Option(0.2, help="share of each class held out for precision/recall"),
          epochs: int = typer.Option(5, min=1), bits: int = typer.Option(20, min=10, max=26, help="log2 of hash buckets"),
          minn: int = typer.Option(3, min=1), maxn: int = typer.Option(5, min=0, help="char n-gram sizes (maxn < minn: none)"),
          lr: float = typer.Option(0.2, min=0.0), seed: int = 0,
          min_chars: int = typer.Option(20, help="skip texts shorter than this")):
    """Train a fastText-style classifier (hashed word uni/bigrams + char n-grams, logistic regression)
    on reference text vs a sample; prints held-out precision/recall and writes MODEL/model.{json,npy}.

    Example: `thresher classifier train -p tests/fixtures/quality/article_body.jsonl
    -n tests/fixtures/quality/boilerplate.jsonl -o clf/`
    """
    from rich.table import Table

    from .text.linear import train_and_evaluate

    pos = [t for p in positive for t in read_texts(p, text_key, min_chars)]
    neg = [t for p in negative for t in read_texts(p, text_key, min_chars)]
    if len(pos) < 5 or len(neg) < 5:
        raise InputError(f"{output}: need at least 5 texts of each class (got {len(pos)} positive, {len(neg)} negative)")
    with console.status("training"):
        model, m = train_and_evaluate(pos, neg, holdout=holdout, seed=seed, epochs=epochs, bits=bits, minn=minn,
                                      maxn=maxn, lr=lr)
    model.info["inputs"] = {"positive": [str(p) for p in positive], "negative": [str(p) for p in negative]}
    model.save(output)
    t = Table(title=f"held-out ({m['n']} texts, threshold 0.5)")
    for col in ("precision", "recall", "F1", "accuracy", "tp", "fp", "fn", "tn"):
        t.add_column(col, justify="right")
    t.add_row(*(f"{m[k]:.3f}" for k in ("precision", "recall", "f1", "accuracy")), *(str(m[k]) for k in ("tp", "fp", "fn", "tn")))
    console.print(t)
    console.print(f"model: {output}/model.json (trained on {len(pos) - m['tp'] - m['fn']} positive, "
                  f"{len(neg) - m['fp'] - m['tn']} negative)")

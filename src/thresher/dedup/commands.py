"""CLI: ``thresher dedup-plan`` (disk and memory per dedup stage) and ``thresher clusters``."""
from __future__ import annotations

import glob
import gzip
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, console
from ..errors import InputError, ReleaseError
from ..paths import clusters_dir


def _measure(path: str) -> tuple[float, float]:
    """(text bytes, mean document bytes) of a file, folder or glob; JSONL is sampled, the rest sized."""
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else \
        ([p] if p.is_file() else sorted(Path(f) for f in glob.glob(path, recursive=True)))
    if not files:
        raise InputError(f"{path}: no input files match")
    import orjson

    total = float(sum(f.stat().st_size for f in files))
    f = files[0]
    if ".jsonl" in f.name or ".json" in f.name:
        opener = gzip.open if f.name.endswith(".gz") else open
        sizes, raw = [], 0
        with opener(f, "rb") as fh:
            for line in fh:
                raw += len(line)
                try:
                    text = orjson.loads(line).get("text", "")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                sizes.append(len(text.encode("utf-8", "surrogatepass")) if isinstance(text, str) else 0)
                if len(sizes) >= 2000:
                    break
        if sizes and raw:
            ratio = sum(sizes) / raw
            if f.name.endswith(".gz"):
                ratio *= 3.0            # gzip'd JSONL of text: roughly 3x
            return total * ratio, sum(sizes) / len(sizes)
    return total, 2000.0


@app.command("dedup-plan")
def dedup_plan(path: Optional[str] = typer.Argument(None, help="input file, folder or glob to size (optional)"),
               size: Optional[str] = typer.Option(None, "--size", help="text size instead of a path, e.g. 200MB, 1.5TB"),
               avg_doc: Optional[float] = typer.Option(None, "--avg-doc-bytes", help="mean document size (default: sampled, or 2000)"),
               workers: int = typer.Option(2, "--workers", "-w", min=1),
               kind: str = typer.Option("minhash", help="minhash | exact"),
               num_perm: int = typer.Option(112), bands: int = typer.Option(14),
               verify: bool = typer.Option(True, help="exact verification of candidate pairs (keeps shingle sets on disk)"),
               shard_mb: float = typer.Option(16.0, help="input shard size (input.shard_mb)")):
    """Estimate disk and memory per dedup stage before running it.

    Example: `thresher dedup-plan --size 2TB --workers 64` or `thresher dedup-plan corpus.jsonl`
    """
    from rich.table import Table

    from .plan import _fmt, estimate, parse_size

    if path is None and size is None:
        raise InputError("give an input path or --size")
    if kind not in ("minhash", "exact"):
        raise InputError(f"--kind must be minhash or exact, not '{kind}'")
    nbytes, mean = (_measure(path) if path else (parse_size(size or "0"), 2000.0))
    if size:
        nbytes = parse_size(size)
    plan = estimate(nbytes, avg_doc or mean, workers, shard_mb, kind, num_perm, bands if kind == "minhash" else 1, verify)
    t = Table(title=f"{kind} dedup of {_fmt(nbytes)} (~{plan.documents:,} documents, {workers} workers)")
    for col in ("stage", "memory per process", "disk written", "what"):
        t.add_column(col, justify="left" if col in ("stage", "what") else "right")
    for row in plan.to_rows():
        t.add_row(*row)
    console.print(t)
    console.print(f"peak disk {_fmt(plan.disk_bytes)} (freed when the fit ends), peak memory {_fmt(plan.peak_ram_bytes)}")


@app.command("clusters")
def clusters(release: Path = typer.Argument(..., help="release folder"),
             step: str = typer.Option("minhash_dedup", help="which dedup step's clusters"),
             top: int = typer.Option(10, help="how many of the largest clusters to show")):
    """Show the largest duplicate clusters of a release (its clusters/<step>/ table).

    Example: `thresher clusters out/web --step minhash_dedup --top 5`
    """
    import pyarrow.parquet as pq
    from rich.table import Table

    folder = clusters_dir(Path(release), step)
    if not folder.is_dir():
        raise ReleaseError(f"{release}: no clusters table for step '{step}' (is it in the pipeline?)")
    rows = pq.ParquetDataset(folder).read(columns=["cluster_id", "id", "kept", "similarity", "cluster_size"]).to_pylist()
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["cluster_id"], []).append(r)
    t = Table(title=f"{step}: {len(groups):,} clusters, {sum(not r['kept'] for r in rows):,} duplicates dropped")
    for col in ("cluster", "size", "kept document", "lowest similarity"):
        t.add_column(col)
    for cid, g in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]:
        kept = next((r["id"] for r in g if r["kept"]), "?")
        t.add_row(cid, str(len(g)), kept, f"{min(r['similarity'] for r in g):.3f}")
    console.print(t)

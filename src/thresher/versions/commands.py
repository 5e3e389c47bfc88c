"""CLI commands of versions: ``thresher update`` and ``thresher diff`` (thin wrappers over the library)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, console


@app.command()
def update(release: Path = typer.Argument(..., help="the release to add to (its newest version)"),
           config: Path = typer.Argument(..., help="pipeline YAML whose inputs are the NEW documents"),
           workers: Optional[int] = typer.Option(None, "--workers", "-w", help="worker processes"),
           as_json: bool = typer.Option(False, "--json", help="print the report as JSON")):
    """Add new inputs to a release as its next version, deduplicated against everything released.

    Example: `thresher update out/demo new-crawl.yaml` writes out/demo@v2 (or says nothing was added)
    """
    from ..io.arrow_pandas import in_this_process
    from .update import update as run_update

    in_this_process()           # pyarrow converts without importing pandas (as `thresher run`)
    r = run_update(release, config, workers=workers, progress=not as_json)
    if as_json:
        print(json.dumps(r, indent=2))
        return
    colour = "green" if r["version"] else "yellow"
    console.print(f"[bold {colour}]{r['message']}[/]")
    for label, n in r["duplicates_of_parent"].items():
        console.print(f"  {label}: {n:,} new documents duplicate documents of {r['parent']} (excluded, duplicate_of)")
    if r.get("forget"):
        console.print(f"  removal ledger applied first: {', '.join(r['forget']['versions']) or 'nothing to remove'}")
    if r["version"]:
        console.print(f"  {r['documents']:,} documents, Merkle root {r['merkle_root']}; "
                      f"see `thresher diff {Path(release).parent / r['parent']} {Path(release).parent / r['version']}`")


@app.command()
def diff(a: Path = typer.Argument(..., help="the older release (version)"),
         b: Path = typer.Argument(..., help="the newer release (version)"),
         as_json: bool = typer.Option(False, "--json", help="ids under added/removed/changed, plus the counts"),
         limit: int = typer.Option(20, "--limit", help="rows per table")):
    """What changed between two versions: documents added, removed (by which step or request), changed.

    Example: `thresher diff out/demo out/demo@v2 --json`
    """
    from rich.table import Table

    from .diff import diff as run_diff

    d = run_diff(a, b, ids=as_json)
    if as_json:
        print(json.dumps(d, indent=2))
        return
    c = d["counts"]
    console.print(f"[bold]{a.name} -> {b.name}[/]: {c['documents_a']:,} -> {c['documents_b']:,} documents; "
                  f"[green]+{c['added']:,} added[/], [red]-{c['removed']:,} removed[/], {c['changed']:,} changed")
    for title, key in (("per source", "by_source"), ("per language", "by_language")):
        if d[key]:
            t = Table(title=title)
            for col in ("", "added", "removed", "changed"):
                t.add_column(col, justify="left" if not col else "right")
            for k, v in sorted(d[key].items(), key=lambda kv: -sum(kv[1].values()))[:limit]:
                t.add_row(k, *(f"{v.get(x, 0):,}" for x in ("added", "removed", "changed")))
            console.print(t)
    if d["by_step"]:
        t = Table(title="per step (removed: documents of A gone from B; excluded: new documents B dropped)")
        for col in ("step", "removed", "excluded", "reasons"):
            t.add_column(col, justify="left" if col in ("step", "reasons") else "right")
        for k, v in sorted(d["by_step"].items()):
            reasons = ", ".join(f"{r.split(':', 1)[1]} {n:,}" for r, n in v.items() if r.startswith("excluded:"))
            t.add_row(k, f"{v.get('removed', 0):,}", f"{v.get('excluded', 0):,}", reasons)
        console.print(t)

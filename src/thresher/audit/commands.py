"""CLI: ``thresher audit RELEASE`` (who each filter removed)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli import app, console
from . import DIMENSIONS


def _ci(r: dict) -> str:
    return f"{100 * r['rate']:.1f}% [{100 * r['ci'][0]:.1f}, {100 * r['ci'][1]:.1f}]"


@app.command("audit")
def audit_cmd(release: Path = typer.Argument(..., help="release folder"),
              by: str = typer.Option(",".join(DIMENSIONS), "--by", help="comma-separated: " + ", ".join(DIMENSIONS)),
              alpha: float = typer.Option(0.05, help="family-wise error rate (Holm-Bonferroni)"),
              json_out: Optional[Path] = typer.Option(None, "--json", help="also write the full audit as JSON here"),
              as_json: bool = typer.Option(False, "--as-json", help="print JSON instead of tables"),
              show_all: bool = typer.Option(False, "--all", help="list every group, not only the flagged ones")):
    """Per step, the share of documents and characters dropped per group (language, script, region from
    the URL's country-code TLD, register, source), with 95% Wilson intervals; flags the groups whose drop
    rate differs from the rest beyond chance (two-proportion z-test, Holm-Bonferroni).

    Example: `thresher audit thresher-demo/demo --by language,region --json audit.json`
    """
    import orjson
    from rich.table import Table

    from ..io.writer import write_json
    from .core import audit

    report = audit(release, [d.strip() for d in by.split(",") if d.strip()], alpha=alpha)
    if json_out:
        write_json(json_out, report, sort_keys=False)
    if as_json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    t = Table(title=f"{release}: drops per step ({report['documents']} documents)")
    for c in ("step", "in", "dropped", "rate [95% CI]", "chars dropped"):
        t.add_column(c, justify="left" if c == "step" else "right")
    for r in report["overall"]:
        t.add_row(r["step"], str(r["docs_in"]), str(r["dropped"]), _ci(r), f"{100 * r['char_rate']:.1f}%")
    console.print(t)
    rows = report["groups"] if show_all else report["flagged"]
    g = Table(title=("every group" if show_all else "groups dropped more or less often than the rest, beyond chance"))
    for c in ("step", "by", "group", "in", "dropped", "rate [95% CI]", "rest", "chars", "z", "p (Holm)"):
        g.add_column(c, justify="left" if c in ("step", "by", "group") else "right")
    for r in rows:
        g.add_row(r["step"], r["dimension"], r["group"], str(r["docs_in"]), str(r["dropped"]), _ci(r),
                  f"{100 * r['rest_rate']:.1f}%", f"{100 * r['char_rate']:.1f}%", f"{r['z']:+.2f}",
                  "-" if r["p_adjusted"] is None else f"{r['p_adjusted']:.2g}")
    console.print(g if rows else "no group differs from the rest beyond chance")
    console.print(f"test: {report['test']}")

"""``thresher head``: look at the first documents of a release, kept or excluded, filtered by column.

    thresher head out/demo -n 3 --where language=fra
    thresher head out/demo --excluded --reason gopher_short
    thresher head out/demo --where meta.register=news --json

A ``--where`` key is a top-level column (``language``, ``script``, ``url``, ``repo``, ``path``,
``license``, ``id``, ``token_count``; for excluded documents ``step`` and ``reason`` too) or a dotted path into the
``meta`` or ``source`` JSON (``meta.language_score``, ``source.format``); values compare as text.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson
import typer

from .cli import app, console
from .errors import InputError

PREVIEW = 300


def parse_where(items: list[str]) -> list[tuple[str, str]]:
    """``["language=fra"]`` -> ``[("language", "fra")]``; a malformed item is an InputError."""
    out = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--where '{item}': expected KEY=VALUE, e.g. language=fra or meta.register=news")
        out.append((key.strip(), value.strip()))
    return out


def _get(row: dict[str, Any], key: str) -> Any:
    if key in row:
        return row[key]
    head, _, rest = key.partition(".")
    if head not in ("meta", "source") or not rest:
        return None
    obj: Any = row.get(f"_{head}")
    for part in rest.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def _matches(row: dict[str, Any], where: list[tuple[str, str]]) -> bool:
    for key, value in where:
        got = _get(row, key)
        if isinstance(got, bool):
            got = str(got).lower()
        if got is None or str(got) != value:
            return False
    return True


def head(release: str | Path, n: int = 5, where: list[tuple[str, str]] | None = None, excluded: bool = False,
         reason: str | None = None) -> list[dict[str, Any]]:
    """The first ``n`` documents (in shard order) of ``data/`` (or ``excluded/``) that match every
    ``where`` pair: rows with the top-level columns (``token_count`` is null until ``thresher tokenize``),
    ``meta`` and ``source`` parsed."""
    from .io.columns import FILTER_NAMES
    from .release import Release

    rel = Release(release)
    where = list(where or [])
    if reason is not None:
        where.append(("reason", reason))
    known = {"id", "text", *FILTER_NAMES} | ({"step", "reason", "score", "threshold"} if excluded else {"token_count"})
    for key, _ in where:
        if key not in known and not key.startswith(("meta.", "source.")):
            hint = " (--excluded has step and reason)" if key in ("step", "reason") else ""
            raise InputError(f"--where {key}: not a column; use one of {', '.join(sorted(known))}, "
                             f"or meta.KEY / source.KEY{hint}")
    out: list[dict[str, Any]] = []
    if n <= 0:
        return out
    for row in _rows(rel.files("excluded" if excluded else "data")):
        if _matches(row, where):
            row["meta"], row["source"] = row.pop("_meta"), row.pop("_source")
            out.append(row)
            if len(out) >= n:
                break
    return out


def _rows(files: list[Path]) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .io.columns import FILTER_NAMES, add_filter_columns

    for f in files:
        for b in pq.ParquetFile(f).iter_batches(batch_size=512):
            t = pa.Table.from_batches([b])
            if not all(c in t.column_names for c in FILTER_NAMES):   # a release written before the columns
                t = add_filter_columns(t)
            for row in t.to_pylist():
                row["_meta"] = orjson.loads(row.pop("meta") or "{}")
                row["_source"] = orjson.loads(row.pop("source") or "{}")
                yield row


def _show(row: dict[str, Any], excluded: bool) -> None:
    if console.is_terminal:
        console.rule(row["id"], align="left", style="dim")
    else:                   # piped: a short separator, not a rule as wide as the page
        console.print(f"── {row['id']} ──", markup=False, highlight=False)
    fields = [(k, row.get(k)) for k in ("language", "script", "url", "repo", "path", "license", "token_count")]
    if excluded:
        fields = [(k, row.get(k)) for k in ("step", "reason", "score", "threshold")] + fields
    console.print("  ".join(f"{k}={v}" for k, v in fields if v is not None), markup=False, highlight=False)
    text = " ".join((row.get("text") or "").split())
    if not text and isinstance(row["meta"].get("excluded_text"), dict):
        t = row["meta"]["excluded_text"]
        text = f"(text not published: {t.get('chars', '?')} characters, sha256 {str(t.get('sha256', ''))[:16]}...)"
    console.print(text[:PREVIEW] + ("…" if len(text) > PREVIEW else ""), markup=False, highlight=False)


@app.command("head")
def head_command(release: Path = typer.Argument(..., help="release folder"),
                 n: int = typer.Option(5, "-n", min=0, help="how many documents"),
                 where: list[str] = typer.Option([], "--where", help="KEY=VALUE: a column (language, script, url, "
                                                 "repo, path, license, id, token_count) or meta.KEY / source.KEY (repeat: all must hold)"),
                 excluded: bool = typer.Option(False, "--excluded", help="look at dropped documents instead"),
                 reason: Optional[str] = typer.Option(None, "--reason", help="with --excluded: only this drop reason"),
                 as_json: bool = typer.Option(False, "--json", help="one JSON object per line, every field")):
    """Show the first documents of a release: id, language, url, a text preview (dropped ones: step and reason).

    Example: `thresher head out/demo -n 3 --where language=fra` or `thresher head out/demo --excluded --reason gopher_short`
    """
    if reason is not None and not excluded:
        raise InputError("--reason: only with --excluded (kept documents have no drop reason)")
    rows = head(release, n, parse_where(where), excluded=excluded, reason=reason)
    if as_json:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False, default=str))
        return
    if not rows:
        console.print("no documents match", markup=False)
    for r in rows:
        _show(r, excluded)

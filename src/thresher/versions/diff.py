"""``thresher diff A B``: what changed between two versions of a corpus, and why.

Documents are compared by their Merkle leaves (id, sha256 of the text; the build's leaves files, so no
text is read): *added* (an id only in B), *removed* (only in A) and *changed* (in both, another text).
Each removed document is looked up in B's ``excluded/`` to say which step (a dedup step, a filter, or
``governance`` with the removal request) removed it. Counts are broken down per source (the input file),
per language, and per step (removed from A's documents, and newly excluded documents of B: what an update
dropped of its new inputs). Everything is Arrow set operations over id columns; only the rows of
documents that changed are parsed.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from ..governance.forget import release_leaves
from ..release import Release

KINDS = ("added", "removed", "changed")


def _leaves(rel: Release) -> pa.Table:
    rels = sorted(r for r in rel.manifest["outputs"] if r.startswith("data/"))
    tables = [release_leaves(rel.path, r).select(["id", "content_hash"]) for r in rels]
    if not tables:
        return pa.table({"id": pa.array([], pa.string()), "content_hash": pa.array([], pa.string())})
    t = pa.concat_tables(tables)
    return t.append_column("key", pc.binary_join_element_wise(t["id"], t["content_hash"], "\x00"))


def _rows(files: list[Path], ids: pa.Array, columns: list[str]) -> pa.Table:
    """The rows of ``files`` whose id is in ``ids`` (only ``columns``)."""
    if not files or not len(ids):
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    have = set(ds.dataset([str(f) for f in files], format="parquet").schema.names)
    cols = [c for c in columns if c in have]
    t = ds.dataset([str(f) for f in files], format="parquet").to_table(
        columns=cols, filter=pc.field("id").isin(ids))
    for c in columns:
        if c not in t.column_names:
            t = t.append_column(c, pa.nulls(t.num_rows, pa.string()))
    return t


def _about(t: pa.Table) -> dict[str, tuple[str, str]]:
    """id -> (source file, language) of data rows."""
    out = {}
    for i, s, m in zip(t["id"].to_pylist(), t["source"].to_pylist(), t["meta"].to_pylist()):
        src = orjson.loads(s) if s else {}
        meta = orjson.loads(m) if m else {}
        out[i] = (str(src.get("file") or src.get("repo") or "unknown"), str(meta.get("language", "unknown")))
    return out


def _excluded_ids(rel: Release) -> pa.Array:
    files = rel.files("excluded")
    if not files:
        return pa.array([], pa.string())
    return ds.dataset([str(f) for f in files], format="parquet").to_table(columns=["id"])["id"].combine_chunks()


def diff(a: str | Path, b: str | Path, ids: bool = True) -> dict[str, Any]:
    """What changed from release ``a`` to release ``b`` (``ids``: include the lists of ids)."""
    ra, rb = Release(a), Release(b)
    la, lb = _leaves(ra), _leaves(rb)
    in_b = pc.is_in(la["id"], value_set=lb["id"])
    in_a = pc.is_in(lb["id"], value_set=la["id"])
    removed = pc.filter(la["id"], pc.invert(in_b)).combine_chunks()
    added = pc.filter(lb["id"], pc.invert(in_a)).combine_chunks()
    same_pair = pc.is_in(lb["key"], value_set=la["key"])
    changed = pc.filter(lb["id"], pc.and_(in_a, pc.invert(same_pair))).combine_chunks()
    added, removed, changed = (pc.unique(x).sort() if len(x) else x for x in (added, removed, changed))
    about_b = _about(_rows(rb.files("data"), pa.concat_arrays([added, changed]), ["id", "source", "meta"]))
    about_a = _about(_rows(ra.files("data"), removed, ["id", "source", "meta"]))
    why_t = _rows(rb.files("excluded"), removed, ["id", "step", "reason", "meta"])
    why: dict[str, dict[str, Any]] = {}
    for i, st, rs, m in zip(*(why_t[c].to_pylist() for c in ("id", "step", "reason", "meta"))):
        meta = orjson.loads(m) if m else {}
        why.setdefault(i, {"id": i, "step": st, "reason": rs, "duplicate_of": meta.get("duplicate_of")})
    by_source: dict[str, Counter] = defaultdict(Counter)
    by_lang: dict[str, Counter] = defaultdict(Counter)
    by_step: dict[str, Counter] = defaultdict(Counter)
    for kind, arr, about in (("added", added, about_b), ("changed", changed, about_b), ("removed", removed, about_a)):
        for i in arr.to_pylist():
            src, lang = about.get(i, ("unknown", "unknown"))
            by_source[src][kind] += 1
            by_lang[lang][kind] += 1
    removed_by = [why.get(i, {"id": i, "step": "unknown", "reason": "not in B's excluded/", "duplicate_of": None})
                  for i in removed.to_pylist()]
    for r in removed_by:
        by_step[r["step"]]["removed"] += 1
    # newly excluded documents of B (an update: what its steps dropped of the new inputs)
    ex_a = _excluded_ids(ra)
    files_b = rb.files("excluded")
    if files_b:
        t = ds.dataset([str(f) for f in files_b], format="parquet").to_table(columns=["id", "step", "reason"])
        t = t.filter(pc.invert(pc.is_in(t["id"], value_set=ex_a)))
        for st, rs in zip(t["step"].to_pylist(), t["reason"].to_pylist()):
            by_step[st]["excluded"] += 1
            by_step[st][f"excluded:{rs}"] += 1
    out: dict[str, Any] = {
        "a": str(ra.path), "b": str(rb.path),
        "a_root": ra.manifest["merkle"]["root"], "b_root": rb.manifest["merkle"]["root"],
        "counts": {"added": len(added), "removed": len(removed), "changed": len(changed),
                   "documents_a": la.num_rows, "documents_b": lb.num_rows},
        "by_source": {k: dict(v) for k, v in sorted(by_source.items())},
        "by_language": {k: dict(v) for k, v in sorted(by_lang.items())},
        "by_step": {k: dict(v) for k, v in sorted(by_step.items())},
    }
    if ids:
        out.update({"added": added.to_pylist(), "removed": removed.to_pylist(), "changed": changed.to_pylist(),
                    "removed_by": removed_by})
    return out


def is_empty(d: dict[str, Any]) -> bool:
    return not any(d["counts"][k] for k in KINDS)


__all__ = ["diff", "is_empty"]

""""Changes since the parent version": documents added and removed, and the removal requests applied.

A release made from another (by ``forget`` or a re-run) names it in ``manifest["parent"]``: a path,
or a mapping with the parent's path, Merkle root, document count and the removal requests or receipts
applied. When the parent is still on disk the id sets are compared exactly (Arrow ``is_in`` over the id
columns, no Python set per document); otherwise the card reports what the manifest says.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ThresherError
from ..paths import is_release
from ..release import Release
from ..versions.diff import diff as version_diff

REQUEST_KEYS = ("requests", "removal_requests", "applied_requests", "receipts")


def _ids(rel: Release) -> pa.Array:
    chunks = [pq.read_table(f, columns=["id"]).column("id") for f in rel.files("data")]
    return pa.chunked_array([c for ch in chunks for c in ch.chunks], type=pa.string()).combine_chunks() if chunks \
        else pa.array([], type=pa.string())


def _parent_path(rel: Release, parent: Any) -> Path | None:
    p = parent.get("path") or parent.get("release") if isinstance(parent, dict) else parent
    if not isinstance(p, str) or not p:
        return None
    path = Path(p)
    for cand in ([path] if path.is_absolute() else [rel.path / path, rel.path.parent / path, path]):
        if is_release(cand):
            return cand
    return None


def _receipt_for(rel: Release, request_id: str) -> dict[str, Any]:
    """What the receipt of ``request_id`` says about this version (``PROJECT/governance/receipts``)."""
    row: dict[str, Any] = {"request_id": request_id}
    rdir = rel.path.resolve().parent / "governance" / "receipts"
    for f in sorted(rdir.glob(f"{request_id}-*.json")):
        try:
            body = orjson.loads(f.read_bytes())
        except orjson.JSONDecodeError:
            continue
        for entry in body.get("releases", []):
            if entry.get("version_after") == rel.path.name:
                req = body.get("request", {})
                row.update(matcher=req.get("matcher"), near_duplicates=req.get("near_duplicates"),
                           received_at=req.get("received_at"), removed=entry.get("matched"),
                           near=entry.get("matched_near_duplicates"), receipt=f.name)
    return row


def _receipts(rel: Release, parent: Any) -> list[dict[str, Any]]:
    """Removal requests applied to make this release: named in the manifest (``governance.requests``,
    ids or dicts), detailed from their receipt files when the project keeps them."""
    found: list[dict[str, Any]] = []
    for src in (parent if isinstance(parent, dict) else {}, rel.manifest.get("governance") or {}):
        for key in REQUEST_KEYS:
            items = src.get(key)
            if isinstance(items, list):
                found += [i if isinstance(i, dict) else _receipt_for(rel, str(i)) for i in items]
    return found


def parent_changes(rel: Release) -> dict[str, Any] | None:
    """None for a first release; else what changed since the parent (exact when the parent is on disk)."""
    parent = rel.manifest.get("parent")
    if not parent:
        return None
    out: dict[str, Any] = {"parent": parent if isinstance(parent, str) else
                           (parent.get("path") or parent.get("merkle_root") or parent.get("root") or "?"),
                           "documents": rel.manifest.get("documents"), "receipts": _receipts(rel, parent)}
    if isinstance(parent, dict):
        out["parent_root"] = parent.get("merkle_root") or parent.get("root")
        out["parent_documents"] = parent.get("documents")
        out["parent_version"] = parent.get("version")
    gov = rel.manifest.get("governance") or {}
    out["removed_by_requests"] = gov.get("removed_from_data")
    out["ledger_head"] = gov.get("ledger_head")
    ppath = _parent_path(rel, parent)
    if ppath is not None:
        try:
            prel = Release(ppath)
            old, new = _ids(prel), _ids(rel)
        except (ThresherError, OSError, pa.ArrowInvalid):
            ppath = None
        else:
            out["parent_documents"] = len(old)
            out["parent_root"] = out.get("parent_root") or prel.manifest.get("merkle", {}).get("root")
            out["removed"] = int(len(old) - pc.sum(pc.is_in(old, value_set=new)).as_py()) if len(old) else 0
            out["added"] = int(len(new) - pc.sum(pc.is_in(new, value_set=old)).as_py()) if len(new) else 0
            removed_ids = pc.filter(old, pc.invert(pc.is_in(old, value_set=new))) if len(old) else old
            out["removed_sample"] = removed_ids.slice(0, 20).to_pylist()
            # the changelog (issue 24): what changed per source, language and step, and why
            out["diff"] = version_diff(ppath, rel.path, ids=False)
            out["update_info"] = rel.manifest.get("update")   # not "update": a dict method in the template
    out["exact"] = ppath is not None
    if not out["exact"] and isinstance(out.get("parent_documents"), int) and isinstance(out["documents"], int):
        out["net"] = out["documents"] - out["parent_documents"]
    return out

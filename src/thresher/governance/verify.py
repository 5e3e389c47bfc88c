"""``verify``: does a release still match its manifest, and does a receipt hold against it?

Checks, in order, failing with one line that names the first problem: every shard in the manifest
exists, has its row count and sha256; no shard lies in ``data/`` or ``excluded/`` that the manifest
does not list; the Merkle root recomputed from the text equals the manifest's; the parent manifest
(for a forget version) is the one it names. With a receipt: its own hash, that it is about this
release (its root after), every proof of absence against this root, every proof of inclusion against
the root before, and, when the project's ledger is beside the release, that the request is in an
intact ledger and the receipt is the one the ledger recorded.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq

from ..errors import InputError, ReleaseError
from ..io.writer import file_sha256
from ..merkle import leaf_hash, root, verify_absence, verify_inclusion
from ..release import Release
from .ledger import Ledger, has_ledger
from .parts import verify_parts


def _leaves(files: list[Path]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for f in files:
        for b in pq.ParquetFile(f).iter_batches(batch_size=8192, columns=["id", "text"]):
            pairs.extend(zip(b.column("id").to_pylist(),
                             (hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()
                              for t in b.column("text").to_pylist())))
    pairs.sort()
    return pairs


def verify(release: str | Path, receipt: str | Path | None = None) -> dict[str, Any]:
    """Verify a release (and optionally a receipt); returns a summary or raises ReleaseError."""
    path = Path(release)
    m = Release(path).manifest
    outputs: dict[str, dict[str, Any]] = m.get("outputs", {})
    for rel, info in sorted(outputs.items()):
        f = path / rel
        if not f.is_file():
            raise ReleaseError(f"{path}: shard {rel} is missing")
        sha = file_sha256(f)
        if sha != info["sha256"]:
            raise ReleaseError(f"{path}: shard {rel} does not match the manifest "
                               f"(sha256 {sha[:16]}... != {info['sha256'][:16]}...)")
        try:
            rows = pq.ParquetFile(f).metadata.num_rows
        except Exception as e:            # pyarrow raises several types for a corrupt footer
            raise ReleaseError(f"{path}: shard {rel} is not readable Parquet ({e})") from None
        if rows != info["rows"]:
            raise ReleaseError(f"{path}: shard {rel} has {rows} rows, the manifest says {info['rows']}")
    for kind in ("data", "excluded"):
        for f in sorted((path / kind).glob("*.parquet")):
            if f"{kind}/{f.name}" not in outputs:
                raise ReleaseError(f"{path}: shard {kind}/{f.name} is not listed in the manifest")
    data = sorted(path / r for r in outputs if r.startswith("data/"))
    pairs = _leaves(data)
    got = root(leaf_hash(i, h) for i, h in pairs)
    if got != m["merkle"]["root"]:
        raise ReleaseError(f"{path}: Merkle root {got[:16]}... != manifest {m['merkle']['root'][:16]}...")
    if len(pairs) != m.get("documents", len(pairs)):
        raise ReleaseError(f"{path}: {len(pairs)} documents, the manifest says {m['documents']}")
    out: dict[str, Any] = {"release": str(path), "version": m.get("version", 1), "shards": len(outputs),
                           "documents": len(pairs), "merkle_root": got, "parent": None}
    parent = m.get("parent")
    if isinstance(parent, dict) and parent.get("path"):
        pm = (path / parent["path"] / "manifest.json")
        if pm.is_file():
            if hashlib.sha256(pm.read_bytes()).hexdigest() != parent["manifest_sha256"]:
                raise ReleaseError(f"{path}: parent {parent['path']} has a different manifest than the one recorded")
            out["parent"] = f"{parent['path']} (manifest matches)"
        else:
            out["parent"] = f"{parent['path']} (not present here)"
    entry = None
    if receipt is not None:
        out["receipt"] = check_receipt(receipt, path, got, {i for i, _ in pairs})
        entry = next(e for e in orjson.loads(Path(receipt).read_bytes())["releases"] if e["merkle_root_after"] == got)
    parts = verify_parts(path, m, {i for i, _ in pairs}, entry)        # token shards ... (parts.py)
    if parts:
        out["parts"] = parts
    return out


def check_receipt(receipt: str | Path, release: Path, root_hex: str, ids: set[str] | None = None) -> dict[str, Any]:
    """Check a forget receipt against a release whose (verified) Merkle root is ``root_hex``."""
    rp = Path(receipt)
    if not rp.is_file():
        raise InputError(f"{rp}: receipt not found")
    try:
        r = orjson.loads(rp.read_bytes())
        body = {k: v for k, v in r.items() if k != "receipt_sha256"}
        rid = r["request"]["id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ReleaseError(f"{rp}: not a thresher receipt") from None
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if digest != r.get("receipt_sha256"):
        raise ReleaseError(f"{rp}: receipt hash mismatch (the receipt was edited)")
    entry = next((e for e in r["releases"] if e["merkle_root_after"] == root_hex), None)
    if entry is None:
        names = ", ".join(e["version_after"] for e in r["releases"])
        raise ReleaseError(f"{rp}: receipt is not about this release (its root {root_hex[:16]}... is none of {names})")
    for item in entry["removed"]:
        doc = item["id"]
        if item["absence"]["id"] != doc or not verify_absence(item["absence"], root_hex):
            raise ReleaseError(f"{rp}: proof of absence for document {doc} does not verify")
        if ids is not None and doc in ids:
            raise ReleaseError(f"{release}: document {doc} is still present despite the receipt")
        inc = item.get("inclusion_before")
        if inc and not verify_inclusion(leaf_hash(doc, inc["content_hash"]), inc["index"], entry["documents_before"],
                                        inc["path"], entry["merkle_root_before"]):
            raise ReleaseError(f"{rp}: proof that document {doc} was in {entry['version_before']} does not verify")
    out = {"request": rid, "matched": entry["matched"], "proofs_verified": len(entry["removed"]), "ledger": "not found"}
    project = release.resolve().parent
    if has_ledger(project):
        led = Ledger(project)
        entries = led.entries(check=True)
        req = next((e for e in entries if e.get("type") == "request" and e.get("id") == rid), None)
        if req is None or req["hash"] != r["request"]["hash"]:
            raise ReleaseError(f"{rp}: request {rid} with hash {r['request']['hash'][:16]}... is not in the ledger")
        recorded = {x["sha256"] for e in entries if e.get("type") == "applied" for x in e.get("receipts", [])}
        if digest_file(rp) not in recorded:
            raise ReleaseError(f"{rp}: the ledger recorded no receipt with this content")
        out["ledger"] = "request and receipt recorded in an intact ledger"
    return out


def digest_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()

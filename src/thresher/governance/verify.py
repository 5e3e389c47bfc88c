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
from ..paths import WORK, manifest_path, stats_path
from ..release import Release
from ..signing import ALGORITHM, check_signature, custodian_dir, manifest_digest, public_key
from ..progress import Progress
from .ledger import Ledger, has_ledger
from .parts import verify_parts


def _leaves(files: list[Path]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    with Progress("verify: hashing documents", total=len(files), unit="shards") as bar:
        for f in files:
            for b in pq.ParquetFile(f).iter_batches(batch_size=8192, columns=["id", "text"]):
                pairs.extend(zip(b.column("id").to_pylist(),
                                 (hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()
                                  for t in b.column("text").to_pylist())))
                bar.advance(0, docs=b.num_rows, nbytes=b.column("text").nbytes)
            bar.advance()
    pairs.sort()
    return pairs


TEMPORARY = (".tmp", ".partial", ".sorted")


def _check_signed(path: Path, m: dict[str, Any]) -> str:
    """The manifest's signature (it covers every field: config, tools, inputs, governance ...) and the
    published key; returns the custodian's public key."""
    sig = m.get("signing") or {}
    key = sig.get("public_key")
    if not key or sig.get("algorithm") != ALGORITHM or not m.get("signature"):
        raise ReleaseError(f"{path}: manifest.json is not signed (a release written before signing, or edited)")
    if not check_signature(key, manifest_digest(m), str(m["signature"])):
        raise ReleaseError(f"{path}: manifest.json signature does not verify (a field was edited)")
    pub = path / "custodian.pub"
    if pub.is_file() and pub.read_text().strip() != key:
        raise ReleaseError(f"{path}: custodian.pub is not the key that signed the manifest")
    gov_key = public_key(custodian_dir(path))
    if gov_key is not None and gov_key != key:
        raise ReleaseError(f"{path}: signed with another key than the project's custodian.pub")
    return key


def _check_files(path: Path, m: dict[str, Any], outputs: dict[str, Any]) -> None:
    """Every published file is covered: shards by the outputs, stats.json by its hash; no temporary file."""
    stats = stats_path(path)
    if "stats_sha256" in m and (not stats.is_file() or file_sha256(stats) != m["stats_sha256"]):
        raise ReleaseError(f"{path}: stats.json does not match the manifest")
    for f in sorted(path.rglob("*")):
        rel = f.relative_to(path).as_posix()
        if rel.startswith(f"{WORK}/"):           # the custodian's work state, never published
            continue
        if f.is_file() and f.name.endswith(TEMPORARY):
            raise ReleaseError(f"{path}: temporary file {rel} inside a release")
    for kind in ("data", "excluded", "clusters"):
        for f in sorted((path / kind).rglob("*")):
            rel = f.relative_to(path).as_posix()
            if f.is_file() and rel not in outputs:
                raise ReleaseError(f"{path}: file {rel} is not listed in the manifest")


def _check_index(path: Path, ids: list[str]) -> None:
    """A search index beside the release must hold exactly its documents (not a parent's)."""
    from .search import INDEX

    f = path / INDEX
    if not f.is_file():
        return
    import sqlite3

    try:
        db = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
        got = sorted(r[0] for r in db.execute("SELECT id FROM docs"))
        db.close()
    except sqlite3.Error as e:
        raise ReleaseError(f"{path}: search index {INDEX} is unreadable ({e})") from None
    if got != sorted(ids):
        extra = sorted(set(got) - set(ids))
        raise ReleaseError(f"{path}: search index {INDEX} does not match the release"
                           + (f" (it holds {len(extra)} documents the release does not, e.g. {extra[0]})" if extra else ""))


def _check_ledger(path: Path, m: dict[str, Any], key: str) -> str | None:
    """With the project's ledger beside the release: it verifies (chain and signatures with the
    release's key) and holds the ``ledger_head`` the release recorded."""
    project = path.resolve().parent
    if not has_ledger(project):
        return None
    led = Ledger(project)
    led.verify(key)
    head = (m.get("governance") or {}).get("ledger_head")
    if head and not any(e["hash"] == head for e in led.entries(check=False)):
        raise ReleaseError(f"{path}: ledger_head {head[:16]}... is not in the project's ledger (it was rewritten)")
    return "intact" + (", holds the release's ledger_head" if head else "")


def verify(release: str | Path, receipt: str | Path | None = None) -> dict[str, Any]:
    """Verify a release (and optionally a receipt); returns a summary or raises ReleaseError."""
    path = Path(release)
    m = Release(path).manifest
    key = _check_signed(path, m)
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
    _check_files(path, m, outputs)
    data = sorted(path / r for r in outputs if r.startswith("data/"))
    pairs = _leaves(data)
    got = root(leaf_hash(i, h) for i, h in pairs)
    if got != m["merkle"]["root"]:
        raise ReleaseError(f"{path}: Merkle root {got[:16]}... != manifest {m['merkle']['root'][:16]}...")
    if len(pairs) != m.get("documents", len(pairs)):
        raise ReleaseError(f"{path}: {len(pairs)} documents, the manifest says {m['documents']}")
    _check_index(path, [i for i, _ in pairs])
    out: dict[str, Any] = {"release": str(path), "version": m.get("version", 1), "shards": len(outputs),
                           "documents": len(pairs), "merkle_root": got, "parent": None, "public_key": key,
                           "ledger": _check_ledger(path, m, key)}
    parent = m.get("parent")
    if isinstance(parent, dict) and parent.get("path"):
        pm = manifest_path(path / parent["path"])
        if pm.is_file():
            if hashlib.sha256(pm.read_bytes()).hexdigest() != parent["manifest_sha256"]:
                raise ReleaseError(f"{path}: parent {parent['path']} has a different manifest than the one recorded")
            out["parent"] = f"{parent['path']} (manifest matches)"
        else:
            out["parent"] = f"{parent['path']} (not present here)"
    entry = None
    if receipt is not None:
        out["receipt"] = check_receipt(receipt, path, got, set(pairs), key)
        entry = next(e for e in orjson.loads(Path(receipt).read_bytes())["releases"] if e["merkle_root_after"] == got)
    parts = verify_parts(path, m, {i for i, _ in pairs}, entry)        # token shards ... (parts.py)
    if parts:
        out["parts"] = parts
    return out


def check_receipt(receipt: str | Path, release: Path, root_hex: str, pairs: set[tuple[str, str]] | None = None,
                  key: str | None = None) -> dict[str, Any]:
    """Check a forget receipt against a release whose (verified) Merkle root is ``root_hex`` and whose
    manifest was signed with ``key``: its hash, its signature with that key (so it holds alone, with
    no ledger at hand), every proof, and, where the project's ledger is beside it, the ledger's record."""
    rp = Path(receipt)
    if not rp.is_file():
        raise InputError(f"{rp}: receipt not found")
    try:
        r = orjson.loads(rp.read_bytes())
        body = {k: v for k, v in r.items() if k != "receipt_sha256"}
        rid = r["request"]["id"]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise ReleaseError(f"{rp}: not a thresher receipt") from None
    body.pop("signature", None)
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    if digest != r.get("receipt_sha256"):
        raise ReleaseError(f"{rp}: receipt hash mismatch (the receipt was edited)")
    signer = (r.get("signing") or {}).get("public_key")
    if key is None:
        key = (Release(release).manifest.get("signing") or {}).get("public_key")
    if not key or signer != key:
        raise ReleaseError(f"{rp}: receipt is not signed with the release's custodian key")
    if not check_signature(key, digest, str(r.get("signature", ""))):
        raise ReleaseError(f"{rp}: receipt signature does not verify (the receipt was edited)")
    entry = next((e for e in r["releases"] if e["merkle_root_after"] == root_hex), None)
    if entry is None:
        names = ", ".join(e["version_after"] for e in r["releases"])
        raise ReleaseError(f"{rp}: receipt is not about this release (its root {root_hex[:16]}... is none of {names})")
    for item in entry["removed"]:
        doc = item["id"]
        if item["absence"]["id"] != doc or not verify_absence(item["absence"], root_hex):
            raise ReleaseError(f"{rp}: proof of absence for document {doc} does not verify")
        if pairs is not None and (doc, item["content_hash"]) in pairs:
            raise ReleaseError(f"{release}: document {doc} is still present despite the receipt")
        inc = item.get("inclusion_before")
        if inc and not verify_inclusion(leaf_hash(doc, inc["content_hash"]), inc["index"], entry["documents_before"],
                                        inc["path"], entry["merkle_root_before"]):
            raise ReleaseError(f"{rp}: proof that document {doc} was in {entry['version_before']} does not verify")
    out = {"request": rid, "matched": entry["matched"], "proofs_verified": len(entry["removed"]),
           "signature": "verified", "ledger": "not found"}
    project = release.resolve().parent
    if has_ledger(project):
        led = Ledger(project)
        led.verify(key)
        entries = led.entries(check=False)
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

"""``forget``: apply the ledger to every release of a project, writing a new version of each affected
release and a receipt per request.

Versions are sibling folders in the project: ``corpus`` (v1, as built), ``corpus@v2``, ``corpus@v3``...
A new version hard-links every shard with no match and rewrites only the shards that hold matches; its
``manifest.json`` has ``version``, ``parent`` (path, version, Merkle root and sha256 of the parent's
manifest) and ``governance`` (ledger head, requests applied, documents removed). Older versions are
left untouched (they are what was published; the receipt proves the new head no longer holds the
documents); delete them or stop serving them as your policy says.

A receipt (``PROJECT/governance/receipts/<request>-<n>.json``) says, for one request: its ledger hash,
for every head release checked how many documents it matched (directly and as near-duplicates), the
Merkle roots before and after, and for every removed document a proof of absence against the new root
(plus its proof of inclusion in the old one).
"""
from __future__ import annotations

import bisect
import hashlib
import os
import shutil
import signal
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError, ReleaseError
from ..executors import Executor, LocalExecutor
from ..io.writer import file_sha256, link_or_copy, write_json
from ..progress import Progress
from ..merkle import MerkleTree, absence_proof
from ..paths import (complete_path, heads, leaves_of, manifest_path, project_releases, split_version,  # noqa: F401
                     stats_path, version_name)
from ..release import LEAF_ORDER, Release, leaf_list, read_leaves, write_leaves, write_signed_manifest
from ..runner import paused_gc
from ..stats import StepStats, Stats
from .apply import (GOV_STEP, Hits, Removed, SaltedHasher, find_hits, language_drops, leaves_of_file,
                    rewrite_file, shard_of, threads_for, write_trace)
from ..signing import ALGORITHM
from .ledger import Ledger, Request, now_iso
from .request import in_scope as request_in_scope
from .parts import forget_parts, receipt_parts

def in_scope(req: Request, release: Path, manifest: dict[str, Any]) -> bool:
    return request_in_scope(req.scope, release, manifest.get("name"))


def release_leaves(release: Path, rel: str) -> pa.Table:
    """The Merkle leaves of a data file (a ``leaf_table``): the build's leaves file when present,
    else from the text."""
    p = leaves_of(release, rel)
    return read_leaves(p) if p.exists() else leaves_of_file(release / rel)


def _trees(tables: list[pa.Table], gone: dict[int, list[str]]):
    """Both trees at once: over every shard's leaves, and over them without the leaves of the ids
    ``gone`` from shard k (``tables[k]``); the second is a filter of the first's sorted leaves, and
    it copies the first's nodes over the leaves before the first removed one."""
    t = pa.concat_tables([x.append_column("shard", pa.array(np.full(x.num_rows, k, np.int32)))
                          for k, x in enumerate(tables)]).sort_by(LEAF_ORDER)
    leaves = leaf_list(t["leaf"])
    pairs = list(zip(t["id"].to_pylist(), t["content_hash"].to_pylist()))
    before = MerkleTree(leaves)
    drop = np.zeros(t.num_rows, dtype=bool)
    shard = t["shard"].to_numpy()
    for k, ids in gone.items():
        drop |= (shard == k) & pc.is_in(t["id"], value_set=pa.array(ids, pa.string())).to_numpy(zero_copy_only=False)
    first = int(np.argmax(drop)) if drop.any() else len(leaves)
    keep = np.flatnonzero(~drop).tolist()
    after = MerkleTree([leaves[k] for k in keep], like=before, same=first)
    return before, pairs, after, [pairs[k] for k in keep]


def _without_ids(leaves: pa.Table, ids: list[str]) -> pa.Table:
    """A shard's leaves without those of the removed ids (a prediction: checked against the leaves
    the rewrite kept, which differ only where a shard holds one id twice)."""
    return leaves.filter(pc.invert(pc.is_in(leaves["id"], value_set=pa.array(ids, pa.string()))))


@dataclass
class Version:
    """The outcome of forget for one release lineage."""

    release: str
    before: Path
    after: Path | None
    root_before: str
    root_after: str
    docs_before: int
    docs_after: int
    removed: list[Removed]
    trees: tuple[Any, Any, list, list] | None = None   # (tree before, tree after, pairs before, pairs after)
    tmp: Path | None = None                            # where it is written before the rename
    parts: dict[str, Any] = field(default_factory=dict)  # what the removal changed in token shards ... (parts.py)


def new_version(src: Path, hits: Hits, requests: list[Request], ledger_head: str,
                executor: Executor, run: str | None = None) -> Version:
    """Write ``src@v(n+1)`` with the hit rows removed into a hidden folder beside it (``Version.tmp``,
    renamed into place by ``forget`` under its journal); returns what changed (with both Merkle trees)."""
    manifest = Release(src).manifest
    base, n = split_version(src.name)
    dst = src.parent / version_name(base, n + 1)
    if dst.exists():        # versions are immutable: never overwritten, whatever is in the folder
        raise ReleaseError(f"{dst}: already exists; a version is never overwritten (move it away to re-run)")
    tmp = src.parent / f".{dst.name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    outputs: dict[str, dict[str, Any]] = dict(manifest["outputs"])
    data_rels = [r for r in outputs if r.startswith("data/")]
    for rel in outputs:
        if rel not in hits:
            link_or_copy(src / rel, tmp / rel)
    old_leaves: dict[str, pa.Table] = {}
    for rel in sorted(data_rels):
        if file_sha256(src / rel) != outputs[rel]["sha256"]:      # leaves are only trusted for intact shards
            raise ReleaseError(f"{src}: shard {rel} does not match the manifest; run `thresher verify {src}`")
        old_leaves[rel] = release_leaves(src, rel)
    jobs = sorted(hits.items())
    # The shards are rewritten in threads (Parquet and zstd run without the GIL) while this thread
    # builds both Merkle trees: the new leaves are the old ones minus the hit documents, predicted
    # from the hits' ids and checked against what the rewrite really kept.
    old_switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)       # the rewrite threads get the GIL back quickly between C calls
    try:
        with ThreadPoolExecutor(max_workers=max(1, threads_for(executor))) as pool:
            futures = [pool.submit(rewrite_file, src / rel, tmp / rel, rel, h, old_leaves.get(rel)) for rel, h in jobs]
            gone_ids = {k: [x.id for x in hits[rel].values()] for k, rel in enumerate(data_rels) if rel in hits}
            t_before, before_pairs, t_after, after_pairs = _trees([old_leaves[r] for r in data_rels], gone_ids)
            predicted = {rel: _without_ids(old_leaves[rel], [x.id for x in hits[rel].values()])
                         for rel in data_rels if rel in hits}
            with Progress(f"forget {src.name}: rewriting", total=len(futures), unit="files",
                          enabled=getattr(executor, "progress", None)) as bar:
                results = []
                for f in futures:
                    results.append(f.result())
                    bar.advance()
    finally:
        sys.setswitchinterval(old_switch)
    if t_before.root != manifest["merkle"]["root"]:
        raise ReleaseError(f"{src}: data does not match its manifest's Merkle root; run `thresher verify {src}`")
    removed: list[Removed] = []
    new_leaves: dict[str, pa.Table] = {}
    for (rel, _), (rows, sha, gone, leaves) in zip(jobs, results):
        outputs[rel] = {"rows": rows, "sha256": sha}
        removed.extend(gone)
        if rel.startswith("data/"):
            if not leaves.equals(predicted[rel]):      # duplicate ids in a shard: the prediction dropped another
                t_after = None
            new_leaves[rel] = leaves
    if t_after is None:
        t_after, after_pairs = _trees([new_leaves.get(r, old_leaves[r]) for r in data_rels], {})[:2]
    by_shard: dict[str, list[Removed]] = {}
    for r in removed:
        by_shard.setdefault(shard_of(r.file), []).append(r)
    for shard, rs in sorted(by_shard.items()):
        rel = f"excluded/{shard}-{GOV_STEP}-v{n + 1}.parquet"
        rows, sha = write_trace(tmp / rel, rs)
        outputs[rel] = {"rows": rows, "sha256": sha}
    for rel in sorted(data_rels):
        leaves = leaves_of(src, rel)
        if rel in new_leaves or not leaves.exists():
            write_leaves(leaves_of(tmp, rel), new_leaves.get(rel, old_leaves[rel]))
        else:           # an untouched shard keeps its leaves file
            link_or_copy(leaves, leaves_of(tmp, rel))
    removed_data = sum(1 for r in removed if r.file.startswith("data/"))
    parent_sha = hashlib.sha256(manifest_path(src).read_bytes()).hexdigest()
    new_manifest = dict(manifest)
    new_manifest.update({
        "version": n + 1,
        "outputs": dict(sorted(outputs.items())),
        "documents": len(after_pairs),
        "excluded_documents": sum(v["rows"] for k, v in outputs.items() if k.startswith("excluded/")),
        "merkle": {**manifest["merkle"], "root": t_after.root},
        "parent": {"path": f"../{src.name}", "version": n, "merkle_root": manifest["merkle"]["root"],
                   "manifest_sha256": parent_sha},
        "governance": {"ledger_head": ledger_head, "requests": sorted({r for x in removed for r in x.why}),
                       "removed_documents": len(removed), "removed_from_data": removed_data, "run": run},
    })
    _write_stats(src, tmp, removed, len(before_pairs), len(after_pairs))
    parts = forget_parts(src, tmp, removed, new_manifest)      # e.g. rewrites the token shards holding them
    write_signed_manifest(tmp, new_manifest)
    complete_path(tmp).write_text(t_after.root)
    return Version(base, src, dst, t_before.root, t_after.root, len(before_pairs), len(after_pairs), removed,
                   (t_before, t_after, before_pairs, after_pairs), tmp, parts)


def _write_stats(src: Path, dst: Path, removed: list[Removed], before: int, after: int) -> None:
    stats = Release(src).stats if stats_path(src).exists() else Stats()
    st = StepStats(docs_in=before, docs_out=after)
    data = [r for r in removed if r.file.startswith("data/")]
    st.bytes_in = sum(v["bytes"] for v in stats.languages.values()) if stats.languages else 0
    st.bytes_out = st.bytes_in - sum(r.nbytes for r in data)
    st.drops = Counter(r.reason for r in data)
    st.counters = Counter({"removed_from_excluded": len(removed) - len(data)})
    stats.steps[GOV_STEP] = stats.steps[GOV_STEP] + st if GOV_STEP in stats.steps else st
    for lang, c in language_drops(removed).items():
        if lang in stats.languages:
            stats.languages[lang] = stats.languages[lang] - c
    write_json(stats_path(dst), stats.to_json(), sort_keys=False)     # steps stay in pipeline order


def _proofs(v: Version, removed: list[Removed]) -> list[dict[str, Any]]:
    t_before, t_after, before, after = v.trees
    out = []
    seen: set[tuple[str, str]] = set()
    memo: dict[int, dict] = {}
    for r in sorted(removed, key=lambda r: (r.id, r.content_hash, r.file)):
        if (r.id, r.content_hash) in seen:
            continue
        seen.add((r.id, r.content_hash))
        # per (id, content hash): a copy that shares the id but not the text may stay
        item: dict[str, Any] = {"id": r.id, "from": r.file, "content_hash": r.content_hash,
                                "absence": absence_proof(t_after, after, r.id, memo, r.content_hash)}
        k = bisect.bisect_left(before, (r.id, r.content_hash))
        if k < len(before) and before[k] == (r.id, r.content_hash):
            item["inclusion_before"] = {"index": k, "content_hash": before[k][1], "path": t_before.proof(k)}
        out.append(item)
    return out


JOURNAL = "forget-journal.json"
KILL_ENV = "THRESHER_TEST_KILL_AT"      # tests: SIGKILL this process at the named checkpoint


def checkpoint(name: str) -> None:
    """A named point of the forget transaction; the crash tests kill the process at each one."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _write_journal(path: Path, journal: dict[str, Any]) -> None:
    write_json(path, journal)


def _recover(project: Path, ledger: Ledger) -> dict[str, Any] | None:
    """Finish what an interrupted forget left: if the ledger recorded its run, it completed (the
    journal goes, and its result is returned); otherwise every version and receipt it wrote is removed
    (rolled back) and None is returned, so the caller applies the ledger afresh with true counts."""
    path = ledger.dir / JOURNAL
    if not path.exists():
        return None
    j = orjson.loads(path.read_bytes())
    done = any(e.get("type") == "applied" and e.get("run") == j["run"] for e in ledger.entries())
    if done:
        path.unlink()
        return {"versions": [project / v["after"] for v in j["versions"]],
                "receipts": [ledger.dir / "receipts" / r for r in j["receipts"]], "unchanged": [],
                "removed": {v["release"]: v["removed"] for v in j["versions"]}, "recovered": "completed"}
    for v in j["versions"]:
        for name in (v["tmp"], v["after"]):
            target = project / name
            if target.exists():
                m = manifest_path(target)
                if name == v["after"] and m.is_file() and \
                        orjson.loads(m.read_bytes()).get("governance", {}).get("run") != j["run"]:
                    continue            # not the folder this run wrote: never delete a release by name alone
                shutil.rmtree(target)
    for r in j["receipts"]:
        (ledger.dir / "receipts" / r).unlink(missing_ok=True)
    path.unlink()
    return None


def forget(project_dir: str | Path, workers: int | None = None, progress: bool | None = False,
           executor: Executor | None = None) -> dict[str, Any]:
    """Apply every approved request of the project's ledger to the newest version of each release.

    A transaction: a journal (``governance/forget-journal.json``) names every folder and receipt before
    it is written, and the ledger's ``applied`` event (which names the run) commits it; a re-run after
    a crash completes or rolls back the interrupted run first (``_recover``).

    Returns ``{"versions": [new version paths], "receipts": [receipt paths], "unchanged": [...]}``
    (``rolled_back``: True when an interrupted run was undone first).
    """
    project = Path(project_dir)
    ledger = Ledger(project)
    if not ledger.path.exists():
        raise InputError(f"{project}: no removal requests (file one with `thresher request add {project} ...`)")
    with ledger.locked("forget.lock"):          # one forget at a time per project
        interrupted = (ledger.dir / JOURNAL).exists()
        recovered = _recover(project, ledger) if interrupted else None
        if recovered is not None:
            return recovered
        result = _forget(project, ledger, executor or LocalExecutor(workers, progress))
        result["rolled_back"] = interrupted
        return result


def _forget(project: Path, ledger: Ledger, executor: Executor) -> dict[str, Any]:
    requests = ledger.requests()
    head_hash = ledger.head
    hasher = SaltedHasher(ledger.salt)
    releases = heads(project)
    if not releases:
        raise InputError(f"{project}: holds no releases (folders with a manifest.json)")
    run = f"{now_iso()}-{os.getpid()}-{os.urandom(4).hex()}"
    journal_path = ledger.dir / JOURNAL
    journal: dict[str, Any] = {"run": run, "ledger_head": head_hash, "versions": [], "receipts": []}
    _write_journal(journal_path, journal)
    checkpoint("journal")
    versions: list[Version] = []
    for rel_dir in releases:
        manifest = Release(rel_dir).manifest
        reqs = [r for r in requests if r.removes and in_scope(r, rel_dir, manifest)]
        hits = find_hits(rel_dir, reqs, hasher, executor, layout=manifest.get("layout"))
        if hits:
            base, n = split_version(rel_dir.name)
            after = version_name(base, n + 1)
            journal["versions"].append({"release": base, "tmp": f".{after}.partial", "after": after, "removed": None})
            _write_journal(journal_path, journal)
            with paused_gc():
                v = new_version(rel_dir, hits, reqs, head_hash, executor, run)
            from .search import carry_index      # keep search working on the new version, minus the removed

            # into the hidden folder, before the rename: no temporary file is ever inside a published version
            carry_index(rel_dir, v.tmp, {r.id for r in v.removed}, v.root_after)
            checkpoint("version-written")
            journal["versions"][-1]["removed"] = len(v.removed)
            _write_journal(journal_path, journal)
            v.tmp.rename(v.after)
            checkpoint("version-renamed")
            versions.append(v)
        else:
            root = manifest["merkle"]["root"]
            versions.append(Version(split_version(rel_dir.name)[0], rel_dir, None, root, root,
                                    manifest["documents"], manifest["documents"], []))
    todo = [r for r in requests if r.status == "approved"
            or any(r.id in x.why for v in versions for x in v.removed)]
    names = _receipt_names(ledger, todo)
    journal["receipts"] = names
    _write_journal(journal_path, journal)
    with paused_gc():
        receipts = [_receipt(project, ledger, r, versions, head_hash, name) for r, name in zip(todo, names)]
    checkpoint("receipts-written")
    if todo:
        ledger.record_applied([r.id for r in todo], [v.after.name for v in versions if v.after],
                              [{"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
                               for p in receipts], run=run)
        checkpoint("ledger-recorded")
    journal_path.unlink()
    return {"versions": [v.after for v in versions if v.after], "receipts": receipts,
            "unchanged": [v.before for v in versions if v.after is None],
            "removed": {v.release: len(v.removed) for v in versions}}


def _receipt_names(ledger: Ledger, reqs: list[Request]) -> list[str]:
    d = ledger.dir / "receipts"
    out = []
    for r in reqs:
        k = 1
        while (d / f"{r.id}-{k}.json").exists():
            k += 1
        out.append(f"{r.id}-{k}.json")
    return out


def _receipt(project: Path, ledger: Ledger, req: Request, versions: list[Version], head: str, name: str) -> Path:
    entries = []
    for v in versions:
        mine = [r for r in v.removed if req.id in r.why]
        near = sum(1 for r in mine if r.why[req.id]["how"] == "near-duplicate")
        e: dict[str, Any] = {
            "release": v.release, "version_before": v.before.name,
            "version_after": v.after.name if v.after else v.before.name,
            "matched": len(mine), "matched_directly": len(mine) - near, "matched_near_duplicates": near,
            "merkle_root_before": v.root_before, "merkle_root_after": v.root_after,
            "documents_before": v.docs_before, "documents_after": v.docs_after,
            "removed": _proofs(v, mine) if mine else [],
        }
        if v.parts:
            e["parts"] = receipt_parts(v.parts, {r.id for r in mine})
        entries.append(e)
    body = {
        "receipt_format": 1, "issued_at": now_iso(),
        "request": {"id": req.id, "hash": req.hash, "matcher": req.matcher, "near_duplicates": req.near_duplicates,
                    "received_at": req.received_at, "scope": req.scope},
        "ledger_head": head,
        "merkle": {"algorithm": "rfc6962-sha256", "leaf": "sha256(0x00 || id || 0x00 || sha256(text) hex)",
                   "order": "leaves sorted by (id, content_hash), code-point order"},
        "releases": entries,
    }
    signer = ledger.signer
    body["signing"] = {"algorithm": ALGORITHM, "public_key": signer.public_key,
                       "signed": "receipt_sha256 (sha256 of the canonical JSON of every other field)"}
    body["receipt_sha256"] = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    body["signature"] = signer.sign(body["receipt_sha256"])
    d = ledger.dir / "receipts"
    d.mkdir(parents=True, exist_ok=True)
    path = d / name
    write_json(path, body)
    return path

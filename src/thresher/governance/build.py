"""The build hook: every new build applies the project's ledger as its final step, so a request filed
before a rebuild is honoured in it (BigCode's opt-out only reached the next version, months later).

``pipeline.run`` calls :func:`apply_ledger` after the last stage and before ``finalize``. With no
ledger in the release's parent folder it does nothing. Otherwise it rewrites, in place, the shard
files holding matches, writes the text-less trace ``excluded/part-NNNNN-governance.parquet`` (step
``governance``, reason = request ids), and updates the shards' completion markers (outputs, leaves,
stats) so ``finalize`` writes a manifest and Merkle root of what is really released. It is
deterministic and resumable: ``.thresher/governance.json`` records the ledger head it applied, and a
re-run with the same head does nothing.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..io.writer import write_json
from ..paths import data_path, excluded_dir, governance_state, leaves_path, marker_glob, marker_path, markers_dir, shard_name
from ..release import write_leaves
from ..stats import Stats, StepStats
from .apply import (GOV_STEP, Removed, SaltedHasher, find_hits, language_drops, rewrite_file, shard_of, thread_map,
                    threads_for, write_trace)
from .ledger import Ledger, has_ledger
from .request import in_scope

if TYPE_CHECKING:
    from ..config import PipelineConfig
    from ..executors import Executor
    from ..io import ShardSpec


def apply_ledger(out: Path, cfg: "PipelineConfig", shards: list["ShardSpec"], executor: "Executor",
                 final: int) -> dict[str, Any] | None:
    """Apply the ledger of ``out``'s project to a finished-but-not-finalised build whose last stage is
    ``final``; returns a summary."""
    project = out.resolve().parent
    if not has_ledger(project):
        return None
    t0 = time.perf_counter()
    ledger = Ledger(project)
    requests = ledger.requests()                      # verifies the hash chain: a broken ledger stops the build
    head = ledger.head
    state_path = governance_state(out)
    state = orjson.loads(state_path.read_bytes()) if state_path.exists() else {}
    if state.get("ledger_head") == head:
        return state
    reqs = [r for r in requests if r.removes and in_scope(r.scope, out, cfg.name)]   # approved only
    owner: dict[str, Path] = {}                        # output relpath -> the marker that lists it
    for p in sorted(markers_dir(out).glob(marker_glob())):
        for rel in orjson.loads(p.read_bytes())["outputs"]:
            owner[rel] = p
    files = sorted(r for r in owner if f"-{GOV_STEP}" not in r)
    files = [r for r in files if r.startswith("data/")] + [r for r in files if r.startswith("excluded/")]
    hits = find_hits(out, reqs, SaltedHasher(ledger.salt), executor, files)
    removed: list[Removed] = []
    rels = sorted(hits)
    done = thread_map(lambda rel: rewrite_file(out / rel, out / rel, rel, hits[rel]), rels, threads_for(executor))
    for rel, (rows, sha, gone, leaves) in zip(rels, done):
        removed.extend(gone)
        _update_marker(owner[rel], lambda m: m["outputs"].__setitem__(rel, {"rows": rows, "sha256": sha}))
        if rel.startswith("data/"):
            write_leaves(leaves_path(out, int(shard_of(rel).split("-")[1])), leaves)
    by_shard: dict[str, list[Removed]] = {}
    for r in removed:
        by_shard.setdefault(shard_of(r.file), []).append(r)
    seconds = time.perf_counter() - t0
    for s in shards:
        name = shard_name(s.index)
        rs = by_shard.get(name, [])
        marker = marker_path(out, final, s.index)
        data_rel = data_path(out, s.index).relative_to(out).as_posix()
        trace_rel = (excluded_dir(out) / f"{name}-{GOV_STEP}.parquet").relative_to(out).as_posix()

        def edit(m: dict[str, Any], rs: list[Removed] = rs, data_rel: str = data_rel, trace_rel: str = trace_rel) -> None:
            if rs:
                rows, sha = write_trace(out / trace_rel, rs, previous=out / trace_rel)
                m["outputs"][trace_rel] = {"rows": rows, "sha256": sha}
            stats = Stats.from_json(m["stats"])
            data_gone = [r for r in rs if r.file == data_rel]
            after = m["outputs"].get(data_rel, {}).get("rows", 0)
            prev = stats.steps.get(GOV_STEP)
            st = StepStats(docs_in=prev.docs_in if prev else after + len(data_gone), docs_out=after,
                           seconds=(prev.seconds if prev else 0.0) + seconds / max(len(shards), 1),
                           drops=(prev.drops if prev else Counter()) + Counter(r.reason for r in data_gone),
                           counters=(prev.counters if prev else Counter())
                           + Counter({"removed_from_excluded": len(rs) - len(data_gone)}))
            nbytes = sum(r.nbytes for r in data_gone)
            st.bytes_in = prev.bytes_in if prev else sum(c["bytes"] for c in stats.languages.values()) + nbytes
            st.bytes_out = st.bytes_in - nbytes if not prev else prev.bytes_out - nbytes
            stats.steps[GOV_STEP] = st
            for lang, c in language_drops(data_gone).items():
                if lang in stats.languages:
                    stats.languages[lang] = stats.languages[lang] - c
            m["stats"] = stats.to_json()

        _update_marker(marker, edit)
    summary = {"ledger_head": head, "requests": sorted(r.id for r in reqs),
               "removed_documents": state.get("removed_documents", 0) + len(removed)}
    write_json(state_path, summary)
    return summary


def _update_marker(path: Path, fn) -> None:
    m = orjson.loads(path.read_bytes())
    fn(m)
    write_json(path, m, sort_keys=False)        # the steps stay in pipeline order (stats.json is built from it)

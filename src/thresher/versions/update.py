"""``thresher update RELEASE new.yaml``: add new inputs to a released corpus without rebuilding it.

1. The project's removal ledger is applied first (``forget``), so a request filed before the update
   reaches the version the update starts from (and the new documents: every build applies it).
2. The pipeline of ``new.yaml`` runs on the new inputs only, in a hidden staging folder beside the
   release (``.NAME@vN+1.update``). Its dedup steps deduplicate the new documents against each other
   and, through ``paths.update_state``, against the release's dedup index (``dedup/index.py``): a new
   document equal or near to a kept old one is excluded with ``duplicate_of`` naming the old document
   (the index records which version added it); the old version is never rewritten.
3. The sibling version ``NAME@vN+1`` is assembled in ``.NAME@vN+1.partial`` and renamed into place:
   every file of the old version is a hard link, the new shards follow the old ones
   (``part-(K+i)``), stats are the sum, the data-measurement sketches are the old ones plus the new
   (they merge by addition: the card measures every document, none twice), the manifest names its
   parent (path, version, Merkle root, sha256 of its manifest), has a new Merkle root over all
   documents, and is signed; the dedup index is the old one extended by the new kept documents.

The new inputs are small next to the release, so they are planned into at least one shard per worker
(``_spread``): with the build's shard size, 10% of a corpus is one or two shards and one worker would do
the update's per-document work while the others wait.

An update whose new documents are all dropped (duplicates of old ones, filters, removal requests) adds
nothing: no version is written, and the report says why.
"""
from __future__ import annotations

import hashlib
import shutil
import time
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from ..config import PipelineConfig, load_config
from ..errors import ReleaseError
from ..executors import LocalExecutor
from ..governance.forget import forget, heads, release_leaves, split_version
from ..governance.ledger import Ledger, has_ledger
from ..io import plan_shards
from ..io.writer import link_or_copy, write_json
from ..merkle import root
from ..paths import (complete_path, dedup_index_dir, global_dir, leaves_dir, manifest_path, measurements_path,
                     part_index, shard_name, stats_path, update_state)
from ..pipeline import run
from ..release import Release, child_versions, sorted_leaf_batches, write_leaves, write_signed_manifest
from ..stats import Stats

DEDUP_STEPS = ("exact_dedup", "minhash_dedup")
CARRIED = ("data/", "excluded/", "clusters/")      # what a new version keeps of the old (tokens/ are not extended)
MIN_SHARD_MB = 1.0       # _spread: an update smaller than workers x this needs no spreading
DROP_KEYS = ("signature", "signing", "stats_sha256", "layout", "tokens")


def _renamed(rel: str, offset: int) -> str:
    """``data/part-00002.parquet`` -> ``data/part-(2+offset).parquet`` (any folder, any suffix)."""
    head, _, name = rel.rpartition("/")
    got = part_index(name)
    if got is None:
        raise ReleaseError(f"{rel}: not a shard file name")
    return f"{head}/{shard_name(got[0] + offset)}{got[1]}"


def _offset(parent: Path, outputs: dict[str, Any]) -> int:
    """One past the largest shard number the old version uses anywhere (data, excluded, clusters, leaves)."""
    names = [r.rpartition("/")[2] for r in outputs] + [p.name for p in leaves_dir(parent).glob("part-*")]
    return 1 + max((got[0] for got in map(part_index, names) if got), default=-1)


def _head(release: Path) -> Path:
    kids = child_versions(release)
    if kids:
        raise ReleaseError(f"{release}: has a newer version ({kids[-1].name}); update the newest version")
    return release


def _apply_ledger_first(release: Path, workers: int | None) -> tuple[Path, dict[str, Any] | None]:
    """Run ``forget`` when the project's ledger has requests to apply; the lineage's new head is returned."""
    project = release.resolve().parent
    if not has_ledger(project) or not any(r.removes for r in Ledger(project).requests()):
        return release, None
    result = forget(project, workers=workers)
    base = split_version(release.name)[0]
    head = [p for p in heads(project) if split_version(p.name)[0] == base]
    return (head[0] if head else release), {"versions": [p.name for p in result["versions"]],
                                            "removed": result.get("removed", {})}


def update(release: str | Path, new_yaml: str | Path, workers: int | None = None,
           progress: bool = False) -> dict[str, Any]:
    """Add the documents of ``new_yaml``'s inputs to ``release`` as its next version; returns the report
    (``version`` is None when nothing was added)."""
    t0 = time.perf_counter()
    release = Path(release)
    Release(release)                  # a release, with a readable manifest
    _head(release)
    parent, forgot = _apply_ledger_first(release, workers)
    pman = Release(parent).manifest
    base, n = split_version(parent.name)
    name = f"{base}@v{n + 1}"
    project = parent.resolve().parent
    if (project / name).exists():
        raise ReleaseError(f"{project / name}: already exists; a version is never overwritten")
    staging = project / f".{name}.update"
    state = update_state(staging)
    if staging.exists() and (not state.exists() or
                             orjson.loads(state.read_bytes()).get("parent") != str(parent.resolve())):
        shutil.rmtree(staging)          # left by an update of another version: start over
    cfg = load_config(new_yaml, output=str(staging))
    cfg = cfg.model_copy(update={"name": pman.get("name", cfg.name)})     # the ledger's scope is the release
    executor = LocalExecutor(workers, progress)
    planned = orjson.loads(state.read_bytes()).get("workers") if state.exists() else None
    spread = int(planned or executor.workers)       # a resumed update keeps the plan it started with
    cfg = _spread(cfg, spread)
    write_json(state, {"parent": str(parent.resolve()), "version": name, "workers": spread})
    run(cfg, workers=workers, progress=progress, executor=executor)
    sman = Release(staging).manifest
    stats = Release(staging).stats
    report: dict[str, Any] = {"parent": parent.name, "version": None, "read": int(stats.reader.get("docs_read", 0)),
                              "added": int(sman["documents"]), "excluded": _drops(stats),
                              "duplicates_of_parent": _dups_of_parent(staging), "forget": forgot,
                              "removed_by_ledger_from_new": (sman.get("governance") or {}).get("removed_documents", 0)}
    if sman["documents"] == 0:
        report["message"] = (f"nothing added: none of the {report['read']} new documents is kept "
                             f"({_why(report)}); {parent.name} stays the newest version")
        shutil.rmtree(staging)
        report["seconds"] = round(time.perf_counter() - t0, 3)
        return report
    dst = _assemble(parent, pman, staging, sman, name, report)
    shutil.rmtree(staging)
    report["version"] = dst.name
    report["merkle_root"] = Release(dst).manifest["merkle"]["root"]
    report["documents"] = Release(dst).manifest["documents"]
    report["message"] = f"{dst.name}: {report['added']} documents added to {parent.name} ({_why(report)})"
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report


def _spread(cfg: PipelineConfig, workers: int) -> PipelineConfig:
    """``cfg`` with each input's ``shard_mb`` lowered (never raised, never below ``MIN_SHARD_MB``) to
    the new inputs' size over ``workers``, so they are planned into at least one shard per worker of
    about equal size. More byte ranges of a file keep its documents in order: keep-first dedup
    decides the same."""
    if workers <= 1:
        return cfg
    files = {Path(f) for s in plan_shards(cfg) for f in s.files}
    total = sum(f.stat().st_size for f in files if f.is_file())      # input files (a git folder: no size)
    step_mb = max(MIN_SHARD_MB, -(-total // workers) / 2**20)
    if not total or all(i.shard_mb <= step_mb for i in cfg.inputs()):
        return cfg
    inputs = [i.model_copy(update={"shard_mb": min(i.shard_mb, step_mb)}) for i in cfg.inputs()]
    return cfg.model_copy(update={"input": inputs if isinstance(cfg.input, list) else inputs[0]})


def _drops(stats: Stats) -> dict[str, dict[str, int]]:
    return {k: dict(v.drops) for k, v in stats.steps.items() if v.drops}


def _dups_of_parent(staging: Path) -> dict[str, int]:
    out = {}
    for f in sorted(global_dir(staging).glob("*/fit.json")):
        info = orjson.loads(f.read_bytes()).get("index") or {}
        if "duplicates_of_parent" in info:
            out[f.parent.name] = int(info["duplicates_of_parent"])
    return out


def _why(report: dict[str, Any]) -> str:
    dup = sum(report["duplicates_of_parent"].values())
    dedup = sum(sum(v.values()) for k, v in report["excluded"].items() if k.split("#")[0] in DEDUP_STEPS)
    other = sum(sum(v.values()) for v in report["excluded"].values()) - dedup
    return (f"{dup} duplicates of documents already released, {dedup - dup} duplicates among the new documents, "
            f"{other} dropped by other steps")


def _carry_measurements(parent: Path, staging: Path, tmp: Path, data_old: list[str],
                         new_data: list[tuple[str, str]]) -> None:
    """The data-measurement sketch of every data shard: the parent's (hard links) and the new shards'
    (renamed like them). Only when every shard has one: a card measuring part of a release would
    present it as the whole."""
    def sketch(release: Path, rel: str) -> Path:
        got = part_index(Path(rel).name)
        if got is None:
            raise ReleaseError(f"{rel}: not a shard file name")
        return measurements_path(release, got[0])

    pairs = [(sketch(parent, rel), sketch(tmp, rel)) for rel in data_old]
    pairs += [(sketch(staging, rel), sketch(tmp, dest)) for rel, dest in new_data]
    if pairs and all(src.is_file() for src, _ in pairs):
        for src, dst in pairs:
            link_or_copy(src, dst)


def _assemble(parent: Path, pman: dict[str, Any], staging: Path, sman: dict[str, Any], name: str,
              report: dict[str, Any]) -> Path:
    project = parent.resolve().parent
    tmp = project / f".{name}.partial"
    if tmp.exists():
        shutil.rmtree(tmp)
    outputs: dict[str, Any] = {}
    data_old = []
    for rel, v in pman["outputs"].items():
        if rel.startswith(CARRIED):
            link_or_copy(parent / rel, tmp / rel)
            outputs[rel] = v
            if rel.startswith("data/"):
                data_old.append(rel)
    offset = _offset(parent, pman["outputs"])
    new_data = []
    for rel, v in sman["outputs"].items():
        dest = _renamed(rel, offset)
        link_or_copy(staging / rel, tmp / dest)
        outputs[dest] = v
        if dest.startswith("data/"):
            new_data.append((rel, dest))
    leaves = []
    for rel in sorted(data_old):
        src, dst = leaves_dir(parent) / Path(rel).name, leaves_dir(tmp) / Path(rel).name
        if src.exists():
            link_or_copy(src, dst)
        else:
            write_leaves(dst, release_leaves(parent, rel))
        leaves.append(dst)
    for rel, dest in new_data:
        src = leaves_dir(staging) / Path(rel).name
        dst = leaves_dir(tmp) / Path(dest).name
        link_or_copy(src, dst)
        leaves.append(dst)
    _carry_measurements(parent, staging, tmp, data_old, new_data)
    for src_root in (dedup_index_dir(staging), dedup_index_dir(parent)):
        # the extended index (the parent's segments + the new one); a step the new pipeline lacks keeps its old one
        for label_dir in sorted(p for p in src_root.glob("*") if p.is_dir()):
            if src_root == dedup_index_dir(parent) and dedup_index_dir(tmp, label_dir.name).exists():
                continue
            for f in sorted(x for x in label_dir.rglob("*") if x.is_file()):
                link_or_copy(f, dedup_index_dir(tmp, label_dir.name) / f.relative_to(label_dir))
    stats = (Release(parent).stats if stats_path(parent).exists() else Stats()) + Release(staging).stats
    write_json(stats_path(tmp), stats.to_json(), sort_keys=False)
    merkle_root = root(chain.from_iterable(sorted_leaf_batches(sorted(leaves))))
    manifest = {k: v for k, v in pman.items() if k not in DROP_KEYS}
    parent_sha = hashlib.sha256(manifest_path(parent).read_bytes()).hexdigest()
    manifest.update({
        "version": split_version(name)[1],
        "inputs": list(pman.get("inputs", [])) + list(sman.get("inputs", [])),
        "outputs": dict(sorted(outputs.items())),
        "documents": int(pman["documents"]) + int(sman["documents"]),
        "excluded_documents": sum(v["rows"] for k, v in outputs.items() if k.startswith("excluded/")),
        "merkle": {**pman["merkle"], "root": merkle_root},
        "parent": {"path": f"../{parent.name}", "version": split_version(parent.name)[1],
                   "merkle_root": pman["merkle"]["root"], "manifest_sha256": parent_sha,
                   "documents": pman["documents"]},
        "update": {"config": sman.get("config"), "config_hash": sman.get("config_hash"),
                   "inputs": sman.get("inputs", []), "tools": sman.get("tools"),
                   "added_documents": int(sman["documents"]), "first_new_shard": offset,
                   "duplicates_of_parent": report["duplicates_of_parent"], "excluded": report["excluded"]},
    })
    if sman.get("governance"):
        manifest["update"]["governance"] = sman["governance"]
    write_signed_manifest(tmp, manifest)
    complete_path(tmp).parent.mkdir(parents=True, exist_ok=True)
    complete_path(tmp).write_text(merkle_root)
    dst = project / name
    tmp.rename(dst)
    return dst


__all__ = ["update"]

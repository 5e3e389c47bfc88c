"""Removals reach the token shards: the ``tokens`` release part (entry point ``thresher.release_parts``,
called by ``forget`` and ``verify``; see ``governance/parts.py``).

``forget`` finds the removed documents in ``tokens/index.parquet``, rewrites only the ``.bin``/``.idx``
pairs that held them (every other token file is hard-linked into the new version), renumbers those
shards' sequences in the index, and updates the manifest's ``tokens`` section. ``verify`` checks every
token file against its sha256, every pair against the index (sequence count and lengths, each
sequence ending with ``<|endoftext|>``), and that the index holds exactly the release's documents, so a
removed document cannot hide in the tokens.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ReleaseError
from ..io.writer import file_sha256, link_or_copy
from . import paths
from .indexed import IndexedDataset, IndexedWriter


def _group(rel: str) -> tuple[str, int] | None:
    """``tokens/train/part-00003.bin`` -> ("train", 3); None for other files."""
    parts = rel.split("/")
    if len(parts) == 3 and parts[1] in paths.SPLITS:
        return parts[1], paths.data_shard_number(parts[2])
    return None


def forget(src: Path, dst: Path, removed: list, manifest: dict[str, Any]) -> dict[str, Any] | None:
    sec = manifest.get("tokens")
    if not sec:
        return None
    index_rel = paths.rel(src, paths.index_file(src))
    if file_sha256(paths.index_file(src)) != sec["files"][index_rel]["sha256"]:
        raise ReleaseError(f"{src}: {index_rel} does not match the manifest; run `thresher verify {src}`")
    gone = sorted({r.id for r in removed if r.file.startswith("data/")})
    index = pq.read_table(paths.index_file(src))
    hit = pc.is_in(index["id"], value_set=pa.array(gone, pa.string())).to_numpy(zero_copy_only=False)
    split = index["split"].to_numpy(zero_copy_only=False)
    shard = index["shard"].to_numpy()
    seq = index["seq"].to_numpy().copy()
    hit_rows = np.flatnonzero(hit)
    groups = sorted({(str(split[k]), int(shard[k])) for k in hit_rows})
    report: dict[str, Any] = {"files": [], "removed": {}}
    for k in hit_rows:
        report["removed"].setdefault(str(index["id"][k]), []).append(
            {"split": str(split[k]), "shard": int(shard[k]), "seq": int(seq[k]), "n_tokens": int(index["n_tokens"][k])})
    for g_split, g_shard in groups:
        in_group = (split == g_split) & (shard == g_shard)
        drop = np.sort(seq[in_group & hit])
        seq[in_group] -= np.searchsorted(drop, seq[in_group])        # later sequences move up
        ds = IndexedDataset(paths.shard_prefix(src, g_split, g_shard))
        keep = np.setdiff1d(np.arange(len(ds)), drop)
        prefix = paths.shard_prefix(dst, g_split, g_shard)
        prefix.parent.mkdir(parents=True, exist_ok=True)
        with IndexedWriter(prefix, ds.dtype) as w:
            for i in keep:
                w.add(ds[int(i)])
        for f_src, f_dst in zip(paths.shard_files(src, g_split, g_shard), paths.shard_files(dst, g_split, g_shard)):
            rel = paths.rel(dst, f_dst)
            sec["files"][rel] = {"bytes": f_dst.stat().st_size, "sha256": file_sha256(f_dst)}
            report["files"].append({"path": rel, "sha256_before": file_sha256(f_src),
                                    "sha256_after": sec["files"][rel]["sha256"], "sequences_removed": int(drop.size)})
    changed = {f["path"] for f in report["files"]}
    for rel in sec["files"]:
        if rel != index_rel and rel not in changed:
            link_or_copy(src / rel, dst / rel)
    link_or_copy(paths.tokenizer_file(src), paths.tokenizer_file(dst))
    kept = index.set_column(index.schema.get_field_index("seq"), "seq", pa.array(seq, pa.int64())).filter(pa.array(~hit))
    out = paths.index_file(dst)
    pq.write_table(kept, out.with_name(out.name + ".tmp"), compression="zstd")
    out.with_name(out.name + ".tmp").replace(out)
    sec["files"][index_rel] = {"bytes": out.stat().st_size, "sha256": file_sha256(out), "rows": kept.num_rows}
    report["files"].append({"path": index_rel, "sha256_before": file_sha256(paths.index_file(src)),
                            "sha256_after": sec["files"][index_rel]["sha256"], "rows_removed": int(hit_rows.size)})
    ntok = index["n_tokens"].to_numpy()
    for s in paths.SPLITS:
        sel = hit & (split == s)
        sec["documents"][s] -= int(sel.sum())
        sec["tokens"][s] -= int(ntok[sel].sum())
    lang_of = {r.id: r.language for r in removed if r.file.startswith("data/")}
    nbytes = index["n_bytes"].to_numpy()
    for k in hit_rows:
        c = Counter(sec["languages"].get(lang_of.get(str(index["id"][k]), "unknown"), {}))
        c.subtract({"docs": 1, "tokens": int(ntok[k]), "bytes": int(nbytes[k])})
        sec["languages"][lang_of.get(str(index["id"][k]), "unknown")] = dict(c)
    sec["languages"] = {k: v for k, v in sec["languages"].items() if v.get("docs", 0) > 0}
    manifest["tokens"] = sec
    return report


def verify(path: Path, manifest: dict[str, Any], ids: set[str], receipt_part: dict[str, Any] | None) -> dict[str, Any] | None:
    sec = manifest.get("tokens")
    if not sec:
        if paths.tokens_dir(path).exists():
            raise ReleaseError(f"{path}: tokens/ is not listed in the manifest")
        return None
    for rel, info in sorted(sec["files"].items()):
        f = path / rel
        if not f.is_file():
            raise ReleaseError(f"{path}: token file {rel} is missing")
        if file_sha256(f) != info["sha256"]:
            raise ReleaseError(f"{path}: token file {rel} does not match the manifest")
    listed = set(sec["files"])
    for f in sorted(paths.tokens_dir(path).rglob("*")):
        if f.is_file() and paths.rel(path, f) not in listed and f != paths.tokenizer_file(path):
            raise ReleaseError(f"{path}: token file {paths.rel(path, f)} is not listed in the manifest")
    if file_sha256(paths.tokenizer_file(path)) != sec["tokenizer"]["sha256"]:
        raise ReleaseError(f"{path}: tokens/tokenizer.json is not the tokenizer the manifest names")
    index = pq.read_table(paths.index_file(path))
    index_ids = set(index["id"].to_pylist())
    if index_ids != ids:
        extra = sorted(index_ids - ids)
        what = f"holds {extra[0]}, which the release does not" if extra else \
            f"lacks {sorted(ids - index_ids)[0]}, which the release holds"
        raise ReleaseError(f"{path}: tokens/index.parquet {what}")
    eod = sec["tokenizer"]["eod_id"]
    tokens = 0
    for rel in sorted(r for r in sec["files"] if r.endswith(".idx")):
        split, shard = _group(rel)
        rows = index.filter(pc.and_(pc.equal(index["split"], split), pc.equal(index["shard"], shard))).sort_by("seq")
        ds = IndexedDataset(paths.shard_prefix(path, split, shard))
        if rows["seq"].to_pylist() != list(range(len(ds))) or not np.array_equal(rows["n_tokens"].to_numpy(), ds.lengths):
            raise ReleaseError(f"{path}: {rel} does not match tokens/index.parquet")
        if len(ds) and not np.all(ds.tokens[(ds.pointers // ds.dtype.itemsize) + ds.lengths - 1] == eod):
            raise ReleaseError(f"{path}: {rel}: a sequence does not end with the end-of-document token")
        tokens += ds.num_tokens
    if receipt_part is not None:
        for f in receipt_part.get("files", []):
            if sec["files"].get(f["path"], {}).get("sha256") != f["sha256_after"]:
                raise ReleaseError(f"{path}: {f['path']} is not the token file the receipt names")
        for item in receipt_part.get("removed", []):
            if item["id"] in index_ids:
                raise ReleaseError(f"{path}: document {item['id']} is still in the token shards despite the receipt")
    return {"files": len(sec["files"]), "documents": index.num_rows, "tokens": tokens}

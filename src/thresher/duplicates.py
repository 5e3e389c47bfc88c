"""Duplicate document ids in a release, found and resolved before the manifest is written.

Ids given by the input (a JSONL ``id`` field, a Parquet column) may repeat; two kept documents with one
id would make ``why`` ambiguous and a removal receipt wrong. The release's Merkle leaves files are
sorted by id, so a streamed merge of them finds every repeated id in bounded memory. Then, by
``output.duplicate_ids``: ``suffix`` renames the later copies ``id#2``, ``id#3`` ... (nothing lost),
``keep_first`` drops them and counts them, ``refuse`` stops the run naming the id. "First" is by shard
then row, so the answer does not depend on the worker count. Only the shards holding a repeated id are
rewritten (temp file + rename), with their leaves and completion markers.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .document import content_hash
from .errors import ReleaseError
from .io.writer import ShardWriter, write_json
from .release import leaf_table, sorted_tables, write_leaves
from .paths import data_path, leaves_path, marker_path

if TYPE_CHECKING:
    from .config import PipelineConfig
    from .io import ShardSpec


def repeated_ids(files: list[Path]) -> dict[str, int]:
    """Every id that occurs more than once over the sorted leaves files, with its count."""
    out: Counter = Counter()
    last = None
    for t in sorted_tables(files, ["id"]):
        ids = t["id"].combine_chunks()
        if not len(ids):
            continue
        if last is not None and ids[0].as_py() == last:
            out[last] += 1
        if len(ids) > 1:
            same = pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))
            for i in pc.indices_nonzero(same).to_pylist():
                out[ids[i + 1].as_py()] += 1
        last = ids[-1].as_py()
    return {k: v + 1 for k, v in out.items()}


def resolve(out: Path, cfg: "PipelineConfig", shards: list["ShardSpec"], final: int) -> None:
    """Apply ``output.duplicate_ids`` to the data files the last stage (``final``) wrote."""
    files = [leaves_path(out, s.index) for s in shards]
    dups = repeated_ids(files)
    if not dups:
        return
    policy = cfg.output.duplicate_ids
    if policy == "refuse":
        first = min(dups)
        raise ReleaseError(f"{out}: {len(dups)} document ids occur more than once (e.g. '{first}' {dups[first]} times); "
                           "make the input's ids unique or set output.duplicate_ids to suffix or keep_first")
    value_set = pa.array(sorted(dups), pa.string())
    seen: Counter = Counter()
    for s in shards:
        lp = leaves_path(out, s.index)
        if not pc.any(pc.is_in(pq.read_table(lp, columns=["id"])["id"], value_set=value_set)).as_py():
            continue
        _rewrite(out, cfg, final, s.index, set(dups), seen, policy)


def _rewrite(out: Path, cfg: "PipelineConfig", stage: int, index: int, dups: set[str], seen: Counter,
             policy: str) -> None:
    path = data_path(out, index)
    t = pq.read_table(path)
    ids = t["id"].to_pylist()
    keep, new_ids, changed = [], [], []
    for i, doc_id in enumerate(ids):
        if doc_id in dups:
            seen[doc_id] += 1
            if seen[doc_id] > 1:
                changed.append(doc_id)
                if policy == "keep_first":
                    continue
                doc_id = f"{doc_id}#{seen[doc_id]}"
        keep.append(i)
        new_ids.append(doc_id)
    if not changed:
        return
    dropped = t.take(pa.array(sorted(set(range(len(ids))) - set(keep)), pa.int64()))
    t = t.take(pa.array(keep, pa.int64()))
    t = t.set_column(t.schema.get_field_index("id"), "id", pa.array(new_ids, pa.string()))
    w = ShardWriter(path, compression=cfg.output.compression, row_group_rows=cfg.output.row_group_rows)
    try:
        w.write_table(t)
        rows, sha = w.close()
    except BaseException:
        w.abort()
        raise
    content = [content_hash(x) for x in t["text"].to_pylist()]
    write_leaves(leaves_path(out, index), leaf_table(new_ids, content))
    mp = marker_path(out, stage, index)
    m = orjson.loads(mp.read_bytes())
    m["outputs"][str(path.relative_to(out))] = {"rows": rows, "sha256": sha}
    reader = m["stats"].setdefault("reader", {})
    key = "skipped_duplicate_id" if policy == "keep_first" else "renamed_duplicate_id"
    reader[key] = reader.get(key, 0) + len(changed)
    m["stats"]["reader"] = dict(sorted(reader.items()))
    langs = m["stats"].get("languages", {})
    for meta, text in zip(dropped["meta"].to_pylist(), dropped["text"].to_pylist()):
        lang = str(orjson.loads(meta).get("language", "unknown"))
        if lang in langs:
            langs[lang]["docs"] -= 1
            langs[lang]["bytes"] -= len(text.encode("utf-8", "surrogatepass"))
    losses = m["stats"].setdefault("losses", [])
    losses.extend({"file": str(path.relative_to(out)), "offset": -1, "reason": key, "detail": f"id '{d}'"}
                  for d in changed[:100])
    write_json(mp, m, sort_keys=False)

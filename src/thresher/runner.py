"""The shard runner: one plain function of (shard, config, stage) that every executor calls.

It reads the shard (the input, or the previous stage's shard file), runs the stage's steps batch by
batch, streams kept documents to the stage's output and dropped ones to ``excluded/``, and only then
writes its completion marker (stats + output hashes). Outputs appear under their final names by
rename, so a crash mid-shard leaves nothing a re-run would trust. In a release ordered by source
(``layout.py``), shard *j* of the last stage reads the *j*-th key range of every file before it.
"""
from __future__ import annotations

import gc
import hashlib
import resource
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .config import PipelineConfig
from .document import Document, content_hash
from .io import ReaderCounts, ShardSpec, read_shard
from .io.writer import ShardWriter, drop_columns, json_text, stage_batches, utf8_buffer, write_json
from .public import public_data, public_excluded
from .release import leaf_table, write_leaves
from .measurements import measure_shard
from .paths import (WORK, excluded_path, excluded_stage_file, layout_path, leaves_path, marker_path,
                    shard_name, stage_dir, stage_file)
from .stats import Stats
from .steps.base import StepContext, columnar, step_label

BATCH = 1000


@dataclass(frozen=True)
class Stage:
    """A run of steps between two barriers. Stage 0 reads the inputs; the last writes ``data/``."""

    index: int
    first: int          # index of the stage's first step in the pipeline
    last: int           # one past its last step
    final: bool


def plan_stages(steps: list, by_source: bool = False) -> list[Stage]:
    cuts = [0] + [i for i, s in enumerate(steps) if getattr(s, "is_global", False) and i > 0] + [len(steps)]
    cuts = sorted(set(cuts))
    spans = list(zip(cuts, cuts[1:])) or [(0, 0)]
    if steps and getattr(steps[0], "is_global", False):
        spans.insert(0, (0, 0))    # a leading global step fits on shard files: stage 0 only writes them
    if by_source and len(spans) == 1:
        spans.append((len(steps), len(steps)))     # a last stage that only cuts the source ranges
    return [Stage(k, a, b, k == len(spans) - 1) for k, (a, b) in enumerate(spans)]


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a bulk pass creates millions of small objects (Documents,
    tuples of leaves) that form no cycles: each collection would walk all of them again (a tenth of
    a forget, several percent of a shard). Reference counting still frees everything."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _batches(it: Iterator[Document], n: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in it:
        batch.append(doc)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def utf8_len(text: str) -> int:
    # isascii() is O(1) on CPython's compact strings: most text never needs encoding to be measured
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _nbytes(docs: list[Document]) -> int:
    return sum(utf8_len(d.text) for d in docs)


Piece = tuple[int, int, int | None]      # (shard file, first row, end row or None): what a shard reads


def _input_batches(spec: ShardSpec, out: Path, stage: Stage, pieces: list[Piece],
                   reader_counts: Counter) -> Iterator[tuple[int, int, list[Document]]]:
    """(shard file, index of the batch's first row in it, Documents) for the stage's input."""
    if stage.index == 0:
        row = 0
        for batch in _batches(read_shard(spec, reader_counts), BATCH):
            yield spec.index, row, batch
            row += len(batch)
        return
    loads = orjson.loads
    for shard, row, rb in _piece_batches(out, stage, pieces):
        cols = [rb.column(k).to_pylist() for k in ("id", "text", "source", "meta")]
        yield shard, row, [Document(i, t, loads(s), loads(m)) for i, t, s, m in zip(*cols)]


def _piece_batches(out: Path, stage: Stage, pieces: list[Piece]) -> Iterator[tuple[int, int, pa.RecordBatch]]:
    """(shard file, index of the batch's first row in it, Arrow batch) of the previous stage's files."""
    for shard, lo, hi in pieces:
        row = lo
        for rb in stage_batches(stage_file(out, stage.index - 1, shard), rows=BATCH, start=lo, stop=hi):
            yield shard, row, rb
            row += rb.num_rows


class _Final:
    """What the final stage records of every kept document: its language and bytes (stats) and its
    Merkle leaf (id, sha256 of the text)."""

    def __init__(self) -> None:
        self.leaves: list[tuple[str, str]] = []
        self.docs: Counter = Counter()
        self.bytes: Counter = Counter()

    def add_docs(self, docs: list[Document]) -> None:
        for d in docs:
            lang = str(d.meta.get("language", "unknown"))
            self.docs[lang] += 1
            self.bytes[lang] += utf8_len(d.text)
            self.leaves.append((d.id, content_hash(d.text)))

    def add_table(self, t: pa.Table) -> None:
        """The same from Arrow columns: hashes the UTF-8 bytes in place, no Python strings."""
        buf, offs = utf8_buffer(t.column("text"))
        data, bounds = memoryview(buf), offs.tolist()
        sha = hashlib.sha256
        for i, (doc_id, meta) in enumerate(zip(t.column("id").to_pylist(), t.column("meta").to_pylist())):
            lang = orjson.loads(meta).get("language", "unknown") if '"language"' in meta else "unknown"
            a, b = bounds[i], bounds[i + 1]
            self.docs[str(lang)] += 1
            self.bytes[str(lang)] += b - a
            self.leaves.append((doc_id, sha(data[a:b]).hexdigest()))

    def save(self, out: Path, index: int) -> None:
        write_leaves(leaves_path(out, index), leaf_table([i for i, _ in self.leaves], [h for _, h in self.leaves]))


def _run_docs(spec: ShardSpec, out: Path, stage: Stage, pieces: list[Piece], steps: list, stats: Stats,
              reader_counts: Counter, kept_w: ShardWriter, drop_w: ShardWriter, final: _Final | None) -> None:
    """The general loop: Documents in batches through every step of the stage."""
    workdir = out / WORK / "global"
    for shard, row, batch in _input_batches(spec, out, stage, pieces, reader_counts):
        nbytes = _nbytes(batch) if steps else 0
        for step in steps:
            if not batch:
                break
            label = step_label(step)
            st = stats.step(label)
            st.docs_in += len(batch)
            st.bytes_in += nbytes
            ctx = StepContext(shard=shard, row=row, workdir=workdir / label)
            t0 = time.perf_counter()
            batch = step.process(batch, ctx)
            st.seconds += time.perf_counter() - t0
            st.docs_out += len(batch)
            nbytes = _nbytes(batch)
            st.bytes_out += nbytes
            for d in ctx.dropped:
                st.drops[d.drop.reason] += 1
            for counts in ctx.counters.values():
                st.counters.update(counts)
            drop_w.write(ctx.dropped)
        kept_w.write(batch)
        if final is not None:
            final.add_docs(batch)


def _run_rows(out: Path, stage: Stage, pieces: list[Piece], step: Any, stats: Stats, kept_w: ShardWriter,
              drop_w: ShardWriter, final: _Final | None) -> None:
    """A stage that is one columnar global step (dedup): its row decisions applied to Arrow batches
    of the previous stage's file. Only the rows it names are parsed; every other row, and every
    text, goes to the output as the bytes it came in (the release equals that of ``_run_docs``)."""
    label = step_label(step)
    st = stats.step(label)
    for shard, start, rb in _piece_batches(out, stage, pieces):
        t = pa.Table.from_batches([rb])
        n = t.num_rows
        lens = pc.binary_length(t.column("text")).to_numpy(zero_copy_only=False)
        ctx = StepContext(shard=shard, row=start, workdir=out / WORK / "global" / label)
        t0 = time.perf_counter()
        decided = step.decide_rows(start, t.column("id").to_pylist(), ctx)
        keep = np.ones(n, dtype=bool)
        drops = []
        if decided:
            metas = t.column("meta").to_pylist()
            for k in sorted(decided):
                extra, drop = decided[k]
                if extra:
                    metas[k] = json_text({**orjson.loads(metas[k]), **extra})
                if drop is not None:
                    keep[k] = False
                    drops.append((k, drop))
            t = t.set_column(t.schema.get_field_index("meta"), "meta", pa.array(metas, pa.string()))
        st.seconds += time.perf_counter() - t0
        st.docs_in += n
        st.bytes_in += int(lens.sum())
        st.docs_out += int(keep.sum())
        st.bytes_out += int(lens[keep].sum())
        for counts in ctx.counters.values():
            st.counters.update(counts)
        if drops:
            for _, d in drops:
                st.drops[d.reason] += 1
            gone = t.take(pa.array([k for k, _ in drops], pa.int64()))
            for name, col in drop_columns([(step.name, d) for _, d in drops]).items():
                gone = gone.append_column(drop_w.schema.field(name), pa.array(col, drop_w.schema.field(name).type))
            drop_w.write_table(gone)
            t = t.filter(pa.array(keep))
        kept_w.write_table(t)
        if final is not None:
            final.add_table(t)


def run_shard(spec: ShardSpec, cfg: PipelineConfig, stage: Stage) -> dict[str, Any]:
    """Process one shard for one stage; returns the marker (stats and outputs) it wrote."""
    out = cfg.output_dir()
    marker = marker_path(out, stage.index, spec.index)
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    steps = cfg.build_steps()[stage.first:stage.last]
    for s in steps:
        if getattr(s, "is_global", False):
            s.load(out / WORK / "global" / step_label(s))
    stats = Stats(shards=1 if stage.final else 0)
    for s in steps:                # every shard lists every step, in pipeline order, even with no input
        stats.step(step_label(s))
    reader_counts = ReaderCounts()
    by_source = cfg.output.order == "source"
    layout = orjson.loads(layout_path(out).read_bytes()) if by_source and stage.final else None
    pieces: list[Piece] = [(spec.index, 0, None)] if layout is None else _pieces(layout["cuts"]["data"], spec.index)
    opts = {"compression": cfg.output.compression, "row_group_rows": cfg.output.row_group_rows}
    data_path = out / "data" / f"{shard_name(spec.index)}.parquet" if stage.final else stage_file(out, stage.index, spec.index)
    kept_w = ShardWriter(data_path, stage=not stage.final, order=by_source, public=public_data, **opts)
    defer = by_source and not stage.final       # drops wait for the last stage to cut them into ranges
    drop_w = ShardWriter(excluded_stage_file(out, stage.index, spec.index) if defer else
                         excluded_path(out, stage.index, spec.index), excluded=True, stage=defer, order=defer,
                         public=public_excluded(cfg.output.excluded), **opts)
    final = _Final() if stage.final else None
    outputs: dict[str, dict[str, Any]] = {}
    try:
        with paused_gc():
            if stage.index > 0 and len(steps) == 1 and columnar(steps[0]):
                _run_rows(out, stage, pieces, steps[0], stats, kept_w, drop_w, final)
            else:
                _run_docs(spec, out, stage, pieces, steps, stats, reader_counts, kept_w, drop_w, final)
            kept_rows, kept_sha = kept_w.close()
            drop_rows, drop_sha = drop_w.close()
            if layout is not None:
                outputs.update(_cut_excluded(out, stage, layout, spec.index,
                                             {**opts, "public": public_excluded(cfg.output.excluded)}))
    except BaseException:
        kept_w.abort()
        drop_w.abort()
        raise
    stats.reader.update(reader_counts)
    stats.losses = reader_counts.losses
    if not defer:
        outputs[str(drop_w.path.relative_to(out))] = {"rows": drop_rows, "sha256": drop_sha}
    if final is not None:
        stats.languages = {k: Counter(docs=n, bytes=final.bytes[k]) for k, n in sorted(final.docs.items())}
        outputs[str(kept_w.path.relative_to(out))] = {"rows": kept_rows, "sha256": kept_sha}
        final.save(out, spec.index)
        measure_shard(cfg.card, out, spec.index, kept_w.path)   # issue 27: data measurements (own module)
    result = {"shard": spec.index, "stage": stage.index, "stats": stats.to_json(), "outputs": dict(sorted(outputs.items())),
              "docs": reader_counts.get("docs_read", 0), "bytes": reader_counts.get("bytes_read", 0),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    write_json(marker, result, sort_keys=False)     # keeps the steps in pipeline order
    return result


def _pieces(cuts: list[list[int]], j: int) -> list[Piece]:
    """Range ``j`` of every file of a group: (file, first row, end row), the empty ones left out."""
    return [(i, c[j], c[j + 1]) for i, c in enumerate(cuts) if c[j + 1] > c[j]]


def _cut_excluded(out: Path, stage: Stage, layout: dict[str, Any], j: int, opts: dict[str, Any]) -> dict[str, Any]:
    """The last stage of a release ordered by source writes range ``j`` of what each earlier stage
    dropped: ``excluded/part-j[-s].parquet``, as an input-ordered release would name them."""
    outputs = {}
    for s in range(stage.index):
        w = ShardWriter(excluded_path(out, s, j), excluded=True, **opts)
        try:
            for i, lo, hi in _pieces(layout["cuts"][f"excluded-{s}"], j):
                for rb in stage_batches(excluded_stage_file(out, s, i), rows=BATCH, start=lo, stop=hi):
                    w.write_table(pa.Table.from_batches([rb]))
            rows, sha = w.close()
        except BaseException:
            w.abort()
            raise
        outputs[str(w.path.relative_to(out))] = {"rows": rows, "sha256": sha}
    return outputs


def plan_layout(out: Path, stages: list[Stage], shards: list[ShardSpec]) -> None:
    """Before the last stage of a release ordered by source: its key ranges and, for every file of
    the stage before and every file of dropped documents, the rows of each range."""
    from .layout import KEY, plan

    path = layout_path(out)
    if path.exists():           # a resumed run keeps the ranges its finished shards were cut by
        return
    last = stages[-1].index

    def read_keys(p: Path) -> tuple[pa.ChunkedArray, np.ndarray]:
        t = pa.ipc.open_file(pa.memory_map(str(p))).read_all()
        return t[KEY], pc.binary_length(t["text"]).to_numpy(zero_copy_only=False).astype(np.int64)

    files = {"data": [stage_file(out, last - 1, s.index) for s in shards]}
    for k in range(last):
        files[f"excluded-{k}"] = [excluded_stage_file(out, k, s.index) for s in shards]
    write_json(path, plan(files, len(shards), read_keys))

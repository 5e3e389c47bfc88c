"""The shard runner: one plain function of (shard, config, stage) that every executor calls.

A ``Stage`` is a run of steps between two barriers. For one shard it owns its input (the pipeline's
input, or the previous stage's shard file), its two writers (kept documents to the stage's output,
dropped ones to ``excluded/``) and one stats recorder. Batch by batch, the input goes through the
steps, and only when everything is written does the stage write its completion marker (stats +
output hashes). Outputs appear under their final names by rename, so a crash mid-shard leaves nothing
a re-run would trust. In a release ordered by source (``layout.py``), shard *j* of the last stage
reads the *j*-th key range of every file before it, and cuts the earlier stages' drops the same way.
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

from . import plugins
from .compiled import JitClock
from .config import PipelineConfig
from .document import Document, content_hash
from .io import ReaderCounts, ShardSpec, read_shard
from .io.writer import ShardWriter, drop_columns, json_text, stage_batches, utf8_buffer, write_json
from .paths import (data_path, excluded_path, excluded_stage_file, global_dir, layout_path, leaves_path, marker_path,
                    stage_file)
from .public import public_data, public_excluded
from .release import leaf_table, write_leaves
from .measurements import ShardMeasure, shard_measure, write_measurements
from .stats import Stats
from .steps.base import Step, StepContext, columnar, step_label

BATCH = 1000
Piece = tuple[int, int, int | None]      # (shard file, first row, end row or None): what a shard reads


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


def utf8_len(text: str) -> int:
    # isascii() is O(1) on CPython's compact strings: most text never needs encoding to be measured
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _nbytes(docs: list[Document]) -> int:
    return sum(utf8_len(d.text) for d in docs)


class Recorder:
    """The one stats recorder of a stage on a shard: per-step counts (whichever way a step ran) and,
    in the final stage, what every kept document adds to the release: its language and bytes (stats),
    its Merkle leaf (id, sha256 of the text) and its data measurements (``measure``, issue 27)."""

    def __init__(self, labels: list[str], final: bool, reader: Counter, measure: ShardMeasure | None = None):
        self.stats = Stats(shards=1 if final else 0)
        for label in labels:        # every shard lists every step, in pipeline order, even with no input
            self.stats.step(label)
        self.final, self.reader, self.measure = final, reader, measure
        self.leaves: list[tuple[str, str]] = []
        self.docs: Counter = Counter()
        self.bytes: Counter = Counter()

    def step(self, label: str, docs: tuple[int, int], nbytes: tuple[int, int], seconds: float,
             drops: list[str], ctx: StepContext) -> None:
        st = self.stats.step(label)
        st.docs_in += docs[0]
        st.docs_out += docs[1]
        st.bytes_in += nbytes[0]
        st.bytes_out += nbytes[1]
        st.seconds += seconds
        for reason in drops:
            st.drops[reason] += 1
        for counts in ctx.counters.values():
            st.counters.update(counts)

    def kept_docs(self, docs: list[Document]) -> None:
        if not self.final:
            return
        langs = []
        for d in docs:
            lang = str(d.meta.get("language", "unknown"))
            langs.append(lang)
            self.docs[lang] += 1
            self.bytes[lang] += utf8_len(d.text)
            self.leaves.append((d.id, content_hash(d.text)))
        if self.measure is not None:
            self.measure.add([d.text for d in docs], langs)

    def kept_table(self, t: pa.Table) -> None:
        """The same from Arrow columns: hashes the UTF-8 bytes in place, no Python strings."""
        if not self.final:
            return
        buf, offs = utf8_buffer(t.column("text"))
        data, bounds = memoryview(buf), offs.tolist()
        sha = hashlib.sha256
        langs = []
        for i, (doc_id, meta) in enumerate(zip(t.column("id").to_pylist(), t.column("meta").to_pylist())):
            lang = str(orjson.loads(meta).get("language", "unknown")) if '"language"' in meta else "unknown"
            langs.append(lang)
            a, b = bounds[i], bounds[i + 1]
            self.docs[lang] += 1
            self.bytes[lang] += b - a
            self.leaves.append((doc_id, sha(data[a:b]).hexdigest()))
        if self.measure is not None:
            self.measure.add(t.column("text").to_pylist(), langs)

    def finish(self, out: Path, index: int) -> Stats:
        self.stats.reader.update(self.reader)
        self.stats.losses = self.reader.losses
        if self.final:
            self.stats.languages = {k: Counter(docs=n, bytes=self.bytes[k]) for k, n in sorted(self.docs.items())}
            write_leaves(leaves_path(out, index), leaf_table([i for i, _ in self.leaves], [h for _, h in self.leaves]))
        if self.measure is not None:
            write_measurements(out, index, self.measure)
        return self.stats


class StageRun:
    """One stage on one shard: its input pieces, its steps (with their labels), its writers and its
    recorder; ``run`` is the one execution path."""

    def __init__(self, spec: ShardSpec, cfg: PipelineConfig, stage: Stage):
        self.spec, self.stage, self.out = spec, stage, cfg.output_dir()
        self.jit0 = JitClock.snapshot()
        JitClock.install()             # once numba is loaded: compile time is reported apart from the steps'
        steps = cfg.build_steps()[stage.first:stage.last]
        self.steps = [(s, step_label(s)) for s in steps]
        for s, label in self.steps:
            if getattr(s, "is_global", False):
                s.load(global_dir(self.out, label))
        self.reader = ReaderCounts()
        self.recorder = Recorder([label for _, label in self.steps], stage.final, self.reader,
                                 shard_measure(cfg.card) if stage.final else None)
        by_source = cfg.output.order == "source"
        self.layout = orjson.loads(layout_path(self.out).read_bytes()) if by_source and stage.final else None
        self.pieces: list[Piece] = ([(spec.index, 0, None)] if self.layout is None
                                    else _pieces(self.layout["cuts"]["data"], spec.index))
        self.opts = {"compression": cfg.output.compression, "row_group_rows": cfg.output.row_group_rows}
        self.public_excluded = public_excluded(cfg.output.excluded)
        # in a release ordered by source, drops wait for the last stage to cut them into ranges
        self.defer = by_source and not stage.final
        kept = data_path(self.out, spec.index) if stage.final else stage_file(self.out, stage.index, spec.index)
        self.kept = ShardWriter(kept, stage=not stage.final, order=by_source, public=public_data, **self.opts)
        self.dropped = ShardWriter(excluded_stage_file(self.out, stage.index, spec.index) if self.defer else
                                   excluded_path(self.out, stage.index, spec.index), excluded=True, stage=self.defer,
                                   order=self.defer, public=self.public_excluded, **self.opts)

    # -- input ----------------------------------------------------------------------------------
    def tables(self) -> Iterator[tuple[int, int, pa.Table]]:
        """(shard file, index of the batch's first row in it, Arrow batch) of the previous stage's files."""
        for shard, lo, hi in self.pieces:
            row = lo
            for rb in stage_batches(stage_file(self.out, self.stage.index - 1, shard), rows=BATCH, start=lo, stop=hi):
                yield shard, row, pa.Table.from_batches([rb])
                row += rb.num_rows

    def documents(self) -> Iterator[tuple[int, int, list[Document]]]:
        """(shard file, index of the batch's first row in it, Documents) of the stage's input."""
        if self.stage.index == 0:
            row, batch = 0, []
            for doc in read_shard(self.spec, self.reader):
                batch.append(doc)
                if len(batch) >= BATCH:
                    yield self.spec.index, row, batch
                    row, batch = row + len(batch), []
            if batch:
                yield self.spec.index, row, batch
            return
        loads = orjson.loads
        for shard, row, t in self.tables():
            cols = [t.column(k).to_pylist() for k in ("id", "text", "source", "meta")]
            yield shard, row, [Document(i, x, loads(s), loads(m)) for i, x, s, m in zip(*cols)]

    # -- the steps ------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Every batch through the steps; kept rows to one writer, dropped ones to the other."""
        s = self.stage
        if s.index > 0 and len(self.steps) == 1 and columnar(self.steps[0][0]):
            step, label = self.steps[0]
            for shard, row, t in self.tables():
                self._rows(step, label, shard, row, t)
        else:
            for shard, row, docs in self.documents():
                self._docs(shard, row, docs)
        return self._finish()

    def _docs(self, shard: int, row: int, batch: list[Document]) -> None:
        nbytes = _nbytes(batch) if self.steps else 0
        for step, label in self.steps:
            if not batch:
                break
            ctx = StepContext(shard=shard, row=row, workdir=global_dir(self.out, label))
            n_in, b_in = len(batch), nbytes
            t0, j0 = time.perf_counter(), JitClock.total()
            batch = step.process(batch, ctx)
            seconds = time.perf_counter() - t0 - (JitClock.total() - j0)    # compiling is not the step's time
            nbytes = _nbytes(batch)
            self.recorder.step(label, (n_in, len(batch)), (b_in, nbytes), seconds,
                               [d.drop.reason for d in ctx.dropped], ctx)
            self.dropped.write(ctx.dropped)
        self.kept.write(batch)
        self.recorder.kept_docs(batch)

    def _rows(self, step: Step, label: str, shard: int, start: int, t: pa.Table) -> None:
        """A columnar global step (dedup): its row decisions applied to an Arrow batch. Only the rows
        it names are parsed; every other row, and every text, goes out as the bytes it came in (the
        release equals that of the Document path)."""
        n = t.num_rows
        lens = pc.binary_length(t.column("text")).to_numpy(zero_copy_only=False)
        ctx = StepContext(shard=shard, row=start, workdir=global_dir(self.out, label))
        t0, j0 = time.perf_counter(), JitClock.total()
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
        seconds = time.perf_counter() - t0 - (JitClock.total() - j0)
        self.recorder.step(label, (n, int(keep.sum())), (int(lens.sum()), int(lens[keep].sum())), seconds,
                           [d.reason for _, d in drops], ctx)
        if drops:
            gone = t.take(pa.array([k for k, _ in drops], pa.int64()))
            schema = self.dropped.schema
            for name, col in drop_columns([(step.name, d) for _, d in drops]).items():
                gone = gone.append_column(schema.field(name), pa.array(col, schema.field(name).type))
            self.dropped.write_table(gone)
            t = t.filter(pa.array(keep))
        self.kept.write_table(t)
        self.recorder.kept_table(t)

    # -- the end --------------------------------------------------------------------------------
    def _finish(self) -> dict[str, Any]:
        out, index = self.out, self.spec.index
        kept_rows, kept_sha = self.kept.close()
        drop_rows, drop_sha = self.dropped.close()
        outputs: dict[str, dict[str, Any]] = {}
        if self.layout is not None:
            outputs.update(_cut_excluded(out, self.stage, self.layout, index,
                                         {**self.opts, "public": self.public_excluded}))
        if not self.defer:
            outputs[str(self.dropped.path.relative_to(out))] = {"rows": drop_rows, "sha256": drop_sha}
        if self.stage.final:
            outputs[str(self.kept.path.relative_to(out))] = {"rows": kept_rows, "sha256": kept_sha}
        stats = self.recorder.finish(out, index)
        stats.jit = Counter({k: v - self.jit0[k] for k, v in JitClock.snapshot().items() if v - self.jit0[k] > 0})
        return {"shard": index, "stage": self.stage.index, "stats": stats.to_json(),
                "outputs": dict(sorted(outputs.items())),
                "docs": self.reader.get("docs_read", 0), "bytes": self.reader.get("bytes_read", 0),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}

    def abort(self) -> None:
        self.kept.abort()
        self.dropped.abort()


def run_shard(spec: ShardSpec, cfg: PipelineConfig, stage: Stage) -> dict[str, Any]:
    """Process one shard for one stage; returns the marker (stats and outputs) it wrote."""
    out = cfg.output_dir()
    marker = marker_path(out, stage.index, spec.index)
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    plugins.restore(cfg.plugins)         # a spawned worker learns the planner's registrations
    work = StageRun(spec, cfg, stage)
    try:
        with paused_gc():
            result = work.run()
    except BaseException:
        work.abort()
        raise
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

"""The shard runner: one plain function of (shard, config, stage) that every executor calls.

It reads the shard (the input, or the previous stage's shard file), runs the stage's steps batch by
batch, streams kept documents to the stage's output and dropped ones to ``excluded/``, and only then
writes its completion marker (stats + output hashes). Outputs appear under their final names by
rename, so a crash mid-shard leaves nothing a re-run would trust.
"""
from __future__ import annotations

import resource
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from .config import PipelineConfig
from .document import Document, content_hash
from .io import ShardSpec, read_shard
from .io.writer import ShardWriter, write_json
from .stats import Stats
from .steps.base import StepContext, step_label

BATCH = 1000
WORK = ".thresher"


@dataclass(frozen=True)
class Stage:
    """A run of steps between two barriers. Stage 0 reads the inputs; the last writes ``data/``."""

    index: int
    first: int          # index of the stage's first step in the pipeline
    last: int           # one past its last step
    final: bool


def plan_stages(steps: list) -> list[Stage]:
    cuts = [0] + [i for i, s in enumerate(steps) if getattr(s, "is_global", False) and i > 0] + [len(steps)]
    cuts = sorted(set(cuts))
    spans = list(zip(cuts, cuts[1:])) or [(0, 0)]
    if steps and getattr(steps[0], "is_global", False):
        spans.insert(0, (0, 0))    # a leading global step fits on shard files: stage 0 only writes them
    return [Stage(k, a, b, k == len(spans) - 1) for k, (a, b) in enumerate(spans)]


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


def stage_dir(out: Path, stage: int) -> Path:
    return out / WORK / f"stage-{stage}"


def marker_path(out: Path, stage: int, index: int) -> Path:
    return out / WORK / "done" / f"s{stage}-{shard_name(index)}.json"


def leaves_path(out: Path, index: int) -> Path:
    return out / WORK / "leaves" / f"{shard_name(index)}.parquet"


def excluded_path(out: Path, stage: int, index: int) -> Path:
    suffix = "" if stage == 0 else f"-{stage}"
    return out / "excluded" / f"{shard_name(index)}{suffix}.parquet"


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


def _stage_input(spec: ShardSpec, out: Path, stage: Stage, reader_counts: Counter) -> Iterator[Document]:
    if stage.index == 0:
        yield from read_shard(spec, reader_counts)
        return
    prev = stage_dir(out, stage.index - 1) / f"{shard_name(spec.index)}.parquet"
    for batch in pq.ParquetFile(prev).iter_batches(batch_size=BATCH):
        for r in batch.to_pylist():
            yield Document(r["id"], r["text"], orjson.loads(r["source"]), orjson.loads(r["meta"]))


def run_shard(spec: ShardSpec, cfg: PipelineConfig, stage: Stage) -> dict[str, Any]:
    """Process one shard for one stage; returns the marker (stats and outputs) it wrote."""
    out = cfg.output_dir()
    marker = marker_path(out, stage.index, spec.index)
    if marker.exists():
        return orjson.loads(marker.read_bytes())
    steps = cfg.build_steps()[stage.first:stage.last]
    workdir = out / WORK / "global"
    for s in steps:
        if getattr(s, "is_global", False):
            s.load(workdir / step_label(s))
    stats = Stats(shards=1 if stage.final else 0)
    for s in steps:                # every shard lists every step, in pipeline order, even with no input
        stats.step(step_label(s))
    reader_counts: Counter = Counter()
    data_path = (out / "data" if stage.final else stage_dir(out, stage.index)) / f"{shard_name(spec.index)}.parquet"
    # stage files between barriers are read once and deleted: not worth compressing
    kept_w = ShardWriter(data_path, compression=cfg.output.compression if stage.final else "none",
                         row_group_rows=cfg.output.row_group_rows)
    drop_w = ShardWriter(excluded_path(out, stage.index, spec.index), excluded=True,
                         compression=cfg.output.compression, row_group_rows=cfg.output.row_group_rows)
    leaves: list[tuple[str, str]] = []
    lang_docs: Counter = Counter()
    lang_bytes: Counter = Counter()
    try:
        for batch in _batches(_stage_input(spec, out, stage, reader_counts), BATCH):
            nbytes = _nbytes(batch)
            for step in steps:
                if not batch:
                    break
                label = step_label(step)
                st = stats.step(label)
                st.docs_in += len(batch)
                st.bytes_in += nbytes
                ctx = StepContext(shard=spec.index, workdir=workdir / label)
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
            if stage.final:
                for d in batch:
                    lang = str(d.meta.get("language", "unknown"))
                    lang_docs[lang] += 1
                    lang_bytes[lang] += utf8_len(d.text)
                    leaves.append((d.id, content_hash(d.text)))
        kept_rows, kept_sha = kept_w.close()
        drop_rows, drop_sha = drop_w.close()
    except BaseException:
        kept_w.abort()
        drop_w.abort()
        raise
    stats.reader.update(reader_counts)
    stats.languages = {k: Counter(docs=n, bytes=lang_bytes[k]) for k, n in sorted(lang_docs.items())}
    outputs = {str(drop_w.path.relative_to(out)): {"rows": drop_rows, "sha256": drop_sha}}
    if stage.final:
        outputs[str(kept_w.path.relative_to(out))] = {"rows": kept_rows, "sha256": kept_sha}
        leaves.sort()
        lp = leaves_path(out, spec.index)
        lp.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"id": [a for a, _ in leaves], "content_hash": [b for _, b in leaves]}),
                       str(lp) + ".tmp")
        Path(str(lp) + ".tmp").replace(lp)
    result = {"shard": spec.index, "stage": stage.index, "stats": stats.to_json(), "outputs": outputs,
              "docs": reader_counts.get("docs_read", 0), "bytes": reader_counts.get("bytes_read", 0),
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    write_json(marker, result, sort_keys=False)     # keeps the steps in pipeline order
    return result

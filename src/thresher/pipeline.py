"""Running a pipeline: plan shards, run each stage over them (a barrier and ``fit`` between stages),
then finalise the release. Everything is resumable: finished shards and fitted stages are skipped."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import cast

import orjson

from . import plugins
from .compiled import JitClock
from .config import PipelineConfig, load_config
from .errors import ReleaseError
from .executors import Executor, forks, make_executor
from .io import ShardSpec, plan_shards
from .io.writer import write_json
from .duplicates import resolve as resolve_duplicate_ids
from .lock import LOCK_NAME, output_lock
from .paths import global_dir, global_done, is_work_dir, run_state, stage_dir, stage_file
from .release import child_versions, finalize, input_hash, is_release_or_run
from .runner import paused_gc, plan_layout, plan_stages, run_shard
from .steps.base import GlobalStep, Step, step_label
from .storage import publish, stage_config

log = logging.getLogger("thresher")


def _clear(out: Path) -> None:
    """--overwrite: delete the release but not the lock this run holds in it."""
    for p in out.iterdir():
        if is_work_dir(p):
            for q in p.iterdir():
                if q != out / LOCK_NAME:
                    shutil.rmtree(q) if q.is_dir() and not q.is_symlink() else q.unlink()
        else:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


def _check_inputs(out: Path, saved: dict) -> None:
    """A resumed run reads the inputs its plan hashed: refuse, naming the file, when one changed (its
    finished shards hold the old file's documents, the manifest would record the new one's hash)."""
    for path, h in saved.get("inputs", {}).items():
        if not Path(path).is_file():
            raise ReleaseError(f"{path}: input of the run in {out} is gone; "
                               "use --overwrite to start over")
        if input_hash(path) != h:
            raise ReleaseError(f"{path}: input changed since the run in {out} planned it; "
                               "use --overwrite to start over")


def _refuse_foreign(out: Path) -> None:
    if out.is_dir() and not run_state(out).exists() and any(not is_work_dir(p) for p in out.iterdir()):
        raise ReleaseError(f"{out}: output folder exists and is not a thresher run; use --overwrite or another path")


def _load_plan(out: Path, cfg: PipelineConfig, overwrite: bool) -> tuple[list[ShardSpec], dict[str, str]]:
    state = run_state(out)
    kids = child_versions(out)
    if kids:          # versions are immutable: a parent is what its children's receipts prove against
        raise ReleaseError(f"{out}: has a newer version ({kids[-1].name}) and is never rebuilt or overwritten; "
                           "write the build to another path")
    if overwrite and out.exists():
        if any(not is_work_dir(p) for p in out.iterdir()) and not is_release_or_run(out):
            raise ReleaseError(f"{out}: is not a thresher release; --overwrite only replaces a release")
        _clear(out)
    if state.exists():
        saved = orjson.loads(state.read_bytes())
        if saved["config_hash"] != cfg.config_hash():
            raise ReleaseError(f"{out}: holds a run of a different pipeline config; "
                               "use --overwrite or another output path")
        _check_inputs(out, saved)
        return [ShardSpec(**{**s, "files": tuple(s["files"])}) for s in saved["shards"]], saved.get("inputs", {})
    _refuse_foreign(out)
    shards = plan_shards(cfg)
    hashes = {f: input_hash(f) for f in sorted({f for s in shards for f in s.files})}
    write_json(state, {"config_hash": cfg.config_hash(), "shards": [s.__dict__ for s in shards], "inputs": hashes})
    return shards, hashes


class _ParentJit:
    """Compile/load seconds of kernels in this process, outside the shard runner (which counts its own)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def call(self, fn, *args):
        before = JitClock.snapshot()
        try:
            return fn(*args)
        finally:
            for k, v in JitClock.snapshot().items():
                if v > before[k]:
                    self.seconds[k] = self.seconds.get(k, 0.0) + v - before[k]

    def wrap(self, fn):
        return lambda: self.call(fn)


def _prepare(steps: list[Step]) -> None:
    for step in steps:
        step.prepare()


def run(cfg: PipelineConfig | str | Path, workers: int | None = None, progress: bool | None = None,
        overwrite: bool = False, executor: Executor | None = None) -> Path:
    """Run a pipeline (a config or a YAML path) and return the release folder."""
    config: PipelineConfig = cfg if isinstance(cfg, PipelineConfig) else load_config(cfg)
    config, remote = stage_config(config)   # storage.py: remote inputs pulled, a remote output run in its mirror
    out = config.output_dir()
    if not overwrite:
        _refuse_foreign(out)         # before the lock file is made in someone else's folder
    with output_lock(out):
        out = _run(config, out, workers, progress, overwrite, executor)
    publish(out, remote)                # storage.py: one put per file, the completion marker last
    return out


def _run(cfg: PipelineConfig, out: Path, workers: int | None, progress: bool | None, overwrite: bool,
         executor: Executor | None) -> Path:
    shards, hashes = _load_plan(out, cfg, overwrite)
    plugins.restore(cfg.plugins)
    cfg.plugins = plugins.registered()     # with the registrations made since the config was built
    executor = executor or make_executor(cfg.executor, workers, progress)    # executor: in the YAML, or local
    steps = cfg.build_steps()
    by_source = cfg.output.order == "source"
    stages = plan_stages(steps, by_source)
    JitClock.install()
    jit = _ParentJit()              # kernels compiled here (fits, set-up), reported apart from the steps
    for k, stage in enumerate(stages):
        first = steps[stage.first] if stage.first < stage.last else None
        if first is not None and first.is_global:
            label = step_label(first)
            done = global_done(out, label)
            if not done.exists():
                prev = [stage_file(out, stage.index - 1, s.index) for s in shards]
                jit.call(cast(GlobalStep, first).fit, prev, global_dir(out, label), executor)
                done.write_text("ok")
        if stage.final and by_source:
            plan_layout(out, stages, shards)
        after = stages[k + 1] if k + 1 < len(stages) else None
        # the next stage's set-up (Step.prepare), while this stage's forked workers run: they, the next
        # fit's and the next stage's inherit it; a stage that forks none leaves each step (and the fit) to
        # load what it uses when used (issue 21)
        ahead = steps[after.first:after.last] if after is not None and forks(executor, len(shards)) else []
        executor.map(run_shard, shards, cfg, stage, desc=f"{cfg.name} stage {stage.index + 1}/{len(stages)}",
                     meanwhile=jit.wrap(lambda: _prepare(ahead)) if ahead else None)
    from .governance.build import apply_ledger   # the project's removal requests, applied as the final step

    final = stages[-1].index
    apply_ledger(out, cfg, shards, executor, final)
    resolve_duplicate_ids(out, cfg, shards, final)
    with paused_gc():
        finalize(out, cfg, shards, len(stages), hashes, jit=jit.seconds)
    for stage in stages[:-1]:
        shutil.rmtree(stage_dir(out, stage.index), ignore_errors=True)
    return out

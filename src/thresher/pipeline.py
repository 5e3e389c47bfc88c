"""Running a pipeline: plan shards, run each stage over them (a barrier and ``fit`` between stages),
then finalise the release. Everything is resumable: finished shards and fitted stages are skipped."""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import orjson

from .config import PipelineConfig, load_config
from .errors import ReleaseError
from .executors import Executor
from .io import ShardSpec, plan_shards
from .io.writer import write_json
from .release import child_versions, finalize, is_release_or_run
from .runner import WORK, paused_gc, plan_layout, plan_stages, run_shard, stage_dir, stage_file
from .steps.base import step_label

log = logging.getLogger("thresher")


def _load_plan(out: Path, cfg: PipelineConfig, overwrite: bool) -> list[ShardSpec]:
    state = out / WORK / "run.json"
    kids = child_versions(out)
    if kids:          # versions are immutable: a parent is what its children's receipts prove against
        raise ReleaseError(f"{out}: has a newer version ({kids[-1].name}) and is never rebuilt or overwritten; "
                           "write the build to another path")
    if overwrite and out.exists():
        if any(out.iterdir()) and not is_release_or_run(out):
            raise ReleaseError(f"{out}: is not a thresher release; --overwrite only replaces a release")
        shutil.rmtree(out)
    if state.exists():
        saved = orjson.loads(state.read_bytes())
        if saved["config_hash"] != cfg.config_hash():
            raise ReleaseError(f"{out}: holds a run of a different pipeline config; "
                               "use --overwrite or another output path")
        return [ShardSpec(**{**s, "files": tuple(s["files"])}) for s in saved["shards"]]
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out}: output folder exists and is not a thresher run; use --overwrite or another path")
    shards = plan_shards(cfg)
    write_json(state, {"config_hash": cfg.config_hash(), "shards": [s.__dict__ for s in shards]})
    return shards


def run(cfg: PipelineConfig | str | Path, workers: int | None = None, progress: bool | None = None,
        overwrite: bool = False, executor: Executor | None = None) -> Path:
    """Run a pipeline (a config or a YAML path) and return the release folder."""
    if not isinstance(cfg, PipelineConfig):
        cfg = load_config(cfg)
    out = cfg.output_dir()
    shards = _load_plan(out, cfg, overwrite)
    executor = executor or Executor(workers, progress)
    steps = cfg.build_steps()
    by_source = cfg.output.order == "source"
    stages = plan_stages(steps, by_source)
    for k, stage in enumerate(stages):
        first = steps[stage.first] if stage.first < stage.last else None
        if first is not None and first.is_global:
            label = step_label(first)
            done = out / WORK / "global" / f"{label}.done"
            if not done.exists():
                prev = [stage_file(out, stage.index - 1, s.index) for s in shards]
                first.fit(prev, out / WORK / "global" / label, executor)
                done.write_text("ok")
        if stage.final and by_source:
            plan_layout(out, stages, shards)
        after = stages[k + 1] if k + 1 < len(stages) else None
        nxt = steps[after.first] if after is not None and after.first < after.last else None
        executor.map(run_shard, shards, cfg, stage, desc=f"{cfg.name} stage {stage.index + 1}/{len(stages)}",
                     meanwhile=nxt.prepare if nxt is not None and nxt.is_global else None)
    from .governance.build import apply_ledger   # the project's removal requests, applied as the final step

    apply_ledger(out, cfg, shards, executor)
    with paused_gc():
        finalize(out, cfg, shards)
    for stage in stages[:-1]:
        shutil.rmtree(stage_dir(out, stage.index), ignore_errors=True)
    return out

"""Where everything of a release lives on disk: the one home of the release layout.

::

    RELEASE/
      data/part-NNNNN.parquet            kept documents (shard i)
      excluded/part-NNNNN[-S].parquet    dropped documents (and by which stage S > 0)
      clusters/LABEL/part-NNNNN.parquet  duplicate clusters of a dedup step
      tokens/ ...                        token shards (thresher.tokens.paths)
      stats.json  manifest.json  card/
      .thresher/                         work state, never published
        run.json  layout.json  governance.json  complete
        stage-K/part-NNNNN.arrow         a non-final stage's output
        done/sK-part-NNNNN.json          completion markers
        leaves/part-NNNNN.parquet        Merkle leaves of a data shard
        global/LABEL/ (LABEL.done)       fit state of a global step

Every module that names one of these paths imports it from here.
"""
from __future__ import annotations

from pathlib import Path

WORK = ".thresher"
MANIFEST = "manifest.json"
STATS = "stats.json"


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


def work_dir(out: Path) -> Path:
    return Path(out) / WORK


def run_state(out: Path) -> Path:
    return work_dir(out) / "run.json"


def manifest_path(out: Path) -> Path:
    return Path(out) / MANIFEST


def data_path(out: Path, index: int) -> Path:
    return Path(out) / "data" / f"{shard_name(index)}.parquet"


def stage_dir(out: Path, stage: int) -> Path:
    return work_dir(out) / f"stage-{stage}"


def stage_file(out: Path, stage: int, index: int) -> Path:
    """The Arrow IPC file a non-final stage leaves for the next one (deleted once the run is final)."""
    return stage_dir(out, stage) / f"{shard_name(index)}.arrow"


def excluded_stage_file(out: Path, stage: int, index: int) -> Path:
    """Where a stage before the last puts its dropped documents in a release ordered by source (the
    last stage cuts them into the release's key ranges)."""
    return stage_dir(out, stage) / f"excluded-{shard_name(index)}.arrow"


def layout_path(out: Path) -> Path:
    return work_dir(out) / "layout.json"


def governance_state(out: Path) -> Path:
    return work_dir(out) / "governance.json"


def complete_path(out: Path) -> Path:
    return work_dir(out) / "complete"


def markers_dir(out: Path) -> Path:
    return work_dir(out) / "done"


def marker_path(out: Path, stage: int, index: int) -> Path:
    return markers_dir(out) / f"s{stage}-{shard_name(index)}.json"


def leaves_dir(out: Path) -> Path:
    return work_dir(out) / "leaves"


def leaves_path(out: Path, index: int) -> Path:
    return leaves_dir(out) / f"{shard_name(index)}.parquet"


def excluded_path(out: Path, stage: int, index: int) -> Path:
    suffix = "" if stage == 0 else f"-{stage}"
    return Path(out) / "excluded" / f"{shard_name(index)}{suffix}.parquet"


def global_dir(out: Path, label: str | None = None) -> Path:
    """The fit state of global steps (``label``: one step's folder)."""
    d = work_dir(out) / "global"
    return d / label if label else d


def global_done(out: Path, label: str) -> Path:
    return global_dir(out) / f"{label}.done"


def release_of(workdir: Path) -> Path:
    """The release a global step's fit folder (``RELEASE/.thresher/global/LABEL``) belongs to."""
    workdir = Path(workdir)
    return workdir.parent.parent.parent if workdir.parent.parent.name == WORK else workdir


def clusters_path(out: Path, label: str, index: int) -> Path:
    return Path(out) / "clusters" / label / f"{shard_name(index)}.parquet"


def measurements_path(out: Path, index: int) -> Path:
    """The data-measurement sketch of data shard ``index`` (thresher.measurements), merged by the card."""
    return work_dir(out) / "measure" / f"{shard_name(index)}.json.zst"

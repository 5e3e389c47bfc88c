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

import re
from pathlib import Path

WORK = ".thresher"
MANIFEST = "manifest.json"
STATS = "stats.json"
README = "README.md"       # the release folder's loader header (datasets.load_dataset(RELEASE)); the card is card/README.md
DATA = "data"
EXCLUDED = "excluded"
CLUSTERS = "clusters"
PUBLIC = (DATA, EXCLUDED, CLUSTERS, STATS, MANIFEST, "card", "custodian.pub")   # what publishing copies
_VERSION = re.compile(r"^(?P<base>.+?)@v(?P<n>\d+)$")


def shard_name(index: int) -> str:
    return f"part-{index:05d}"


def work_dir(out: Path) -> Path:
    return Path(out) / WORK


def run_state(out: Path) -> Path:
    return work_dir(out) / "run.json"


def manifest_path(out: Path) -> Path:
    return Path(out) / MANIFEST


def stats_path(out: Path) -> Path:
    return Path(out) / STATS


def readme_path(out: Path) -> Path:
    return Path(out) / README


def is_release(path: Path) -> bool:
    """A finished release: its manifest is written last."""
    return manifest_path(path).is_file()


def is_work_dir(path: Path) -> bool:
    return Path(path).name == WORK


def split_version(name: str) -> tuple[str, int]:
    """A release folder's lineage and version: ``corpus`` -> (corpus, 1), ``corpus@v3`` -> (corpus, 3)."""
    m = _VERSION.match(name)
    return (m.group("base"), int(m.group("n"))) if m else (name, 1)


def version_name(base: str, n: int) -> str:
    """The folder of version ``n`` (> 1) of lineage ``base``: ``corpus@v2``."""
    return f"{base}@v{n}"


def data_dir(out: Path) -> Path:
    return Path(out) / DATA


def data_path(out: Path, index: int) -> Path:
    return data_dir(out) / f"{shard_name(index)}.parquet"


def excluded_dir(out: Path) -> Path:
    return Path(out) / EXCLUDED


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


def marker_glob() -> str:
    """The run's shard markers inside ``markers_dir`` (``sK-part-NNNNN.json``)."""
    return "s*-part-*.json"


def marker_path(out: Path, stage: int, index: int) -> Path:
    return markers_dir(out) / f"s{stage}-{shard_name(index)}.json"


def leaves_dir(out: Path) -> Path:
    return work_dir(out) / "leaves"


def leaves_path(out: Path, index: int) -> Path:
    return leaves_dir(out) / f"{shard_name(index)}.parquet"


def leaves_of(out: Path, data_file: str | Path) -> Path:
    """The Merkle leaves of a data file (``data/part-NNNNN.parquet``), by its name."""
    return leaves_dir(out) / Path(data_file).name


def excluded_path(out: Path, stage: int, index: int) -> Path:
    suffix = "" if stage == 0 else f"-{stage}"
    return excluded_dir(out) / f"{shard_name(index)}{suffix}.parquet"


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


def clusters_dir(out: Path, label: str | None = None) -> Path:
    d = Path(out) / CLUSTERS
    return d / label if label else d


def clusters_path(out: Path, label: str, index: int) -> Path:
    return clusters_dir(out, label) / f"{shard_name(index)}.parquet"


def project_releases(project: Path) -> list[Path]:
    """Every finished release (any version) in a project folder: its sibling folders with a manifest."""
    return sorted(p for p in Path(project).iterdir() if not p.name.startswith(".") and is_release(p))


def heads(project: Path) -> list[Path]:
    """The newest version of every release lineage in the project."""
    best: dict[str, tuple[int, Path]] = {}
    for p in project_releases(project):
        base, n = split_version(p.name)
        if base not in best or n > best[base][0]:
            best[base] = (n, p)
    return [p for _, p in sorted(best.values(), key=lambda t: t[1].name)]


PUSHED = "pushed.json"


def pushed_path(out: Path) -> Path:
    """What thresher.storage uploaded from this local mirror of a remote release: (size, mtime) per file."""
    return work_dir(out) / PUSHED


# -- versions (issue 24): the dedup index kept with a release, and an update in progress ---------------
def dedup_index_dir(out: Path, label: str | None = None) -> Path:
    """The persistent dedup index of a release (``.thresher/dedup-index/LABEL/``): exact hashes and
    MinHash band keys of the documents its dedup steps kept, in sorted files; ``update`` extends it."""
    d = work_dir(out) / "dedup-index"
    return d / label if label else d


def update_state(out: Path) -> Path:
    """In the staging folder of ``thresher update``: which release the new documents are deduplicated
    against (read by the dedup steps' index hook)."""
    return work_dir(out) / "update.json"


def is_release_workdir(workdir: Path) -> bool:
    """A global step's fit folder inside a release (``RELEASE/.thresher/global/LABEL``)."""
    return Path(workdir).parent.parent.name == WORK


def part_index(name: str) -> tuple[int, str] | None:
    """``part-00012-1.parquet`` -> (12, ``-1.parquet``): a shard file's index and what follows it."""
    if not name.startswith("part-") or len(name) < 10 or not name[5:10].isdigit():
        return None
    return int(name[5:10]), name[10:]



def measurements_path(out: Path, index: int) -> Path:
    """The data-measurement sketch of data shard ``index`` (thresher.measurements), merged by the card."""
    return work_dir(out) / "measure" / f"{shard_name(index)}.json.zst"

"""Disk and memory a dedup run will need, per stage, for a given input size (``thresher dedup-plan``).

The model follows what the stages write and hold (see ``base.py``); its constants were measured on
the 200 MB benchmark corpus (``benchmarks/dedup_bench.py`` prints estimate and measurement side by
side). Per-worker memory of the keys stage depends on the shard size, not on the corpus size.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .buckets import ROWS_PER_TASK
from .shards import BATCH_ROWS

PROCESS_BASE = 170 * 2**20          # a worker with Python, pyarrow, numpy and numba loaded
BYTES_PER_SHINGLE = 6.5             # text bytes per word shingle (measured: prose ~6, code ~7)
ID_BYTES = 48                        # an id in the Arrow id file


@dataclass
class StagePlan:
    stage: str
    parallel: bool
    ram_bytes: int                  # per process (per worker when parallel)
    disk_bytes: int                 # written by this stage (kept until the fit finishes)
    note: str = ""


@dataclass
class Plan:
    input_bytes: int
    documents: int
    workers: int
    stages: list[StagePlan] = field(default_factory=list)

    @property
    def disk_bytes(self) -> int:
        """Peak disk of the fit: intermediates are removed only after the last fit stage."""
        return sum(s.disk_bytes for s in self.stages)

    @property
    def peak_ram_bytes(self) -> int:
        return max((s.ram_bytes * (self.workers if s.parallel else 1) for s in self.stages), default=0)

    def to_rows(self) -> list[tuple[str, str, str, str]]:
        return [(s.stage, ("x%d " % self.workers if s.parallel else "") + _fmt(s.ram_bytes), _fmt(s.disk_bytes), s.note)
                for s in self.stages]


def _fmt(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return str(n)


def estimate(input_bytes: float, avg_doc_bytes: float = 2000, workers: int = 2, shard_mb: float = 16,
             kind: str = "minhash", num_perm: int = 112, bands: int = 14, verify: bool = True,
             duplicate_fraction: float = 0.3) -> Plan:
    """Estimate each fit stage (and the filter stage) for ``input_bytes`` of text.

    ``duplicate_fraction``: share of documents that land in a bucket with another document (the
    benchmark corpus: 0.3); it sizes edges, cluster assignments and decisions.
    """
    n = max(1, int(input_bytes / max(1.0, avg_doc_bytes)))
    shard_bytes = shard_mb * 2**20
    shard_docs = max(1, int(shard_bytes / max(1.0, avg_doc_bytes)))
    shingles = input_bytes / BYTES_PER_SHINGLE
    b = bands if kind == "minhash" else 1
    plan = Plan(int(input_bytes), n, workers)

    batch_text = BATCH_ROWS * avg_doc_bytes
    batch_ram = batch_text * (1 + 2 * 8 / BYTES_PER_SHINGLE + 4 / BYTES_PER_SHINGLE) + BATCH_ROWS * num_perm * 8 \
        if kind == "minhash" else batch_text * 3
    per_doc_acc = b * 8 * 2 + 8 + ID_BYTES + (0 if verify or kind != "minhash" else num_perm * 8 + 8)
    keys_ram = PROCESS_BASE + batch_ram + shard_docs * per_doc_acc + 2 * shard_bytes
    keys_disk = n * (b * 12 + 8 + ID_BYTES + (8 if kind == "exact" else 0))
    if kind == "minhash":
        keys_disk += (shingles * 4 + n * 8) if verify else n * (num_perm * 8 + 8)
    plan.stages.append(StagePlan("keys", True, int(keys_ram), int(keys_disk),
                                 "signatures -> sorted band runs" if kind == "minhash" else "hashes -> sorted runs"))

    rows = min(n, ROWS_PER_TASK)
    store = (shingles * 4 + n * 8) if kind == "minhash" and verify else 0
    edges = duplicate_fraction * n * b * 20
    bucket_ram = PROCESS_BASE + rows * 48 + min(store, 64 * 2**20)
    plan.stages.append(StagePlan("buckets", True, int(bucket_ram), int(store + edges),
                                 "external merge per band slice" + ("; global shingle-set store" if store else "")))

    plan.stages.append(StagePlan("clusters", False, int(PROCESS_BASE + n * 28 + (1 << 20) * 40),
                                 int(duplicate_fraction * n * 32), "union-find over all documents (28 bytes each)"))
    plan.stages.append(StagePlan("decide", True, int(PROCESS_BASE + duplicate_fraction * shard_docs * 300),
                                 int(duplicate_fraction * n * 90), "decisions per shard + release clusters table"))
    plan.stages.append(StagePlan("filter", True, int(PROCESS_BASE + shard_bytes * 3), 0,
                                 "applies decisions while the next stage writes shards"))
    return plan


def parse_size(text: str) -> float:
    """'200MB', '1.5 GiB', '5e8' -> bytes."""
    t = text.strip().upper().replace(" ", "")
    units = {"TIB": 2**40, "GIB": 2**30, "MIB": 2**20, "KIB": 2**10, "TB": 1e12, "GB": 1e9, "MB": 1e6,
             "KB": 1e3, "T": 1e12, "G": 1e9, "M": 1e6, "K": 1e3, "B": 1}
    for u, f in units.items():
        if t.endswith(u):
            return float(t[: -len(u)]) * f
    return float(t)

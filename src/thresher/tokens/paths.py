"""Where token files live in a release: the one place that spells ``tokens/`` and its names.

    RELEASE/tokens/tokenizer.json                 the tokenizer the shards were packed with
    RELEASE/tokens/train/part-NNNNN.bin|.idx      one Megatron indexed dataset per data shard and split
    RELEASE/tokens/valid/part-NNNNN.bin|.idx
    RELEASE/tokens/index.parquet                  id, split, shard, seq, n_tokens, n_bytes
    RELEASE/tokens/fertility.png                  the tokenizer per language (UDHR), for the data card
    RELEASE/.thresher/tokens/done/part-NNNNN.json completion marker of one packed data shard
    RELEASE/.thresher/tokens/index/part-NNNNN.parquet  that shard's rows of the index

Shard numbers and names are the data shards' (``runner.shard_name``): ``data/part-00003.parquet``
packs into ``tokens/train/part-00003`` and ``tokens/valid/part-00003``.
"""
from __future__ import annotations

from pathlib import Path

from ..paths import WORK, shard_name

TOKENS = "tokens"
SPLITS = ("train", "valid")


def tokens_dir(release: Path) -> Path:
    return Path(release) / TOKENS


def tokenizer_file(release: Path) -> Path:
    return tokens_dir(release) / "tokenizer.json"


def index_file(release: Path) -> Path:
    return tokens_dir(release) / "index.parquet"


def fertility_figure(release: Path) -> Path:
    """The tokenizer's fertility and parity per language on the UDHR (the data card shows it)."""
    return tokens_dir(release) / "fertility.png"


def shard_prefix(release: Path, split: str, shard: int) -> Path:
    """``tokens/<split>/part-NNNNN`` (add ``.bin`` / ``.idx``)."""
    return tokens_dir(release) / split / shard_name(shard)


def shard_files(release: Path, split: str, shard: int) -> tuple[Path, Path]:
    p = shard_prefix(release, split, shard)
    return p.with_name(p.name + ".bin"), p.with_name(p.name + ".idx")


def rel(release: Path, path: Path) -> str:
    """A path inside the release as the manifest writes it (posix, relative)."""
    return Path(path).relative_to(release).as_posix()


def work_dir(release: Path) -> Path:
    return Path(release) / WORK / TOKENS


def marker_file(release: Path, shard: int) -> Path:
    return work_dir(release) / "done" / f"{shard_name(shard)}.json"


def index_piece(release: Path, shard: int) -> Path:
    return work_dir(release) / "index" / f"{shard_name(shard)}.parquet"


def data_shard_number(name: str) -> int:
    """``data/part-00003.parquet`` -> 3."""
    stem = Path(name).name.split(".", 1)[0]
    return int(stem.rsplit("-", 1)[1])

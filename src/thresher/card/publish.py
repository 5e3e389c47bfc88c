"""``thresher publish RELEASE DEST``: copy exactly the public part of a release (``thresher.public``)
into a Hugging Face Hub-ready folder: the data card as the root ``README.md`` (its YAML ``configs``
name one config per part: ``default`` = ``data/``, ``excluded`` = ``excluded/``), the Parquet shards,
``stats.json``, ``manifest.json`` (signed), ``custodian.pub`` and the card's figures. ``index/``,
``.thresher/`` and the project's ``governance/`` folder (salt, private key) never leave.

The release is verified first (shards, Merkle root, signature); the copy is written beside ``DEST``
and renamed into place, so ``DEST`` is complete or absent. ``datasets.load_dataset(DEST)`` loads it.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..paths import MANIFEST, STATS
from ..public import PUBLIC
from ..release import Release

FIGURE_LINK = re.compile(r"\]\(([a-z0-9_\-]+\.png)\)")


def publish(release: str | Path, dest: str | Path) -> dict[str, Any]:
    """Copy the public part of ``release`` to ``dest`` (a new or empty folder); returns what was copied."""
    from ..governance.verify import verify
    from . import write_card

    src, dst = Path(release), Path(dest)
    rel = Release(src)
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise InputError(f"{dst}: exists and is not empty; publish into a new folder")
    if dst.resolve() == src.resolve() or src.resolve() in dst.resolve().parents:
        raise InputError(f"{dst}: must be outside the release folder")
    checked = verify(src)
    card = src / "card" / "README.md"
    if not card.is_file():
        write_card(src)
    manifest = rel.manifest
    files = sorted(manifest["outputs"])                 # data/, excluded/, clusters/ shards, as verified
    tmp = dst.with_name(f".{dst.name}.publishing")
    if tmp.exists():
        shutil.rmtree(tmp)
    for r in files:
        if r.split("/")[0] not in PUBLIC:
            continue
        (tmp / r).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / r, tmp / r)
    for name in (STATS, MANIFEST, "custodian.pub"):
        if (src / name).is_file():
            shutil.copy2(src / name, tmp / name)
    figures = sorted((src / "card").glob("*.png")) + sorted((src / "card").glob("*.json"))   # figures, audit, measurements
    for f in figures:
        (tmp / "card").mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, tmp / "card" / f.name)
    text = FIGURE_LINK.sub(lambda m: f"](card/{m.group(1)})", card.read_text(encoding="utf-8"))
    (tmp / "README.md").write_text(text, encoding="utf-8")
    if dst.exists():
        dst.rmdir()
    tmp.rename(dst)
    return {"dest": dst, "files": len(files) + len(figures) + 4, "documents": checked["documents"],
            "merkle_root": checked["merkle_root"]}

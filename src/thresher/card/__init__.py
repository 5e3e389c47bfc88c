"""The data card: ``card/README.md`` (Hugging Face dataset-card header, Datasheets + Data Statements
sections) and ``card/*.png`` figures, generated from a release's manifest, stats and shards.

Example::

    from thresher.card import write_card
    write_card("out/demo", target_shares={"eng": 0.3, "fra": 0.1})   # -> out/demo/card/README.md
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import ConfigError
from ..lazy import exports

if TYPE_CHECKING:
    from ..release import Release

# matplotlib, jinja2 and pyarrow load when a card is written, not when the CLI starts
__getattr__, __dir__, _lazy = exports(__name__, {"FIGURES": ".figures", "Facts": ".facts", "collect": ".facts"})
__all__ = sorted(_lazy + ["card_options", "write_card"])

DEFAULT_LICENSE = "unknown"   # the Hub's own value for "not stated"; the card asks a person to fill it in


def card_options(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Card options recorded with the pipeline config (a ``card:`` mapping), if the config has one."""
    opts = (manifest.get("config") or {}).get("card") or {}
    return dict(opts) if isinstance(opts, Mapping) else {}


def check_targets(targets: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for lang, share in targets.items():
        try:
            v = float(share)
        except (TypeError, ValueError):
            raise ConfigError(f"target share for '{lang}' must be a number in (0, 1], got {share!r}") from None
        if not (0 < v <= 1) or math.isnan(v):
            raise ConfigError(f"target share for '{lang}' must be in (0, 1], got {share!r}")
        out[str(lang)] = v
    if sum(out.values()) > 1 + 1e-9:
        raise ConfigError(f"target shares add up to {sum(out.values()):.3f}, more than 1")
    return out


def write_card(release: str | Path | Release, *, target_shares: Mapping[str, float] | None = None,
               license: str | None = None, pretty_name: str | None = None) -> Path:
    """Write ``card/README.md`` and its figures for a release; returns the README's path.

    ``target_shares`` (language -> share of bytes) and ``license`` default to the ``card:`` options
    of the pipeline config, if any. Figures without data are not drawn; the card says why.
    """
    from ..release import Release
    from . import measures
    from .changes import parent_changes
    from .facts import collect
    from .figures import draw_all
    from .render import context, render

    rel = release if isinstance(release, Release) else Release(release)
    opts = card_options(rel.manifest)
    targets = check_targets(target_shares if target_shares is not None else opts.get("target_shares") or {})
    facts = collect(rel)
    outdir = rel.path / "card"
    figures = draw_all(facts, outdir)
    ctx = context(facts, figures, license=license or opts.get("license") or DEFAULT_LICENSE,
                  targets=targets or None, changes=parent_changes(rel), pretty_name=pretty_name)
    ctx.update(measures.context(rel, outdir))     # issue 27: "Who the filters removed", "Data measurements"
    text = render(ctx)
    path = outdir / "README.md"
    tmp = path.with_suffix(f".md.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)   # atomic: a web app reading the card never sees half of it
    return path

"""Parts of a release that higher layers make from its documents (token shards ...) and that a removal
must reach too. Governance sits below them and never imports them: a part registers an object under
the entry-point group ``thresher.release_parts`` (as steps register under ``thresher.steps``) with

- ``forget(src, dst, removed, manifest) -> dict | None``: carry the part from version ``src`` into the
  new version ``dst`` without the removed documents (``removed``: ``apply.Removed`` rows), updating
  ``manifest`` (the new one) in place; returns what changed, with ``"removed": {id: [...]}`` so each
  receipt lists what was removed for its own request, or None when the release has no such part;
- ``verify(path, manifest, ids, receipt_part) -> dict | None``: check the part against the manifest,
  the release's document ids and (when checking a receipt) the receipt's entry for the part; raises
  ``ReleaseError`` on the first problem.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

GROUP = "thresher.release_parts"


def release_parts() -> list[tuple[str, Any]]:
    return [(ep.name, ep.load()) for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name)]


def forget_parts(src: Path, dst: Path, removed: list, manifest: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, part in release_parts():
        got = part.forget(src, dst, removed, manifest)
        if got is not None:
            out[name] = got
    return out


def receipt_parts(parts: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """The parts' changes as one request's receipt shows them: its own removed documents only."""
    return {name: {**{k: v for k, v in p.items() if k != "removed"},
                   "removed": [dict(x, id=i) for i in sorted(ids) for x in p.get("removed", {}).get(i, [])]}
            for name, p in sorted(parts.items())}


def verify_parts(path: Path, manifest: dict[str, Any], ids: set[str],
                 receipt_entry: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {}
    for name, part in release_parts():
        got = part.verify(path, manifest, ids, (receipt_entry or {}).get("parts", {}).get(name))
        if got is not None:
            out[name] = got
    return out

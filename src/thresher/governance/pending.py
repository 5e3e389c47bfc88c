"""Which documents of a release the project's ledger removes, whether or not ``forget`` has run yet.

Search and lookup consult this so a request is honoured the moment it is filed. The answer is cached
in ``RELEASE/index/removed-<ledger head>.json`` (a new request changes the head, so the cache key).
"""
from __future__ import annotations

from pathlib import Path

import orjson

from ..release import Release
from .apply import SaltedHasher, find_hits
from .ledger import Ledger, has_ledger
from .request import in_scope


def removed_ids(release: str | Path) -> dict[str, list[str]]:
    """doc id -> ids of the requests that remove it (empty when the project has no ledger)."""
    release = Path(release)
    project = release.resolve().parent
    if not has_ledger(project):
        return {}
    ledger = Ledger(project)
    head = ledger.head
    cache = release / "index" / f"removed-{head[:32]}.json"
    if cache.exists():
        return orjson.loads(cache.read_bytes())
    manifest = Release(release).manifest
    # pending and approved requests hide what they cover at once; rejected and withdrawn ones do not
    reqs = [r for r in ledger.requests() if r.hides and in_scope(r.scope, release, manifest.get("name"))]
    out: dict[str, list[str]] = {}
    for fh in find_hits(release, reqs, SaltedHasher(ledger.salt)).values():
        for h in fh.values():
            out.setdefault(h.id, [])
            out[h.id] = sorted(set(out[h.id]) | set(h.why))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for old in cache.parent.glob("removed-*.json"):
            old.unlink()
        tmp = cache.with_name(cache.name + ".tmp")
        tmp.write_bytes(orjson.dumps(out))
        tmp.replace(cache)
    except OSError:                  # a read-only release still answers, just without the cache
        pass
    return out

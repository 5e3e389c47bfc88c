""""Am I in it?": which documents of a release a URL, domain, e-mail or text covers, with a
pre-filled removal request.

An e-mail is compared hashed (every address in the release is salted and hashed the same way; the
plain address is never written anywhere). Text is matched exactly (case- and whitespace-insensitive)
and as a near-duplicate: documents that copy, excerpt or quote it (MinHash containment, see
``neardup.py``). Documents a filed request already covers are reported as such.
"""
from __future__ import annotations

import secrets
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from ..executors import LocalExecutor
from ..progress import Progress
from ..release import Release
from .apply import SaltedHasher, find_hits, release_files
from .ledger import HASHED, Ledger, Request, has_ledger
from .matchers import normalize_value
from .pending import removed_ids

MAX_IDS = 100


def _near_text(release: Path, text: str, files: list[str], progress: bool | None = False) -> dict[str, float]:
    """Ids of documents that copy or quote ``text`` (MinHash containment), with their scores."""
    from .neardup import signatures

    qsig, qsize = signatures([text])
    out: dict[str, float] = {}
    with Progress(f"{release.name}: near-duplicates of the text", total=len(files), unit="shards",
                  enabled=progress) as bar:
        for rel in files:
            out.update(_near_file(release, rel, qsig[0], int(qsize[0])))
            bar.advance()
    return out


def _near_file(release: Path, rel: str, q: np.ndarray, qsize: int) -> dict[str, float]:
    import pyarrow.parquet as pq

    from ..io.writer import file_sha256
    from .neardup import MIN_SHINGLES, shard_signatures, similar

    out: dict[str, float] = {}
    sig, size = shard_signatures(release, rel, file_sha256(release / rel))
    mask, score = similar(q, qsize, sig, size, min_quoted=MIN_SHINGLES)
    if mask.any():
        ids = pq.ParquetFile(release / rel).read(columns=["id"]).column("id").to_pylist()
        for k in np.flatnonzero(mask):
            out[ids[int(k)]] = round(float(score[int(k)]), 4)
    return out


def lookup(release: str | Path, url: str | None = None, domain: str | None = None, email: str | None = None,
           text: str | None = None, url_prefix: str | None = None, near_duplicates: bool = True,
           workers: int | None = None, repo: str | None = None, account: str | None = None,
           content_hash: str | None = None, progress: bool | None = False) -> dict[str, Any]:
    """Counts and ids of the documents each given value covers, and the request to file for them."""
    path = Path(release)
    Release(path)                                   # a clear error when this is not a release
    project = path.resolve().parent
    salt = Ledger(project).salt if has_ledger(project) else bytes.fromhex(secrets.token_hex(32))
    hasher = SaltedHasher(salt)
    asked = {"url": url, "url_prefix": url_prefix, "domain": domain, "email": email, "text": text, "repo": repo,
             "account": account, "content_hash": content_hash}
    reqs = []
    for matcher, value in asked.items():
        if value:
            v = normalize_value(matcher, value)
            reqs.append(Request(f"lookup-{matcher}", matcher, hasher(v) if matcher in HASHED else v, False, "*",
                                "", ""))
    if not reqs:
        from ..errors import InputError
        raise InputError("lookup: give at least one of --url, --url-prefix, --domain, --email, --text, --repo, "
                         "--account, --content-hash")
    files = release_files(path)
    hits = find_hits(path, reqs, hasher, LocalExecutor(workers, progress), files=files)
    covered = removed_ids(path)
    results = []
    all_ids: set[str] = set()
    for r in reqs:
        matcher = r.matcher
        data = sorted(h.id for rel, fh in hits.items() if rel.startswith("data/") for h in fh.values() if r.id in h.why)
        excl = sorted(h.id for rel, fh in hits.items() if rel.startswith("excluded/") for h in fh.values() if r.id in h.why)
        entry: dict[str, Any] = {"matcher": matcher, "value": "(hashed)" if matcher in HASHED else r.value,
                                 "count": len(data), "ids": data[:MAX_IDS], "in_excluded": len(excl),
                                 "excluded_ids": excl[:MAX_IDS]}
        if matcher == "text" and near_duplicates:
            near = _near_text(path, text or "", [f for f in files if f.startswith("data/")], progress)
            near_ids = sorted(set(near) - set(data))
            entry["near_duplicates"] = {"count": len(near_ids), "ids": near_ids[:MAX_IDS],
                                        "scores": {i: near[i] for i in near_ids[:MAX_IDS]}}
            all_ids.update(near_ids)
        all_ids.update(data)
        all_ids.update(excl)
        results.append(entry)
    already = {i: covered[i] for i in sorted(all_ids) if i in covered}
    return {"release": str(path), "matches": results, "total": len(all_ids),
            "already_requested": already, "request": prefill(project, asked, near_duplicates and bool(text))}


def prefill(project: Path, asked: dict[str, str | None], near: bool) -> dict[str, Any]:
    """The removal request(s) to file, as CLI command lines and as data for a web form."""
    cmds, items = [], []
    for matcher, value in asked.items():
        if not value:
            continue
        flag = "--" + matcher.replace("_", "-")
        extra = " --near-duplicates" if near and matcher == "text" else ""
        cmds.append(f"thresher request add {shlex.quote(str(project))} {flag} {shlex.quote(value)}{extra}")
        items.append({"matcher": matcher, "value": value, "near_duplicates": near and matcher == "text"})
    return {"project": str(project), "commands": cmds, "requests": items}

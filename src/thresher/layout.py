"""How a release is cut into shards: by input (default: data shard *i* holds what input shard *i*
became) or by source (``output.order: source``: every data and excluded shard holds one contiguous
range of sources).

Ordered by source, the documents of one site, one URL folder or one repository sit together in one
shard or two, so a removal request by URL, prefix or domain rewrites those shards only, not every
shard of a shuffled corpus (``forget`` skips the others without opening them: the manifest records
each shard's key range). The key is SURT-like, the order web archives use: the host reversed by
labels (``org,example,www``), then ``)`` and the path and query of the normalised URL; a document with
no URL but a repository sorts as ``r owner/name/path``; any other by its id.

It costs no extra pass over the data: every stage before the last sorts its files by key as it
closes them (a local sort of one shard), and the last stage reads, for its shard *j*, the *j*-th key
range of every file of the stage before it (and of the files that earlier stages dropped documents
to), found by bisection. The ranges balance text bytes, from a sample of every file's keys.
"""
from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pyarrow as pa

from .provenance import doc_repos, doc_url, norm_url, url_host

KEY = "_order"          # the key column of stage files (never in a release)
URL, REPO, ID = "u ", "r ", "i "
SAMPLE = 100_000        # keys sampled over all files to place the range boundaries


# a URL with nothing unusual (ASCII, a plain host, a numeric port): split here, the same as norm_url
# splits it (checked against it in the tests), 10x faster than urlsplit + urlunsplit
_SIMPLE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([A-Za-z0-9.-]*)(?::(\d{1,5}))?([/?#][!-~]*)?")
_PORTS = {"http": 80, "https": 443}


def surt(url: str) -> str | None:
    """``https://www.Example.org:8080/a?b`` -> ``org,example,www:8080)/a?b`` (None if not a URL):
    the host reversed by labels, then the port and the path and query of ``norm_url(url)``."""
    m = _SIMPLE.fullmatch(url)
    if m is not None and (m.group(3) is None or int(m.group(3)) <= 65535):
        scheme, host, port, tail = m.groups()
        scheme, host = scheme.lower(), host.lower().rstrip(".")
        port = f":{int(port)}" if port and int(port) and _PORTS.get(scheme) != int(port) else ""
        path, _, query = (tail or "").split("#", 1)[0].partition("?")
        path = path or ("/" if host or port else "")
        return _surt(host, port, path + ("?" + query if query else ""))
    return _surt_parsed(url)


def _surt(host: str, port: str, rest: str) -> str:
    return ",".join(reversed(host.split("."))) + port + ")" + rest


def _surt_parsed(url: str) -> str | None:
    """The host is always the domain matcher's (``url_host``), even where ``norm_url`` fails (a bad
    port) or gives no scheme (``//cdn.example.org/x``): a domain request must find the document."""
    host = url_host(url)
    try:
        n = norm_url(url)
    except ValueError:
        n = None
    if n is not None and "://" in n:
        netloc, slash, path = n.split("://", 1)[1].partition("/")      # netloc: url_host, then any ":port"
        return _surt(host, netloc[len(host):] if netloc.startswith(host) else "", slash + path)
    if not host:
        return None
    after = url.strip().split("//", 1)[-1]
    cut = after.find("/")
    return _surt(host, "", after[cut:] if cut >= 0 else "/")


def order_keys(docs: Iterable[Any]) -> list[str]:
    """The source key of each Document."""
    out = []
    for d in docs:
        url = doc_url(d.source)
        k = surt(url) if url else None
        if k is not None:
            out.append(URL + k)
            continue
        repos = sorted(doc_repos(d.source))
        out.append(REPO + repos[0] + "/" + str(d.source.get("path", "")) if repos else ID + d.id)
    return out


def key_prefixes(matcher: str, value: str) -> list[str] | None:
    """Key prefixes every document a request matches has (None when the request can match any key):
    what lets ``forget`` skip the shards whose key range holds none of them."""
    if matcher in ("url", "url_prefix"):
        k = surt(value)
        return None if k is None else [URL + k]
    if matcher == "domain":
        return [URL + ",".join(reversed(value.split(".")))]
    return None


def overlaps(prefixes: Iterable[str], lo: str, hi: str | None) -> bool:
    """Whether the key range [lo, hi) (hi None: no end) may hold a key starting with one of ``prefixes``."""
    return any((hi is None or p < hi) and (lo <= p or lo.startswith(p)) for p in prefixes)


def may_hold(files: list[str], requests: list[Any], layout: dict[str, Any] | None) -> list[str]:
    """The shard files (``part-NNNNN...``) whose key range may hold documents the requests match:
    all of them unless the release is ordered by source and every request has key prefixes."""
    if not layout or layout.get("order") != "source":
        return files
    prefixes = []
    for r in requests:
        p = key_prefixes(r.matcher, r.value)
        if p is None:
            return files
        prefixes += p
    bounds = layout["boundaries"]
    out = []
    for rel in files:
        m = re.match(r"part-(\d+)", Path(rel).name)
        if m is None:
            out.append(rel)
            continue
        j = int(m.group(1))
        if overlaps(prefixes, bounds[j - 1] if 0 < j <= len(bounds) else "", bounds[j] if j < len(bounds) else None):
            out.append(rel)
    return out


def sample(keys: pa.ChunkedArray, lengths: np.ndarray, every: int) -> tuple[list[str], np.ndarray]:
    """Every ``every``-th key of a sorted file and the text bytes of the rows up to the next one."""
    at = np.arange(0, len(lengths), every)
    return keys.take(pa.array(at)).to_pylist(), np.add.reduceat(lengths, at) if len(at) else np.zeros(0)


def boundaries(samples: list[tuple[list[str], np.ndarray]], n: int) -> list[str]:
    """``n - 1`` keys that cut the sampled keys into ``n`` ranges of about equal text bytes."""
    keys = [k for ks, _ in samples for k in ks]
    if n <= 1:
        return []
    if not keys:                # nothing kept: every range but the last is empty
        return [""] * (n - 1)
    weights = np.concatenate([w for _, w in samples]).astype(np.float64)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    cum = np.cumsum(weights[order])
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n) / n, side="left")
    return [keys[order[min(int(c) + 1, len(order) - 1)]] for c in cuts]


def cuts(keys: list[str], bounds: list[str]) -> list[int]:
    """Row offsets of a sorted file where each of the ``len(bounds) + 1`` ranges starts, and its end."""
    return [0] + [bisect.bisect_left(keys, b) for b in bounds] + [len(keys)]


def plan(files: dict[str, list[Path]], n: int, read_keys) -> dict[str, Any]:
    """The layout of the final stage: range boundaries from the data files (``files['data']``), and
    for every group of sorted stage files the rows of each range. ``read_keys(path)`` gives a file's
    (key column, text byte lengths)."""
    data = [read_keys(p) for p in files["data"]]
    total = sum(len(lens) for _, lens in data)
    every = max(1, total // SAMPLE)
    bounds = boundaries([sample(k, lens, every) for k, lens in data], n)
    out: dict[str, Any] = {"order": "source", "boundaries": bounds, "cuts": {}}
    for group, paths in files.items():
        keys = [k for k, _ in data] if group == "data" else [read_keys(p)[0] for p in paths]
        out["cuts"][group] = [cuts(k.to_pylist(), bounds) for k in keys]
    return out

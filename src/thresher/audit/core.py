"""The audit of a built release: it reads ``data/`` (kept documents), ``excluded/`` (dropped ones,
with the step that dropped each) and ``stats.json`` (the step order); no text is needed, so it works
on releases published in ``trace`` mode.

For step *k*, the documents at risk are those that reached it: kept ones and those dropped by step *k*
or later. A group's drop rate is dropped/at-risk, with a 95% Wilson score interval. Each group is
compared with the rest of the documents at risk by a pooled two-proportion z-test; the p-values of all
comparisons of the audit are corrected together with Holm's step-down method (family-wise error
``alpha``). Where either side expects fewer than ``MIN_EXPECTED`` drops or keeps, the normal
approximation does not hold and Fisher's exact test gives the p-value instead.

Characters: kept documents count their text; dropped ones in ``trace`` mode have no text and count
``meta.excluded_text.chars`` (the length recorded before the text was taken out).
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit

import numpy as np
import orjson
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..crawl.register import _url_evidence
from ..errors import ConfigError
from ..release import Release

from . import DIMENSIONS
MIN_EXPECTED = 5
Z95 = 1.959963984540054
KEPT = "(kept)"


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion x/n (Wilson 1927); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    p = x / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of x1/n1 against x2/n2: (z, two-sided p)."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    p = (x1 + x2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def fisher_exact(x: int, n: int, X: int, N: int) -> float:
    """Two-sided Fisher exact p of a group with x of its n documents dropped, X of all N dropped
    (hypergeometric; the tables no more likely than the observed one, as R's fisher.test)."""
    lo, hi = max(0, n + X - N), min(n, X)
    lc = lambda a, b: math.lgamma(a + 1) - math.lgamma(b + 1) - math.lgamma(a - b + 1)
    base = lc(N, n)
    logp = [lc(X, k) + lc(N - X, n - k) - base for k in range(lo, hi + 1)]
    obs = logp[x - lo]
    return min(1.0, sum(math.exp(v) for v in logp if v <= obs + 1e-7))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (monotone, capped at 1), in the input order."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def region_of(url: str | None) -> str:
    """The URL's top-level domain: a country code (``ng``, ``in``) or a generic one (``.com``)."""
    if not url:
        return "(no url)"
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host or "." not in host or host.replace(".", "").isdigit():
        return "(no domain)"
    tld = host.rsplit(".", 1)[1]
    return tld if len(tld) == 2 and tld.isalpha() else f".{tld}"


def register_of(meta: dict[str, Any], url: str | None) -> str:
    """The crawler's annotation (``register`` step) if present, else the best URL-shape evidence."""
    reg = meta.get("register")
    if isinstance(reg, dict) and reg.get("label"):
        return str(reg["label"])
    if not url or not url.startswith(("http://", "https://")):
        return "(unknown)"
    scores: Counter = Counter()
    _url_evidence(url, lambda label, w, _ev: scores.__setitem__(label, scores[label] + w))
    return scores.most_common(1)[0][0] if scores else "other"


def source_of(source: dict[str, Any]) -> str:
    """Repository, else the input file, else the URL's host."""
    if source.get("repo"):
        return str(source["repo"])
    if source.get("file"):
        return str(source["file"])
    url = _url(source)
    if url:
        return urlsplit(url).hostname or url
    return "(unknown)"


def _url(source: dict[str, Any]) -> str | None:
    for k in ("url", "uri", "warc_url"):
        v = source.get(k)
        if isinstance(v, str) and v.startswith(("http://", "https://")):
            return v
    return None


def groups_of(source: dict[str, Any], meta: dict[str, Any], dims: Iterable[str]) -> list[str]:
    url = _url(source)
    out = []
    for d in dims:
        if d == "language":
            out.append(str(meta.get("language") or "unknown"))
        elif d == "script":
            out.append(str(meta.get("script") or "unknown"))
        elif d == "region":
            out.append(region_of(url))
        elif d == "register":
            out.append(register_of(meta, url))
        else:
            out.append(source_of(source))
    return out


def _rows(files: list[Path], excluded: bool) -> Iterable[tuple[dict, dict, int, str]]:
    """(source, meta, characters, dropping step or KEPT) of every row of ``files``."""
    for f in files:
        cols = ["source", "meta", "text"] + (["step"] if excluded else [])
        pf = pq.ParquetFile(f)
        for rb in pf.iter_batches(columns=cols, batch_size=10_000):
            lens = pc.utf8_length(rb.column("text")).to_pylist()
            steps = rb.column("step").to_pylist() if excluded else [KEPT] * rb.num_rows
            for s, m, n, st in zip(rb.column("source").to_pylist(), rb.column("meta").to_pylist(), lens, steps):
                meta = orjson.loads(m) if m else {}
                if excluded and not n:
                    n = int((meta.get("excluded_text") or {}).get("chars", 0))
                yield (orjson.loads(s) if s else {}), meta, int(n or 0), st


def audit(release: str | Path, by: Iterable[str] = DIMENSIONS, *, alpha: float = 0.05,
          min_expected: int = MIN_EXPECTED) -> dict[str, Any]:
    """The audit of a release (see the module doc); a JSON-ready dict."""
    dims = list(by)
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad or not dims:
        raise ConfigError(f"audit --by: unknown dimension {', '.join(bad) or '(none)'} (known: {', '.join(DIMENSIONS)})")
    rel = Release(release)
    labels = list(rel.stats.steps)
    # excluded rows carry the step's name; a label is the name or name#k for the k-th use of it
    index: dict[str, int] = {}
    for i, lab in enumerate(labels):
        index.setdefault(lab.split("#")[0], i)
    fate: list[int] = []
    chars: list[int] = []
    codes: list[list[str]] = []
    unknown_steps: Counter = Counter()
    for kind in ("data", "excluded"):
        for source, meta, n, step in _rows(rel.files(kind), kind == "excluded"):
            if step == KEPT:
                k = len(labels)
            elif step in index:
                k = index[step]
            else:
                unknown_steps[step] += 1
                continue
            fate.append(k)
            chars.append(n)
            codes.append(groups_of(source, meta, dims))
    fate_a = np.array(fate, dtype=np.int64)
    chars_a = np.array(chars, dtype=np.float64)
    coded = []
    for j in range(len(dims)):
        names, inv = np.unique(np.array([c[j] for c in codes] or [""], dtype=object).astype(str), return_inverse=True)
        coded.append((names.tolist(), inv[:len(codes)]))
    rows: list[dict[str, Any]] = []
    overall: list[dict[str, Any]] = []
    for k, label in enumerate(labels):
        risk = fate_a >= k
        drop = fate_a == k
        N, X = int(risk.sum()), int(drop.sum())
        C, CX = int(chars_a[risk].sum()), int(chars_a[drop].sum())
        lo, hi = wilson(X, N)
        overall.append({"step": label, "docs_in": N, "dropped": X, "rate": X / N if N else 0.0, "ci": [lo, hi],
                        "chars_in": C, "chars_dropped": CX, "char_rate": CX / C if C else 0.0})
        pooled = X / N if N else 0.0
        for dim, (names, inv) in zip(dims, coded):
            m = len(names)
            ns = np.bincount(inv[risk], minlength=m)
            xs = np.bincount(inv[drop], minlength=m)
            cns = np.bincount(inv[risk], weights=chars_a[risk], minlength=m)
            cxs = np.bincount(inv[drop], weights=chars_a[drop], minlength=m)
            for g in np.nonzero(ns)[0]:
                n, x, cn, cx = int(ns[g]), int(xs[g]), int(cns[g]), int(cxs[g])
                lo, hi = wilson(x, n)
                rest_n, rest_x = N - n, X - x
                testable = min(n * pooled, n * (1 - pooled), rest_n * pooled, rest_n * (1 - pooled)) >= min_expected
                z, p = two_proportion_z(x, n, rest_x, rest_n)
                test = "z" if testable else "fisher"
                if not testable:
                    p = fisher_exact(x, n, X, N) if 0 < n < N and 0 < X < N else None
                rows.append({"step": label, "dimension": dim, "group": names[g], "docs_in": n, "dropped": x,
                             "rate": x / n, "ci": [lo, hi], "chars_in": cn, "chars_dropped": cx,
                             "char_rate": cx / cn if cn else 0.0, "rest_rate": rest_x / rest_n if rest_n else 0.0,
                             "z": z, "test": test if p is not None else None, "p": p})
    tested = [r for r in rows if r["p"] is not None]
    for r, padj in zip(tested, holm([r["p"] for r in tested])):
        r["p_adjusted"] = padj
        r["flagged"] = padj < alpha
    for r in rows:
        r.setdefault("p_adjusted", None)
        r.setdefault("flagged", False)
    flagged = sorted((r for r in rows if r["flagged"]), key=lambda r: (labels.index(r["step"]), -abs(r["z"])))
    return {"release": str(rel.path), "dimensions": dims, "steps": labels, "documents": len(fate),
            "test": (f"each group against the rest of the documents at risk: pooled two-proportion z-test, "
                     f"Fisher's exact test where a side expects < {min_expected} drops or keeps; "
                     f"Holm-Bonferroni over all {len(tested)} tests, family-wise alpha {alpha}"),
            "interval": "95% Wilson score interval", "alpha": alpha, "tests": len(tested),
            "overall": overall, "groups": rows, "flagged": flagged,
            "unattributed_drops": dict(unknown_steps)}

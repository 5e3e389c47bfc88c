"""What the card reports, gathered from a release: its manifest, its stats, and one streaming pass
over the kept (``data/``) and dropped (``excluded/``) Parquet shards.

stats.json already holds per-step counts; the pass over the shards adds what only the documents
know: lengths, languages of dropped documents (for the per-language funnel), web hosts and files,
code licenses, duplicate clusters and source dates. Memory stays bounded: fixed log-scale length
histograms and counters, never a list per document.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import numpy as np
import orjson
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ReleaseError
from ..paths import is_release
from ..progress import Progress
from ..release import Release
from ..text.packs import pack_key
from ..stats import StepStats
from .sites import count_web
from . import media

# Length histograms: log10(chars + 1) in bins of 0.1 up to 10^9 characters.
LOG_EDGES = np.round(np.arange(0.0, 9.01, 0.1), 1)
UNKNOWN = "unknown"
PII_PREFIXES = ("pii", "secret", "secrets")
GOVERNANCE = "governance"     # the step name removal requests are recorded under (thresher.governance)
DEDUP_HINTS = ("dedup", "duplicate")


EXACT_UP_TO = 20_000   # quantiles are exact up to this many documents, then read off the histogram


@dataclass
class LengthHist:
    """Streaming summary of document lengths in characters (exact count, sum, min, max; binned shape).

    The lengths themselves are kept only up to ``EXACT_UP_TO`` documents, so memory stays bounded.
    """

    counts: np.ndarray = field(default_factory=lambda: np.zeros(len(LOG_EDGES) - 1, dtype=np.int64))
    n: int = 0
    total: int = 0
    lo: int | None = None
    hi: int | None = None
    kept: list[np.ndarray] | None = field(default_factory=list)

    def add(self, lengths: np.ndarray) -> None:
        if not len(lengths):
            return
        if self.kept is not None:
            self.kept.append(np.asarray(lengths, dtype=np.int64).copy())
            if self.n + len(lengths) > EXACT_UP_TO:
                self.kept = None
        b = np.clip(np.floor(np.log10(lengths + 1.0) * 10).astype(np.int64), 0, len(self.counts) - 1)
        self.counts += np.bincount(b, minlength=len(self.counts))
        self.n += int(len(lengths))
        self.total += int(lengths.sum())
        lo, hi = int(lengths.min()), int(lengths.max())
        self.lo = lo if self.lo is None else min(self.lo, lo)
        self.hi = hi if self.hi is None else max(self.hi, hi)

    @property
    def exact(self) -> bool:
        return self.kept is not None

    def quantile(self, q: float) -> int | None:
        """Exact (nearest-rank) quantile when the lengths were kept, else the geometric middle of the
        histogram bin holding it (bins are 26% wide)."""
        if not self.n:
            return None
        if self.kept is not None:
            v = np.sort(np.concatenate(self.kept))
            return int(v[min(len(v) - 1, max(0, math.ceil(q * len(v)) - 1))])
        k = int(np.searchsorted(np.cumsum(self.counts), q * self.n, side="left"))
        mid = 10 ** ((LOG_EDGES[k] + LOG_EDGES[k + 1]) / 2) - 1
        return int(round(min(max(mid, self.lo or 0), self.hi or 0)))

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None


@dataclass
class Facts:
    """Everything the card and its figures say, in one place (the web app shows the same)."""

    path: Path
    manifest: dict[str, Any]
    steps: dict[str, StepStats]
    reader: Counter
    languages: dict[str, Counter]                    # kept docs: lang -> {docs, bytes} (stats.json)
    kept_docs: int = 0
    kept_bytes: int = 0
    kept_chars: int = 0
    excluded_docs: int = 0
    lengths: dict[str, LengthHist] = field(default_factory=dict)        # "kept" / "excluded"
    lang_lengths: dict[str, LengthHist] = field(default_factory=dict)   # kept, per language
    lang_drops: dict[str, Counter] = field(default_factory=dict)        # step -> language -> dropped docs
    reasons: dict[str, Counter] = field(default_factory=dict)           # step -> reason -> docs (excluded/)
    hosts: Counter = field(default_factory=Counter)                     # kept docs per web host / file
    host_bytes: Counter = field(default_factory=Counter)
    source_kinds: Counter = field(default_factory=Counter)              # web / file / repo
    licenses: Counter = field(default_factory=Counter)                  # kept docs per meta license
    excluded_licenses: Counter = field(default_factory=Counter)
    clusters: dict[str, Counter] = field(default_factory=dict)          # dedup annotation -> size -> clusters
    lang_units: dict[str, Counter] = field(default_factory=dict)        # kept, language_Script -> docs, words, lid, disagree
    in_clusters: int = 0                                                # docs with a cluster_id
    duplicates_marked: int = 0                                          # excluded rows with duplicate_of
    dates: tuple[str, str] | None = None
    registers: dict[str, Counter] = field(default_factory=dict)         # kept: language -> meta.register label -> docs
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)      # crawled host -> rights signals, terms (card.sites)
    modalities: dict[str, Counter] = field(default_factory=dict)        # kept: language -> modality -> docs
    confidence: dict[str, Counter] = field(default_factory=dict)        # "ocr"/"asr" -> 10-point bin -> docs

    @property
    def pipeline_steps(self) -> list[str]:
        return order_steps(self.steps, self.manifest)

    def pii_counts(self) -> dict[str, Counter]:
        """step -> {"pii:EMAIL": n, "secret:AWS": n ...}, from the steps' stats counters."""
        out: dict[str, Counter] = {}
        for name in self.pipeline_steps:
            st = self.steps[name]
            # ``pii:EMAIL`` only: ``pii:EMAIL:urd`` is the same occurrences again, per language
            c = Counter({k: v for k, v in st.counters.items() if k.split(":", 1)[0].lower() in PII_PREFIXES
                         and k.count(":") == 1 and v})
            if c:
                out[name] = c
        return out

    def dedup_steps(self) -> list[str]:
        return [s for s in self.pipeline_steps if any(h in s.lower() for h in DEDUP_HINTS)]


def order_steps(steps: dict[str, StepStats], manifest: dict[str, Any]) -> list[str]:
    """Step names in pipeline order.

    stats.json is written with sorted keys, so its order is alphabetical. The config names the
    registered steps in order; steps given as Python objects are placed by documents entering them,
    which never increases along a pipeline (ties are steps that dropped nothing, so any order among
    them gives the same funnel).
    """
    specs = (manifest.get("config") or {}).get("steps", [])
    names = [next(iter(s)) for s in specs if isinstance(s, dict) and len(s) == 1]
    pos = {n: i for i, n in reversed(list(enumerate(names)))}
    if all(k in pos for k in steps):
        return sorted(steps, key=lambda k: pos[k])
    return sorted(steps, key=lambda k: (-steps[k].docs_in, pos.get(k, len(names)), -steps[k].docs_out))


def doc_language(meta: dict[str, Any]) -> str:
    """The language a language-ID step wrote (a code, or a dict holding one); ``unknown`` if none."""
    lang = meta.get("language")
    if isinstance(lang, dict):
        lang = lang.get("code") or lang.get("lang") or lang.get("label")
    return str(lang) if lang else UNKNOWN


NO_LICENSE = "(none found)"


def doc_license(meta: dict[str, Any], source: dict[str, Any]) -> str | None:
    """The license a license-detection step wrote; ``(none found)`` when it ran and found none."""
    if "license" not in meta and "license" not in source:
        return None
    lic = meta.get("license", source.get("license"))
    if isinstance(lic, dict):
        lic = lic.get("spdx") or lic.get("id") or lic.get("license") or lic.get("name")
    if isinstance(lic, (list, tuple)):
        lic = " AND ".join(str(x) for x in lic) if lic else None
    return str(lic) if lic else NO_LICENSE


def source_key(source: dict[str, Any]) -> tuple[str, str]:
    """(kind, label) of where a document came from: a web host, a code repository or an input file."""
    url = source.get("url") or source.get("uri") or source.get("target_uri")
    if isinstance(url, str) and "://" in url:
        host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
        if host:
            return "web", host
    repo = source.get("repo") or source.get("repository")
    if isinstance(repo, str) and repo:
        return "repo", repo
    f = source.get("file") or source.get("path")
    return "file", str(f) if f else UNKNOWN


def _rows(path: Path, columns: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray, list[dict], list[dict], dict]]:
    """Batches of (chars, bytes, sources, metas, extra columns) of one shard, streamed."""
    pf = pq.ParquetFile(path)
    have = set(pf.schema_arrow.names)
    cols = [c for c in columns if c in have]
    for b in pf.iter_batches(batch_size=4096, columns=cols):
        text = b.column("text")
        chars = pc.utf8_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
        nbytes = pc.binary_length(text).to_numpy(zero_copy_only=False).astype(np.int64)
        sources = [orjson.loads(s) if s else {} for s in b.column("source").to_pylist()]
        metas = [orjson.loads(m) if m else {} for m in b.column("meta").to_pylist()]
        for k, m in enumerate(metas):      # a text-less trace (output.excluded: trace) keeps the length
            t = m.get("excluded_text")
            if isinstance(t, dict) and not chars[k]:
                chars[k] = int(t.get("chars", 0))
        extra = {c: b.column(c).to_pylist() for c in cols if c not in ("text", "source", "meta")}
        extra["_words"] = pc.list_value_length(pc.utf8_split_whitespace(text)).to_numpy(
            zero_copy_only=False).astype(np.int64)
        yield chars, nbytes, sources, metas, extra


def _count_unit(facts: Facts, meta: dict[str, Any], words: int) -> None:
    """Kept documents and words per language + script, and how often the two detectors disagreed."""
    lang = meta.get("language")
    unit = (pack_key(lang, meta.get("script")) if isinstance(lang, str) else None) or UNKNOWN
    c = facts.lang_units.setdefault(unit, Counter())
    c["docs"] += 1
    c["words"] += words
    info = meta.get("language_id_v1")
    if isinstance(info, dict) and "agree" in info:
        c["lid"] += 1
        c["disagree"] += not info["agree"]


def _date(source: dict[str, Any]) -> str | None:
    d = source.get("date") or source.get("fetched_at") or source.get("crawl_date")
    return d[:10] if isinstance(d, str) and len(d) >= 10 and d[4] == "-" else None


def collect(release: Release) -> Facts:
    """One streaming pass over a release; stats and manifest are read as they are."""
    stats = release.stats
    facts = Facts(release.path, release.manifest, stats.steps, stats.reader, stats.languages,
                  lengths={"kept": LengthHist(), "excluded": LengthHist()})
    first: str | None = None
    last: str | None = None
    removed: list[tuple[str, str]] = []      # (id, file in an ancestor) of rows a removal request took out
    files = [(kind, path) for kind in ("data", "excluded") for path in release.files(kind)]
    bar = Progress("card: reading the release", total=len(files), unit="files")
    with bar:
        for kind, path in files:
            hist = facts.lengths["kept" if kind == "data" else "excluded"]
            bar.advance()
            for chars, nbytes, sources, metas, extra in _rows(path, ["text", "source", "meta", "step", "reason", "id"]):
                bar.advance(0, docs=len(metas), nbytes=int(nbytes.sum()))
                langs = [doc_language(m) for m in metas]
                steps = extra.get("step") or [UNKNOWN] * len(sources)
                if kind == "data":
                    hist.add(chars)
                    arr = np.array(langs, dtype=object)
                    for lang in set(langs):   # vectorised per language, not per document
                        facts.lang_lengths.setdefault(lang, LengthHist()).add(chars[arr == lang])
                else:   # governance traces are text-less: their rows are not documents of length 0
                    hist.add(chars[np.array([s != GOVERNANCE for s in steps], dtype=bool)])
                for i, (src, meta, lang) in enumerate(zip(sources, metas, langs)):
                    if meta.get("cluster_id") is not None:
                        _count_cluster(facts, meta)
                    d = _date(src)
                    if d:
                        first = d if first is None or d < first else first
                        last = d if last is None or d > last else last
                    lic = doc_license(meta, src)
                    if "register" in meta or "rights" in src:
                        count_web(facts.registers, facts.sites, source_key(src)[1], src, meta, lang, kind == "data")
                    if kind == "data":
                        _count_kept(facts, src, lic, int(nbytes[i]), int(chars[i]))
                        _count_unit(facts, meta, int(extra["_words"][i]))
                        media.count(facts.modalities, facts.confidence, meta, lang)
                        continue
                    step = steps[i] or UNKNOWN
                    reason = (extra.get("reason") or [UNKNOWN] * len(sources))[i] or UNKNOWN
                    facts.excluded_docs += 1
                    facts.reasons.setdefault(step, Counter())[reason] += 1
                    gov = meta.get("governance")
                    if step == GOVERNANCE and isinstance(gov, dict) and gov.get("from") and lang == UNKNOWN:
                        removed.append((extra["id"][i], str(gov["from"])))
                    else:
                        facts.lang_drops.setdefault(step, Counter())[lang] += 1
                    if meta.get("duplicate_of") is not None:
                        facts.duplicates_marked += 1
                    if lic:
                        facts.excluded_licenses[lic] += 1
    if removed:
        facts.lang_drops.setdefault(GOVERNANCE, Counter()).update(_removed_languages(release, removed))
    if first and last:
        facts.dates = (first, last)
    return facts


def _count_cluster(facts: Facts, meta: dict[str, Any]) -> None:
    """Dedup steps annotate each clustered document with ``{cluster_id, cluster_size, kept}`` under
    their versioned key; counting the kept member's size per cluster keeps memory to one counter of
    sizes, not one entry per cluster."""
    facts.in_clusters += 1
    for key, info in meta.items():
        if isinstance(info, dict) and info.get("kept") is True and isinstance(info.get("cluster_size"), int):
            facts.clusters.setdefault(key, Counter())[info["cluster_size"]] += 1


def _count_kept(facts: Facts, src: dict[str, Any], lic: str | None, nbytes: int, chars: int) -> None:
    facts.kept_docs += 1
    facts.kept_bytes += nbytes
    facts.kept_chars += chars
    skind, label = source_key(src)
    facts.source_kinds[skind] += 1
    facts.hosts[label] += 1
    facts.host_bytes[label] += nbytes
    if lic:
        facts.licenses[lic] += 1


def _ancestors(release: Release, depth: int = 32) -> list[Path]:
    """The parent, grandparent ... of a release still on disk (``manifest["parent"]["path"]``)."""
    out: list[Path] = []
    cur = release.path
    for _ in range(depth):
        try:
            parent = Release(cur).manifest.get("parent")
        except ReleaseError:
            break
        p = parent.get("path") if isinstance(parent, dict) else parent
        if not isinstance(p, str) or not p:
            break
        nxt = (cur / p) if not Path(p).is_absolute() else Path(p)
        if not is_release(nxt) or nxt.resolve() in {a.resolve() for a in out}:
            break
        out.append(nxt)
        cur = nxt
    return out


def _removed_languages(release: Release, removed: list[tuple[str, str]]) -> Counter:
    """Languages of documents a removal request took out: the trace keeps no text or language, so read
    them from the version they were removed from (an ancestor still on disk), else ``unknown``."""
    out: Counter = Counter()
    todo: dict[str, set[str]] = {}
    for doc_id, rel in removed:
        todo.setdefault(rel, set()).add(doc_id)
    for anc in _ancestors(release):
        for rel, ids in list(todo.items()):
            f = anc / rel
            if not ids or not f.is_file():
                continue
            t = pq.read_table(f, columns=["id", "meta"], filters=[("id", "in", sorted(ids))])
            for doc_id, meta in zip(t.column("id").to_pylist(), t.column("meta").to_pylist()):
                if doc_id in ids:
                    out[doc_language(orjson.loads(meta) if meta else {})] += 1
                    ids.discard(doc_id)
    out[UNKNOWN] += sum(len(v) for v in todo.values())
    return +out


def language_funnel(facts: Facts, languages: list[str]) -> dict[str, list[int]]:
    """Per language, documents entering each step and leaving the last one.

    Reconstructed backwards from the kept documents and the excluded rows' step and language: a
    document dropped at step i entered steps 0..i. Documents dropped before a language-ID step ran
    carry no language and count as ``unknown``.
    """
    steps = facts.pipeline_steps
    out: dict[str, list[int]] = {}
    for lang in languages:
        kept = int(facts.languages.get(lang, Counter()).get("docs", 0))
        series = [kept]
        for s in reversed(steps):
            series.append(series[-1] + facts.lang_drops.get(s, Counter()).get(lang, 0))
        out[lang] = list(reversed(series))    # [in step0, in step1, ..., out of last step]
    return out


def duplicate_rates(facts: Facts) -> dict[str, tuple[int, int, float]]:
    """Dedup step -> (docs in, docs dropped, rate), from stats.json."""
    out = {}
    for s in facts.dedup_steps():
        st = facts.steps[s]
        dropped = st.docs_in - st.docs_out
        out[s] = (st.docs_in, dropped, dropped / st.docs_in if st.docs_in else math.nan)
    return out


def size_category(n: int) -> str:
    """The Hugging Face ``size_categories`` bucket for n documents."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
              (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"), (1_000_000_000_000, "100B<n<1T")]
    for bound, label in bounds:
        if n < bound:
            return label
    return "n>1T"

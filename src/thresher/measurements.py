"""Data measurements (after the Hugging Face Data Measurements Tool), computed during the build from
one sketch per data shard; sketches merge by addition, so the merged values equal one pass.

Per language of the kept documents:

- vocabulary: exact word counts (words: runs of ``\\w``, lower-cased), so the vocabulary size and the
  Zipf fit (least squares of log frequency on log rank over the words seen at least twice, top
  ``ZIPF_TOP``) of the merged sketch are those of one pass. A compiled kernel
  (``thresher.text.wordcount``) counts the words keyed by a 64-bit hash of their UTF-8 bytes and
  spells out only the distinct ones; two words whose hashes collide would be counted as one (odds for
  n distinct words about n^2 / 2^65: 3e-6 at ten million). Fewer than ``SMALL`` characters are
  counted by the definition itself, in Python (``_add_small``: ``re`` words, a ``Counter``), which
  gives the same sketch (tests/test_measurements.py) in less time than loading numba and the kernel
  (~0.5-0.9 s of a fresh process; issue 21);
- identity-term association: for each term of a list (``card.identity_terms``, default
  ``thresher/data/identity_terms/eng.txt``), how often each word occurs within ``WINDOW`` words of it;
  normalised PMI ``log(p(t,w) / p(t) p(w)) / -log p(t,w)`` with ``p(t,w)`` over all word pairs within
  the window and ``p(w)`` over all words;
- lengths: histograms of characters and words per document (bins by powers of two);
- exact duplicates: a 64-bit hash per kept document; the share of documents whose text an earlier one
  already had.

The shard runner feeds each final shard's kept documents, batch by batch as it writes them, to a
``ShardMeasure`` (``shard_measure``) and writes its sketch when the shard is done
(``write_measurements``); ``card.measurements: false`` turns it off.
"""
from __future__ import annotations

import base64
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np
import orjson
import xxhash
import zstandard

from .io.writer import atomic_write_bytes
from .paths import measurements_path

if TYPE_CHECKING:
    from .text import wordcount

WINDOW = 5
ZIPF_TOP = 10_000
MIN_PAIR = 3          # a word must occur this often near a term to be listed
NPMI_TOP = 10
CHUNK = 1 << 22       # characters of text per compiled call
SMALL = 1 << 20       # fewer characters in one ``add_docs``: counted in Python (~7 MB/s), numba never loaded


def identity_terms(option: Any = None) -> list[str]:
    """The term list: ``option`` (a list of terms, or a path to a file of one term a line), else the
    shipped English list."""
    if isinstance(option, (list, tuple)):
        return sorted({str(t).lower() for t in option if str(t).strip()})
    text = (Path(option).read_text(encoding="utf-8") if option else
            files("thresher.data").joinpath("identity_terms/eng.txt").read_text(encoding="utf-8"))
    return sorted({ln.strip().lower() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")})


@dataclass
class LanguageSketch:
    docs: int = 0
    words: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)       # "term\tword" -> co-occurrences in the window
    npairs: int = 0                                       # all word pairs within the window
    char_hist: Counter = field(default_factory=Counter)   # bin -> documents
    word_hist: Counter = field(default_factory=Counter)

    def __add__(self, o: "LanguageSketch") -> "LanguageSketch":
        return LanguageSketch(self.docs + o.docs, _plus(self.words, o.words), _plus(self.pairs, o.pairs),
                              self.npairs + o.npairs, _plus(self.char_hist, o.char_hist),
                              _plus(self.word_hist, o.word_hist))


def _plus(a: Counter, b: Counter) -> Counter:
    """``a + b`` for counts that are never below 1 (the same keys, order and values as ``Counter``'s
    ``+``): ``a`` copied as a dict (in C) and ``b`` added to it, rather than both walked in Python, so
    summing many shards' sketches does not walk the growing total once per shard."""
    out = Counter(a)
    out.update(b)
    return out


_WORD = re.compile(r"\w+")          # a word, as the kernel's PY_WORD runs (thresher.text.wordcount)


def _bin(n: int) -> int:
    return int(n).bit_length()        # 0 -> 0, 1 -> 1, 2-3 -> 2, 4-7 -> 3 ...


def _count_in_order(counter: Counter, values: np.ndarray) -> None:
    """``counter.update(values.tolist())``, adding each value's total once, in first-seen order."""
    u, first, n = np.unique(values, return_index=True, return_counts=True)
    for j in np.argsort(first, kind="stable").tolist():
        counter[int(u[j])] += int(n[j])


def _groups(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """For each k < n, the positions where ``keys == k``, in order."""
    order = np.argsort(keys, kind="stable")
    cuts = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[cuts[k]:cuts[k + 1]] for k in range(n)]


def _window_pairs(n: int, w: int) -> int:
    """Ordered pairs (i, j), i != j, |i - j| <= w among n words: each word has min(i, w) neighbours
    on the left and as many, mirrored, on the right."""
    k = min(n, w + 1)
    return 2 * (k * (k - 1) // 2 + (n - k) * w)


@dataclass
class Sketch:
    """The mergeable measurements of some documents (``+`` merges; ``sum()`` works)."""

    languages: dict[str, LanguageSketch] = field(default_factory=dict)
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    terms: tuple[str, ...] = ()

    def add(self, texts: Iterable[str], languages: Iterable[str]) -> None:
        """Measure documents: ``texts[i]`` is in language ``languages[i]``."""
        self.add_docs(zip(texts, languages))

    def add_docs(self, docs: Iterable[tuple[str, str]]) -> None:
        """Measure (text, language) pairs: ``ShardMeasure`` fed all of them (give it a whole shard at
        once: its distinct words are spelled out once)."""
        m = ShardMeasure(self)
        it = iter(docs)
        while batch := list(islice(it, 1000)):
            m.add([t for t, _ in batch], [lang for _, lang in batch])
        m.finish()

    def _add_small(self, texts: list[str], names: list[str]) -> None:
        """The definition the kernel reproduces: ``re`` words of the lower-cased text, ``Counter``s
        updated document by document, the window loop over the identity terms."""
        terms, hs = frozenset(self.terms), []
        for text, lang in zip(texts, names):
            ls = self.languages.setdefault(lang, LanguageSketch())
            words = _WORD.findall(text.lower())
            ls.docs += 1
            ls.words.update(words)
            ls.char_hist[_bin(len(text))] += 1
            ls.word_hist[_bin(len(words))] += 1
            ls.npairs += _window_pairs(len(words), WINDOW)
            for i, wd in enumerate(words):
                if wd in terms:
                    for j in range(max(0, i - WINDOW), min(len(words), i + WINDOW + 1)):
                        if j != i:
                            ls.pairs[f"{wd}\t{words[j]}"] += 1
            hs.append(xxhash.xxh3_64_intdigest(text.encode("utf-8", "surrogatepass")))
        self.hashes = np.concatenate([self.hashes, np.array(hs, dtype=np.uint64)])

    def _add_lengths(self, langs: dict[str, int], ids: np.ndarray, nchars: np.ndarray, nwords: np.ndarray) -> None:
        """Documents, length histograms and window pairs per language of a batch (``ids[d]``: the
        number in ``langs`` of document d's language)."""
        cbin, wbin = np.frexp(nchars)[1], np.frexp(nwords)[1]        # int.bit_length, as ``_bin``
        k = np.minimum(nwords, WINDOW + 1)
        npairs = 2 * (k * (k - 1) // 2 + (nwords - k) * WINDOW)       # ``_window_pairs``
        for lang, i in langs.items():
            sel = ids == i
            n = int(sel.sum())
            if not n:
                continue
            ls = self.languages.setdefault(lang, LanguageSketch())
            ls.docs += n
            ls.npairs += int(npairs[sel].sum())
            _count_in_order(ls.char_hist, cbin[sel])
            _count_in_order(ls.word_hist, wbin[sel])

    def _add_counts(self, words: wordcount.Counts, pairs: wordcount.Counts, spelled: list[str],
                    langs: list[str]) -> None:
        """Add the kernel's tables to the per-language counters, in first-seen order."""
        nw, npairs = int(words.used[0]), int(pairs.used[0])
        wlang, wn = words.b[:nw], words.n[:nw]
        pword, pterm, pn = pairs.a[:npairs].astype(np.int64), pairs.b[:npairs], pairs.n[:npairs]
        wgroups, pgroups = _groups(wlang, len(langs)), _groups(wlang[pword], len(langs))
        for i, lang in enumerate(langs):
            ls = self.languages[lang]
            sel = wgroups[i]
            ls.words.update(dict(zip(map(spelled.__getitem__, sel.tolist()), wn[sel].tolist())))
            sel = pgroups[i]
            ls.pairs.update(dict(zip([f"{self.terms[t]}\t{spelled[e]}" for e, t in
                                      zip(pword[sel].tolist(), pterm[sel].tolist())], pn[sel].tolist())))

    def __add__(self, o: "Sketch") -> "Sketch":
        langs = dict(self.languages)
        for k, v in o.languages.items():
            langs[k] = langs[k] + v if k in langs else v
        return Sketch(langs, np.concatenate([self.hashes, o.hashes]), self.terms or o.terms)

    def __radd__(self, o: Any) -> "Sketch":
        return self if o == 0 else self.__add__(o)

    def to_json(self) -> dict[str, Any]:
        return {"terms": list(self.terms),
                "hashes": base64.b64encode(self.hashes.astype("<u8").tobytes()).decode(),
                "languages": {k: {"docs": v.docs, "words": dict(v.words), "pairs": dict(v.pairs),
                                  "npairs": v.npairs, "char_hist": {str(b): n for b, n in v.char_hist.items()},
                                  "word_hist": {str(b): n for b, n in v.word_hist.items()}}
                              for k, v in sorted(self.languages.items())}}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Sketch":
        langs = {k: LanguageSketch(v["docs"], Counter(v["words"]), Counter(v["pairs"]), v["npairs"],
                                   Counter({int(b): n for b, n in v["char_hist"].items()}),
                                   Counter({int(b): n for b, n in v["word_hist"].items()}))
                 for k, v in d["languages"].items()}
        return cls(langs, np.frombuffer(base64.b64decode(d["hashes"]), dtype="<u8").astype(np.uint64),
                   tuple(d.get("terms", ())))


class ShardMeasure:
    """Measurements added batch by batch into ``sketch`` (the shard runner feeds each final shard's
    kept documents as it writes them, so the shard is never read back); ``finish`` once. The same
    sketch as ``Sketch.add`` of all of them at once: the words are counted by
    ``thresher.text.wordcount``, one compiled call per ``CHUNK`` characters of text, into tables kept
    across the calls, and the distinct words are spelled out once per call; fewer than ``SMALL``
    characters in all are counted by ``Sketch._add_small`` (the same result)."""

    def __init__(self, sketch: Sketch):
        self.sketch = sketch
        self.texts: list[str] = []
        self.names: list[str] = []
        self.size = 0
        self.tables: _Tables | None = None      # from the first SMALL characters on

    def add(self, texts: list[str], names: list[str]) -> None:
        """Documents ``texts``, ``names[i]`` the language of ``texts[i]``."""
        self.texts += texts
        self.names += names
        self.size += sum(map(len, texts))
        if self.tables is None and self.size >= SMALL:
            self.tables = _Tables(self.sketch.terms)
        if self.tables is not None and self.size >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        assert self.tables is not None
        self.sketch._add_lengths(self.tables.langs, *self.tables.count(self.texts, self.names))
        self.texts, self.names, self.size = [], [], 0

    def finish(self) -> Sketch:
        if self.tables is None:
            self.sketch._add_small(self.texts, self.names)
            return self.sketch
        if self.texts:
            self._flush()
        t = self.tables
        self.sketch._add_counts(t.words, t.pairs, t.spelled, list(t.langs))
        self.sketch.hashes = np.concatenate([self.sketch.hashes, *t.hashes])
        return self.sketch


class _Tables:
    """The compiled counts of a ``ShardMeasure``: word and pair tables, languages by number (first
    seen first), the distinct words spelled out, the documents' hashes."""

    def __init__(self, terms: tuple[str, ...]):
        from .text import wordcount     # numba: loaded only for a shard of at least SMALL characters

        self.wc = wordcount
        self.words, self.pairs = wordcount.new_counts(), wordcount.new_counts(256)
        self.tkeys, self.tids = wordcount.term_keys(terms)
        self.flags, self.bit = wordcount.word_flags()
        self.langs: dict[str, int] = {}
        self.spelled: list[str] = []
        self.hashes: list[np.ndarray] = []

    def count(self, texts: list[str], names: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Count a batch; returns (language numbers, characters, words) of its documents."""
        wc = self.wc
        data, offsets = wc.pack(texts)
        ids = np.array([self.langs.setdefault(lang, len(self.langs)) for lang in names], dtype=np.int64)
        nwords = np.zeros(len(texts), dtype=np.int64)
        seen = int(self.words.used[0])
        self.words, self.pairs = wc.count_batch(np.frombuffer(data, dtype=np.uint8), offsets, ids, self.flags,
                                                self.bit, self.tkeys, self.tids, WINDOW, self.words, self.pairs,
                                                nwords)
        self.spelled.extend(wc.spell(data, self.words, seen))
        view, at, xxh = memoryview(data), offsets.tolist(), xxhash.xxh3_64_intdigest
        # an ASCII document is packed as it is: its hash from the packed bytes, no second encoding
        self.hashes.append(np.array([xxh(view[at[i]:at[i + 1]]) if t.isascii() else
                                     xxh(t.encode("utf-8", "surrogatepass")) for i, t in enumerate(texts)],
                                    dtype=np.uint64))
        return ids, np.array([len(t) for t in texts], dtype=np.int64), nwords


def zipf_fit(counts: Iterable[int]) -> dict[str, float] | None:
    """Least-squares fit of log f = c - a log r over ranks of words seen at least twice (top ZIPF_TOP)."""
    f = np.array(sorted((c for c in counts if c >= 2), reverse=True)[:ZIPF_TOP], dtype=np.float64)
    if len(f) < 10 or f[0] == f[-1]:       # too few words, or all equally frequent: nothing to fit
        return None
    x, y = np.log(np.arange(1, len(f) + 1)), np.log(f)
    slope, icpt = np.polyfit(x, y, 1)
    resid = y - (slope * x + icpt)
    r2 = 1 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
    return {"alpha": round(-float(slope), 4), "c": round(float(icpt), 4), "r2": round(r2, 4), "ranks": int(len(f))}


def stopwords(lang: str) -> frozenset[str]:
    """NLTK's stopword list of ``lang`` (ISO 639-3, shipped in ``thresher/data/stopwords``), if any."""
    f = files("thresher.data").joinpath(f"stopwords/{lang}.txt")
    return frozenset(f.read_text(encoding="utf-8").split()) if f.is_file() else frozenset()


def npmi(ls: LanguageSketch, terms: Iterable[str], lang: str = "eng") -> dict[str, list[dict[str, Any]]]:
    """Per identity term seen, the words most associated with it (highest nPMI, >= MIN_PAIR pairs;
    the language's stopwords and the other identity terms left out, as the Data Measurements Tool did)."""
    total = sum(ls.words.values())
    skip = stopwords(lang) | stopwords("eng") | frozenset(terms)
    by_term: dict[str, list[tuple[str, int]]] = {}
    for key, c in ls.pairs.items():
        t, w = key.split("\t", 1)
        if c >= MIN_PAIR and w not in skip and not w.isdigit():
            by_term.setdefault(t, []).append((w, c))
    out = {}
    for t in sorted(set(terms) & set(by_term)):
        rows = []
        pt = ls.words[t] / total
        for w, c in by_term[t]:
            ptw = c / ls.npairs
            if ptw >= 1:
                continue
            v = math.log(ptw / (pt * (ls.words[w] / total))) / -math.log(ptw)
            rows.append({"word": w, "npmi": round(v, 4), "count": c})
        rows.sort(key=lambda r: (-r["npmi"], r["word"]))
        out[t] = rows[:NPMI_TOP]
    return out


def _rank_points(counts: Iterable[int], points: int = 40) -> list[list[int]]:
    """(rank, frequency) at about ``points`` log-spaced ranks: the observed curve the card plots."""
    f = sorted(counts, reverse=True)
    if not f:
        return []
    ranks = sorted({int(r) for r in np.geomspace(1, len(f), points)})
    return [[r, int(f[r - 1])] for r in ranks]


def _top_words(words: Counter, n: int) -> list[str]:
    """The ``n`` most frequent words, ties by word: only the words at least as frequent as the ``n``-th
    are sorted."""
    least = 0
    if len(words) > n:
        counts = np.fromiter(words.values(), dtype=np.int64, count=len(words))
        least = int(np.partition(counts, len(counts) - n)[len(counts) - n])
    return [w for w, _ in sorted(((w, c) for w, c in words.items() if c >= least), key=lambda kv: (-kv[1], kv[0]))[:n]]


def summary(sk: Sketch) -> dict[str, Any]:
    """What the card shows: per language vocabulary, Zipf fit, lengths, identity terms; duplicates."""
    uniq = len(np.unique(sk.hashes))
    n = int(sk.hashes.shape[0])
    langs = {}
    for k, ls in sorted(sk.languages.items(), key=lambda kv: -kv[1].docs):
        langs[k] = {"docs": ls.docs, "words": int(sum(ls.words.values())), "vocabulary": len(ls.words),
                    "zipf": zipf_fit(ls.words.values()), "rank_frequency": _rank_points(ls.words.values()),
                    "char_hist": {str(b): ls.char_hist[b] for b in sorted(ls.char_hist)},
                    "word_hist": {str(b): ls.word_hist[b] for b in sorted(ls.word_hist)},
                    "top_words": _top_words(ls.words, 20),
                    "identity_terms": npmi(ls, sk.terms, k)}
    return {"documents": n, "exact_duplicates": n - uniq, "duplicate_share": (n - uniq) / n if n else 0.0,
            "window": WINDOW, "terms": list(sk.terms), "languages": langs}


def warm_kernels() -> None:
    """Compile (or load) the word-count kernels, for ``thresher warmup``: the shards of the bundled
    samples are under ``SMALL`` characters, so the pipelines it runs count them in Python."""
    _Tables(tuple(identity_terms())).count(["Warm up, she said."], ["eng"])


def shard_measure(card_options: dict[str, Any]) -> ShardMeasure | None:
    """What the shard runner feeds a final shard's kept documents to (None with ``card.measurements: false``)."""
    if card_options.get("measurements", True) is False:
        return None
    return ShardMeasure(Sketch(terms=tuple(identity_terms(card_options.get("identity_terms")))))


def write_measurements(out: Path, index: int, measure: ShardMeasure) -> None:
    """The sketch of data shard ``index``, next to the release's other work files."""
    path = measurements_path(out, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, zstandard.ZstdCompressor(level=3).compress(orjson.dumps(measure.finish().to_json())))


def merged(out: Path) -> Sketch | None:
    """The sum of a release's shard sketches, or None when it has none (built without measurements)."""
    parts = sorted(measurements_path(out, 0).parent.glob("*.json.zst"))
    if not parts:
        return None
    dctx = zstandard.ZstdDecompressor()
    return sum(Sketch.from_json(orjson.loads(dctx.decompress(p.read_bytes()))) for p in parts)

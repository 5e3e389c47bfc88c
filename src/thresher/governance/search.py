"""Full-text search over a release: an embedded SQLite FTS5 index with BM25 ranking.

``RELEASE/index/search.sqlite`` holds a *contentless* FTS5 table (tokens and positions only) and a
side table with each document's id, url and zstd-compressed text, from which snippets of at most 128
words are cut at display time and PII is redacted. Results never include a document that a request
in the project's ledger removes, even before ``forget`` has run (see ``pending.py``). ``forget``
carries the index into the new version, deleting removed documents with ``secure_delete`` and an
FTS ``optimize`` so their tokens and text are really gone from the file.
"""
from __future__ import annotations

import bisect
import os
import re
import sqlite3
import time
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator

import orjson
import pyarrow.parquet as pq
import zstandard

from ..errors import InputError, ReleaseError
from ..progress import Progress
from ..release import Release
from .matchers import doc_url
from .pending import removed_ids
from .redact import redact

INDEX = Path("index") / "search.sqlite"
SNIPPET_WORDS = 128
# Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar, Tibetan) and
# Hangul, whose words carry attached particles: a run of them is indexed as overlapping character
# bigrams (the CJK n-gram scheme of Lucene's CJKAnalyzer), so any word of 2+ characters is found
# without a segmenter; a one-character query is a prefix query over the bigrams.
_NOSPACE = ("\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
            "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f")
_RUN = re.compile(f"[{_NOSPACE}]+")
_TOKEN = re.compile(r"\w+", re.UNICODE)
_PHRASE = re.compile(r'"([^"]+)"|(\S+)')
_WORDSPAN = re.compile(f"[{_NOSPACE}]|[^\\s{_NOSPACE}]+")    # a snippet counts each such character as a word
# The choice is made per run of characters, not per document label: a Chinese quote in an English
# document is found too, and a query (whose language is unknown) is cut the same way.
SCHEME = "unicode61+bigram-v1"      # recorded in the index: an index of another scheme is rebuilt


def _bigrams(run: str) -> str:
    if len(run) == 1:
        return run
    # marks (Thai vowels and tones) stay inside their bigram: unicode61 keeps them as token characters
    return " ".join(run[i:i + 2] for i in range(len(run) - 1))


def index_text(text: str) -> str:
    """What the FTS table indexes for a document: its text with every run of an unsegmented script
    replaced by the run's character bigrams (the text shown in snippets is kept as it is)."""
    return _RUN.sub(lambda m: " " + _bigrams(m.group()) + " ", text) if _RUN.search(text) else text


def _query_term(tok: str) -> str:
    """One query word as FTS5 syntax: runs of unsegmented scripts become their bigrams (a phrase)."""
    if not _RUN.search(tok):
        return tok
    parts = []
    for piece in re.split(f"([{_NOSPACE}]+)", tok):
        if not piece:
            continue
        if _RUN.fullmatch(piece):
            parts.append(_bigrams(piece))
        else:
            parts.extend(_TOKEN.findall(piece))
    return " ".join(parts)


def _schema(db: sqlite3.Connection) -> None:
    db.executescript("""
        CREATE TABLE docs(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, url TEXT, z BLOB NOT NULL);
        CREATE INDEX docs_id ON docs(id);
        CREATE TABLE info(key TEXT PRIMARY KEY, value TEXT);
        CREATE VIRTUAL TABLE fts USING fts5(text, content='', tokenize='unicode61 remove_diacritics 2');
    """)


def build_index(release: str | Path) -> dict[str, Any]:
    """(Re)build the search index of a release; returns docs, MB of text, seconds, MB/s, index MB."""
    path = Path(release)
    m = Release(path).manifest
    dst = path / INDEX
    tmp = dst.with_name(dst.name + ".tmp")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp.unlink(missing_ok=True)
    t0 = time.perf_counter()
    db = sqlite3.connect(tmp)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;")
    _schema(db)
    docs = nbytes = 0
    rowid = 0
    # a reader thread decodes Parquet and compresses texts (both release the GIL) while this thread
    # feeds SQLite, so the tokenizer - the bottleneck - never waits for input
    batches = _batches(path)
    total = sum(pq.ParquetFile(f).metadata.num_rows for f in Release(path).files("data"))
    with ThreadPoolExecutor(max_workers=1) as pool, Progress("index", total=total, unit="docs") as bar:
        fut = pool.submit(_prepare_next, batches)      # one batch ahead: bounded memory
        while (batch := fut.result()) is not None:
            fut = pool.submit(_prepare_next, batches)
            ids, texts, urls, zs, size = batch
            rows = [(rowid + k + 1, i, u, z) for k, (i, u, z) in enumerate(zip(ids, urls, zs))]
            db.executemany("INSERT INTO docs VALUES (?,?,?,?)", rows)
            db.executemany("INSERT INTO fts(rowid, text) VALUES (?,?)",
                           zip(range(rowid + 1, rowid + len(ids) + 1), map(index_text, texts)))
            rowid += len(ids)
            docs += len(ids)
            nbytes += size
            bar.advance(len(ids), nbytes=size)
    db.executemany("INSERT INTO info VALUES (?,?)", [("merkle_root", m["merkle"]["root"]), ("documents", str(docs)),
                                                    ("scheme", SCHEME)])
    db.execute("INSERT INTO fts(fts) VALUES('optimize')")
    db.commit()
    db.close()
    os.replace(tmp, dst)
    dt = time.perf_counter() - t0
    return {"index": str(dst), "documents": docs, "mb": nbytes / 1e6, "seconds": dt,
            "mb_per_s": nbytes / 1e6 / dt if dt else 0.0, "index_mb": dst.stat().st_size / 1e6}


def _batches(path: Path) -> Iterator[Any]:
    for f in Release(path).files("data"):
        yield from pq.ParquetFile(f).iter_batches(batch_size=2048, columns=["id", "text", "source"])


def _prepare_next(batches: Iterator[Any]) -> tuple[list[str], list[str], list[str | None], list[bytes], int] | None:
    b = next(batches, None)
    if b is None:
        return None
    cz = zstandard.ZstdCompressor(level=3)
    ids, texts, srcs = (b.column(c).to_pylist() for c in ("id", "text", "source"))
    raws = [t.encode("utf-8", "surrogatepass") for t in texts]
    urls = [doc_url(orjson.loads(s)) if s else None for s in srcs]
    return ids, texts, urls, [cz.compress(r) for r in raws], sum(len(r) for r in raws)


def _open(path: Path) -> sqlite3.Connection:
    f = path / INDEX
    if not f.is_file():
        raise ReleaseError(f"{path}: no search index; build it with `thresher index {path}`")
    db = sqlite3.connect(f"file:{f}?mode=ro", uri=True, check_same_thread=False)
    root = db.execute("SELECT value FROM info WHERE key='merkle_root'").fetchone()
    scheme = db.execute("SELECT value FROM info WHERE key='scheme'").fetchone()
    if scheme is None or scheme[0] != SCHEME:
        db.close()
        raise ReleaseError(f"{path}: the search index is from an older thresher (no search in Chinese, Japanese, "
                           f"Korean or Thai); rebuild it with `thresher index {path}`")
    if root is None or root[0] != Release(path).manifest["merkle"]["root"]:
        db.close()
        raise ReleaseError(f"{path}: the search index is from another version of the data; "
                           f"rebuild it with `thresher index {path}`")
    return db


def fts_query(query: str, any_term: bool = False) -> str:
    """A safe FTS5 query: every word quoted (no syntax errors from user input), "phrases" kept."""
    parts = []
    for phrase, word in _PHRASE.findall(query):
        toks = [_query_term(t) for t in _TOKEN.findall(phrase or word)]
        if not toks:
            continue
        if len(toks) == 1 and _RUN.fullmatch(toks[0]) and len(toks[0]) == 1:
            parts.append(f'"{toks[0]}" *')        # one CJK/Thai character: any bigram starting with it
        else:
            parts.append('"' + " ".join(toks) + '"')
    if not parts:
        raise InputError(f"search query '{query}' has no words")
    return (" OR " if any_term else " ").join(parts)


def snippet(text: str, query: str, words: int = SNIPPET_WORDS) -> str:
    """The ``words``-word window of ``text`` with the most query-term hits, PII redacted (a character
    of an unsegmented script counts as a word)."""
    starts = [m.start() for m in _WORDSPAN.finditer(text)]
    if len(starts) <= words:
        return redact(" ".join(text.split()))
    term_re = _terms_re(query)
    hits: list[int] = []
    if term_re is not None:
        hits = [bisect.bisect_right(starts, m.start()) - 1 for m in term_re.finditer(text)]
    best, best_n, j = 0, -1, 0
    for i, start in enumerate(hits):     # two pointers: hits inside [start, start + words)
        while j < len(hits) and hits[j] < start + words:
            j += 1
        if j - i > best_n:
            best, best_n = start, j - i
    start = max(0, min(best - words // 8, len(starts) - words))
    end = starts[start + words] if start + words < len(starts) else len(text)
    out = " ".join(text[starts[start]:end].split())
    # the ellipses hug the first/last word so they never count as a 129th word
    return redact(("…" if start else "") + out + ("…" if start + words < len(starts) else ""))


def _terms_re(query: str) -> re.Pattern[str] | None:
    """The query's words in a text: whole words, except in unsegmented scripts (no word boundaries)."""
    terms = sorted({t.lower() for t in _TOKEN.findall(query)}, key=len, reverse=True)
    if not terms:
        return None
    alts = [re.escape(t) if _RUN.search(t) else r"(?<!\w)" + re.escape(t) + r"(?!\w)" for t in terms]
    return re.compile("|".join(alts), re.IGNORECASE)


def highlight(snippet_text: str, query: str) -> list[tuple[str, bool]]:
    """``snippet_text`` cut into (piece, is a query word) pairs, for a front end to mark the hits."""
    term_re = _terms_re(query)
    out: list[tuple[str, bool]] = []
    at = 0
    for m in term_re.finditer(snippet_text) if term_re is not None else ():
        if m.start() > at:
            out.append((snippet_text[at:m.start()], False))
        out.append((m.group(), True))
        at = m.end()
    if at < len(snippet_text):
        out.append((snippet_text[at:], False))
    return out


def search(release: str | Path, query: str, k: int = 10, budget_s: float | None = None) -> list[dict[str, Any]]:
    """Top ``k`` documents for ``query`` by BM25: ``[{id, score, snippet, url}]`` (higher score = better).
    With ``budget_s``, a query that runs longer is stopped (SQLite's progress handler) with an InputError."""
    path = Path(release)
    db = _open(path)
    removed = removed_ids(path)
    dz = zstandard.ZstdDecompressor()
    out: list[dict[str, Any]] = []
    if budget_s is not None:
        deadline = time.monotonic() + budget_s
        db.set_progress_handler(lambda: int(time.monotonic() > deadline), 20)
    try:
        for any_term in (False, True):       # all words first; if nothing matches, any word
            q = fts_query(query, any_term)
            for rowid, score in _ranked(db, q, k, len(removed)):
                row = db.execute("SELECT id, url, z FROM docs WHERE rowid=?", (rowid,)).fetchone()
                if row is None or row[0] in removed:
                    continue
                text = dz.decompress(row[2]).decode("utf-8", "surrogatepass")
                snip = snippet(text, query)
                out.append({"id": row[0], "score": round(-score, 6), "snippet": snip, "url": row[1],
                            "highlights": [[a, a + len(p)] for a, p in _offsets(highlight(snip, query)) if p]})
                if len(out) >= k:
                    break
            if out:
                break
    except sqlite3.OperationalError as e:
        if budget_s is not None and "interrupt" in str(e):
            raise InputError(f"the search took longer than {budget_s:g} s; use fewer or rarer words") from None
        raise
    finally:
        db.close()
    return out


def _offsets(parts: list[tuple[str, bool]]) -> Iterator[tuple[int, str]]:
    """(start offset, text) of the highlighted pieces."""
    at = 0
    for piece, hit in parts:
        yield at, piece if hit else ""
        at += len(piece)


def _ranked(db: sqlite3.Connection, q: str, k: int, n_removed: int) -> Iterable[tuple[int, float]]:
    page = max(k * 2, 20) + min(n_removed, 1000)
    offset = 0
    while True:
        rows = db.execute("SELECT rowid, bm25(fts) FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ? OFFSET ?",
                          (q, page, offset)).fetchall()
        yield from rows
        if len(rows) < page:
            return
        offset += page


def carry_index(src: Path, dst: Path, removed: set[str], new_root: str) -> bool:
    """Copy ``src``'s index into the new version ``dst`` without the removed documents."""
    f = src / INDEX
    if not f.is_file() or not removed:
        return False
    old = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
    try:
        scheme = old.execute("SELECT value FROM info WHERE key='scheme'").fetchone()
    finally:
        old.close()
    if scheme is None or scheme[0] != SCHEME:      # deleting from it would need its own tokenization
        return False
    target = dst / INDEX
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    import shutil

    shutil.copyfile(f, tmp)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA secure_delete=ON")      # freed pages are zeroed: no removed text left in the file
    dz = zstandard.ZstdDecompressor()
    ids = sorted(removed)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = db.execute(f"SELECT rowid, z FROM docs WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        db.executemany("INSERT INTO fts(fts, rowid, text) VALUES('delete', ?, ?)",
                       [(r, index_text(dz.decompress(z).decode("utf-8", "surrogatepass"))) for r, z in rows])
        db.executemany("DELETE FROM docs WHERE rowid=?", [(r,) for r, _ in rows])
    db.execute("INSERT INTO fts(fts) VALUES('optimize')")   # merges segments, dropping the deleted postings
    db.execute("UPDATE info SET value=? WHERE key='merkle_root'", (new_root,))
    db.commit()               # secure_delete zeroed every freed page: no VACUUM (a full rewrite) needed
    db.close()
    os.replace(tmp, target)
    return True

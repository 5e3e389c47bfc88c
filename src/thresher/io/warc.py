"""WARC (FastWARC) and ARC readers. Response records with an HTML payload become documents holding
the decoded HTML; the ``extract_html`` step turns them into main text. Non-HTML payloads, non-2xx
responses and corrupt records are skipped and counted; after a corrupt record the reader resyncs to
the next record start, so one bad record never costs the rest of the file."""
from __future__ import annotations

import io
import json
import os
import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ..document import Document
from . import CHUNK, ShardSpec, bad_record, limits, lost
from .arc import http_doc, read_arc

GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_MAGIC = b"WARC/1."
MAX_RESYNCS = 1000


def _is_arc(path: str | Path) -> bool:
    return str(path).endswith((".arc", ".arc.gz"))


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    """One shard per file; a large WARC is cut at record boundaries into ranges of about shard_mb."""
    from fastwarc.warc import ArchiveIterator

    limit = int(cfg.shard_mb * 2**20)
    out = []
    for f in files:
        size = f.stat().st_size
        if size <= limit or _is_arc(f) or str(f).endswith(".lz4"):
            out.append({"files": (str(f),)})
            continue
        cuts, nxt = [0], limit
        try:
            for rec in ArchiveIterator(str(f), parse_http=False, fsspec_args=False):
                if rec.stream_pos >= nxt:
                    cuts.append(rec.stream_pos)
                    nxt = rec.stream_pos + limit
        except OSError:
            pass                         # a corrupt tail: the last range reads to the end and resyncs
        bounds = cuts + [None]
        out.extend({"files": (str(f),), "start": a, "end": b} for a, b in zip(bounds, bounds[1:]))
    return out


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    path = spec.files[0]
    if _is_arc(path):
        yield from read_arc(path, spec.rel(path), counters, limits(spec)[1])
        return
    with open(path, "rb") as f:
        magic = f.read(len(WARC_MAGIC))
    if magic.startswith(GZIP_MAGIC[:2]) or magic.startswith(WARC_MAGIC) or not magic:
        yield from _read_framed(spec, counters, magic.startswith(GZIP_MAGIC[:2]))
    else:                                   # lz4 / zstd streams: FastWARC decompresses and frames them
        yield from _read_warc(spec, counters)


def _source(h: Any) -> dict[str, Any]:
    return {"uri": h.get("WARC-Target-URI"), "date": h.get("WARC-Date"), "record_id": h.get("WARC-Record-ID"),
            "digest": h.get("WARC-Payload-Digest") or h.get("WARC-Block-Digest")}


def _record_doc(rec: Any, rel: str, offset: int, counters: Counter, body: bytes | None = None,
                decoded: Any = None) -> Document | None:
    """A parsed response record as a document. ``decoded()`` gives the body with its content and
    transfer encodings undone by FastWARC; crawlers often store the decoded body but keep the headers
    (the ClueWeb and iana.org quirks), so a body that does not decode as its headers claim is taken as
    it is."""
    body = rec.reader.read() if body is None else body
    http = rec.http_headers
    if decoded is not None and http is not None and (
            http.get("Content-Encoding") or "chunked" in (http.get("Transfer-Encoding") or "").lower()):
        body = decoded() or body
    status = http.status_code if http is not None else None
    return http_doc(rel, offset, status, rec.http_content_type or "", rec.http_charset, body,
                     _source(rec.headers), counters)


def _decoded(raw: bytes, index: int) -> bytes | None:
    """The body of the ``index``-th response record of ``raw`` decoded by FastWARC, or None when it
    does not decode as its headers say."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    try:
        for k, rec in enumerate(ArchiveIterator(io.BytesIO(raw), record_types=WarcRecordType.response,
                                                parse_http=True, quirks_mode=True, stream_detect=False,
                                                auto_decode="all")):
            if k == index:
                return rec.reader.read()
    except OSError:
        return None
    return None


def _header_end(buf: bytes, start: int = 0, stop: int | None = None) -> tuple[int, int]:
    """(end of the header block starting at ``start``, length of its terminator) or (-1, 0)."""
    stop = len(buf) if stop is None else min(stop, len(buf))
    i = buf.find(b"\r\n\r\n", start, stop)
    j = buf.find(b"\n\n", start, i if i >= 0 else stop)
    if j >= 0:                          # LF-only headers (quirks): FastWARC reads them too
        return j, 2
    return (i, 4) if i >= 0 else (-1, 0)


CONTENT_LENGTH = re.compile(rb"\nContent-Length:[ \t]*([^\r\n]*?)[ \t]*\r?(?:\n|$)", re.I)


def _content_length(header: bytes) -> int | None:
    m = CONTENT_LENGTH.search(header)
    return int(m.group(1)) if m is not None and m.group(1).isdigit() else None


def _frame(buf: bytes, pos: int = 0) -> tuple[int, str | None]:
    """Check the record at ``pos`` of ``buf``: (where it ends, None) or (0, what is wrong with it). A
    record is its header block, exactly Content-Length bytes, then an empty line (CRLF CRLF)."""
    if not buf.startswith(b"WARC/", pos):
        return 0, "no WARC record header"
    end, term = _header_end(buf, pos, pos + MAX_HEADER)
    if end < 0:
        return 0, "record header does not end" if len(buf) - pos >= MAX_HEADER else "truncated record header"
    cl = _content_length(buf[pos:end])
    if cl is None:
        return 0, "missing or invalid Content-Length"
    block_end = end + term + cl
    if len(buf) < block_end:
        return 0, f"truncated record: Content-Length {cl}, {len(buf) - end - term} bytes present"
    n = _boundary(buf[block_end:block_end + MAX_GAP], len(buf) <= block_end + MAX_GAP)
    if n < 0:
        return 0, f"Content-Length {cl} does not end at a record boundary"
    if _swallowed(buf, end + term, block_end):
        return 0, f"Content-Length {cl} takes in the next record's header"
    return block_end + n, None


MAX_GAP = 16
MAX_HEADER = 1 << 16
EMBEDDED = re.compile(rb"\r?\nWARC/1\.[01]\r?\n(?:[^\r\n]*\r?\n){0,30}?WARC-Type: ")


def _swallowed(buf: bytes, start: int, stop: int) -> bool:
    """A block (``buf[start:stop]``) that holds another record's header: its record had a header and
    no body, or a Content-Length long enough to take in what follows. (A page quoting a WARC record in
    its HTML would need its line ends and a WARC-Type line to be mistaken for one.)"""
    if buf.startswith(b"WARC/1.", start):
        return True
    i = buf.find(b"WARC/1.", start, stop)
    return i >= 0 and EMBEDDED.search(buf, max(i - 2, start), stop) is not None


def _boundary(after: bytes, at_eof: bool) -> int:
    """How many line-end bytes follow a record's block before the next record (or the end), or -1 when
    something else follows: the Content-Length was wrong. The standard says CRLF CRLF; writers that
    count one CRLF into the block (pywb's example) or write LF only are read as FastWARC reads them."""
    rest = after.lstrip(b"\r\n")
    n = len(after) - len(rest)
    if rest.startswith(b"WARC/") or (not rest and at_eof):
        return n
    return -1


def _parse(raw: bytes, rel: str, offset: int, counters: Counter) -> Iterator[Document]:
    """Documents of framed records (one member may hold several)."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    hend = raw.find(b"\r\n\r\n")
    if raw.find(b"WARC-Type: response", 0, hend) < 0 and raw.find(b"\nWARC/1.", hend) < 0:
        return                        # one request, metadata ... record: no document, no parse
    try:
        for k, rec in enumerate(ArchiveIterator(io.BytesIO(raw), record_types=WarcRecordType.response,
                                                parse_http=True, quirks_mode=True, stream_detect=False)):
            doc = _record_doc(rec, rel, offset, counters, decoded=lambda k=k: _decoded(raw, k))
            if doc is not None:
                yield doc
    except OSError as e:
        bad_record(counters, rel, offset, str(e) or type(e).__name__)


def _check_member(raw: bytes) -> str | None:
    """Every record of a decompressed member is framed right, and nothing else is in it."""
    pos, n = 0, len(raw)
    if not n:
        return "empty gzip member"
    while True:
        while pos < n and raw[pos] in (10, 13):
            pos += 1
        if pos >= n:
            return None
        end, why = _frame(raw, pos)
        if why is not None:
            return why
        pos = end


def _members(path: str, rel: str, start: int, end: int | None, counters: Counter,
             limit: int) -> Iterator[tuple[int, bytes]]:
    """(offset, decompressed bytes) of each gzip member from ``start``. A corrupt member (bad data or
    CRC) is counted and skipped, a member cut by the end of the file counted as truncated, a member
    that expands past ``limit`` counted and skipped without holding it in memory."""
    size = os.path.getsize(path)
    pos = start
    with open(path, "rb") as f:
        while pos < size and (end is None or pos < end):
            f.seek(pos)
            d = zlib.decompressobj(31)
            parts: list[bytes] = []
            got = fed = 0
            try:
                while not d.eof:
                    chunk = f.read(1 << 16)
                    if not chunk:
                        break
                    fed += len(chunk)
                    buf = chunk
                    while buf and not d.eof:
                        data = d.decompress(buf, CHUNK)
                        buf = d.unconsumed_tail
                        got += len(data)
                        if got <= limit:
                            parts.append(data)
                        else:
                            parts = []
            except zlib.error as e:
                bad_record(counters, rel, pos, f"corrupt gzip member: {e}")
                nxt = _next_start(path, pos + 1)
                if nxt is None:
                    return
                pos = nxt
                continue
            if not d.eof:
                lost(counters, rel, pos, "skipped_truncated", "gzip member cut by the end of the file")
                return
            member_end = pos + fed - len(d.unused_data)
            if got > limit:
                lost(counters, rel, pos, "skipped_too_large", f"record larger than {limit} bytes")
            else:
                yield pos, b"".join(parts)
            pos = member_end


def _plain_records(path: str, rel: str, start: int, end: int | None, counters: Counter,
                   limit: int) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) of each record of an uncompressed WARC, framing checked; after a bad record
    the reader resyncs to the next record start, so a wrong Content-Length costs one record only."""
    size = os.path.getsize(path)
    pos = start
    with open(path, "rb") as f:
        while pos < size and (end is None or pos < end):
            f.seek(pos)
            head = f.read(HEAD_READ)
            skip = len(head) - len(head.lstrip(b"\r\n"))
            if skip:
                pos += skip
                continue
            hend, term = _header_end(head)
            if hend < 0 and len(head) == HEAD_READ:
                head += f.read(MAX_HEADER - HEAD_READ)
                hend, term = _header_end(head)
            cl = _content_length(head[:hend]) if hend >= 0 and head.startswith(b"WARC/") else None
            if cl is None:
                _, why = _frame(head)
                reason = "skipped_truncated" if why == "truncated record header" else "skipped_bad_record"
                lost(counters, rel, pos, reason, why or "invalid record header")
            else:
                total = hend + term + cl
                block_end = pos + total
                if block_end > size:
                    nxt = _next_start(path, pos + 1)
                    if nxt is None:
                        lost(counters, rel, pos, "skipped_truncated",
                             f"truncated record: Content-Length {cl}, {size - pos - hend - term} bytes present")
                        return
                    bad_record(counters, rel, pos, f"Content-Length {cl} runs into the next record")
                    pos = nxt
                    continue
                if total > limit:
                    f.seek(block_end)
                    n = _boundary(f.read(MAX_GAP), block_end + MAX_GAP >= size)
                    if n >= 0:
                        lost(counters, rel, pos, "skipped_too_large", f"record larger than {limit} bytes")
                        pos = block_end + n
                        continue
                    raw = b""
                else:
                    want = total + MAX_GAP - len(head)
                    raw = head + f.read(want) if want > 0 else head[:total + MAX_GAP]
                    n = _boundary(raw[total:total + MAX_GAP], block_end + MAX_GAP >= size)
                if n >= 0:
                    if not _swallowed(raw, hend + term, total):
                        yield pos, raw[:total] + b"\r\n\r\n"
                        pos = block_end + n
                        continue
                    bad_record(counters, rel, pos, f"Content-Length {cl} takes in the next record's header")
                    pos += hend + term        # resync inside the block: the record it took in is read
                    continue
                bad_record(counters, rel, pos, f"Content-Length {cl} does not end at a record boundary")
            nxt = _next_start(path, pos + 1)
            if nxt is None:
                return
            pos = nxt


HEAD_READ = 1 << 13


def _read_framed(spec: ShardSpec, counters: Counter, gz: bool) -> Iterator[Document]:
    """Framed records of the shard. The last response's document is held back until the next record:
    a crawler's metadata record about it (thresher's crawler writes rights signals there) may follow,
    even as the first record past the shard's end (read then with a scratch counter: it is the next
    shard's to count)."""
    path, rel = spec.files[0], spec.rel(spec.files[0])
    max_doc, max_member = limits(spec)
    limit = min(max_doc, max_member)
    frames = _members if gz else _plain_records
    held: Document | None = None
    for offset, raw in frames(path, rel, spec.start, spec.end, counters, limit):
        if _is_metadata(raw):
            _attach_metadata(held, raw)
            continue
        if gz:
            why = _check_member(raw)
            if why is not None:          # the member itself is whole: its record's framing lies
                bad_record(counters, rel, offset, f"{why} (in a complete gzip member)")
                continue
        for doc in _parse(raw, rel, offset, counters):
            if held is not None:
                yield held
            held = doc
    if held is not None and spec.end is not None:
        for _, raw in frames(path, rel, spec.end, None, Counter(), limit):
            if _is_metadata(raw):
                _attach_metadata(held, raw)
            break
    if held is not None:
        yield held


def _is_metadata(raw: bytes) -> bool:
    return raw.find(b"WARC-Type: metadata", 0, raw.find(b"\r\n\r\n")) >= 0


def _attach_metadata(doc: Document | None, raw: bytes) -> None:
    """A JSON metadata record about the response just read (``WARC-Concurrent-To`` its record id)
    carries rights signals: they become ``source["rights"]``."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    if doc is None:
        return
    try:
        for rec in ArchiveIterator(io.BytesIO(raw), record_types=WarcRecordType.metadata,
                                   parse_http=False, stream_detect=False):
            h = rec.headers
            if h.get("WARC-Concurrent-To") != doc.source.get("record_id") \
                    or not (h.get("Content-Type") or "").startswith("application/json"):
                return
            info = json.loads(rec.reader.read())
            if isinstance(info, dict) and isinstance(info.get("rights"), dict):
                doc.source["rights"] = info["rights"]
            return
    except (OSError, ValueError):
        return


def _next_start(path: str, pos: int) -> int | None:
    """The next plausible record start after ``pos`` (a gzip member, or a 'WARC/1.' line)."""
    magic = GZIP_MAGIC if _gzipped(path) else WARC_MAGIC
    with open(path, "rb") as f:
        f.seek(pos)
        carry = b""
        base = pos
        while chunk := f.read(1 << 20):
            buf = carry + chunk
            i = buf.find(magic)
            if i >= 0:
                return base - len(carry) + i
            carry = buf[-(len(magic) - 1):]
            base += len(chunk)
    return None


def _gzipped(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC[:2]


def _read_warc(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    """lz4 and zstd WARCs, read by FastWARC, resyncing after a corrupt record."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    path, rel = spec.files[0], spec.rel(spec.files[0])
    pos, end = spec.start, spec.end
    for _ in range(MAX_RESYNCS):
        last = pos
        with open(path, "rb") as fh:
            fh.seek(pos)
            try:
                for rec in ArchiveIterator(fh, record_types=WarcRecordType.response, parse_http=True,
                                           quirks_mode=True):
                    last = rec.stream_pos
                    if end is not None and last >= end:
                        return
                    body = rec.reader.read()
                    if rec.content_length and not body:
                        lost(counters, rel, last, "skipped_truncated", "truncated record")
                        continue
                    doc = _record_doc(rec, rel, last, counters, body)
                    if doc is not None:
                        yield doc
                return
            except OSError as e:
                bad_record(counters, rel, last, str(e) or type(e).__name__)
        nxt = _next_start(path, last + 1)
        if nxt is None or (end is not None and nxt >= end):
            return
        pos = nxt

"""WARC (FastWARC) and ARC readers. Response records with an HTML payload become documents holding
the decoded HTML; the ``extract_html`` step turns them into main text. Non-HTML payloads, non-2xx
responses and corrupt records are skipped and counted; after a corrupt record the reader resyncs to
the next record start, so one bad record never costs the rest of the file."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from ..document import Document, stable_id
from . import ShardSpec, bad_record, decode, is_compressed, open_stream

HTML_TYPES = ("text/html", "application/xhtml+xml")
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
        yield from _read_arc(path, spec.rel(path), counters)
    else:
        yield from _read_warc(spec, counters)


def _http_doc(rel: str, offset: int, status: int | None, ctype: str, charset: str | None, body: bytes,
              source: dict[str, Any], counters: Counter) -> Document | None:
    counters["bytes_read"] += len(body)
    if status is not None and not 200 <= status < 300:
        counters["skipped_http_status"] += 1
        return None
    if not ctype.lower().startswith(HTML_TYPES):
        counters["skipped_non_html"] += 1
        return None
    html, enc = decode(body, charset)
    counters["docs_read"] += 1
    source.update({"file": rel, "offset": offset, "content_type": "text/html", "charset": enc})
    return Document(stable_id(f"{rel}:{offset}"), html, source, {"modality": "html"})


CHUNK_LINE = re.compile(rb"([0-9a-fA-F]+)[ \t]*(?:;[^\r\n]*)?\r?\n")


def _dechunk(body: bytes) -> bytes | None:
    """Decode a chunked transfer encoding, or None if the body is not validly chunked."""
    out, pos = [], 0
    while True:
        m = CHUNK_LINE.match(body, pos)
        if m is None:
            return None
        size = int(m.group(1), 16)
        if size == 0:
            return b"".join(out)
        out.append(body[m.end(): m.end() + size])
        pos = m.end() + size
        pos += 2 if body[pos:pos + 2] == b"\r\n" else 1 if body[pos:pos + 1] == b"\n" else 0
        if pos >= len(body):
            return b"".join(out)          # a clipped last chunk: keep what arrived


def _content_decode(body: bytes, http_headers) -> bytes:
    """Undo chunked transfer and gzip/deflate/brotli content encodings. Crawlers often store the decoded
    body but keep the headers (the ClueWeb and iana.org quirks), so a body that does not decode as its
    headers claim is taken as it is."""
    if http_headers is None:
        return body
    if "chunked" in (http_headers.get("Transfer-Encoding") or "").lower():
        body = _dechunk(body) or body
    enc = (http_headers.get("Content-Encoding") or "").lower()
    try:
        if "gzip" in enc or "deflate" in enc:
            import zlib
            return zlib.decompress(body, 47 if "gzip" in enc else 15)
        if enc == "br":
            import brotli
            return brotli.decompress(body)
    except Exception:
        pass
    return body


def _next_start(path: str, pos: int) -> int | None:
    """The next plausible record start after ``pos`` (a gzip member, or a 'WARC/1.' line)."""
    magic = GZIP_MAGIC if is_compressed(path) else WARC_MAGIC
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


def _read_warc(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
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
                    h = rec.headers
                    source = {"uri": h.get("WARC-Target-URI"), "date": h.get("WARC-Date"),
                              "record_id": h.get("WARC-Record-ID"),
                              "digest": h.get("WARC-Payload-Digest") or h.get("WARC-Block-Digest")}
                    status = rec.http_headers.status_code if rec.http_headers is not None else None
                    body = _content_decode(rec.reader.read(), rec.http_headers)
                    if rec.content_length and len(body) == 0:
                        bad_record(counters, rel, last, "truncated record")
                        continue
                    doc = _http_doc(rel, last, status, rec.http_content_type or "", rec.http_charset,
                                    body, source, counters)
                    if doc is not None:
                        yield doc
                return
            except OSError as e:
                bad_record(counters, rel, last, str(e) or type(e).__name__)
        nxt = _next_start(path, last + 1)
        if nxt is None or (end is not None and nxt >= end):
            return
        pos = nxt


# --- ARC (version 1), which FastWARC does not read: "URL IP DATE CONTENT-TYPE LENGTH\n" + LENGTH bytes
ARC_HEADER = re.compile(rb"^(\S.*) (\S+) (\d{14}) (\S*) (\d+)\s*$")


def _read_arc(path: str, rel: str, counters: Counter) -> Iterator[Document]:
    with open_stream(path) as f:
        data = f.read()
    pos = 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        line = data[pos:nl]
        if not line.strip():
            pos = nl + 1
            continue
        m = ARC_HEADER.match(line)
        if m is None or nl + 1 + int(m.group(5)) > len(data):
            bad_record(counters, rel, pos, "invalid or truncated ARC header")
            nxt = re.compile(rb"\n(?:https?|dns|filedesc)://").search(data, nl)
            pos = nxt.start() + 1 if nxt else len(data)
            continue
        url, date, length = m.group(1).decode("utf-8", "replace"), m.group(3).decode(), int(m.group(5))
        block = data[nl + 1: nl + 1 + length]
        offset, pos = pos, nl + 1 + length
        if url.startswith("filedesc:") or not url.startswith("http"):
            continue
        head, sep, body = block.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = block.partition(b"\n\n")
        status_line, *header_lines = head.decode("latin-1").splitlines()
        parts = status_line.split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        ctype = headers.get("content-type", m.group(4).decode("latin-1"))
        cm = re.search(r"charset=([\w-]+)", ctype, re.I)
        source = {"uri": url, "date": f"{date[:4]}-{date[4:6]}-{date[6:8]}T{date[8:10]}:{date[10:12]}:{date[12:]}Z"}
        doc = _http_doc(rel, offset, status, ctype, cm.group(1) if cm else None, body, source, counters)
        if doc is not None:
            yield doc

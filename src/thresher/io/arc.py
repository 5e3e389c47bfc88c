"""ARC (version 1) records, which FastWARC does not read, streamed in chunks; and the HTTP response
-> document step the WARC and ARC readers share (``io.warc`` reads WARC)."""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterator

from ..document import Document, stable_id
from . import CHUNK, bad_record, decode, lost, read_chunks

HTML_TYPES = ("text/html", "application/xhtml+xml")


def http_doc(rel: str, offset: int, status: int | None, ctype: str, charset: str | None, body: bytes,
             source: dict[str, Any], counters: Counter) -> Document | None:
    """An HTTP response (of a WARC or an ARC record) as a document holding its decoded HTML; other
    statuses and content types are skipped and counted."""
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


# --- ARC (version 1), which FastWARC does not read: "URL IP DATE CONTENT-TYPE LENGTH\n" + LENGTH bytes
ARC_HEADER = re.compile(rb"^(\S.*) (\S+) (\d{14}) (\S*) (\d+)\s*$")


ARC_RESYNC = re.compile(rb"\n(?:https?|dns|filedesc)://")


class _Window:
    """A sliding window over a stream of chunks: ``buf`` holds the bytes from absolute offset ``base``;
    ``more()`` appends the next chunk, ``drop(n)`` forgets the first ``n`` bytes. Memory stays about one
    record plus one chunk however large the file."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buf, self.base, self.eof = chunks, b"", 0, False

    def more(self) -> bool:
        chunk = next(self.chunks, None)
        if chunk is None:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def fill(self, n: int) -> bool:
        """Read until ``buf`` holds ``n`` bytes; False when the stream ends first."""
        while len(self.buf) < n:
            if not self.more():
                return False
        return True

    def find(self, pattern: bytes, start: int) -> int:
        while (i := self.buf.find(pattern, start)) < 0 and self.more():
            pass
        return i

    def search(self, regex: re.Pattern, start: int) -> re.Match | None:
        while (m := regex.search(self.buf, start)) is None and self.more():
            pass
        return m

    def drop(self, n: int) -> None:
        self.buf, self.base = self.buf[n:], self.base + n


def read_arc(path: str, rel: str, counters: Counter, max_member: int) -> Iterator[Document]:
    """ARC records, streamed: the file is read in chunks, never held whole."""
    errors: list = []
    w = _Window(read_chunks(path, rel, counters, max_member, errors))
    pos = 0                         # in w.buf; the absolute offset is w.base + pos
    w.more()

    def cut_tail() -> None:         # a cut .arc.gz: its last record is incomplete and counted below
        if errors:
            reason, at, why = errors[0]
            if reason != "skipped_truncated":
                lost(counters, rel, at, reason, why)

    while pos < len(w.buf) or (not w.eof and w.more()):
        if pos >= CHUNK:
            w.drop(pos)
            pos = 0
        nl = w.find(b"\n", pos)
        if nl < 0:
            break
        line = w.buf[pos:nl]
        if not line.strip():
            pos = nl + 1
            continue
        m = ARC_HEADER.match(line)
        whole = m is not None and w.fill(nl + 1 + int(m.group(5)))
        if m is not None and not whole and w.eof and errors:
            cut_tail()
            lost(counters, rel, w.base + pos, "skipped_truncated", "record cut by the end of the file")
            return
        if m is None or not whole:
            bad_record(counters, rel, w.base + pos, "invalid or truncated ARC header")
            nxt = w.search(ARC_RESYNC, nl)
            pos = nxt.start() + 1 if nxt else len(w.buf)
            continue
        url, date, length = m.group(1).decode("utf-8", "replace"), m.group(3).decode(), int(m.group(5))
        block = w.buf[nl + 1: nl + 1 + length]
        offset, pos = w.base + pos, nl + 1 + length
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
        doc = http_doc(rel, offset, status, ctype, cm.group(1) if cm else None, body, source, counters)
        if doc is not None:
            yield doc
    cut_tail()

"""Gzip WARC output through warcio: per fetch a request, a response and a metadata record (JSON: the
crawl outcome, rights signals, terms findings), written and flushed as one group.

A file being written is named ``*.warc.gz.open`` and renamed when closed, so ``*.warc.gz`` globs only
ever see finished files. After a crash, ``recover`` cuts an open file back to the end of its last
complete group (a metadata record ends every group) and closes it; the URLs in that file are what the
crawler treats as stored.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from .fetch import Exchange

OPEN = ".open"
META_TYPE = "application/json"


class WarcOut:
    def __init__(self, folder: Path, prefix: str, max_file_bytes: int, info: dict[str, str]):
        self.folder, self.prefix, self.max_file_bytes, self.info = folder, prefix, max_file_bytes, info
        self.fh = None
        self.path: Path | None = None
        self.writer: WARCWriter | None = None

    def _next_path(self) -> Path:
        n = 0
        while True:
            p = self.folder / f"{self.prefix}-{n:05d}.warc.gz"
            if not p.exists() and not Path(str(p) + OPEN).exists():
                return p
            n += 1

    def _open(self) -> None:
        self.path = self._next_path()
        self.fh = open(str(self.path) + OPEN, "wb")
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=True)
        w.write_record(w.create_warcinfo_record(self.path.name, self.info))
        self.fh.write(buf.getvalue())
        self.fh.flush()

    def write(self, ex: Exchange, meta: dict[str, Any]) -> None:
        """Request (when one was sent), response (when one came back) and metadata, flushed together."""
        if self.fh is None:
            self._open()
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=True)
        resp_id = None
        records = []
        if ex.status is not None and ex.error is None:       # an aborted download is logged, never stored
            http = StatusAndHeaders(f"{ex.status} {ex.reason}".strip(), ex.headers, protocol=ex.version)
            warc_headers = {"WARC-Date": ex.date[:19] + "Z"}
            if ex.ip:
                warc_headers["WARC-IP-Address"] = ex.ip
            resp = w.create_warc_record(ex.url, "response", payload=io.BytesIO(ex.body), http_headers=http,
                                        warc_headers_dict=warc_headers)
            resp_id = resp.rec_headers.get_header("WARC-Record-ID")
            p = ex.url.split("/", 3)
            target = "/" + (p[3] if len(p) > 3 else "")
            req = w.create_warc_record(ex.url, "request", payload=io.BytesIO(b""),
                                       http_headers=StatusAndHeaders(f"GET {target} HTTP/1.1", ex.request_headers,
                                                                     is_http_request=True),
                                       warc_headers_dict={"WARC-Date": ex.date[:19] + "Z",
                                                          "WARC-Concurrent-To": resp_id})
            records += [req, resp]
        mh = {"WARC-Date": ex.date[:19] + "Z"}
        if resp_id:
            mh["WARC-Concurrent-To"] = resp_id
        payload = json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()
        records.append(w.create_warc_record(ex.url, "metadata", payload=io.BytesIO(payload),
                                            warc_content_type=META_TYPE, warc_headers_dict=mh))
        for r in records:
            w.write_record(r)
        self.fh.write(buf.getvalue())
        self.fh.flush()

    def rotate_if_full(self) -> None:
        """Called after the frontier committed what the file holds, so a closed file is never ahead of it."""
        if self.fh is not None and self.fh.tell() >= self.max_file_bytes:
            self.close()

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            os.replace(str(self.path) + OPEN, self.path)
            self.fh = None


def _groups(path: Path) -> Iterator[tuple[int, str, str | None, dict[str, Any] | None]]:
    """(end offset, record type, target URI, metadata JSON) of each complete record, until the first bad one."""
    with open(path, "rb") as fh:
        it = ArchiveIterator(fh)
        try:
            for rec in it:
                body = rec.content_stream().read()
                it.read_to_end(rec)
                end = it.get_record_offset() + it.get_record_length()
                meta = None
                if rec.rec_type == "metadata" and rec.rec_headers.get_header("Content-Type") == META_TYPE:
                    meta = json.loads(body)
                yield end, rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), meta
        except Exception:         # a torn gzip member or record: the file is good up to the last end
            return


def recover(folder: Path) -> list[dict[str, Any]]:
    """Close every ``*.open`` file left by a crash at its last complete group; return those groups' metadata."""
    metas = []
    for f in sorted(folder.glob(f"*.warc.gz{OPEN}")):
        good, pending = 0, []
        for end, kind, _, meta in _groups(f):
            if kind in ("warcinfo", "metadata"):
                good = end
                if meta is not None:
                    pending.append(meta)
        with open(f, "r+b") as fh:
            fh.truncate(good)
        if good:
            os.replace(f, str(f)[: -len(OPEN)])
            metas.extend(pending)
        else:
            f.unlink()
    return metas


def stored_metadata(path: Path) -> Iterator[dict[str, Any]]:
    for _, _, _, meta in _groups(path):
        if meta is not None:
            yield meta

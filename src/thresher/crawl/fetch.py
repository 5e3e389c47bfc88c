"""One HTTP GET, with the limits a polite crawler needs, through urllib3.

The connection pool keeps at most one connection per host (``maxsize=1, block=True``), redirects are
never followed here (the crawler checks scope and robots.txt for every hop) and urllib3's own retries
are off (the crawler retries with back-off and logs each try). The body is read raw (as sent, before
content decoding) up to ``max_bytes``; a declared or actual size above it, or a content type outside
``accept``, stops the download early and closes the connection.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError, TimeoutError as U3Timeout

CHUNK = 1 << 16
# http.client has already undone chunking, so a stored body is no longer chunked: renamed as Heritrix does
RENAMED = {"transfer-encoding": "X-Crawler-Transfer-Encoding"}


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class Exchange:
    """One request and what came back (or why nothing usable did)."""

    url: str
    request_headers: list[tuple[str, str]]
    date: str                                  # WARC-Date: when the request started
    status: int | None = None
    reason: str = ""
    version: str = "HTTP/1.1"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""                          # raw, as sent (content-encoded if it was)
    ip: str | None = None
    error: str | None = None                   # timeout | connection | too_large | content_type
    detail: str = ""
    seconds: float = 0.0

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        ct = self.header("Content-Type") or ""
        for part in ct.split(";")[1:]:
            k, _, v = part.partition("=")
            if k.strip().lower() == "charset":
                return v.strip().strip('"\'') or None
        return None

    def decoded(self) -> bytes:
        """The body with gzip/deflate content encoding undone (as sent if it does not decode)."""
        enc = (self.header("Content-Encoding") or "").lower()
        if "gzip" in enc or "deflate" in enc:
            try:
                return zlib.decompress(self.body, 47 if "gzip" in enc else 15)
            except zlib.error:
                return self.body
        return self.body


class Fetcher:
    def __init__(self, user_agent: str, timeout: float = 30.0, max_bytes: int = 10 << 20):
        self.user_agent = user_agent
        self.max_bytes = max_bytes
        self.pool = urllib3.PoolManager(maxsize=1, block=True, retries=False,
                                        timeout=urllib3.Timeout(connect=timeout, read=timeout))

    def get(self, url: str, accept: tuple[str, ...] | None = None) -> Exchange:
        p = urlsplit(url)
        headers = [("User-Agent", self.user_agent),
                   ("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5"),
                   ("Accept-Encoding", "gzip, deflate")]
        ex = Exchange(url, [("Host", p.netloc)] + headers, utc_now())
        t0 = time.monotonic()
        try:
            resp = self.pool.request("GET", url, headers=dict(headers), redirect=False, preload_content=False,
                                     decode_content=False)
        except (HTTPError, OSError) as e:
            ex.error, ex.detail = _error(e), f"{type(e).__name__}: {e}"[:300]
            ex.seconds = time.monotonic() - t0
            return ex
        try:
            ex.status, ex.reason = resp.status, resp.reason or ""
            ex.version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(resp.version, "HTTP/1.1")
            ex.headers = [(RENAMED.get(k.lower(), k), v) for k, v in resp.headers.items()]
            ex.ip = _peer(resp)
            declared = resp.headers.get("Content-Length")
            if accept is not None and 200 <= resp.status < 300 and ex.content_type not in accept:
                ex.error, ex.detail = "content_type", ex.content_type or "(none)"
                return ex
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                ex.error, ex.detail = "too_large", f"Content-Length {declared} > {self.max_bytes}"
                return ex
            chunks, size = [], 0
            while chunk := resp.read(CHUNK, decode_content=False):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    ex.error, ex.detail = "too_large", f"more than {self.max_bytes} bytes"
                    return ex
            ex.body = b"".join(chunks)
        except (HTTPError, OSError) as e:
            ex.error, ex.detail = _error(e), f"{type(e).__name__}: {e}"[:300]
        finally:
            ex.seconds = time.monotonic() - t0
            if ex.error:
                resp.close()             # never hand a half-read connection back to the pool
            resp.release_conn()
        return ex

    def close(self) -> None:
        self.pool.clear()


def _error(e: Exception) -> str:
    # urllib3's NewConnectionError subclasses its ConnectTimeoutError: a refused connection is no timeout
    if isinstance(e, NewConnectionError) or not isinstance(e, (U3Timeout, TimeoutError)):
        return "connection"
    return "timeout"


def _peer(resp) -> str | None:
    try:
        sock = resp.connection.sock
        return sock.getpeername()[0] if sock is not None else None
    except (AttributeError, OSError):
        return None

"""Sitemaps (sitemaps.org protocol): XML url sets and sitemap indexes, gzip'd or not, and plain-text
lists of URLs. Parsing never fails a crawl: a broken sitemap yields nothing."""
from __future__ import annotations

import zlib
from xml.etree import ElementTree

MAX_SITEMAP_BYTES = 50 << 20           # the protocol's own limit, uncompressed


def _gunzip(data: bytes) -> bytes:
    try:
        return zlib.decompressobj(47).decompress(data, MAX_SITEMAP_BYTES)
    except zlib.error:
        return b""


def parse_sitemap(data: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, child sitemap URLs) listed in one sitemap file."""
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data)
    head = data.lstrip()[:200].lower()
    if not head.startswith(b"<"):
        lines = data.decode("utf-8", "replace").splitlines()
        return [ln.strip() for ln in lines if ln.strip().startswith(("http://", "https://"))], []
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError:
        return [], []
    index = root.tag.rsplit("}", 1)[-1].lower() == "sitemapindex"
    locs = [(e.text or "").strip() for e in root.iter() if e.tag.rsplit("}", 1)[-1].lower() == "loc"]
    locs = [u for u in locs if u]
    return ([], locs) if index else (locs, [])


"""URL block lists: drop documents by domain (subdomains included), URL substring or top-level domain.

Lists come from files (one entry per line, ``#`` comments) and/or inline config lists. Matching is
on the document's ``source["uri"]`` (WARC) or ``source["url"]`` (JSONL). Domains match the host or
any subdomain of it (``example.com`` blocks ``ads.example.com``, not ``notexample.com``); a TLD entry
matches the last label(s) of the host (``xxx``, ``co.uk``); substrings match anywhere in the
lower-cased URL, all at once with one compiled pattern.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..document import Document
from ..errors import ConfigError
from ..text.stopwords import read_word_file
from .base import Drop, Filter


def url_host(url: str) -> str | None:
    """The lower-cased host of a URL (no port, user info or trailing dot), or None."""
    try:
        parts = urlsplit(url if "//" in url else f"//{url}")
        host = parts.hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


def _entries(inline: list[str], path: str | None, what: str) -> list[str]:
    items = list(inline)
    if path:
        items += read_word_file(path)
    out = []
    for item in items:
        item = item.strip().lower()
        if what != "substring":
            item = item.strip(".")
            if what == "domain" and "/" in item:
                item = url_host(item) or ""
        if item:
            out.append(item)
    return out


class UrlFilter(Filter):
    """Drop documents whose URL is on a block list: by domain (and its subdomains), URL substring or TLD.

    Lists are files (``domains_file``, ``substrings_file``, ``tlds_file``; one entry per line) and/or
    inline lists. Documents without a URL are kept unless ``drop_missing_url``.
    """

    name = "url_filter"
    version = 1

    def __init__(self, domains_file: str | None = None, substrings_file: str | None = None,
                 tlds_file: str | None = None, domains: list[str] = [], substrings: list[str] = [],  # noqa: B006
                 tlds: list[str] = [], drop_missing_url: bool = False):  # noqa: B006
        self.domains = set(_entries(domains, domains_file, "domain"))
        self.tlds = set(_entries(tlds, tlds_file, "tld"))
        subs = sorted(set(_entries(substrings, substrings_file, "substring")), key=len, reverse=True)
        self._subs = re.compile("|".join(map(re.escape, subs))) if subs else None
        if not (self.domains or self.tlds or self._subs):
            raise ConfigError("url_filter: give at least one domain, substring or TLD (inline or as a file)")
        self.drop_missing_url = drop_missing_url

    def decide(self, doc: Document) -> bool | Drop:
        url = doc.source.get("uri") or doc.source.get("url")
        if not url:
            return Drop("no_url") if self.drop_missing_url else True
        host = url_host(url)
        if host:
            labels = host.split(".")
            for i in range(len(labels)):
                suffix = ".".join(labels[i:])
                if suffix in self.domains:
                    return Drop(f"domain:{suffix}")
                if i > 0 and suffix in self.tlds:
                    return Drop(f"tld:{suffix}")
        if self._subs is not None:
            m = self._subs.search(url.lower())
            if m:
                return Drop(f"substring:{m.group(0)}")
        return True

"""How broad a removal request is. A request that would remove a whole public suffix (``co.uk``,
``github.io``), every URL of a scheme (``https://``), or more documents than the project's limit is
refused unless a steward files it knowingly (``--broad``): one request must not empty a corpus by a
typo, and nobody should take down a whole hosting platform in someone else's name.
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..paths import heads
from ..release import Release
from .apply import SaltedHasher, find_hits
from .request import Request, in_scope

if TYPE_CHECKING:
    from .ledger import Ledger

MAX_DOCUMENTS = 1000          # documents one request may remove without --broad (per release)


@lru_cache(maxsize=1)
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()           # the list ships in the package: no download


def is_public_suffix(host: str) -> bool:
    host = host.strip(".").lower()
    return not host or "." not in host or bool(_psl().is_public(host))


def broad_reason(ledger: "Ledger", matcher: str, raw: str, value: str, scope: str, max_documents: int) -> str | None:
    """Why the (normalised) request is broad, or None."""
    if matcher == "domain" and is_public_suffix(value):
        return f"'{value}' is a public suffix: it covers every site registered under it"
    if matcher == "url_prefix":
        parts = urlsplit(value if "://" in value else "//" + value)
        if not parts.netloc:
            return f"'{raw}' names no host: it covers every URL of a scheme"
        host = parts.hostname or ""
        if is_public_suffix(host) and parts.path in ("", "/"):
            return f"'{raw}' is a public suffix: it covers every site registered under it"
    if max_documents >= 0:
        n = count_matches(ledger, matcher, value, scope)
        if n > max_documents:
            return f"it matches {n:,} documents of one release, more than the limit of {max_documents:,}"
    return None


def count_matches(ledger: "Ledger", matcher: str, value: str, scope: str) -> int:
    """The most documents (kept or excluded) the request matches directly in one release of the project."""
    if not ledger.project.is_dir():
        return 0
    hasher = SaltedHasher(ledger.salt)
    stored = hasher(value) if matcher in ("email", "account") else value
    req = Request("req-count", matcher, stored, False, scope, "", "")
    most = 0
    for rel in heads(ledger.project):
        manifest = Release(rel).manifest
        if not in_scope(req.scope, rel, manifest.get("name")):
            continue
        hits = find_hits(rel, [req], hasher, layout=manifest.get("layout"))
        most = max(most, len({h.id for fh in hits.values() for h in fh.values()}))
    return most

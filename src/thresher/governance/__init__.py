"""Governance: removal requests that reach every release, with receipts anyone can verify.

- :class:`Ledger` — the project's append-only, hash-chained log of removal requests.
- :func:`forget` — apply the ledger: a new version of each affected release, plus receipts.
- :func:`verify` — shard hashes, Merkle root, parent link and receipt proofs of a release.
- :func:`lookup` — "am I in it?" by URL, domain, e-mail (hashed) or text (exact + near-duplicate).
- :func:`build_index` / :func:`search` — SQLite FTS5 + BM25 search that never shows removed documents.

Every new build applies the ledger of its project as its final step (``governance.build``).
"""
from ..lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "forget": ".forget", "heads": ".forget", "project_releases": ".forget", "Ledger": ".ledger", "Request": ".ledger",
    "lookup": ".lookup", "MATCHERS": ".matchers", "removed_ids": ".pending", "build_index": ".search",
    "search": ".search", "check_receipt": ".verify", "verify": ".verify"})

"""Governance: removal requests that reach every release, with receipts anyone can verify.

- :class:`Ledger` — the project's append-only, hash-chained log of removal requests.
- :func:`forget` — apply the ledger: a new version of each affected release, plus receipts.
- :func:`verify` — shard hashes, Merkle root, parent link and receipt proofs of a release.
- :func:`lookup` — "am I in it?" by URL, domain, e-mail (hashed) or text (exact + near-duplicate).
- :func:`build_index` / :func:`search` — SQLite FTS5 + BM25 search that never shows removed documents.

Every new build applies the ledger of its project as its final step (``governance.build``).
"""
from .forget import forget, heads, project_releases
from .ledger import Ledger, Request
from .lookup import lookup
from .matchers import MATCHERS
from .pending import removed_ids
from .search import build_index, search
from .verify import check_receipt, verify

__all__ = ["Ledger", "MATCHERS", "Request", "build_index", "check_receipt", "forget", "heads", "lookup",
           "project_releases", "removed_ids", "search", "verify"]

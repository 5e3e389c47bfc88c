"""The web app's one door to ``thresher.governance`` (search, lookup, the removal ledger, redaction).

Governance is part of the package and imported directly: a broken import fails loudly at start.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from .. import governance
from ..governance.redact import redact

log = logging.getLogger("thresher.web")


def project_dir(release: Path) -> Path:
    """The folder holding the release and its ledger (``PROJECT/governance/``), as governance defines it."""
    return release.resolve().parent


def ensure_index(release: Path) -> bool:
    """Build the release's search index if it has none (first start of ``thresher serve``)."""
    if (release / "index" / "search.sqlite").is_file():
        return True
    log.warning("building the search index of %s (once)", release)
    governance.build_index(release)
    return True


def search(release: Path, query: str, k: int, budget_s: float | None = None) -> list[dict[str, Any]]:
    return list(governance.search(release, query, k, budget_s=budget_s))


def lookup(release: Path, **values: str) -> dict[str, Any]:
    return dict(governance.lookup(release, **values))


def file_request(project: Path, matcher: str, value: str, near_duplicates: bool, reason: str = "",
                 contact: str | None = None) -> str:
    """File a pending request (a broad one is refused: only a steward files those, with the CLI)."""
    return str(governance.Ledger(project).add(matcher, value, near_duplicates=near_duplicates, reason=reason,
                                              contact=contact))


def pending_removal(release: Path, doc_id: str) -> list[str]:
    """Ids of filed requests that remove ``doc_id`` (empty if none)."""
    return list(governance.removed_ids(release).get(doc_id, []))


def redactor() -> Callable[[str], str]:
    """Display-time PII redaction (governance's, on thresher.pii)."""
    return redact


def matchers() -> tuple[str, ...]:
    return tuple(governance.MATCHERS)

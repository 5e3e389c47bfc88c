"""The web app's one door to ``thresher.governance`` (search, lookup, the removal ledger, redaction).

Governance is looked up when a page needs it, not at import: a release served before the module is
installed says plainly that search and removal requests are not enabled, instead of failing to start.
"""
from __future__ import annotations

import importlib
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger("thresher.web")
MODULE = "thresher.governance"
NEEDED = ("search", "lookup", "Ledger", "build_index", "removed_ids")


class NotEnabled(Exception):
    """Governance is not installed (or incomplete) for this release; the message says why."""


def governance() -> ModuleType:
    try:
        mod = importlib.import_module(MODULE)
    except ImportError as e:
        raise NotEnabled(f"the governance module ({MODULE}) is not installed: {e}") from None
    missing = [n for n in NEEDED if not hasattr(mod, n)]
    if missing:
        raise NotEnabled(f"{MODULE} lacks {', '.join(missing)}")
    return mod


def enabled() -> str | None:
    """None when governance works, else the reason it does not (shown on the page)."""
    try:
        governance()
    except NotEnabled as e:
        return str(e)
    return None


def project_dir(release: Path) -> Path:
    """The folder holding the release and its ledger (``PROJECT/governance/``), as governance defines it."""
    return release.resolve().parent


def ensure_index(release: Path) -> bool:
    """Build the release's search index if it has none (first start of ``thresher serve``)."""
    try:
        gov = governance()
    except NotEnabled:
        return False
    if (release / "index" / "search.sqlite").is_file():
        return True
    log.warning("building the search index of %s (once)", release)
    gov.build_index(release)
    return True


def search(release: Path, query: str, k: int, budget_s: float | None = None) -> list[dict[str, Any]]:
    return list(governance().search(release, query, k, budget_s=budget_s))


def lookup(release: Path, **values: str) -> dict[str, Any]:
    return dict(governance().lookup(release, **values))


def file_request(project: Path, matcher: str, value: str, near_duplicates: bool, reason: str = "",
                 contact: str | None = None) -> str:
    """File a pending request (a broad one is refused: only a steward files those, with the CLI)."""
    return str(governance().Ledger(project).add(matcher, value, near_duplicates=near_duplicates, reason=reason,
                                                contact=contact))


def pending_removal(release: Path, doc_id: str) -> list[str]:
    """Ids of filed requests that remove ``doc_id`` (empty if none, or governance is off)."""
    try:
        return list(governance().removed_ids(release).get(doc_id, []))
    except NotEnabled:
        return []


def redactor() -> Any:
    """Display-time PII redaction (governance's, which uses thresher.pii when present), or None."""
    try:
        governance()
        return importlib.import_module(f"{MODULE}.redact").redact
    except (NotEnabled, ImportError, AttributeError):
        return None


def matchers() -> tuple[str, ...]:
    try:
        return tuple(getattr(governance(), "MATCHERS", ()))
    except NotEnabled:
        return ()

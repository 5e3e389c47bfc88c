"""A removal request as the ledger knows it, and which releases it applies to (its scope).

The one answer to "does this request apply to that release", for a build (``governance.build``),
``forget``, search and lookup alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..paths import split_version

REMOVING = ("approved", "applied")                 # what forget and builds apply
HIDING = ("pending", "approved", "applied")        # what search and lookup hide


@dataclass
class Request:
    """One removal request as the ledger knows it (``value`` is a salted hash for e-mail/account)."""

    id: str
    matcher: str
    value: str
    near_duplicates: bool
    scope: str
    received_at: str
    hash: str
    status: str = "pending"
    applied_to: list[str] = field(default_factory=list)
    due: str = ""
    reason: str = ""
    contact: str | None = None
    broad: bool = False
    decided_by: str | None = None
    decided_at: str | None = None
    decisions: list[str] = field(default_factory=list)     # hashes of the decision events

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "matcher": self.matcher, "value": self.value,
                "near_duplicates": self.near_duplicates, "scope": self.scope,
                "received_at": self.received_at, "status": self.status, "hash": self.hash,
                "applied_to": self.applied_to, "due": self.due, "reason": self.reason, "contact": self.contact,
                "broad": self.broad, "decided_by": self.decided_by, "decided_at": self.decided_at}

    @property
    def removes(self) -> bool:
        """Applied by forget and builds (a steward approved it)."""
        return self.status in REMOVING

    @property
    def hides(self) -> bool:
        """Hidden from search and lookup (filed, not rejected or withdrawn)."""
        return self.status in HIDING


def in_scope(scope: str, release: str | Path, name: str | None) -> bool:
    """Whether a request filed for ``scope`` applies to the release in folder ``release`` built by the
    pipeline ``name``: every release (``*``), the pipeline's name, or the release's folder name, any
    version of it (``corpus`` covers ``corpus@v3``)."""
    return scope in ("*", split_version(Path(release).name)[0], name)

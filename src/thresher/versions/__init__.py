"""Corpora developed like software: ``update`` adds new inputs to a release as its next version (deduplicated
against the release's dedup index), ``diff`` says what changed between two versions and why."""
from __future__ import annotations

from ..lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {"diff": ".diff", "update": ".update"})

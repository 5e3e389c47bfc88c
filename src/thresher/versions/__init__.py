"""Corpora developed like software: ``update`` adds new inputs to a release as its next version (deduplicated
against the release's dedup index), ``diff`` says what changed between two versions and why."""
from __future__ import annotations

from .diff import diff
from .update import update

__all__ = ["diff", "update"]

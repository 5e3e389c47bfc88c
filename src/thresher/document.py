"""The one record type that flows through every reader, step and writer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import hashlib

import xxhash


@dataclass(slots=True)
class Document:
    """A document: stable ``id``, ``text``, ``source`` provenance and ``meta`` annotations.

    ``source`` says where the text came from (uri, file, offset, record digest, repo/commit/path,
    date, license evidence). ``meta`` holds what steps measured: language, scores, PII spans as
    type + offsets (never values), dedup cluster. Both must stay JSON-serialisable.
    """

    id: str
    text: str
    source: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


def stable_id(locator: str) -> str:
    """A 128-bit hex id from a source locator (relative file + offset, or a given id)."""
    return xxhash.xxh3_128_hexdigest(locator.encode("utf-8", "surrogatepass"))


def content_hash(text: str) -> str:
    """SHA-256 of the text as released: Merkle leaves and receipts use it, so it must be cryptographic."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class BadId(ValueError):
    """A record's given id is neither a string nor an integer (the record is skipped and counted)."""


def given_id(value: object) -> str:
    """A record's own id as stored: strings as they are, integers in decimal. Anything else (objects,
    lists, floats, booleans) has no stable text form and is refused rather than stored as its repr."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadId(f"id must be a non-empty string or an integer, not {type(value).__name__} {str(value)[:40]!r}")

"""Display-time PII redaction for search snippets, lookup answers and document previews.

The project's one PII detector (``thresher.pii``: validated e-mails, phone numbers, IP addresses,
identifiers ...) with each span replaced by its type tag. Redaction happens when text is shown, never in
the index, so a better detector later needs no re-index. A detector error propagates: it never falls back
to a weaker detector and never shows the raw text.
"""
from __future__ import annotations

from ..pii import find_pii, redact_text


def redact(text: str) -> str:
    """Text with the personal data ``thresher.pii`` finds replaced by tags (``<EMAIL>``, ``<PHONE>`` ...)."""
    return redact_text(text, find_pii(text), "tag")

"""Display-time PII redaction for search snippets and lookup answers.

Uses the project's PII detector (``thresher.pii.find_pii`` / ``redact_text``) when it is installed,
and otherwise a small built-in one: e-mail addresses, phone numbers (``phonenumbers``, validated), and
IPv4/IPv6 addresses. Redaction happens when text is shown, never in the index, so a better detector
later needs no re-index.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Callable

from .matchers import EMAIL_RE

IPV4_RE = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
IPV6_RE = re.compile(r"\b(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}\b")
PHONE_HINT = re.compile(r"[+(]?\d[\d ().\-]{6,}\d")


def _builtin_spans(text: str, phones: bool = True) -> list[tuple[int, int, str]]:
    spans = [(m.start(), m.end(), "EMAIL") for m in EMAIL_RE.finditer(text)]
    for m in IPV4_RE.finditer(text):
        try:
            ipaddress.IPv4Address(m.group())
            spans.append((m.start(), m.end(), "IP_ADDRESS"))
        except ValueError:
            pass
    for m in IPV6_RE.finditer(text):
        try:
            ipaddress.IPv6Address(m.group())
            spans.append((m.start(), m.end(), "IP_ADDRESS"))
        except ValueError:
            pass
    if phones and PHONE_HINT.search(text):
        import phonenumbers

        for region in ("US", "GB", "FR", "DE", "IN"):
            for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
                spans.append((m.start, m.end, "PHONE"))
    return spans


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for s, e, t in sorted(spans):
        if out and s < out[-1][1]:
            ps, pe, pt = out[-1]
            out[-1] = (ps, max(pe, e), pt)
        else:
            out.append((s, e, t))
    return out


def builtin_redact(text: str, phones: bool = True) -> str:
    parts, pos = [], 0
    for s, e, t in _merge(_builtin_spans(text, phones)):
        parts.append(text[pos:s])
        parts.append(f"<{t}>")
        pos = e
    parts.append(text[pos:])
    return "".join(parts)


def _project_redactor() -> Callable[[str], str] | None:
    try:
        from ..pii import find_pii, redact_text  # type: ignore[attr-defined]
    except ImportError:
        return None

    def redact(text: str) -> str:
        # the project's (validated) detector, then the cheap built-in patterns as a safety net
        return builtin_redact(redact_text(text, find_pii(text), "tag"), phones=False)
    return redact


_REDACT: list[Callable[[str], str]] = []


def redact(text: str) -> str:
    """Text with e-mails, phone numbers, IP addresses (and whatever thresher.pii finds) replaced by tags."""
    if not _REDACT:
        _REDACT.append(_project_redactor() or builtin_redact)
    try:
        return _REDACT[0](text)
    except Exception:          # a detector bug must not leak the raw text: fall back, never skip
        return builtin_redact(text)

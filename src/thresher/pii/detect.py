"""``find_pii``: personal information in a text, as validated (type, start, end) spans.

Each detector finds candidates with a pattern from ``patterns`` and keeps only those a validator
accepts (checksum, allocation rules, public address range, phone-number plan). Overlaps are resolved
by type priority: a URL's credentials beat the e-mail-looking tail inside them, a card number beats
the phone number its digits would also make.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, NamedTuple

from . import patterns as P
from . import validators as V
from .scan import HEXCOLON, NUMERIC, LETTER_ID, candidate_windows

PII_TYPES: tuple[str, ...] = (
    "URL_CREDENTIALS", "EMAIL", "IBAN", "CREDIT_CARD", "US_SSN", "FR_NIR", "ES_DNI", "BR_CPF",
    "IN_AADHAAR", "UK_NINO", "IP_ADDRESS", "PHONE", "HANDLE",
)
# Lower index wins an overlap; spans from a named-entity plug-in rank just above handles.
_PRIORITY = {t: i for i, t in enumerate(PII_TYPES)}


class PiiSpan(NamedTuple):
    """One finding: entity type and character offsets. Never the value itself."""

    type: str
    start: int
    end: int


def _emails(text: str, out: list[PiiSpan]) -> None:
    chars = P.EMAIL_LOCAL_CHARS
    for m in P.EMAIL_DOMAIN.finditer(text):
        if m.group(2).lower() in P.NOT_TLDS:
            continue
        at = m.start()
        i = at
        while i > 0 and at - i < 64 and text[i - 1] in chars:
            i -= 1
        while i < at and text[i] in ".-'+":      # a local part cannot start with punctuation
            i += 1
        local = text[i:at]
        if not local or ".." in local or local.endswith("."):
            continue
        out.append(PiiSpan("EMAIL", i, m.end()))


def _handles(text: str, out: list[PiiSpan]) -> None:
    for m in P.HANDLE.finditer(text):
        before = text[m.start() - 1] if m.start() else " "
        if before.isalnum() or before in P.NOT_BEFORE_HANDLE:
            continue
        name = m.group(1)
        if name.lower() in P.NOT_HANDLES:
            continue
        # A decorator or doc tag opens its line: "@login_required", "  @Override".
        line_start = text.rfind("\n", 0, m.start()) + 1
        if not text[line_start:m.start()].strip():
            continue
        out.append(PiiSpan("HANDLE", m.start(), m.end()))


def _url_credentials(text: str, out: list[PiiSpan]) -> None:
    for m in P.URL_CREDENTIALS.finditer(text):
        if not P.URL_SCHEME.search(text, max(0, m.start() - 16), m.start()):
            continue
        out.append(PiiSpan("URL_CREDENTIALS", m.start(1), m.end(2)))


def _ips(text: str, out: list[PiiSpan], keep_private: bool, windows: list[tuple[int, int, int]]) -> None:
    check = V.public_ip if keep_private else (lambda s: V.is_ip(s) or None)
    for kind, a, b in windows:
        if kind == NUMERIC and b - a >= 7 and text.count(".", a, b) >= 3:
            for m in P.IPV4.finditer(text, a, b):
                if P.VERSION_CONTEXT.search(text, max(0, m.start() - 12), m.start()) or _version_like(m.group()):
                    continue
                if check(m.group()):
                    out.append(PiiSpan("IP_ADDRESS", m.start(), m.end()))
        elif kind == HEXCOLON:
            for m in P.IPV6.finditer(text, a, b):
                s = m.group()
                # Full addresses or compressed ones with 3+ groups: "a::b" and "std::x" are not hosts.
                if sum(1 for g in s.split(":") if g) < 3:
                    continue
                if check(s):
                    out.append(PiiSpan("IP_ADDRESS", m.start(), m.end()))


def _version_like(s: str) -> bool:
    """1.7.11.6 is a release, not a host: a one-digit major and small components."""
    parts = [int(x) for x in s.split(".")]
    return parts[0] < 10 and sum(p <= 20 for p in parts) >= 3


_GROUPS = re.compile(r"[ \-./\u00a0]+")


def _phone_shape(s: str) -> bool:
    """Reject runs that are dates, year ranges, thousands or version-like rather than phone numbers."""
    core = s.split("x")[0].split("ext")[0].split("#")[0].strip()
    if P.DATE_SHAPE.match(core) or P.YEAR_RANGE.match(core) or P.THOUSANDS.match(core):
        return False
    if core.count("(") != core.count(")") or core.find(")") < core.find("(") or P.YEAR_IN_PARENS.search(core):
        return False
    n = len(V.digits(core))
    if not 7 <= n <= 15:
        return False
    groups = core.split(" ")
    if len(groups) >= 4 and all(len(g) == 2 for g in groups) and not core.startswith("0"):
        return False                       # "12 34 56 78 90": bytes or a table, not a 0-led national number
    if "." in core:
        groups = [g for g in core.replace("(", "").replace(")", "").split(".")]
        if any(len(V.digits(g)) < 2 for g in groups):
            return False
    return True


def _segments(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """Split a digit run where one number ends and another begins; the last segment may extend
    past the run into a phone extension ("x204", "ext. 12")."""
    out = []
    for m in P.NUMBER_SPLIT.finditer(text, a, b):
        if m.start() > a:
            out.append((a, m.start()))
        a = m.end()
    out.append((a, min(len(text), b + 12)))
    return out


def _numbers(text: str, out: list[PiiSpan], region: str | None, windows: list[tuple[int, int, int]],
             regions: tuple[str, ...] = ()) -> None:
    for m in (m for kind, a, b in windows if kind == NUMERIC
              for sa, sb in _segments(text, a, b) for m in P.NUMBER.finditer(text, sa, sb)):
        s = m.group()
        start, end = m.start(), m.end()
        d = V.digits(s)
        if len(d) < 7:
            continue
        if P.CARD_SHAPE.match(s) and V.is_credit_card(s):
            out.append(PiiSpan("CREDIT_CARD", start, end))
            continue
        if P.SSN_SHAPE.match(s) and V.is_us_ssn(s):
            out.append(PiiSpan("US_SSN", start, end))
            continue
        if len(d) == 9 and s == d and V.is_us_ssn(s) and P.CONTEXT_SSN.search(text, max(0, start - 40), start):
            out.append(PiiSpan("US_SSN", start, end))
            continue
        if P.CPF_SHAPE.match(s) and V.is_br_cpf(s):
            out.append(PiiSpan("BR_CPF", start, end))
            continue
        if P.NIR_SHAPE.match(s) and V.is_fr_nir(s):
            out.append(PiiSpan("FR_NIR", start, end))
            continue
        if len(d) == 12 and V.is_in_aadhaar(d) and (
                P.AADHAAR_SHAPE.match(s) or P.CONTEXT_AADHAAR.search(text, max(0, start - 40), start)):
            out.append(PiiSpan("IN_AADHAAR", start, end))
            continue
        if V.is_ip(s) or not _phone_shape(s):
            continue
        if P.DATE_PREFIX.match(s) or P.DATE_INSIDE.search(s) or \
                P.NOT_PHONE_CONTEXT.search(text, max(0, start - 12), start):
            continue
        bare = s == d
        local = not s.startswith(("+", "00"))
        # the number's own form: a run of digits valid in one of the document's regions (its
        # domain's, its language's; any of them when it starts with a trunk prefix 0 or 8, else the
        # first two), or the exact grouping a region writes its numbers in (below)
        trunk = local and bare and 9 <= len(d) <= 12 and V.is_valid_in(s, regions if d[0] in "08" else regions[:2])
        weak = not (s.startswith(("+", "00", "(")) or "(" in s) and (len(d) <= 8 or len(_GROUPS.split(s)) <= 2)
        if weak and not trunk and not (P.PHONE_CONTEXT.search(text, max(0, start - 50), start)
                                       or P.PHONE_CONTEXT.search(text, end, end + 15)):
            if bare or not local or not V.national_form(s, regions + V.FORM_REGIONS):
                continue                   # "370 3911" is a house number unless someone says "call"
        if bare and not trunk and not (10 <= len(d) <= 11 and V.is_phone_strict(s, region)):
            continue                       # a bare digit run is an id or a timestamp unless it dials
        if V.is_phone(s, region):
            out.append(PiiSpan("PHONE", start, end))


def _iban_end(cand: str) -> int:
    """Length of the longest prefix of ``cand`` that is a valid IBAN (0 if none), cutting only where
    an alphanumeric run ends."""
    for end in range(len(cand), 14, -1):
        if cand[end - 1].isalnum() and (end == len(cand) or not cand[end].isalnum()) and V.is_iban(cand[:end]):
            return end
    return 0


def _letter_ids(text: str, out: list[PiiSpan], windows: list[tuple[int, int, int]]) -> None:
    for kind, a, b in windows:
        if kind == LETTER_ID:
            m = P.IBAN.match(text, a)
            end = _iban_end(m.group()) if m else 0
            if end:
                out.append(PiiSpan("IBAN", a, a + end))
                continue
            m = P.UK_NINO.match(text, a)
            if m and V.is_uk_nino(m.group()):
                out.append(PiiSpan("UK_NINO", m.start(), m.end()))
        elif kind == NUMERIC and b < len(text) and "A" <= text[b] <= "Z":      # the letter ends the run
            for m in P.ES_DNI.finditer(text, max(0, a - 2), min(len(text), b + 2)):
                if V.is_es_dni(m.group()):
                    out.append(PiiSpan("ES_DNI", m.start(), m.end()))


def resolve_overlaps(spans: Iterable[PiiSpan]) -> list[PiiSpan]:
    """Keep the highest-priority (then longest, then first) span of each overlapping group."""
    ranked = sorted(spans, key=lambda s: (_PRIORITY.get(s.type, len(PII_TYPES) - 1.5),
                                          s.start - s.end, s.start))
    kept: list[PiiSpan] = []
    for s in ranked:
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


def find_pii(text: str, types: Iterable[str] | None = None, *, region: str | None = None,
             language: str | None = None, keep_private_ip: bool = True,
             ner: Callable[[str, str | None], Iterable[tuple[str, int, int]]] | None = None,
             windows: list[list[int]] | None = None, url: str | None = None) -> list[PiiSpan]:
    """Validated personal-information spans in ``text``, sorted by start, never overlapping.

    ``types`` restricts the search (default: all of ``PII_TYPES``); ``region`` is the phone-number
    region hint (ISO 3166 alpha-2), else derived from ``language`` (ISO 639-1/-3); ``ner`` is an
    optional named-entity detector (see ``thresher.pii.ner``); ``windows`` are the text's
    ``candidate_windows`` when already known (``candidate_windows_batch`` over many texts); ``url`` (the
    document's) lends its country-code domain as a phone region, after ``region``.
    """
    want = set(PII_TYPES if types is None else types)
    regions = V.document_regions(language, url, region.upper() if region else None)
    region = region or (regions[0] if regions else None)
    out: list[PiiSpan] = []
    if "@" in text:
        if "URL_CREDENTIALS" in want and "://" in text:
            _url_credentials(text, out)
        if "EMAIL" in want:
            _emails(text, out)
        if "HANDLE" in want:
            _handles(text, out)
    if windows is None:
        windows = candidate_windows(text)
    if windows:
        if "IP_ADDRESS" in want:
            _ips(text, out, keep_private_ip, windows)
        found: list[PiiSpan] = []
        if want & {"PHONE", "CREDIT_CARD", "US_SSN", "FR_NIR", "BR_CPF", "IN_AADHAAR"}:
            _numbers(text, found, region, windows, regions)
        if want & {"IBAN", "UK_NINO", "ES_DNI"}:
            _letter_ids(text, found, windows)
        out.extend(s for s in found if s.type in want)
    if ner is not None:
        out.extend(PiiSpan(str(t), int(a), int(b)) for t, a, b in ner(text, language) if 0 <= a < b <= len(text))
    if len(out) > 1:
        return resolve_overlaps(out)
    return out

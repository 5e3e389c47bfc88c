"""Validators: a candidate only counts as personal information once its checksum or structure holds.

Regexes find shapes; these functions decide. Checksums come from python-stdnum (IBAN mod-97, Luhn,
national identifiers), phone numbers from phonenumbers, IP ranges from the standard library.
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Iterable

import phonenumbers
from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.br import cpf as _cpf
from stdnum.es import dni as _dni
from stdnum.es import nie as _nie
from stdnum.fr import nir as _nir
from stdnum.in_ import aadhaar as _aadhaar
from stdnum.us import ssn as _ssn

# phonenumbers compiles its metadata's regexes on every check through ``re.compile``, whose cache holds
# 512 patterns; validating numbers across the regions of a corpus touches ~550, so without its own cache
# the same patterns are compiled again and again: 3x the CPU of PII redaction on the benchmark corpus.
# Its pattern cache (bounded by the metadata) keeps each one compiled once per process.
phonenumbers.enable_pattern_cache()

_NON_DIGIT = re.compile(r"\D")

# Issuer prefixes of the card networks (ISO/IEC 7812 IIN ranges) with their allowed lengths:
# a Luhn-valid number outside every range is far more likely an order id than a card.
_CARD_RANGES: tuple[tuple[str, str, tuple[int, ...]], ...] = (
    ("4", "4", (13, 16, 19)),                     # Visa
    ("51", "55", (16,)), ("2221", "2720", (16,)),  # Mastercard
    ("34", "34", (15,)), ("37", "37", (15,)),      # American Express
    ("300", "305", (14, 16, 19)), ("36", "36", (14, 16, 19)), ("38", "39", (14, 16, 19)),  # Diners
    ("6011", "6011", (16, 19)), ("644", "649", (16, 19)), ("65", "65", (16, 19)),  # Discover
    ("35", "35", (16, 19)), ("2131", "2131", (15,)), ("1800", "1800", (15,)),  # JCB (3528-3589 issued; 35xx kept)
    ("62", "62", (16, 17, 18, 19)),                # UnionPay
    ("50", "50", tuple(range(12, 20))), ("0604", "0604", tuple(range(12, 20))), ("56", "69", tuple(range(12, 20))),  # Maestro and friends
)


def digits(s: str) -> str:
    return _NON_DIGIT.sub("", s)


def is_credit_card(candidate: str) -> bool:
    """Luhn checksum, a card network's issuer prefix and that network's length."""
    d = digits(candidate)
    if not 12 <= len(d) <= 19 or len(set(d)) < 3:
        return False
    for lo, hi, lengths in _CARD_RANGES:
        p = d[: len(lo)]
        if lo <= p <= hi and len(d) in lengths:
            return _luhn.is_valid(d)
    return False


def is_iban(candidate: str) -> bool:
    """ISO 13616: country format and the mod-97 check digits (python-stdnum; the check digits are
    tried first, in one big-integer operation: most candidates fail there)."""
    c = candidate.upper().replace(".", "")
    bare = c.replace(" ", "").replace("-", "")
    if bare.isascii() and bare.isalnum() and len(bare) > 4 and \
            int("".join(str(int(ch, 36)) for ch in bare[4:] + bare[:4])) % 97 != 1:
        return False
    return bool(_iban.is_valid(c))


def public_ip(candidate: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if it is a public (globally routed) one, else None.

    Private, loopback, link-local, multicast, reserved and documentation ranges (RFC 5737, RFC 3849)
    are not personal data: they name no one, and the issue asks to keep them as they are.
    """
    if not _ip_shaped(candidate):
        return None
    try:
        ip = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
        return None
    if ip.version == 4:
        return ip if ip.is_global else None
    # IPv6 text addresses outside 2000::/3 are "reserved" to ipaddress, yet a written full address
    # names a host all the same; only the ranges that name no one are kept.
    if ip.ipv4_mapped is not None or ip.is_site_local or ip in _IPV6_DOC:
        return None
    return ip


_IPV6_DOC = ipaddress.ip_network("2001:db8::/32")


def _ip_shaped(candidate: str) -> bool:
    """Cheap necessary condition: IPv6 has a colon, IPv4 exactly three dots (no exception to raise)."""
    return ":" in candidate or (candidate.count(".") == 3 and len(candidate) <= 15)


def is_ip(candidate: str) -> bool:
    if not _ip_shaped(candidate):
        return False
    try:
        ipaddress.ip_address(candidate)
        return True
    except ValueError:
        return False


def is_us_ssn(candidate: str) -> bool:
    """Area 001-899 except 666, group and serial not zero, not an advertised sample (stdnum)."""
    return bool(_ssn.is_valid(candidate))


def is_fr_nir(candidate: str) -> bool:
    return bool(_nir.is_valid(candidate))


def is_es_dni(candidate: str) -> bool:
    return bool(_dni.is_valid(candidate)) or bool(_nie.is_valid(candidate))


def is_br_cpf(candidate: str) -> bool:
    d = digits(candidate)
    return len(set(d)) > 1 and bool(_cpf.is_valid(candidate))


def is_in_aadhaar(candidate: str) -> bool:
    """Verhoeff checksum, first digit 2-9, not a palindrome (stdnum)."""
    return bool(_aadhaar.is_valid(candidate))


# HMRC rules for National Insurance numbers (python-stdnum has no module for them):
# first letter not D F I Q U V, second not D F I O Q U V, prefixes BG GB KN NK NT TN ZZ never issued,
# suffix A-D.
_NINO = re.compile(r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TY-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$")


def is_uk_nino(candidate: str) -> bool:
    return bool(_NINO.match(re.sub(r"[\s-]", "", candidate.upper())))


# Regions phone numbers are most often written for; tried after the caller's hint.
DEFAULT_REGIONS = ("US", "GB", "DE", "FR", "IN", "BR", "ES", "IT", "NL", "AU", "CA")

# ISO 639 (1 or 3 letters) -> the region whose national format a text in that language most likely uses.
LANGUAGE_REGION = {
    "en": "US", "eng": "US", "fr": "FR", "fra": "FR", "de": "DE", "deu": "DE", "es": "ES", "spa": "ES",
    "pt": "BR", "por": "BR", "it": "IT", "ita": "IT", "nl": "NL", "nld": "NL", "hi": "IN", "hin": "IN",
    "bn": "IN", "ben": "IN", "ta": "IN", "tam": "IN", "te": "IN", "tel": "IN", "mr": "IN", "mar": "IN",
    "ur": "PK", "urd": "PK", "ar": "EG", "arb": "EG", "ara": "EG", "zh": "CN", "cmn": "CN", "zho": "CN",
    "ja": "JP", "jpn": "JP", "ko": "KR", "kor": "KR", "ru": "RU", "rus": "RU", "pl": "PL", "pol": "PL",
    "sv": "SE", "swe": "SE", "id": "ID", "ind": "ID", "vi": "VN", "vie": "VN", "sw": "KE", "swh": "KE",
    "yo": "NG", "yor": "NG", "ca": "ES", "cat": "ES", "eu": "ES", "eus": "ES", "tr": "TR", "tur": "TR",
}


# More regions that write a language, after LANGUAGE_REGION's first one: a document's number is
# tried in each (its national format, trunk prefix and length are the region's).
LANGUAGE_REGIONS = {
    "eng": ("US", "GB", "IN", "AU", "CA", "IE", "NZ", "ZA", "NG", "KE", "PH", "SG"), "deu": ("DE", "AT", "CH"),
    "fra": ("FR", "BE", "CH", "CA", "LU", "SN", "CI", "MA"), "spa": ("ES", "MX", "AR", "CO", "CL", "PE"),
    "por": ("BR", "PT", "AO", "MZ"), "ita": ("IT", "CH"), "nld": ("NL", "BE"), "ara": ("EG", "SA", "AE", "MA", "DZ"),
    "rus": ("RU", "BY", "KZ", "UA"), "urd": ("PK", "IN"), "zul": ("ZA",), "xho": ("ZA",), "swa": ("KE", "TZ"),
    "msa": ("MY",), "zsm": ("MY",), "tgl": ("PH",), "ukr": ("UA",), "ces": ("CZ",), "slk": ("SK",), "hun": ("HU",),
    "ron": ("RO",), "ell": ("GR",), "dan": ("DK",), "nob": ("NO",), "fin": ("FI",), "heb": ("IL",), "tha": ("TH",),
    "fas": ("IR",), "kor": ("KR",), "jpn": ("JP",), "ben": ("BD", "IN"), "hrv": ("HR",), "srp": ("RS",),
    "bul": ("BG",), "slv": ("SI",), "lit": ("LT",), "lav": ("LV",), "est": ("EE",), "kin": ("RW",), "amh": ("ET",),
}
# Where a written form is checked against a region's own national format when the document's
# regions did not match: the most populous numbering plans written with a trunk prefix or grouping.
FORM_REGIONS = ("DE", "FR", "IT", "ES", "GB", "NL", "BE", "AT", "CH", "PL", "SE", "PT", "IN", "PK", "BR", "RU", "ID",
                "VN", "ZA", "NG", "KE", "EG", "TR", "JP", "KR", "CN", "AU", "MX", "AR", "IE")
_TLD_REGION = {"uk": "GB"}
_ISO1 = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "pt": "por", "it": "ita", "nl": "nld", "ar": "ara",
         "ru": "rus", "ur": "urd", "zu": "zul", "xh": "xho", "sw": "swa", "ms": "msa", "tl": "tgl", "uk": "ukr",
         "cs": "ces", "sk": "slk", "hu": "hun", "ro": "ron", "el": "ell", "da": "dan", "nb": "nob", "no": "nob",
         "fi": "fin", "he": "heb", "th": "tha", "fa": "fas", "ko": "kor", "ja": "jpn", "bn": "ben", "hr": "hrv",
         "sr": "srp", "bg": "bul", "sl": "slv", "lt": "lit", "lv": "lav", "et": "est", "rw": "kin", "am": "amh",
         "swh": "swa", "arb": "ara", "pes": "fas", "fil": "tgl"}


def tld_region(url: str | None) -> str | None:
    """The region of a URL's country-code top-level domain (``.de`` -> DE, ``.co.uk`` -> GB)."""
    if not url:
        return None
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].rstrip(".").lower()
    tld = host.rsplit(".", 1)[-1]
    if len(tld) != 2 or not tld.isalpha():
        return None
    r = _TLD_REGION.get(tld, tld.upper())
    return r if r in phonenumbers.SUPPORTED_REGIONS else None


@lru_cache(maxsize=4096)
def document_regions(language: str | None, url: str | None = None, hint: str | None = None) -> tuple[str, ...]:
    """The regions a document's national-format numbers most likely belong to, most likely first:
    the configured hint, the URL's country-code domain, the regions that write its language."""
    lang = (language or "").split("_")[0].split("-")[0].lower()
    first = LANGUAGE_REGION.get(lang)
    lang = _ISO1.get(lang, lang)
    out: list[str] = []
    for r in (hint, tld_region(url), first, *LANGUAGE_REGIONS.get(lang, ())):
        if r and r not in out:
            out.append(r)
    return tuple(out)


def is_valid_in(candidate: str, regions: tuple[str, ...]) -> bool:
    """A valid (assigned range) national number of one of ``regions``."""
    for r in regions:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate, r)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


_SPACES = re.compile(r"[\s\u00a0]+")


def national_form(candidate: str, regions: tuple[str, ...]) -> bool:
    """Written exactly as a region writes its own valid numbers (trunk prefix, grouping, separators):
    ``030 123456`` for Berlin, ``01 23 45 67 89`` for Paris, ``(021) 23458711`` for Karachi."""
    s = _SPACES.sub(" ", candidate.strip())
    for r in regions:
        try:
            n = phonenumbers.parse(s, r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n) and phonenumbers.format_number(
                n, phonenumbers.PhoneNumberFormat.NATIONAL) == s:
            return True
    return False


def warm(regions: Iterable[str]) -> None:
    """Compile the patterns the checks above use for ``regions`` (phonenumbers compiles a region's
    patterns on first use, ~500 of them for the common regions: 0.2-0.4 s of each new process), by
    checking each region's example number in its national form."""
    for r in dict.fromkeys(regions):
        n = phonenumbers.example_number(r)
        if n is None:
            continue
        s = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL)
        national_form(s, (r,))
        is_phone(s, r)
        is_phone_strict(s, r)


def region_for_language(language: str | None) -> str | None:
    if not language:
        return None
    return LANGUAGE_REGION.get(language.split("_")[0].split("-")[0].lower())


@lru_cache(maxsize=64)
def _regions(hint: str | None) -> tuple[str, ...]:
    return ((hint,) if hint else ()) + tuple(r for r in DEFAULT_REGIONS if r != hint)


def is_phone(candidate: str, region: str | None = None) -> bool:
    """A possible number (length and country rules of phonenumbers) in the hinted region or a common one.

    Numbers with a ``+``/``00`` prefix are checked against their own country. Possibility rather than
    full validity: assignment ranges change, and text quotes numbers from every country.
    """
    s = candidate.strip()
    if s.startswith("00"):
        s = "+" + s[2:]                  # international call prefix used across Europe and Asia
    intl = s.startswith("+")
    for r in ((None,) if s.startswith("+") else ()) + _regions(region):
        try:
            n = phonenumbers.parse(s, r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(n):
            return True
        if intl:
            return False
    return False


def is_phone_strict(candidate: str, region: str | None = None) -> bool:
    """A valid (assigned range) number in the hinted region, the US, the UK or India.

    Used for bare digit runs, which are far more often ids and timestamps than phone numbers.
    """
    for r in _regions(region)[:4] if region else ("US", "GB", "IN"):
        try:
            n = phonenumbers.parse(candidate, r)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            return True
    return False

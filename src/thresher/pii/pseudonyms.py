"""Consistent pseudonyms: the same value gets the same fake, of a valid shape, for one salt.

The fake is drawn from HMAC-SHA256(salt, type + value), so it is stable across shards and workers of
a release but cannot be reversed or linked across releases without the salt. Shapes follow the
issue and BigCode's replacements: e-mails at example.com, private-range IPs (10/8 and fd00::/8),
Luhn-valid card numbers, mod-97-valid IBANs, SSNs in the never-issued 9xx area; other types keep their
layout (digits stay digits, letters stay letters, separators stay put).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import string

from stdnum import iban as _iban
from stdnum import luhn as _luhn

_LOWER = string.ascii_lowercase
_ALNUM = string.ascii_lowercase + string.digits


class Pseudonymizer:
    """``fake(type, value)`` -> a deterministic, shape-valid stand-in for ``value``."""

    def __init__(self, salt: str | bytes):
        self.key = salt.encode() if isinstance(salt, str) else salt

    def _stream(self, kind: str, value: str) -> bytes:
        d = hmac.new(self.key, f"{kind}\x00{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return d + hashlib.sha256(d).digest()          # 64 bytes: enough for any shape below

    def fake(self, kind: str, value: str) -> str:
        h = self._stream(kind, value)
        fn = _MAKERS.get(kind, _keep_shape)
        return fn(value, h)


def _pick(h: bytes, alphabet: str, n: int, offset: int = 0) -> str:
    return "".join(alphabet[h[(offset + i) % len(h)] % len(alphabet)] for i in range(n))


def _keep_shape(value: str, h: bytes) -> str:
    """Digits -> digits, letters -> letters (case kept), everything else unchanged."""
    out = []
    for i, c in enumerate(value):
        b = h[i % len(h)] ^ (i // len(h))
        if c.isdigit():
            out.append(string.digits[b % 10])
        elif c.isalpha() and c.isascii():
            ch = _LOWER[b % 26]
            out.append(ch.upper() if c.isupper() else ch)
        else:
            out.append(c)
    return "".join(out)


def _email(value: str, h: bytes) -> str:
    return f"{_pick(h, _LOWER, 8)}@example.com"


def _ip(value: str, h: bytes) -> str:
    if ":" in value:
        return str(ipaddress.IPv6Address(b"\xfd" + h[:15]))        # unique-local fd00::/8
    return f"10.{h[0]}.{h[1]}.{max(1, h[2] % 255)}"                 # private 10/8


def _digits_into(value: str, new_digits: str) -> str:
    it = iter(new_digits)
    return "".join(next(it) if c.isdigit() else c for c in value)


def _card(value: str, h: bytes) -> str:
    n = sum(c.isdigit() for c in value)
    body = "4" + _pick(h, string.digits, n - 2)                      # a Visa-shaped test number
    return _digits_into(value, body + _luhn.calc_check_digit(body))


def _iban_fake(value: str, h: bytes) -> str:
    compact = value.replace(" ", "").upper()
    bban = _keep_shape(compact[4:], h).upper()
    country = compact[:2]
    check = _iban.calc_check_digits(country + "00" + bban)
    fake = country + check + bban
    if " " in value:
        fake = " ".join(fake[i:i + 4] for i in range(0, len(fake), 4))
    return fake if value[:2].isupper() else fake.lower()


def _ssn(value: str, h: bytes) -> str:
    d = "9" + _pick(h, string.digits, 8)                             # area 9xx: never issued as SSN
    return _digits_into(value, d)


def _handle(value: str, h: bytes) -> str:
    return "@user_" + _pick(h, _ALNUM, 8)


def _url_credentials(value: str, h: bytes) -> str:
    return f"user_{_pick(h, _ALNUM, 6)}:{_pick(h, _ALNUM, 12, 6)}"


def _key(value: str, h: bytes) -> str:
    """Same length, same character classes: a fake key still looks like a key to a model."""
    return _keep_shape(value, h)


def _phone(value: str, h: bytes) -> str:
    # Keep a leading "+CC"/"00CC" country code readable? No: the code plus the layout can still single
    # out a small country's numbering plan entry, so every digit is redrawn; the layout stays.
    return _keep_shape(value, h)


_MAKERS = {
    "EMAIL": _email, "IP_ADDRESS": _ip, "CREDIT_CARD": _card, "IBAN": _iban_fake, "US_SSN": _ssn,
    "HANDLE": _handle, "URL_CREDENTIALS": _url_credentials, "KEY": _key, "PASSWORD": _key,
    "PHONE": _phone,
}

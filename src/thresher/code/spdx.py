"""SPDX license expressions (parse, canonicalise, evaluate against a policy) and license *references*:
the sentences that name a license instead of quoting it ("Licensed under the Apache License, Version
2.0", "either version 2 of the License, or (at your option) any later version"), as licensee's
reference matcher and ScanCode's notice rules find them in READMEs and file headers."""
from __future__ import annotations

import re
from typing import Callable, Union

from ..errors import ConfigError

Expr = Union[str, tuple]     # "MIT" | ("AND"|"OR", [Expr...]) | ("WITH", "GPL-2.0-only", "Classpath-exception-2.0")

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9.+:-]+)")
# Deprecated GNU ids -> current ones (SPDX 3.0): "GPL-2.0" meant "only", "GPL-2.0+" "or later".
_GNU = re.compile(r"^((?:A|L)?GPL|GFDL)-(\d\.\d)(\+|-only|-or-later)?$", re.I)


def canonical_id(token: str) -> str:
    """The canonical spelling of a license id (case-insensitive lookup, deprecated GNU ids updated);
    unknown ids and LicenseRef-* are kept as written."""
    from .licensedb import known_ids

    m = _GNU.match(token)
    if m:
        fam = m.group(1).upper()
        suffix = {"+": "-or-later", "-or-later": "-or-later"}.get((m.group(3) or "").lower(), "-only")
        token = f"{fam}-{m.group(2)}{suffix}"
    return known_ids().get(token.lower(), token)


def parse(text: str) -> Expr:
    """Parse an SPDX license expression; raises ValueError on a malformed one."""
    tokens = [t for t in _TOKEN.findall(text.strip())]
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", text.strip()):
        raise ValueError(f"not an SPDX expression: {text!r}")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def atom() -> Expr:
        t = peek()
        if t is None:
            raise ValueError(f"expression ends early: {text!r}")
        if t == "(":
            take()
            e = disj()
            if peek() != ")":
                raise ValueError(f"missing ')' in {text!r}")
            take()
            return e
        if t.upper() in ("AND", "OR", "WITH", ")"):
            raise ValueError(f"unexpected '{t}' in {text!r}")
        lid = canonical_id(take())
        if (peek() or "").upper() == "WITH":
            take()
            return ("WITH", lid, take())
        return lid

    def conj() -> Expr:
        items = [atom()]
        while (peek() or "").upper() == "AND":
            take()
            items.append(atom())
        return items[0] if len(items) == 1 else ("AND", items)

    def disj() -> Expr:
        items = [conj()]
        while (peek() or "").upper() == "OR":
            take()
            items.append(conj())
        return items[0] if len(items) == 1 else ("OR", items)

    e = disj()
    if pos != len(tokens):
        raise ValueError(f"unexpected '{tokens[pos]}' in {text!r}")
    return e


def render(e: Expr, top: bool = True) -> str:
    if isinstance(e, str):
        return e
    if e[0] == "WITH":
        return f"{e[1]} WITH {e[2]}"
    inner = f" {e[0]} ".join(render(x, False) for x in e[1])
    return inner if top else f"({inner})"


def ids(e: Expr) -> list[str]:
    """Every license id in an expression (exceptions left out), in order."""
    if isinstance(e, str):
        return [e]
    if e[0] == "WITH":
        return [e[1]]
    return [i for x in e[1] for i in ids(x)]


def combine(op: str, items: list[str]) -> str:
    """Join license expressions with AND/OR: nested joins with the same operator are flattened and
    duplicates dropped, so the result is short and re-parses."""
    parts: list[Expr] = []
    for x in items:
        try:
            e = parse(x)
        except ValueError:
            e = x
        parts.extend(e[1] if isinstance(e, tuple) and e[0] == op else [e])
    uniq = sorted({render(p, top=False): p for p in parts})
    if len(uniq) == 1:
        return render(parse(uniq[0])) if uniq[0].startswith("(") else uniq[0]
    return f" {op} ".join(uniq)


def evaluate(e: Expr, allowed: Callable[[str], bool]) -> bool:
    """Does an expression satisfy a policy? OR needs one allowed branch, AND needs all; an exception
    (WITH) only adds permissions, so it is judged by its license."""
    if isinstance(e, str):
        return allowed(e)
    if e[0] == "WITH":
        return allowed(e[1])
    if e[0] == "AND":
        return all(evaluate(x, allowed) for x in e[1])
    return any(evaluate(x, allowed) for x in e[1])


def validate_ids(names: list[str], what: str) -> list[str]:
    out = []
    for n in names:
        try:
            out.append(canonical_id(n.strip()))
        except Exception:  # a name that cannot be looked up is a config mistake
            raise ConfigError(f"{what}: '{n}' is not a license id") from None
    return out


# ------------------------------------------------------------------ references

_GNU_REF = re.compile(r"gnu\s+(lesser\s+|library\s+|affero\s+)?general\s+public\s+licen[sc]e|"
                      r"\b(l|a)?gpl\s*-?\s*v?(\d(?:\.\d)?)\b", re.I)
_VERSION = re.compile(r"version\s+(\d(?:\.\d)?)|\bv\.?\s?(\d(?:\.\d)?)\b", re.I)
_LATER = re.compile(r"or\s+\(?at\s+your\s+option\)?\s+any\s+later\s+version|or\s+(?:any\s+)?later\b|"
                    r"\d\+", re.I)
REFERENCES: list[tuple[str, re.Pattern[str]]] = [(lid, re.compile(p, re.I)) for lid, p in [
    ("Apache-2.0", r"apache\s+licen[sc]e,?\s+(?:version\s+|v\.?\s*)?2(?:\.0)?\b|apache[- ]2\.0|apache\s+2\s+licen|"
                   r"apache\.org/licenses/license-2\.0"),
    ("MIT", r"\bmit\s+licen[sc]e\b|\blicen[sc]ed\s+under\s+(?:the\s+)?(?:terms\s+of\s+the\s+)?mit\b|"
            r"opensource\.org/licenses/mit\b|\blicense:\s*mit\b"),
    ("BSD-3-Clause", r"\bbsd[- ]3[- ]clause\b|\b3[- ]clause\s+bsd\b|\bnew\s+bsd\s+licen|\brevised\s+bsd\s+licen|"
                     r"\bmodified\s+bsd\s+licen"),
    ("BSD-2-Clause", r"\bbsd[- ]2[- ]clause\b|\b2[- ]clause\s+bsd\b|\bsimplified\s+bsd\s+licen|\bfreebsd\s+licen"),
    ("MPL-2.0", r"mozilla\s+public\s+licen[sc]e,?\s+(?:version\s+|v\.?\s*)?2\.0|mozilla\.org/mpl/2\.0|\bmpl[- ]2\.0"),
    ("EPL-2.0", r"eclipse\s+public\s+licen[sc]e,?\s+(?:-\s+)?(?:version\s+|v\.?\s*)?2\.0|\bepl[- ]2\.0"),
    ("EPL-1.0", r"eclipse\s+public\s+licen[sc]e,?\s+(?:-\s+)?(?:version\s+|v\.?\s*)?1\.0|\bepl[- ]1\.0"),
    ("ISC", r"\bisc\s+licen[sc]e\b"),
    ("Unlicense", r"\bthe\s+unlicense\b|unlicense\.org"),
    ("CC0-1.0", r"\bcc0(?:[- ]1\.0)?\b|creativecommons\.org/publicdomain/zero/1\.0"),
    ("BSL-1.0", r"boost\s+software\s+licen[sc]e|boost\.org/license_1_0"),
    ("Zlib", r"\bzlib\s+licen[sc]e\b"),
    ("PSF-2.0", r"python\s+software\s+foundation\s+licen[sc]e"),
    ("Artistic-2.0", r"artistic\s+licen[sc]e\s+(?:version\s+)?2\.0"),
    ("WTFPL", r"\bwtfpl\b|do\s+what\s+the\s+fuck\s+you\s+want"),
    ("CC-BY-SA-4.0", r"creative\s+commons\s+attribution[- ]share\s?alike\s+4\.0|creativecommons\.org/licenses/by-sa/4\.0"),
    ("CC-BY-4.0", r"creative\s+commons\s+attribution\s+4\.0|creativecommons\.org/licenses/by/4\.0"),
]]


def _gnu(text: str) -> list[str]:
    out = []
    for m in _GNU_REF.finditer(text):
        fam = (m.group(1) or m.group(2) or "").strip().lower()
        family = {"lesser": "LGPL", "library": "LGPL", "l": "LGPL", "affero": "AGPL", "a": "AGPL"}.get(fam, "GPL")
        window = text[m.end(): m.end() + 240]
        ver = m.group(3)
        if ver is None:
            v = _VERSION.search(window)
            ver = (v.group(1) or v.group(2)) if v else None
        if ver is None:
            continue
        ver = {"2": "2.0", "3": "3.0", "1": "1.0"}.get(ver, ver)
        if family == "LGPL" and ver not in ("2.0", "2.1", "3.0"):
            continue
        later = bool(_LATER.search(window[:200]))
        out.append(f"{family}-{ver}-{'or-later' if later else 'only'}")
    return out


def references(text: str) -> list[str]:
    """License ids a text names (deduplicated, in order of first mention)."""
    found: list[tuple[int, str]] = []
    for lid, rx in REFERENCES:
        m = rx.search(text)
        if m:
            found.append((m.start(), lid))
    for lid in _gnu(text):
        found.append((0, lid))
    found.sort()
    return list(dict.fromkeys(lid for _, lid in found))


def reference_expression(text: str) -> str | None:
    """An expression from the licenses a text names: OR when it offers a choice ("dual", "either")."""
    refs = references(text)
    if not refs:
        return None
    op = "OR" if len(refs) > 1 and re.search(r"\bdual|\beither\b(?!\s+version)|\bat\s+your\s+choice", text, re.I) else "AND"
    return combine(op, refs)

"""License detection and the license policy, repository level and file level.

Repository level (licensee's model): the reader collects *evidence* from the files at a repository's
top — LICENSE/COPYING/PATENTS files and a LICENSES/ folder (full-text match against SPDX), the
"License" section of the README (full text, else a reference such as "MIT License"), and package
metadata (package.json, Cargo.toml, pyproject.toml, setup.cfg, PKG-INFO/METADATA, composer.json,
R's DESCRIPTION) — and `repo_license` combines it: one license; LGPL when GPL + LGPL texts ship
together; the package's own expression when the files agree with it; ``A OR B`` for the
LICENSE-APACHE + LICENSE-MIT convention; otherwise ``A AND B``. A license file nothing matches adds
``LicenseRef-unknown``; copyright-only files alone give ``NONE`` (all rights reserved).

File level: an ``SPDX-License-Identifier`` tag, else the file's leading comment (a license notice
such as the Apache or GPL header, or a whole license pasted in). ``meta["license"]`` is the file's own
license if it states one, else its repository's; ``meta["repo_license"]`` is the repository's.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, Literal

import orjson

from ..document import Document
from ..steps.base import Annotator, Drop, Filter
from . import spdx
from .licensedb import index

UNKNOWN = "LicenseRef-unknown"
_LICENSE_NAME = re.compile(r"^(?:(?:un)?licen[sc]e|copy(?:ing|right)|ofl|patents)(?:$|[-_.])|[-_](?:un)?licen[sc]e|"
                           r"[-_]copy(?:ing|right)", re.I)
_NOT_LICENSE_EXT = re.compile(r"\.(?:spdx|header|gemspec|py|js|ts|go|rs|rb|java|c|h|cc|cpp|php|sh|json|ya?ml|"
                              r"toml|cfg|ini|xml|csv|lock|in)$", re.I)
_README = re.compile(r"^readme(?:\.(?:md|markdown|mdown|txt|rdoc|rst))?$", re.I)
PACKAGE_FILES = frozenset({"package.json", "composer.json", "Cargo.toml", "pyproject.toml", "setup.cfg",
                           "PKG-INFO", "METADATA", "DESCRIPTION"})
_COPYRIGHT_LINE = re.compile(r"^\s*(?:portions\s+)?(?:copyright\b|\(c\)|©)", re.I)
_README_SECTION = re.compile(
    r"^(?:[#=]+[ \t]*licen[sc]e:?[ \t]*[#=]*|licen[sc]e:?[ \t]*\n[-=~]+)[ \t]*$(.*?)(?=^(?:[#=]+[ \t]|[^\n]+\n[-=~]{3,}[ \t]*$)|\Z)",
    re.M | re.S | re.I)
_SPDX_TAG = re.compile(r"SPDX-License-Identifier:[ \t]*(.+?)[ \t]*(?:\*/|-->|\*\)|-\}|\"\"\"|'''|$)", re.M)
_LICENSE_WORDS = re.compile(r"licen[sc]|copyright|permission is hereby|redistribution|public domain", re.I)
_UNCOMMENT = re.compile(r"^[ \t]*(?:#+|//+|/\*+|\*+/?|--|;+|%+|!|<!--|-->|\"\"\"|''')", re.M)
_COMMENT_START = ("#", "//", "/*", "*", "--", ";", "%", "<!--", '"""', "'''", "(*", "{-", "rem ", "!")


def is_evidence_path(path: str) -> bool:
    """Is a repository path one the repository-level license is read from?"""
    if path.startswith("LICENSES/") and path.count("/") == 1:
        return True
    if "/" in path:
        return False
    return bool(_README.match(path)) or path in PACKAGE_FILES or (
        bool(_LICENSE_NAME.search(path)) and not _NOT_LICENSE_EXT.search(path))


def _text(raw: bytes) -> str:
    from ..io import decode

    return decode(raw)[0]


def _is_copyright_only(text: str) -> bool:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return bool(lines) and all(_COPYRIGHT_LINE.match(ln) for ln in lines)


def license_file_evidence(path: str, text: str) -> dict[str, Any]:
    """What one license file says: its SPDX expression (or UNKNOWN), confidence and matcher."""
    if _is_copyright_only(text):
        return {"path": path, "kind": "copyright", "spdx": None, "confidence": 1.0, "matcher": "copyright"}
    matches = index().match(text)
    if not matches:
        ref = spdx.reference_expression(text)     # a notice ("subject to the terms of the MPL, v. 2.0")
        if ref:
            return {"path": path, "kind": "license", "spdx": ref, "confidence": 0.8, "matcher": "reference"}
        return {"path": path, "kind": "license", "spdx": UNKNOWN, "confidence": 0.0, "matcher": "none"}
    expr = spdx.combine("AND", [m.spdx for m in matches])
    return {"path": path, "kind": "license", "spdx": expr, "confidence": min(m.confidence for m in matches),
            "matcher": matches[0].matcher if len(matches) == 1 else "containment"}


def readme_evidence(path: str, text: str) -> dict[str, Any] | None:
    m = _README_SECTION.search(text)
    if not m or not m.group(1).strip():
        return None
    section = m.group(1).strip()
    matches = index().match(section)
    if matches:
        return {"path": path, "kind": "readme", "spdx": spdx.combine("AND", [x.spdx for x in matches]),
                "confidence": min(x.confidence for x in matches), "matcher": matches[0].matcher}
    ref = spdx.reference_expression(section)
    if ref:
        return {"path": path, "kind": "readme", "spdx": ref, "confidence": 0.9, "matcher": "reference"}
    return None


def _declared(name: str, text: str) -> str | None:
    """The license a package manifest declares, as written (an SPDX expression or a name)."""
    try:
        if name in ("package.json", "composer.json"):
            d = orjson.loads(text)
            lic = d.get("license") if isinstance(d, dict) else None
            if lic is None and isinstance(d, dict) and isinstance(d.get("licenses"), list):
                lic = [x.get("type") if isinstance(x, dict) else x for x in d["licenses"]]
            if isinstance(lic, dict):
                lic = lic.get("type")
            if isinstance(lic, list):
                lic = " OR ".join(str(x) for x in lic if x)
            return str(lic) if lic else None
        if name in ("Cargo.toml", "pyproject.toml"):
            d = tomllib.loads(text)
            for table in (d.get("package"), d.get("project"), (d.get("tool") or {}).get("poetry")):
                if isinstance(table, dict) and table.get("license"):
                    lic = table["license"]
                    return lic.get("text") if isinstance(lic, dict) else str(lic)
            return None
    except (orjson.JSONDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None
    if name in ("PKG-INFO", "METADATA"):
        m = re.search(r"^License-Expression:\s*(.+)$", text, re.M) or re.search(r"^License:\s*(.+)$", text, re.M)
        return m.group(1).strip() if m else None
    if name == "setup.cfg":
        m = re.search(r"^license\s*=\s*(.+)$", text, re.M)
        return m.group(1).strip() if m else None
    if name == "DESCRIPTION":
        m = re.search(r"^License:\s*(.+)$", text, re.M)
        return m.group(1).strip() if m else None
    return None


def package_evidence(path: str, text: str) -> dict[str, Any] | None:
    declared = _declared(path, text)
    if not declared:
        return None
    supplement = bool(re.search(r"\+\s*file\s+LICEN[SC]E", declared))   # R: "MIT + file LICENSE"
    declared = re.sub(r"\s*\+\s*file\s+\S+", "", declared).strip()
    if path == "Cargo.toml":
        declared = declared.replace("/", " OR ")      # Cargo's legacy "MIT/Apache-2.0" means a choice
    try:
        e = spdx.parse(declared)
        known = all(i.startswith("LicenseRef-") or i in _known() for i in spdx.ids(e))
        expr = spdx.render(e) if known else spdx.reference_expression(declared)
    except ValueError:
        expr = spdx.reference_expression(declared)
    if not expr:
        return None
    return {"path": path, "kind": "package", "spdx": expr, "confidence": 1.0, "matcher": "package",
            "supplement_license_file": supplement}


def _known() -> set[str]:
    from .licensedb import known_ids

    return set(known_ids().values())


def repo_evidence(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """Evidence from a repository's top-level license, README and package files (path -> bytes)."""
    out = []
    for path in sorted(files):
        name = path.rsplit("/", 1)[-1]
        text = _text(files[path])
        if name in PACKAGE_FILES:
            ev = package_evidence(name, text)
            if ev:
                ev["path"] = path
        elif _README.match(name) and "/" not in path:
            ev = readme_evidence(path, text)
        else:
            ev = license_file_evidence(path, text)
        if ev:
            out.append(ev)
    if any(e.get("supplement_license_file") for e in out):   # the LICENSE file only names the holder
        out = [e for e in out if not (e["kind"] == "license" and e["spdx"] == UNKNOWN)]
    return out


def detect_folder(path: str | Path) -> tuple[str | None, float, list[dict[str, Any]]]:
    """A folder's repository license from its top files (expression, confidence, evidence)."""
    root = Path(path)
    files = {}
    for p in sorted(root.iterdir()) + (sorted((root / "LICENSES").iterdir()) if (root / "LICENSES").is_dir() else []):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and is_evidence_path(rel):
            files[rel] = p.read_bytes()
    evidence = repo_evidence(files)
    expr, conf = repo_license(evidence)
    return expr, conf, evidence


_LGPL_PAIRS = {frozenset({"GPL-3.0-only", "LGPL-3.0-only"}): "LGPL-3.0-only",
               frozenset({"GPL-2.0-only", "LGPL-2.1-only"}): "LGPL-2.1-only"}


def repo_license(evidence: list[dict[str, Any]], min_confidence: float = 0.0) -> tuple[str | None, float]:
    """Combine a repository's evidence into one SPDX expression and a confidence (None: no evidence)."""
    found = [e for e in evidence if e.get("spdx") and e["kind"] in ("license", "readme", "package")]
    if not found:
        return ("NONE", 1.0) if any(e["kind"] == "copyright" for e in evidence) else (None, 0.0)
    conf = min(float(e["confidence"]) for e in found)
    files = [e for e in found if e["kind"] != "package"]
    exprs = [UNKNOWN if float(e["confidence"]) < min_confidence else e["spdx"] for e in files]
    declared = [e["spdx"] for e in found if e["kind"] == "package"]
    uniq = list(dict.fromkeys(exprs))
    if frozenset(uniq) in _LGPL_PAIRS:
        return _LGPL_PAIRS[frozenset(uniq)], conf
    if declared:
        dec_ids = set(spdx.ids(spdx.parse(declared[0])))
        if all(set(spdx.ids(spdx.parse(x))) <= dec_ids for x in uniq):
            return declared[0], conf
        uniq = list(dict.fromkeys(uniq + declared))
    if len(uniq) == 1:
        return uniq[0], conf
    names = {e["path"].rsplit("/", 1)[-1].split(".")[0].upper() for e in files}
    if {"LICENSE-MIT", "LICENSE-APACHE"} <= names and set(uniq) == {"MIT", "Apache-2.0"}:
        return "Apache-2.0 OR MIT", conf
    return spdx.combine("AND", uniq), conf


_PREAMBLE = re.compile(r"^(?:#!|<\?php|<\?xml|#\s*-\*-|#\s*(?:vim?|coding)[:=])")


def leading_comment(text: str, max_lines: int = 60) -> str:
    """The comment block at the top of a file (after a shebang, encoding line or ``<?php``)."""
    out: list[str] = []
    closer: str | None = None
    for line in text[:8000].splitlines()[:max_lines]:
        s = line.strip()
        if closer is not None:
            out.append(s)
            if closer in s:
                closer = None
            continue
        if not s or (not out and _PREAMBLE.match(s)):
            continue          # blank lines, and a shebang or encoding line before the header
        if not s.lower().startswith(_COMMENT_START):
            break
        out.append(s)
        for opener, close in (("/*", "*/"), ('"""', '"""'), ("'''", "'''"), ("<!--", "-->"), ("(*", "*)"),
                              ("{-", "-}")):
            if s.startswith(opener) and close not in s[len(opener):]:
                closer = close
                break
    return "\n".join(out)


def file_license(text: str) -> tuple[str, float, str] | None:
    """A file's own license: (expression, confidence, how), how = spdx-tag | header-reference |
    header-text; None when the file states none."""
    m = _SPDX_TAG.search(text[:8000])
    if m:
        try:
            return spdx.render(spdx.parse(m.group(1).strip().rstrip(";,"))), 1.0, "spdx-tag"
        except ValueError:
            pass
    header = leading_comment(text)
    if not header or not _LICENSE_WORDS.search(header):
        return None
    if len(header.split()) >= 40:             # a whole license pasted in: the most precise evidence
        matches = index().match(header)
        if matches:
            return (spdx.combine("AND", [x.spdx for x in matches]), min(x.confidence for x in matches),
                    "header-text")
    ref = spdx.reference_expression(_UNCOMMENT.sub(" ", header))
    if ref:
        return ref, 0.9, "header-reference"
    return None


# ------------------------------------------------------------------ steps

# The Stack v1.1's permissive list (bigcode-project.org/docs/about/the-stack), weak copyleft removed.
STACK_V1 = ("MIT", "MIT-0", "MIT-feh", "Apache-2.0", "BSD-3-Clause", "BSD-3-Clause-Clear",
            "BSD-3-Clause-No-Nuclear-License-2014", "BSD-2-Clause", "CC0-1.0", "Unlicense", "ISC",
            "Artistic-2.0", "ECL-2.0", "SHL-0.51")
# A broader permissive set (Blue Oak Council's "permissive" ratings, common ones).
PERMISSIVE = STACK_V1 + ("0BSD", "BSD-1-Clause", "BSD-2-Clause-Patent", "BSD-3-Clause-LBNL", "BSD-4-Clause",
                         "BSL-1.0", "Zlib", "zlib-acknowledgement", "PostgreSQL", "Python-2.0", "PSF-2.0",
                         "NCSA", "UPL-1.0", "X11", "AFL-3.0", "MS-PL", "BlueOak-1.0.0", "CC-BY-4.0", "CC-BY-3.0",
                         "Unicode-DFS-2016", "Unicode-3.0", "ICU", "HPND", "curl", "Libpng", "libpng-2.0",
                         "WTFPL", "Beerware", "Apache-1.1", "NTP", "W3C", "ZPL-2.1", "PHP-3.01", "JSON",
                         "Xnet", "EFL-2.0", "Fair", "MulanPSL-2.0", "OpenSSL")
PRESETS = {"stack-v1": STACK_V1, "permissive": PERMISSIVE, "none": ()}


class LicenseDetect(Annotator):
    """Detect each file's license (SPDX tag or header, else its repository's) and its repository's license.

    Writes ``meta["license"]``, ``meta["repo_license"]`` (SPDX expressions, ``None`` when unknown) and
    ``meta["license_detect_v1"]`` = {license, source, confidence, repo_license, repo_confidence, repo_files}.
    """

    name = "license_detect"
    version = 1

    def __init__(self, min_confidence: float = 0.8, file_headers: bool = True):
        self.min_confidence = min_confidence
        self.file_headers = file_headers
        self._repo_cache: dict[bytes, tuple[str | None, float]] = {}

    def _repo(self, evidence: list[dict[str, Any]]) -> tuple[str | None, float]:
        key = orjson.dumps(evidence)      # one repository's evidence is the same on all its files
        hit = self._repo_cache.get(key)
        if hit is None:
            if len(self._repo_cache) > 4096:
                self._repo_cache.clear()
            hit = self._repo_cache[key] = repo_license(evidence, self.min_confidence)
        return hit

    def annotate(self, doc: Document) -> None:
        evidence = doc.source.get("license_evidence") or []
        repo, repo_conf = self._repo(evidence)
        own = None
        if self.file_headers:
            lang = doc.source.get("language") or doc.meta.get("language")
            own = file_license(doc.text) if lang not in _PROSE else _spdx_tag_only(doc.text)
        lic, conf, how = (own if own else (repo, repo_conf, "repo" if repo else None))
        doc.meta["license"] = lic
        doc.meta["repo_license"] = repo
        doc.meta[self.meta_key] = {"license": lic, "source": how, "confidence": round(float(conf), 4),
                                   "repo_license": repo, "repo_confidence": round(float(repo_conf), 4),
                                   "repo_files": [e["path"] for e in evidence if e.get("spdx")]}


_PROSE = frozenset({"Markdown", "reStructuredText", "Text"})


def _spdx_tag_only(text: str) -> tuple[str, float, str] | None:
    m = _SPDX_TAG.search(text[:8000])
    if m:
        try:
            return spdx.render(spdx.parse(m.group(1).strip())), 1.0, "spdx-tag"
        except ValueError:
            return None
    return None


class LicenseFilter(Filter):
    """Keep files whose license satisfies a policy (The Stack v1's permissive list by default).

    ``allow`` adds license ids to the preset, ``deny`` removes them; an expression passes when an OR
    branch / every AND part is allowed. Files with no known license (``None``, ``NOASSERTION``,
    ``LicenseRef-unknown``) are dropped unless ``keep_unknown``. ``field`` picks the file's governing
    license (``license``) or its repository's (``repo_license``).
    """

    name = "license_filter"
    version = 1

    def __init__(self, preset: Literal["stack-v1", "permissive", "none"] = "stack-v1",
                 allow: list[str] | None = None, deny: list[str] | None = None, keep_unknown: bool = False,
                 field: Literal["license", "repo_license"] = "license"):
        self.allowed = set(spdx.validate_ids(list(PRESETS[preset]), "preset") +
                           spdx.validate_ids(allow or [], "license_filter.allow"))
        self.denied = set(spdx.validate_ids(deny or [], "license_filter.deny"))
        self.keep_unknown = keep_unknown
        self.field = field

    def _ok(self, lid: str) -> bool:
        return lid in self.allowed and lid not in self.denied

    def decide(self, doc: Document) -> bool | Drop:
        expr = doc.meta.get(self.field)
        if not expr or expr in ("NOASSERTION", UNKNOWN):
            return True if self.keep_unknown else Drop("license_unknown")
        try:
            tree = spdx.parse(expr)
        except ValueError:
            return True if self.keep_unknown else Drop("license_unparsable")
        if spdx.evaluate(tree, self._ok):
            return True
        return Drop(f"license_not_allowed:{expr}")

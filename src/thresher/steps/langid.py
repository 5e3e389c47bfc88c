"""Language identification: pycld2 and py3langid, reconciled into one answer per document.

Both detectors ship their models inside their wheels (nothing is downloaded). Their answers are
mapped to ISO 639-3 and combined as a product of experts: py3langid's probability over its 142
labels times cld2's text share (smoothed, weight 0.5), renormalised; py3langid is neutral about
the languages only cld2 can output. On the lingua test sentences and the UDHR paragraphs this beats
either detector alone (``benchmarks/langid_accuracy.py``). A document gets
``meta["language"]`` (ISO 639-3, or "unknown" when too short, too uncertain or too mixed),
``meta["script"]`` (ISO 15924), ``meta["language_score"]`` (the combined posterior), and under
``meta["language_id_v1"]`` each detector's own answer, whether they agree, and the share of the
document's paragraphs per language (code-switched pages).
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator

import numpy as np
from numba import njit

from ..document import Document
from ..errors import ConfigError
from ..text.charclass import pack
from ..text.packs import find_pack, load_packs
from ..text.scripts import SCRIPTS, dominant_script, script_table
from .base import Annotator, Drop, Filter, StepContext
from .langid_nb import LID_FLOOR, combine_batch, encode, identifier, nb_model, nb_probs, nb_probs_packed, pack_bytes

UNKNOWN = "unknown"
# Detector codes that are not (or no longer) ISO 639-1: legacy Hebrew/Javanese codes, Norwegian
# "no" (both detectors have a separate Nynorsk class, so "no" is Bokmål), Montenegrin.
_SPECIAL = {"iw": "heb", "jw": "jav", "no": "nob", "zh-Hant": "zho", "sr-ME": "cnr", "in": "ind"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_NEWLINE = re.compile(r"\n")


def _spans(sep: re.Pattern, text: str) -> Iterator[tuple[int, int]]:
    """The pieces of ``text`` between matches of ``sep``, each stripped of surrounding whitespace,
    as spans, lazily (a caller that has enough blocks stops reading)."""
    pos = 0
    for m in sep.finditer(text):
        yield _stripped(text, pos, m.start())
        pos = m.end()
    yield _stripped(text, pos, len(text))


def _stripped(text: str, a: int, b: int) -> tuple[int, int]:
    piece = text[a:b]
    right = len(piece.rstrip())
    return (a + len(piece) - len(piece.lstrip()), a + right) if right else (a, a)


@lru_cache(maxsize=1)
def iso_codes() -> dict[str, Any]:
    """ISO 639 / 15924 tables shipped with thresher (from Debian iso-codes)."""
    return json.loads(resources.files("thresher").joinpath("data/iso_codes.json").read_text("utf-8"))


@lru_cache(maxsize=4096)
def to_iso639_3(code: str) -> str | None:
    """A detector's language code as ISO 639-3 (None for "unknown"/"no language")."""
    if code in ("un", "zxx", "", None) or code.startswith("xx-"):
        return None
    if code in _SPECIAL:
        return _SPECIAL[code]
    base = code.split("-")[0]
    t = iso_codes()
    if len(base) == 2:
        return t["alpha2_to_alpha3"].get(base)
    return base if len(base) == 3 else None


def normalize_language(code: str) -> str:
    """A user-given language code (ISO 639-1 or 639-3) as ISO 639-3; raises ConfigError if unknown."""
    c = code.strip().lower()
    t = iso_codes()
    if c in t["names"]:
        return c
    if c in t["alpha2_to_alpha3"]:
        return t["alpha2_to_alpha3"][c]
    if c in _SPECIAL:
        return _SPECIAL[c]
    raise ConfigError(f"unknown language code {code!r} (use ISO 639-1 or ISO 639-3, e.g. 'en' or 'eng')")


def _py3langid():
    """py3langid's own identifier (normalised probabilities), as the package ships it."""
    return identifier()


def detect_py3langid(text: str) -> dict[str, float]:
    """py3langid's normalised probabilities, keyed by ISO 639-3 (classes of one code merged)."""
    out: dict[str, float] = {}
    probs = nb_probs([text])[0]
    for code, p in zip(nb_model().classes, probs.tolist()):
        iso = to_iso639_3(code)
        if iso is not None and p > LID_FLOOR:
            out[iso] = out.get(iso, 0.0) + float(p)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def detect_cld2(text: str) -> tuple[dict[str, float], bool, bool]:
    """cld2's top-3 languages as text shares (0-1) keyed by ISO 639-3, its reliability flag, and
    whether it said Traditional Chinese."""
    import pycld2

    try:
        reliable, _, details = pycld2.detect(text.encode("utf-8", "replace"), bestEffort=True)
    except pycld2.error:
        return {}, False, False
    out: dict[str, float] = {}
    hant = False
    for _, code, percent, _ in details:
        iso = to_iso639_3(code)
        if iso is not None and percent > 0:
            out[iso] = out.get(iso, 0.0) + percent / 100.0
            hant = hant or code == "zh-Hant"
    return out, bool(reliable), hant


@dataclass
class LanguageGuess:
    """The reconciled answer for one text."""

    language: str
    score: float
    script: str
    reason: str                       # ok | too_short | low_score | mixed
    cld2: str | None = None
    cld2_share: float = 0.0
    cld2_reliable: bool = False
    py3langid: str | None = None
    py3langid_score: float = 0.0
    agree: bool = False
    paragraphs: dict[str, float] = field(default_factory=dict)


@lru_cache(maxsize=1)
def known_languages() -> tuple[frozenset[str], frozenset[str]]:
    """ISO 639-3 codes each detector can output: (py3langid, cld2)."""
    import pycld2

    lid = frozenset(c for c in map(to_iso639_3, _py3langid().nb_classes) if c)
    cld = frozenset(c for c in (to_iso639_3(code) for _, code in pycld2.LANGUAGES) if c)
    return lid, cld


def combine(lid: dict[str, float], cld: dict[str, float], cld2_weight: float = 0.5,
            cld2_floor: float = 0.1) -> dict[str, float]:
    """Product of experts over the union of candidates, renormalised to a posterior.

    py3langid has no opinion on a language it cannot output: there its factor is neutral (its best
    score), so a language only cld2 knows (Maori, Tswana, Tsonga ...) can still win. cld2's factor
    is always smoothed instead (``cld2_floor``): its short-text false positives need the penalty."""
    cands = set(lid) | set(cld)
    if not cands:
        return {}
    lid_known = known_languages()[0]
    lid_top = max(lid.values(), default=1.0)
    logs = {}
    for c in cands:
        p_lid = lid.get(c, 0.0) if c in lid_known else lid_top
        logs[c] = math.log(p_lid + 1e-4) + cld2_weight * math.log(cld.get(c, 0.0) + cld2_floor)
    top = max(logs.values())
    exp = {c: math.exp(v - top) for c, v in logs.items()}
    z = sum(exp.values())
    return {c: v / z for c, v in exp.items()}


@lru_cache(maxsize=1)
def _iso_space() -> tuple[list[str], dict[str, int], np.ndarray, np.ndarray]:
    """Every ISO 639-3 code either detector can output, numbered: (codes, index, py3langid class ->
    code number or -1, whether py3langid can output each code)."""
    lid, cld = known_languages()
    codes = sorted(lid | cld)
    index = {c: i for i, c in enumerate(codes)}
    cls_iso = np.array([index.get(to_iso639_3(c) or "", -1) for c in nb_model().classes], dtype=np.int64)
    known = np.array([c in lid for c in codes], dtype=np.uint8)
    return codes, index, cls_iso, known


@njit(cache=True)
def _script_rows(cps, seg_a, seg_b, table, out):
    """Letters per script (columns: 1 + index into SCRIPTS) of each span of a packed batch."""
    for s in range(seg_a.shape[0]):
        for i in range(seg_a[s], seg_b[s]):
            out[s, table[cps[i]]] += 1


# letters per script column; a Han/kana/Hangul character carries about a word: it counts as three
_LETTER_WEIGHT = np.array([0] + [3 if s in ("Hani", "Hira", "Kana", "Hang") else 1 for s in SCRIPTS], dtype=np.int64)


def _utf8_offsets(cps: np.ndarray) -> np.ndarray:
    """Byte offset in UTF-8 of every character boundary (len(cps) + 1 entries)."""
    width = 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)
    out = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(width, out=out[1:])
    return out


def _units(text: str, spans: list[tuple[int, int]], max_chars: int) -> tuple[list[str], list[tuple[int, int, int]]]:
    """What to walk for one document and the spans to score in it: (texts, [(text, char start, char end)]),
    the head first. When the head is a prefix of the paragraphs' region as py3langid would encode
    both (NFC already, not all upper case), one walk over the region serves the head and every
    paragraph; otherwise the head and each paragraph are walked on their own."""
    region = _CONTROL.sub(" ", text[:max(max_chars, spans[-1][1] if spans else 0)])
    head = region[:max_chars]
    if not spans:
        return [head], [(0, 0, len(head))]
    if not region.isupper() and not head.isupper() and (region.isascii() or (
            unicodedata.is_normalized("NFC", region) and unicodedata.is_normalized("NFC", head))):
        return [region], [(0, 0, len(head))] + [(0, a, min(b, a + max_chars)) for a, b in spans]
    units = [head] + [_CONTROL.sub(" ", text[a:b][:max_chars]) for a, b in spans]
    return units, [(i, 0, len(u)) for i, u in enumerate(units)]


def identify_batch(texts: list[str], min_letters: int = 10, min_score: float = 0.3, max_chars: int = 5000,
                   cld2_weight: float = 0.5, paragraphs: list[list[tuple[int, int]]] | None = None
                   ) -> tuple[list[LanguageGuess], list[list[str]]]:
    """Identify many texts at once: py3langid compiled over the whole batch, cld2 once per text.

    ``paragraphs[i]`` (optional) are (start, end) character spans of text ``i`` to label too,
    scored from the same walk as the text (see ``_units``), each combined with cld2's shares of
    its whole text (cld2 is not run per paragraph). Returns one guess per text and, per text, one
    label per span ("unknown" for a span too short or too uncertain)."""
    spans = paragraphs or [[] for _ in texts]
    units: list[str] = []
    unit_segs: list[tuple[int, int]] = []      # each unit's spans: seg_* indices start..end-1
    seg_unit: list[int] = []
    seg_ca: list[int] = []
    seg_cb: list[int] = []
    seg_doc: list[int] = []
    first: list[int] = []           # each document's head span, followed by its paragraphs'
    heads: list[str] = []
    for d, (t, sp) in enumerate(zip(texts, spans)):
        us, segs = _units(t, sp, max_chars)
        heads.append(us[0][:max_chars])
        first.append(len(seg_doc))
        at = len(seg_doc)      # one unit holding every span, or one unit per span
        unit_segs.extend([(at, at + len(segs))] if len(us) == 1 else [(at + k, at + k + 1) for k in range(len(us))])
        for u, a, b in segs:
            seg_unit.append(len(units) + u)
            seg_ca.append(a)
            seg_cb.append(b)
            seg_doc.append(d)
        units.extend(us)
    cps, coff = pack(units)
    encoded = [encode(u) for u in units]
    data, boff = pack_bytes(encoded)
    su = np.array(seg_unit, dtype=np.int64)
    ca, cb = np.array(seg_ca, dtype=np.int64), np.array(seg_cb, dtype=np.int64)
    ba, bb = ca.copy(), cb.copy()
    for i, u in enumerate(units):       # character -> byte offsets where UTF-8 is longer than one byte
        if len(encoded[i]) != len(u):
            lo, hi = unit_segs[i]
            if hi - lo == 1:        # the whole unit (its NFC form may differ in length)
                ba[lo], bb[lo] = 0, len(encoded[i])
            else:                   # spans of a region that is NFC already (see _units)
                off = _utf8_offsets(cps[coff[i]:coff[i + 1]])
                ba[lo:hi], bb[lo:hi] = off[ca[lo:hi]], off[cb[lo:hi]]
    rows = np.zeros((len(seg_doc), len(SCRIPTS) + 1), dtype=np.int64)
    _script_rows(cps, coff[su] + ca, coff[su] + cb, script_table(), rows)
    letters = (rows @ _LETTER_WEIGHT).tolist()
    groups = np.array(first + [len(seg_doc)], dtype=np.int64)
    probs = nb_probs_packed(data, boff, (boff[su] + ba, boff[su] + bb), groups)
    codes, index, cls_iso, known = _iso_space()
    cld_idx = np.full((len(texts), 3), -1, dtype=np.int64)
    cld_share = np.zeros((len(texts), 3), dtype=np.float64)
    clds = []
    for d, h in enumerate(heads):
        cld, reliable, hant = detect_cld2(h)
        clds.append((cld, reliable, hant))
        for j, (c, share) in enumerate(cld.items()):
            cld_idx[d, j], cld_share[d, j] = index[c], share
    res_i = np.zeros((len(seg_doc), 2), dtype=np.int64)
    res_f = np.zeros((len(seg_doc), 2), dtype=np.float64)
    combine_batch(probs, np.array(seg_doc, dtype=np.int64), cls_iso, known, cld_idx, cld_share, len(codes),
                  cld2_weight, 0.1, res_i, res_f)
    res_i, res_f = res_i.tolist(), res_f.tolist()
    guesses = []
    for d, s in enumerate(first):
        counts = {SCRIPTS[i - 1]: int(rows[s, i]) for i in np.flatnonzero(rows[s, 1:]) + 1}
        script = dominant_script(counts)
        if letters[s] < min_letters:
            guesses.append(LanguageGuess(UNKNOWN, 0.0, script, "too_short"))
            continue
        cld, reliable, hant = clds[d]
        (best, top), (score, top_p) = res_i[s], res_f[s]
        lang = codes[best] if best >= 0 else UNKNOWN
        lid_top = codes[top] if top >= 0 else None
        cld_top = max(cld, key=cld.get) if cld else None
        if lang == "zho" and script == "Hani":
            script = "Hant" if hant else "Hans"
        g = LanguageGuess(lang, score, script, "ok", cld_top, cld.get(cld_top, 0.0) if cld_top else 0.0,
                          reliable, lid_top, top_p, lid_top == cld_top)
        if score < min_score:
            g.language, g.reason = UNKNOWN, "low_score"
        guesses.append(g)
    labels: list[list[str]] = [[] for _ in texts]
    heads_at = set(first)
    for s in range(len(seg_doc)):
        if s not in heads_at:
            best = res_i[s][0]
            ok = letters[s] >= min_letters and best >= 0 and res_f[s][0] >= min_score
            labels[seg_doc[s]].append(codes[best] if ok else UNKNOWN)
    return guesses, labels


def identify(text: str, min_letters: int = 10, min_score: float = 0.3, max_chars: int = 5000,
             cld2_weight: float = 0.5) -> LanguageGuess:
    """Identify one text (no paragraph breakdown; see ``LanguageId`` for documents)."""
    return identify_batch([text], min_letters, min_score, max_chars, cld2_weight)[0][0]


class LanguageId(Annotator):
    """Identify language (ISO 639-3) and script (ISO 15924) with pycld2 + py3langid; record disagreement and per-paragraph shares.

    "unknown" when the text has fewer than ``min_letters`` letters, the combined score is below
    ``min_score``, or (with ``paragraphs``) the winning language covers less than ``min_share`` of
    the classified paragraphs' text. A batch is scored in one compiled pass; cld2 runs once per
    document and its shares are the prior for the document's paragraphs too.
    """

    name = "language_id"
    version = 1

    def __init__(self, min_letters: int = 10, min_score: float = 0.3, max_chars: int = 5000,
                 paragraphs: bool = True, min_paragraph_chars: int = 200, max_paragraphs: int = 16,
                 min_share: float = 0.5, cld2_weight: float = 0.5):
        self.min_letters = min_letters
        self.min_score = min_score
        self.max_chars = max_chars
        self.paragraphs = paragraphs
        self.min_paragraph_chars = min_paragraph_chars
        self.max_paragraphs = max_paragraphs
        self.min_share = min_share
        self.cld2_weight = cld2_weight

    def _blocks(self, text: str) -> list[tuple[int, int, int]]:
        """Paragraphs (blank-line separated, else lines), short ones merged with the next until a
        block has ``min_paragraph_chars``; at most ``max_paragraphs`` blocks (fewer than two: none).
        Each as (start, end, length): its span in ``text`` and its length with the paragraphs
        stripped and joined by one newline."""
        head = text[: self.max_chars * 4]
        sep = _PARAGRAPHS if _PARAGRAPHS.search(head) else _NEWLINE
        if sep is _NEWLINE and "\n" not in head:
            return []
        blocks: list[tuple[int, int, int]] = []
        start = -1
        size = 0
        for a, b in _spans(sep, head):
            if a == b:
                continue
            if start < 0:
                start, size = a, b - a
            else:
                size += 1 + b - a
            if size >= self.min_paragraph_chars:
                blocks.append((start, b, size))
                start = -1
                if len(blocks) >= self.max_paragraphs:
                    break
        return blocks if len(blocks) >= 2 else []

    def guesses(self, texts: list[str]) -> list[LanguageGuess]:
        blocks = [self._blocks(t) for t in texts] if self.paragraphs else None
        spans = [[(a, b) for a, b, _ in bl] for bl in blocks] if blocks is not None else None
        guesses, labels = identify_batch(texts, self.min_letters, self.min_score, self.max_chars,
                                         self.cld2_weight, spans)
        for g, bl, lab in zip(guesses, blocks or [], labels):
            if g.reason != "ok" or not bl:
                continue
            mass: dict[str, float] = {}
            for (_, _, size), lang in zip(bl, lab):
                mass[lang] = mass.get(lang, 0.0) + size
            total = sum(mass.values())
            g.paragraphs = {k: round(v / total, 4) for k, v in sorted(mass.items(), key=lambda kv: -kv[1])}
            known = {k: v for k, v in g.paragraphs.items() if k != UNKNOWN}
            if known and known.get(g.language, 0.0) < self.min_share:
                g.language, g.reason = UNKNOWN, "mixed"
        return guesses

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        for doc, g in zip(docs, self.guesses([d.text for d in docs])):
            self._write(doc, g)
        return docs

    def annotate(self, doc: Document) -> None:
        self._write(doc, self.guesses([doc.text])[0])

    def _write(self, doc: Document, g: LanguageGuess) -> None:
        doc.meta["language"] = g.language
        doc.meta["script"] = g.script
        doc.meta["language_score"] = round(g.score, 4)
        doc.meta[self.meta_key] = {
            "reason": g.reason, "cld2": g.cld2, "cld2_share": round(g.cld2_share, 4),
            "cld2_reliable": g.cld2_reliable, "py3langid": g.py3langid,
            "py3langid_score": round(g.py3langid_score, 4), "agree": g.agree, "paragraphs": g.paragraphs}


class LanguageFilter(Filter):
    """Keep documents whose identified language is listed (ISO 639-1 or 639-3) and whose score is high enough.

    Runs after ``language_id``. ``languages`` empty keeps every identified language; "unknown"
    documents are dropped unless ``keep_unknown``. With ``language_pack`` ("shipped", or a pack file
    from ``thresher calibrate``) a document's score must reach its own language's ``lid_threshold``
    (FineWeb-2's per-language rule) instead of ``min_score``, where a pack has one.
    """

    name = "language_filter"
    version = 1

    def __init__(self, languages: list[str] | None = None, min_score: float = 0.0, keep_unknown: bool = False,
                 language_pack: str | None = None):
        self.languages = {normalize_language(c) for c in languages or []}
        self.min_score = min_score
        self.keep_unknown = keep_unknown
        self.language_pack = language_pack
        if language_pack:
            load_packs(language_pack)       # a bad file fails now, not mid-run

    def decide(self, doc: Document) -> bool | Drop:
        lang = doc.meta.get("language")
        if lang is None:
            return Drop("language_not_identified")
        if lang == UNKNOWN:
            return True if self.keep_unknown else Drop("language_unknown")
        if self.languages and lang not in self.languages:
            return Drop(f"language:{lang}")
        score = float(doc.meta.get("language_score", 0.0))
        floor = self.min_score
        if self.language_pack and (found := find_pack(doc.meta, self.language_pack)):
            floor = float(found[1].get("lid_threshold", floor))
        if score < floor:
            return Drop("language_score", score, floor)
        return True

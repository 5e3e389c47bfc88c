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
from typing import Any

import numpy as np

from ..document import Document
from ..errors import ConfigError
from ..text.charclass import SPACE, char_flags, pack
from ..text.packs import find_pack, load_packs
from ..text.scripts import SCRIPTS, script_table
from .base import Annotator, Drop, Filter, StepContext
from .langid_nb import LID_FLOOR, combine_batch, encode, identifier, nb_model, nb_probs, nb_probs_packed, pack_bytes
from .langid_text import _LETTER_WEIGHT, _assemble, _blocks_kernel, _dominant_scripts

UNKNOWN = "unknown"
# Detector codes that are not (or no longer) ISO 639-1: legacy Hebrew/Javanese codes, Norwegian
# "no" (both detectors have a separate Nynorsk class, so "no" is Bokmål), Montenegrin.
_SPECIAL = {"iw": "heb", "jw": "jav", "no": "nob", "zh-Hant": "zho", "sr-ME": "cnr", "in": "ind"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


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
    return _cld2(text.encode("utf-8", "replace"))


def _cld2(data: bytes) -> tuple[dict[str, float], bool, bool]:
    """``detect_cld2`` of a text's UTF-8 bytes."""
    import pycld2

    try:
        reliable, _, details = pycld2.detect(data, bestEffort=True)
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


def _identify(texts: list[str], cps: np.ndarray, coff: np.ndarray, pa: np.ndarray, pb: np.ndarray, poff: np.ndarray,
              min_letters: int, min_score: float, max_chars: int, cld2_weight: float
              ) -> tuple[list[LanguageGuess], np.ndarray]:
    """``identify_batch`` on packed input: ``cps[coff[d]:coff[d+1]]`` holds at least the first
    ``max(max_chars, end of its last paragraph)`` characters of ``texts[d]``, its paragraph spans are
    ``pa/pb[poff[d]:poff[d+1]]`` (in order, not overlapping). Returns the guesses and, per
    paragraph span, its language as an index into ``_iso_space()[0]`` (-1: unknown)."""
    n = len(texts)
    npara = np.diff(poff)
    last = np.zeros(n, dtype=np.int64)
    last[npara > 0] = pb[poff[1:][npara > 0] - 1]
    lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    region = np.minimum(lens, np.maximum(max_chars, last))
    head = np.minimum(region, max_chars)
    if np.any(region > np.diff(coff)):
        raise ValueError("_identify: the packed texts are shorter than the regions to score")
    # A document is walked once when py3langid would encode its region and head as they are (NFC,
    # not all upper case); otherwise its head and each paragraph are encoded and walked on their own.
    fast = np.ones(n, dtype=np.uint8)
    slow_units: list[str] = []
    sfirst = [0]
    slow_heads: dict[int, str] = {}
    for d, (t, r) in enumerate(zip(texts, region.tolist())):
        if t.isascii():     # no normalisation to do: all upper case is the only reason to walk apart
            piece = t[:r]
            if not piece.isupper() and (r <= max_chars or not piece[:max_chars].isupper()):
                sfirst.append(len(slow_units))
                continue
        else:
            piece = _CONTROL.sub(" ", t[:r])
            top = piece[:max_chars]
            if not piece.isupper() and not top.isupper() and unicodedata.is_normalized("NFC", piece) and (
                    top is piece or unicodedata.is_normalized("NFC", top)):
                sfirst.append(len(slow_units))
                continue
        fast[d] = 0
        h = _CONTROL.sub(" ", t[:r])[:max_chars]
        slow_heads[d] = h
        slow_units.append(h)
        slow_units.extend(_CONTROL.sub(" ", t[a:b][:max_chars])
                          for a, b in zip(pa[poff[d]:poff[d + 1]].tolist(), pb[poff[d]:poff[d + 1]].tolist()))
        sfirst.append(len(slow_units))
    sblob, soff = pack_bytes([encode(u) for u in slow_units])
    data, woff, seg_a, seg_b, seg_doc, rows = _assemble(
        cps, coff, region, head, pa, pb, poff, max_chars, fast, sblob, soff, np.array(sfirst, dtype=np.int64),
        script_table(), len(SCRIPTS) + 1)
    letters = rows @ _LETTER_WEIGHT
    first = np.arange(n, dtype=np.int64) + poff[:-1]        # each document's head span
    probs = nb_probs_packed(data, woff, (seg_a, seg_b), np.append(first, len(seg_doc)))
    codes, index, cls_iso, known = _iso_space()
    blob = data.tobytes()
    clds = [_cld2(blob[a:b]) if f else _cld2(slow_heads[d].encode("utf-8", "replace"))
            for d, (f, a, b) in enumerate(zip(fast.tolist(), seg_a[first].tolist(), seg_b[first].tolist()))]
    top3_i: list[int] = []          # cld2's (at most three) languages per document, padded
    top3_s: list[float] = []
    for cld, _, _ in clds:
        top3_i.extend([index[c] for c in cld] + [-1] * (3 - len(cld)))
        top3_s.extend(list(cld.values()) + [0.0] * (3 - len(cld)))
    cld_idx = np.array(top3_i, dtype=np.int64).reshape(n, 3)
    cld_share = np.array(top3_s, dtype=np.float64).reshape(n, 3)
    res_i = np.zeros((len(seg_doc), 2), dtype=np.int64)
    res_f = np.zeros((len(seg_doc), 2), dtype=np.float64)
    combine_batch(probs, seg_doc, cls_iso, known, cld_idx, cld_share, len(codes), cld2_weight, 0.1, res_i, res_f)
    scripts = _dominant_scripts(rows, first)
    short = (letters[first] < min_letters).tolist()
    guesses = []
    for (best, top), (score, top_p), script, too_short, (cld, reliable, hant) in zip(
            res_i[first].tolist(), res_f[first].tolist(), scripts, short, clds):
        if too_short:
            guesses.append(LanguageGuess(UNKNOWN, 0.0, script, "too_short"))
            continue
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
    para = np.ones(len(seg_doc), dtype=bool)
    para[first] = False
    ok = (letters >= min_letters) & (res_i[:, 0] >= 0) & (res_f[:, 0] >= min_score)
    return guesses, np.where(ok, res_i[:, 0], -1)[para]


def identify_batch(texts: list[str], min_letters: int = 10, min_score: float = 0.3, max_chars: int = 5000,
                   cld2_weight: float = 0.5, paragraphs: list[list[tuple[int, int]]] | None = None
                   ) -> tuple[list[LanguageGuess], list[list[str]]]:
    """Identify many texts at once: py3langid compiled over the whole batch, cld2 once per text.

    ``paragraphs[i]`` (optional) are (start, end) character spans of text ``i`` to label too, in
    order and not overlapping, scored from the same walk as the text where py3langid would encode
    both alike (see ``_assemble``), each combined with cld2's shares of its whole text (cld2 is not
    run per paragraph). Returns one guess per text and, per text, one label per span ("unknown"
    for a span too short or too uncertain)."""
    spans = paragraphs or [[] for _ in texts]
    poff = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(sp) for sp in spans], out=poff[1:])
    flat = [ab for sp in spans for ab in sp]
    pa = np.array([a for a, _ in flat], dtype=np.int64)
    pb = np.array([b for _, b in flat], dtype=np.int64)
    for t, sp in zip(texts, spans):
        if any(not 0 <= a <= b <= len(t) for a, b in sp) or any(b > a for (_, b), (a, _) in zip(sp, sp[1:])):
            raise ValueError(f"identify_batch: paragraph spans {sp[:4]}... must lie in their text, in order, "
                             "without overlapping")
    cps, coff = pack([t[:max(max_chars, sp[-1][1] if sp else 0)] for t, sp in zip(texts, spans)])
    guesses, lab = _identify(texts, cps, coff, pa, pb, poff, min_letters, min_score, max_chars, cld2_weight)
    codes = _iso_space()[0] + [UNKNOWN]         # -1 is the last
    names = [codes[i] for i in lab.tolist()]
    return guesses, [names[poff[d]:poff[d + 1]] for d in range(len(texts))]


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
        cps, coff = pack([text[: self.max_chars * 4]])
        pa, pb, size, poff = self._blocks_packed(cps, coff)
        return list(zip(pa.tolist(), pb.tolist(), size.tolist()))

    def _blocks_packed(self, cps: np.ndarray, coff: np.ndarray) -> tuple[np.ndarray, ...]:
        """``_blocks`` of every text ``cps[coff[d]:coff[d+1]]`` (each cut at ``4 * max_chars``
        characters): (starts, ends, lengths, offsets of each text's blocks)."""
        cap = max(1, min(self.max_paragraphs, self.max_chars * 4 // max(self.min_paragraph_chars, 1) + 1))
        out = np.zeros((len(coff) - 1, cap, 3), dtype=np.int64)
        count = np.zeros(len(coff) - 1, dtype=np.int64)
        _blocks_kernel(cps, coff, char_flags(), SPACE, self.max_chars * 4, self.min_paragraph_chars, cap, out, count)
        keep = np.arange(cap) < count[:, None]
        poff = np.zeros(len(count) + 1, dtype=np.int64)
        np.cumsum(count, out=poff[1:])
        return out[keep][:, 0], out[keep][:, 1], out[keep][:, 2], poff

    def guesses(self, texts: list[str]) -> list[LanguageGuess]:
        cps, coff = pack([t[: self.max_chars * (4 if self.paragraphs else 1)] for t in texts])
        if self.paragraphs:
            pa, pb, size, poff = self._blocks_packed(cps, coff)
        else:
            pa = pb = size = np.zeros(0, dtype=np.int64)
            poff = np.zeros(len(texts) + 1, dtype=np.int64)
        guesses, lab = _identify(texts, cps, coff, pa, pb, poff, self.min_letters, self.min_score, self.max_chars,
                                 self.cld2_weight)
        codes = _iso_space()[0] + [UNKNOWN]         # -1 is the last
        lab_l, size_l, poff_l = lab.tolist(), size.tolist(), poff.tolist()
        for d, g in enumerate(guesses):
            if g.reason != "ok" or poff_l[d] == poff_l[d + 1]:
                continue
            mass: dict[int, float] = {}
            for k in range(poff_l[d], poff_l[d + 1]):
                mass[lab_l[k]] = mass.get(lab_l[k], 0.0) + size_l[k]
            total = sum(mass.values())
            g.paragraphs = {codes[k]: round(v / total, 4) for k, v in sorted(mass.items(), key=lambda kv: -kv[1])}
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

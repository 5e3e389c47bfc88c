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
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
from numba import njit

from ..document import Document
from ..errors import ConfigError
from ..text.scripts import dominant_script, script_counts
from .base import Annotator, Drop, Filter

UNKNOWN = "unknown"
# Detector codes that are not (or no longer) ISO 639-1: legacy Hebrew/Javanese codes, Norwegian
# "no" (both detectors have a separate Nynorsk class, so "no" is Bokmål), Montenegrin.
_SPECIAL = {"iw": "heb", "jw": "jav", "no": "nob", "zh-Hant": "zho", "sr-ME": "cnr", "in": "ind"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PARAGRAPHS = re.compile(r"\n\s*\n")


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


@lru_cache(maxsize=1)
def _py3langid():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@njit(cache=True)
def _dfa_counts(data, nextmove, rowbase, output, counts, touched):
    """py3langid's ``visit_counts`` (byte DFA over the model's n-gram automaton), compiled. Returns how
    many features were seen, listed in ``touched``: scanning and zeroing the whole count vector per
    call cost more than the walk itself."""
    state = 0
    n = 0
    for letter in data:
        state = nextmove[rowbase[state] + letter]
        f = output[state]
        if f >= 0:
            if counts[f] == 0:
                touched[n] = f
                n += 1
            counts[f] += 1
    return n


@lru_cache(maxsize=1)
def _dfa_tables():
    """The identifier's automaton as numpy arrays, or None when py3langid's internals differ from
    the 0.4 layout this was written for (then its own Python walk is used)."""
    ident = _py3langid()
    try:
        nextmove = ident.tk_nextmove
        nextmove = (np.frombuffer(nextmove, dtype=np.dtype(nextmove.typecode)) if hasattr(nextmove, "typecode")
                    else np.asarray(nextmove))    # array.array: shared, not copied
        tables = (nextmove, np.asarray(ident._rowbase, dtype=np.int64), np.asarray(ident.tk_output, dtype=np.int64))
        _ = ident.nb_ptc, ident.nb_pc, ident._alias_pairs, ident._norm_probs, ident._encode
    except (AttributeError, TypeError, ValueError):
        return None
    nfeat = ident.nb_ptc.shape[0]
    return tables + (np.zeros(nfeat, dtype=np.int64), np.zeros(nfeat, dtype=np.int64))


def _py3langid_rank(text: str) -> list[tuple[str, float]]:
    """``LanguageIdentifier.rank`` with the feature walk compiled (same arithmetic afterwards)."""
    ident = _py3langid()
    tables = _dfa_tables()
    if tables is None:
        return ident.rank(text)
    nextmove, rowbase, output, counts, touched = tables
    data = ident._encode(text)
    n = _dfa_counts(np.frombuffer(data, dtype=np.uint8), nextmove, rowbase, output, counts, touched)
    idx = np.sort(touched[:n])          # the order np.nonzero gave: same float arithmetic as py3langid
    feats = counts[idx].astype(np.float32)
    counts[idx] = 0
    if len(idx):
        scores = np.log1p(feats) @ ident.nb_ptc[idx] + ident.nb_pc
        scores *= 1.0 / math.sqrt(len(data) or 1)
    else:   # no features: py3langid abstains with a uniform distribution
        scores = np.zeros(len(ident.nb_classes), dtype=np.float32)
    np.exp(scores - scores.max(), out=scores)
    scores /= scores.sum()
    for i, j in ident._alias_pairs:
        scores[i] += scores[j]
        scores[j] = 0.0
    merged: dict[str, float] = {}
    for lang, score in zip(ident.nb_classes, scores.tolist()):
        merged.setdefault(lang, score)
    return sorted(merged.items(), key=lambda kv: kv[1], reverse=True)


def detect_py3langid(text: str) -> dict[str, float]:
    """py3langid's normalised probabilities, keyed by ISO 639-3 (classes of one code merged)."""
    out: dict[str, float] = {}
    for code, p in _py3langid_rank(text):
        iso = to_iso639_3(code)
        if iso is not None and p > 1e-6:
            out[iso] = out.get(iso, 0.0) + float(p)
    return out


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


def identify(text: str, min_letters: int = 10, min_score: float = 0.3, max_chars: int = 5000,
             cld2_weight: float = 0.5) -> LanguageGuess:
    """Identify one text (no paragraph breakdown; see ``LanguageId`` for documents)."""
    clean = _CONTROL.sub(" ", text[:max_chars])
    counts = script_counts(clean)
    script = dominant_script(counts)
    # a Han/kana/Hangul character carries about a word: it counts as three letters
    letters = sum(v * (3 if s in ("Hani", "Hira", "Kana", "Hang") else 1) for s, v in counts.items())
    if letters < min_letters:
        return LanguageGuess(UNKNOWN, 0.0, script, "too_short")
    lid = detect_py3langid(clean)
    cld, reliable, hant = detect_cld2(clean)
    post = combine(lid, cld, cld2_weight)
    lang = max(post, key=post.get) if post else UNKNOWN
    score = post.get(lang, 0.0)
    lid_top = max(lid, key=lid.get) if lid else None
    cld_top = max(cld, key=cld.get) if cld else None
    if lang == "zho" and script == "Hani":
        script = "Hant" if hant else "Hans"
    guess = LanguageGuess(lang, score, script, "ok", cld_top, cld.get(cld_top, 0.0) if cld_top else 0.0,
                          reliable, lid_top, lid.get(lid_top, 0.0) if lid_top else 0.0, lid_top == cld_top)
    if score < min_score:
        guess.language, guess.reason = UNKNOWN, "low_score"
    return guess


class LanguageId(Annotator):
    """Identify language (ISO 639-3) and script (ISO 15924) with pycld2 + py3langid; record disagreement and per-paragraph shares.

    "unknown" when the text has fewer than ``min_letters`` letters, the combined score is below
    ``min_score``, or (with ``paragraphs``) the winning language covers less than ``min_share`` of
    the classified paragraphs' text.
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

    def _blocks(self, text: str) -> list[str]:
        """Paragraphs (blank-line separated, else lines), short ones merged with the next until a
        block has ``min_paragraph_chars``; at most ``max_paragraphs`` blocks."""
        head = text[: self.max_chars * 4]
        parts = _PARAGRAPHS.split(head)
        if len(parts) < 2:
            parts = head.split("\n")
        blocks: list[str] = []
        cur = ""
        for p in parts:
            p = p.strip()
            if not p:
                continue
            cur = f"{cur}\n{p}" if cur else p
            if len(cur) >= self.min_paragraph_chars:
                blocks.append(cur)
                cur = ""
                if len(blocks) >= self.max_paragraphs:
                    break
        return blocks

    def _paragraph_shares(self, text: str) -> dict[str, float]:
        parts = self._blocks(text)
        if len(parts) < 2:
            return {}
        mass: dict[str, float] = {}
        for p in parts:
            g = identify(p, self.min_letters, self.min_score, self.max_chars, self.cld2_weight)
            mass[g.language] = mass.get(g.language, 0.0) + len(p)
        total = sum(mass.values())
        return {k: round(v / total, 4) for k, v in sorted(mass.items(), key=lambda kv: -kv[1])}

    def annotate(self, doc: Document) -> None:
        g = identify(doc.text, self.min_letters, self.min_score, self.max_chars, self.cld2_weight)
        if self.paragraphs and g.reason == "ok":
            g.paragraphs = self._paragraph_shares(doc.text)
            known = {k: v for k, v in g.paragraphs.items() if k != UNKNOWN}
            if known and known.get(g.language, 0.0) < self.min_share:
                g.language, g.reason = UNKNOWN, "mixed"
        doc.meta["language"] = g.language
        doc.meta["script"] = g.script
        doc.meta["language_score"] = round(g.score, 4)
        info = asdict(g)
        for k in ("language", "score", "script"):
            info.pop(k)
        info["cld2_share"] = round(info["cld2_share"], 4)
        info["py3langid_score"] = round(info["py3langid_score"], 4)
        doc.meta[self.meta_key] = info


class LanguageFilter(Filter):
    """Keep documents whose identified language is listed (ISO 639-1 or 639-3) and whose score is high enough.

    Runs after ``language_id``. ``languages`` empty keeps every identified language; "unknown"
    documents are dropped unless ``keep_unknown``.
    """

    name = "language_filter"
    version = 1

    def __init__(self, languages: list[str] | None = None, min_score: float = 0.0, keep_unknown: bool = False):
        self.languages = {normalize_language(c) for c in languages or []}
        self.min_score = min_score
        self.keep_unknown = keep_unknown

    def decide(self, doc: Document) -> bool | Drop:
        lang = doc.meta.get("language")
        if lang is None:
            return Drop("language_not_identified")
        if lang == UNKNOWN:
            return True if self.keep_unknown else Drop("language_unknown")
        if self.languages and lang not in self.languages:
            return Drop(f"language:{lang}")
        score = float(doc.meta.get("language_score", 0.0))
        if score < self.min_score:
            return Drop("language_score", score, self.min_score)
        return True

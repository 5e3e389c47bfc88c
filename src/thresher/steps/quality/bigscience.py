"""BigScience (ROOTS) per-language quality rules, measured in one compiled pass per language group.

Words follow BigScience's ``get_words_from_document``: split on whitespace, lower-cased, special
characters stripped from both ends. Unlike BigScience (which used a SentencePiece model for Chinese)
Han, kana and Thai-family scripts are split per character cluster, so a paragraph without spaces is
many words. Signals: word count, character n-gram repetition, word n-gram repetition, special
characters, stop words (NLTK lists) and flagged words (BigScience lists), language-ID score.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ...document import Document
from ...errors import ConfigError
from ...text.charclass import BIGSCI_SPECIAL, HAN, MARK, SEA, SPACE, char_flags, lower_map
from ...text.hashset import Table, count_key, mask_for, mix64, slot_of
from ...text.spacy_rules import FNV_OFFSET, FNV_PRIME, fnv_finish, key_table, lookup, str_key
from ...text import flagged
from ...text.stopwords import load_flagged_words, load_stopwords, read_word_file
from ..base import Drop
from .bigscience_params import _TABLE as _BIGSCIENCE_TABLE, AUGMENTATION, params_for

BIGSCIENCE_LANGS = frozenset(_BIGSCIENCE_TABLE) - {"default"}
from .common import QualityStep, packed, ratio

BASE = np.uint64(0x100000001B3)


@njit(cache=True)
def _word_key(cps, lw, s, e, h):
    for q in range(s, e):
        h = (h ^ np.uint64(lw[cps[q]])) * FNV_PRIME
    return h


@njit(cache=True)
def bigscience_kernel(cps, offsets, fl, lw, char_n, word_n, aug_n, aug_join, stop_tab, flag_tab,
                      keys, stamp, val, val2, order, gen, out):
    """out[d] = [words, stop-word hits, flagged hits, special chars, char n-grams, their repeated
    mass (x1e9 fixed point), word n-grams, those in repeated n-grams, normalised length]."""
    longest = 1
    for d in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[d + 1] - offsets[d])
    ws = np.empty(longest + 1, dtype=np.int64)
    we = np.empty(longest + 1, dtype=np.int64)
    pref = np.empty(longest + 1, dtype=np.uint64)
    nb = np.empty(longest + 1, dtype=np.uint32)
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        # words: whitespace chunks, Han/SEA clusters split out, special characters stripped at the ends
        nw = 0
        i = a
        while i < b:
            if fl[cps[i]] & SPACE:
                i += 1
                continue
            j = i
            while j < b and not (fl[cps[j]] & SPACE):
                j += 1
            p = i
            while p < j:
                q = p
                if fl[cps[p]] & (HAN | SEA):
                    q = p + 1
                    while q < j and (fl[cps[q]] & MARK):
                        q += 1
                else:
                    while q < j and not (fl[cps[q]] & (HAN | SEA)):
                        q += 1
                s, e = p, q
                while s < e and (fl[cps[s]] & BIGSCI_SPECIAL):
                    s += 1
                while e > s and (fl[cps[e - 1]] & BIGSCI_SPECIAL):
                    e -= 1
                if e > s:
                    ws[nw], we[nw] = s, e
                    nw += 1
                p = q
            i = j
        nstop = nflag = 0
        for k in range(nw):
            key = fnv_finish(_word_key(cps, lw, ws[k], we[k], FNV_OFFSET), we[k] - ws[k])
            if lookup(stop_tab, key) >= 0:
                nstop += 1
            if lookup(flag_tab, key) >= 0:
                nflag += 1
        if aug_n == 2:
            for k in range(nw - 1):
                h = _word_key(cps, lw, ws[k], we[k], FNV_OFFSET)
                length = we[k] - ws[k] + we[k + 1] - ws[k + 1]
                if aug_join >= 0:
                    h = (h ^ np.uint64(aug_join)) * FNV_PRIME
                    length += 1
                key = fnv_finish(_word_key(cps, lw, ws[k + 1], we[k + 1], h), length)
                if lookup(stop_tab, key) >= 0:
                    nstop += 1
                if lookup(flag_tab, key) >= 0:
                    nflag += 1
        # BigScience measures characters on the document as its cleaning step leaves it: whitespace
        # runs collapsed to one separator (newline > tab > space), ends stripped
        nbl = 0
        q = a
        while q < b:
            c = cps[q]
            if fl[c] & SPACE:
                r = q
                sep = 32
                while r < b and (fl[cps[r]] & SPACE):
                    if cps[r] == 10:
                        sep = 10
                    elif cps[r] == 9 and sep != 10:
                        sep = 9
                    r += 1
                if nbl > 0 and r < b:
                    nb[nbl] = sep
                    nbl += 1
                q = r
            else:
                nb[nbl] = c
                nbl += 1
                q += 1
        nspecial = 0
        for q in range(nbl):
            if fl[nb[q]] & BIGSCI_SPECIAL:
                nspecial += 1
        # character n-gram repetition: mass of the sqrt(K) most frequent repeated n-grams
        total = nbl - char_n + 1
        rep_mass = 0.0
        if total > 0:
            h = np.uint64(0)
            pw_n = np.uint64(1)
            for q in range(char_n):
                pw_n *= BASE
            pref[0] = 0
            for q in range(nbl):
                h = h * BASE + np.uint64(nb[q]) + np.uint64(1)
                pref[q + 1] = h
            gen[0] += 1
            g = gen[0]
            mask = mask_for(total, keys.shape[0])
            kk = 0
            for q in range(total):
                key = mix64(pref[q + char_n] - pref[q] * pw_n)
                kk = count_key(keys, stamp, val, order, g, slot_of(keys, stamp, g, mask, key), key, kk)
            freqs = np.empty(kk, dtype=np.int64)
            ones = 0
            for q in range(kk):
                freqs[q] = val[order[q]]
                if freqs[q] == 1:
                    ones += 1
            top = min(int(np.sqrt(kk)), kk - ones)
            if top > 0:
                freqs.sort()
                rep_mass = freqs[kk - top:].sum() / total
        # word n-gram repetition (words lower-cased, joined by spaces)
        wtotal = nw - word_n + 1
        wrep = 0
        if wtotal > 0:
            gen[0] += 1
            g = gen[0]
            mask = mask_for(wtotal, keys.shape[0])
            kk = 0
            for k in range(wtotal):
                h = FNV_OFFSET
                for m in range(word_n):
                    if m:
                        h = (h ^ np.uint64(32)) * FNV_PRIME
                    h = _word_key(cps, lw, ws[k + m], we[k + m], h)
                key = mix64(h)
                kk = count_key(keys, stamp, val, order, g, slot_of(keys, stamp, g, mask, key), key, kk)
            for q in range(kk):
                if val[order[q]] > 1:
                    wrep += val[order[q]]
        out[d, 0], out[d, 1], out[d, 2], out[d, 3] = nw, nstop, nflag, nspecial
        out[d, 4], out[d, 5], out[d, 8] = max(total, 0), np.int64(rep_mass * 1e9), nbl
        out[d, 6], out[d, 7] = max(wtotal, 0), wrep


def _word_table(words: list[str] | None) -> np.ndarray:
    return key_table({str_key(w.lower()): 0 for w in words or []})


class BigScienceQuality(QualityStep):
    """BigScience/ROOTS per-language rules: word count, character and word repetition, special characters, stop words, flagged words, language score.

    Parameters come per language (ISO 639-3, from ``meta["language"]`` or the ``language`` option)
    from BigScience's table; ``params`` overrides them, e.g. ``{eng: {stopwords_min: 0.25}}``.
    ``stopwords_file``/``flagged_words_file`` replace the shipped lists for every language.
    ``flagged_ngrams`` (default on): in Chinese, Japanese and Thai, flagged terms are counted as
    substrings (``thresher.text.flagged``), as whitespace words never isolate them; off is BigScience's rule.
    """

    name = "bigscience_quality"
    version = 1

    def __init__(self, language: str | None = None, params: dict[str, dict[str, float]] | None = None,
                 stopwords_file: str | None = None, flagged_words_file: str | None = None,
                 check_language_score: bool = True, drop: bool = True, flagged_ngrams: bool = True):
        self.language = language
        self.flagged_ngrams = flagged_ngrams
        self.params = params or {}
        for lang, p in self.params.items():
            bad = set(p) - set(params_for(None))
            if bad:
                raise ConfigError(f"bigscience_quality.params.{lang}: unknown parameter(s) {sorted(bad)}")
        self._stop_override = read_word_file(stopwords_file) if stopwords_file else None
        self._flag_override = read_word_file(flagged_words_file) if flagged_words_file else None
        self.check_language_score = check_language_score
        self.drop = drop
        self._table = Table()
        self._tabs: dict[str, tuple[np.ndarray, np.ndarray, bool, bool]] = {}

    def _lang(self, doc: Document) -> str | None:
        return self.language or doc.meta.get("language")

    def _lists(self, lang: str | None) -> tuple[np.ndarray, np.ndarray, bool, bool]:
        key = lang or "default"
        if key not in self._tabs:
            stop = self._stop_override if self._stop_override is not None else (load_stopwords(lang) if lang else None)
            flag = self._flag_override if self._flag_override is not None else (load_flagged_words(lang) if lang else None)
            self._tabs[key] = (_word_table(stop), _word_table(flag), bool(stop), bool(flag))
        return self._tabs[key]

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        groups: dict[str | None, list[int]] = {}
        for i, d in enumerate(docs):
            groups.setdefault(self._lang(d), []).append(i)
        res: list[dict[str, Any]] = [{} for _ in docs]
        for lang, idx in groups.items():
            sub = [docs[i] for i in idx]
            p = params_for(lang, self.params)
            stop_tab, flag_tab, has_stop, has_flag = self._lists(lang)
            aug_n, join = AUGMENTATION.get(lang or "", (0, ""))
            cps, offsets = packed(sub)
            self._table.ensure(int(np.max(np.diff(offsets))) + 1)
            out = np.zeros((len(sub), 9), dtype=np.int64)
            bigscience_kernel(cps, offsets, char_flags(), lower_map(), int(p["character_repetition_length"]),
                              int(p["word_repetition_length"]), aug_n, ord(join) if join else -1, stop_tab, flag_tab,
                              *self._table.args(), out)
            ngram = self.flagged_ngrams and self._flag_override is None and bool(flagged.terms(lang))
            if ngram and lang not in BIGSCIENCE_LANGS:       # no BigScience row: the measured n-gram threshold
                p = {**p, "flagged_words_max": flagged.NGRAM_FLAGGED_MAX[lang]}
                if self.params:
                    p.update(self.params.get(lang, {}))
            for i, doc, row in zip(idx, sub, out.tolist()):
                nw, nstop, nflag, nspecial, _, mass, wtot, wrep, nlen = row
                hits = flagged.count(doc.text, lang) if ngram else None
                if hits is not None:        # unsegmented script: listed terms counted as substrings
                    nflag = hits
                res[i] = {
                    "language": lang, "n_words": nw,
                    "char_repetition_ratio": mass / 1e9, "word_repetition_ratio": ratio(wrep, wtot),
                    "special_characters_ratio": ratio(nspecial, nlen),
                    "stopwords_ratio": min(1.0, ratio(nstop, nw)) if has_stop else None,
                    "flagged_words_ratio": min(1.0, ratio(nflag, nw)) if has_flag or hits is not None else None,
                    "language_score": doc.meta.get("language_score"),
                    "_params": p,
                    **({"flagged_hits": hits} if hits is not None else {}),
                }
        return res

    def judge(self, s: dict[str, Any]) -> Drop | None:
        p = s["_params"]
        n = s["n_words"]
        if n < p["number_words_min"]:
            return Drop("bigscience_too_few_words", n, p["number_words_min"])
        if n > p["number_words_max"]:
            return Drop("bigscience_too_many_words", n, p["number_words_max"])
        checks = (("char_repetition_ratio", "character_repetition_max", "bigscience_char_repetition", 1),
                  ("word_repetition_ratio", "word_repetition_max", "bigscience_word_repetition", 1),
                  ("special_characters_ratio", "special_characters_max", "bigscience_special_characters", 1),
                  ("stopwords_ratio", "stopwords_min", "bigscience_stopwords", -1),
                  ("flagged_words_ratio", "flagged_words_max", "bigscience_flagged_words", 1))
        for sig, par, rule, sign in checks:
            v = s[sig]
            if sig == "flagged_words_ratio" and s.get("flagged_hits", flagged.MIN_HITS) < flagged.MIN_HITS:
                continue        # one or two hits in an unsegmented text: a quoted curse, not a flagged page
            if v is not None and (v > p[par] if sign > 0 else v < p[par]):
                return Drop(rule, v, p[par])
        score = s["language_score"]
        if self.check_language_score and score is not None and score < p["lang_id_min"]:
            return Drop("bigscience_language_score", score, p["lang_id_min"])
        return None

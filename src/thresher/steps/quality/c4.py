"""C4's heuristics (Raffel et al. 2020) as datatrove 0.10.1 applies them, in one compiled pass.

Per line: drop lines with a word over ``max_word_length``, strip Wikipedia citations, drop lines
without terminal punctuation, with fewer than ``min_words_per_line`` words, mentioning javascript or
a cookie/terms policy. Per document: drop on "lorem ipsum" or a curly bracket in a surviving line,
or when the kept lines hold fewer than ``min_num_sentences`` sentences (spaCy's sentencizer over
spaCy-English tokens). Kept documents keep only their kept lines, as in C4 (``remove_lines``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from ...document import Document
from ...text.segment import SPACY_EN, tokenize_batch
from ...text.charclass import LINE_BREAK, PUNCT_P, RE_DIGIT, SENT_PUNCT, SPACE, char_flags
from ..base import Drop
from .common import QualityStep, packed

POLICY_SUBSTRINGS = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies"]
RULES = ["keep", "lorem_ipsum", "curly_bracket", "too_few_sentences"]   # document rules
CITATION_NEEDED = np.array([ord(c) for c in "[citation needed]"], dtype=np.uint32)
LINE_COUNTERS = ["line-total", "line-filter-too_long_word", "line-filter-no_terminal_punc",
                 "line-filter-too_few_words", "line-filter-javascript", "line-filter-policy", "line-kept"]


def _patterns(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    arr = np.zeros((len(words), max(map(len, words))), dtype=np.uint32)
    for i, w in enumerate(words):
        arr[i, :len(w)] = [ord(c) for c in w]
    return arr, np.array([len(w) for w in words], dtype=np.int64)


@njit(cache=True, inline="always")
def _lower(c: np.uint32) -> np.uint32:
    if 65 <= c <= 90:
        return c + np.uint32(32)
    if c == 0x212A:  # KELVIN SIGN lower-cases to 'k'
        return np.uint32(107)
    return c


@njit(cache=True)
def _contains(buf, m, pat, plen) -> bool:
    """Case-insensitive (str.lower) substring test for an ASCII pattern."""
    for i in range(m - plen + 1):
        ok = True
        for j in range(plen):
            if _lower(buf[i + j]) != pat[j]:
                ok = False
                break
        if ok:
            return True
    return False


@njit(cache=True)
def count_sentences(cps, fl, tok_s, tok_e, tok_ws, tok_off, out):
    """Sentences spaCy's sentencizer finds in each span's tokens: a new one starts at the first token
    that is not punctuation after a sentence-final character."""
    for d in range(tok_off.shape[0] - 1):
        a, b = tok_off[d], tok_off[d + 1]
        if b == a:
            out[d] = 0
            continue
        count = 1
        seen = False
        for t in range(a, b):
            s, e = tok_s[t], tok_e[t]
            in_pc = e - s == 1 and (fl[cps[s]] & SENT_PUNCT) != 0
            is_p = not tok_ws[t]
            if is_p:
                for q in range(s, e):
                    if not (fl[cps[q]] & PUNCT_P):
                        is_p = False
                        break
            if seen and not is_p and not in_pc:
                count += 1
                seen = False
            elif in_pc:
                seen = True
        out[d] = count


@njit(cache=True)
def c4_kernel(cps, offsets, fl, opts, lorem, js, policy, policy_len, lines, line_off, doc_lines, out):
    """Line rules for every document. opts = [remove_citations, filter_no_terminal_punct,
    min_num_sentences, min_words_per_line, max_word_length, filter_lorem_ipsum, filter_javascript,
    filter_curly_bracket, filter_policy]. Kept lines (citations removed) go to ``lines`` (spans
    ``line_off``; doc d owns lines doc_lines[d]:doc_lines[d+1]). out[d] = [first document rule
    (index in RULES), *LINE_COUNTERS]."""
    w = 0
    nl = 0
    line_off[0] = 0
    doc_lines[0] = 0
    for d in range(offsets.shape[0] - 1):
        a, b = offsets[d], offsets[d + 1]
        rule = 0
        cnt = np.zeros(7, dtype=np.int64)
        ls = a
        i = a
        while i <= b:
            if i < b and not (fl[cps[i]] & LINE_BREAK):
                i += 1
                continue
            if i == b and ls == b:
                break
            le = i
            if i < b and cps[i] == 13 and i + 1 < b and cps[i + 1] == 10:
                i += 1
            i += 1
            s0, s1 = ls, le
            ls = i
            while s0 < s1 and (fl[cps[s0]] & SPACE):
                s0 += 1
            while s1 > s0 and (fl[cps[s1 - 1]] & SPACE):
                s1 -= 1
            cnt[0] += 1
            nwords = 0
            longest = 0
            q = s0
            while q < s1:
                while q < s1 and (fl[cps[q]] & SPACE):
                    q += 1
                if q >= s1:
                    break
                r = q
                while r < s1 and not (fl[cps[r]] & SPACE):
                    r += 1
                nwords += 1
                longest = max(longest, r - q)
                q = r
            if opts[4] != -1 and longest > opts[4]:
                cnt[1] += 1
                continue
            # the line, citations removed, goes to lines[w:]; it stays there only if kept
            m0 = w
            q = s0
            while q < s1:
                c = cps[q]
                if opts[0] and c == 91:  # '[': \[\d*\] | \[edit\] | \[citation needed\]
                    r = q + 1
                    while r < s1 and (fl[cps[r]] & RE_DIGIT):
                        r += 1
                    if r < s1 and cps[r] == 93:
                        q = r + 1
                        continue
                    hit = 0
                    if q + 6 <= s1 and cps[q + 1] == 101 and cps[q + 2] == 100 and cps[q + 3] == 105 \
                            and cps[q + 4] == 116 and cps[q + 5] == 93:
                        hit = 6
                    elif q + 17 <= s1:
                        hit = 17
                        for k in range(17):
                            if cps[q + k] != CITATION_NEEDED[k]:
                                hit = 0
                                break
                    if hit:
                        q += hit
                        continue
                lines[w] = c
                w += 1
                q += 1
            buf = lines[m0:w]
            m = w - m0
            w = m0
            if opts[1]:
                last = buf[m - 1] if m > 0 else 0
                ends = last == 46 or last == 63 or last == 33 or last == 34 or last == 39
                if not ends or (m >= 3 and buf[m - 1] == 46 and buf[m - 2] == 46 and buf[m - 3] == 46):
                    cnt[2] += 1
                    continue
            if nwords < opts[3]:
                cnt[3] += 1
                continue
            if opts[5] and _contains(buf, m, lorem, lorem.shape[0]):
                if rule == 0:
                    rule = 1
                continue
            if opts[6] and _contains(buf, m, js, js.shape[0]):
                cnt[4] += 1
                continue
            if opts[7]:
                curly = False
                for k in range(m):
                    if buf[k] == 123:
                        curly = True
                        break
                if curly:
                    if rule == 0:
                        rule = 2
                    continue
            if opts[8]:
                pol = False
                for k in range(policy.shape[0]):
                    if _contains(buf, m, policy[k], policy_len[k]):
                        pol = True
                        break
                if pol:
                    cnt[5] += 1
                    continue
            cnt[6] += 1
            w = m0 + m
            nl += 1
            line_off[nl] = w
        doc_lines[d + 1] = nl
        out[d, 0] = rule
        out[d, 1:] = cnt


class C4Quality(QualityStep):
    """C4 rules: terminal punctuation, words per line, javascript and policy lines, lorem ipsum, curly brackets, sentence count.

    Defaults equal datatrove 0.10.1's C4QualityFilter (lines split on newlines). Kept documents keep
    only their kept lines unless ``remove_lines`` is false.
    """

    name = "c4_quality"
    version = 1

    def __init__(self, remove_citations: bool = True, filter_no_terminal_punct: bool = True,
                 min_num_sentences: int = 5, min_words_per_line: int = 3, max_word_length: int = 1000,
                 filter_lorem_ipsum: bool = True, filter_javascript: bool = True,
                 filter_curly_bracket: bool = True, filter_policy: bool = True, remove_lines: bool = True,
                 drop: bool = True):
        self.opts = np.array([remove_citations, filter_no_terminal_punct, min_num_sentences, min_words_per_line,
                              max_word_length, filter_lorem_ipsum, filter_javascript, filter_curly_bracket,
                              filter_policy], dtype=np.int64)
        self.min_num_sentences = min_num_sentences
        self.remove_lines = remove_lines
        self.drop = drop
        self._lorem = _patterns(["lorem ipsum"])[0][0]
        self._js = _patterns(["javascript"])[0][0]
        self._policy, self._policy_len = _patterns(POLICY_SUBSTRINGS)

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        cps, offsets = packed(docs)
        lines = np.empty(len(cps) + 1, dtype=np.uint32)
        line_off = np.empty(len(cps) + 2, dtype=np.int64)
        doc_lines = np.empty(len(docs) + 1, dtype=np.int64)
        out = np.zeros((len(docs), 1 + len(LINE_COUNTERS)), dtype=np.int64)
        c4_kernel(cps, offsets, char_flags(), self.opts, self._lorem, self._js, self._policy, self._policy_len,
                  lines, line_off, doc_lines, out)
        nl = int(doc_lines[-1])
        line_off = line_off[:nl + 1]
        per_line = np.zeros(nl, dtype=np.int64)
        if self.min_num_sentences != -1 and nl:
            # kept lines are tokenized like spaCy's blank English and split by its sentencizer
            toks = tokenize_batch(lines, line_off, np.full(nl, SPACY_EN, dtype=np.uint8))
            count_sentences(lines, char_flags(), toks.start, toks.end, toks.ws, toks.off, per_line)
        cum = np.concatenate([[0], np.cumsum(per_line)])
        sentences = cum[doc_lines[1:]] - cum[doc_lines[:-1]]
        res = []
        for d, row in enumerate(out.tolist()):
            rule = row[0]
            nsent = int(sentences[d])
            if rule == 0 and self.min_num_sentences != -1 and nsent < self.min_num_sentences:
                rule = 3
            sig: dict[str, Any] = {"sentences": nsent, "rule": RULES[rule]}
            sig.update({k.replace("-", "_"): v for k, v in zip(LINE_COUNTERS, row[1:])})
            sig["_lines"] = (lines, line_off, int(doc_lines[d]), int(doc_lines[d + 1]))
            res.append(sig)
        return res

    def judge(self, s: dict[str, Any]) -> Drop | None:
        if s["rule"] == "too_few_sentences":
            return Drop("too_few_sentences", s["sentences"], self.min_num_sentences)
        if s["rule"] != "keep":
            return Drop(s["rule"])
        return None

    def apply(self, doc: Document, s: dict[str, Any]) -> None:
        if not self.remove_lines:
            return
        lines, off, a, b = s["_lines"]
        text = "\n".join(lines[off[k]:off[k + 1]].tobytes().decode("utf-32-le", "surrogatepass")
                         for k in range(a, b)).strip()
        if text != doc.text:
            doc.meta.setdefault("modified_by", []).append(self.meta_key)
            doc.text = text

"""Error rates for recognised text against a reference: character (CER) and word (WER) error rates.

Used by the tests and benchmarks/media_bench.py to score OCR against a PDF's text layer and ASR
against a transcript. ``reading_order`` puts the hypothesis' lines in the reference's order first, so
a page header that OCR reads after the body (or a footnote before it) is not scored as recognition
errors: what is left is what was misrecognised, missed or invented.
"""
from __future__ import annotations

import difflib
import re

import numpy as np


def edit_distance(a: list | str, b: list | str) -> int:
    """Levenshtein distance; one numpy row at a time (insertions via a running minimum)."""
    if not a or not b:
        return max(len(a), len(b))
    vocab: dict = {}
    ia = np.array([vocab.setdefault(x, len(vocab)) for x in a])
    ib = np.array([vocab.setdefault(x, len(vocab)) for x in b])
    steps = np.arange(len(ib) + 1)
    prev = steps.copy()
    for i, x in enumerate(ia, 1):
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (ib != x))
        prev = np.minimum.accumulate(cur - steps) + steps     # insertions: cur[j] <= cur[j-1] + 1
    return int(prev[-1])


def _squash(text: str, spaces: bool) -> str:
    return " ".join(text.split()) if spaces else "".join(text.split())


def cer(reference: str, hypothesis: str, spaces: bool = True) -> float:
    """Character error rate with runs of whitespace as one space (``spaces=False``: no whitespace at
    all, for scripts written without spaces such as Japanese)."""
    ref = _squash(reference, spaces)
    return edit_distance(ref, _squash(hypothesis, spaces)) / max(len(ref), 1)


def normalise_words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate on lower-cased words (punctuation ignored)."""
    ref = normalise_words(reference)
    return edit_distance(ref, normalise_words(hypothesis)) / max(len(ref), 1)


def reading_order(reference: str, hypothesis: str) -> str:
    """The hypothesis' lines, stably sorted by the position of the reference line each matches best."""
    ref = [ln.strip() for ln in reference.splitlines() if ln.strip()]
    hyp = [ln.strip() for ln in hypothesis.splitlines() if ln.strip()]
    if not ref:
        return hypothesis
    sm = difflib.SequenceMatcher(autojunk=False)

    def best(line: str) -> int:
        sm.set_seq2(line)
        scores = []
        for r in ref:       # the share of the line found in the reference line: a long reference line
            sm.set_seq1(r)  # that OCR wrapped over several lines contains each of them
            scores.append((sum(m.size for m in sm.get_matching_blocks()) / max(len(line), 1), sm.ratio()))
        return max(range(len(ref)), key=scores.__getitem__)     # ties: the closest line

    return "\n".join(sorted(hyp, key=best))

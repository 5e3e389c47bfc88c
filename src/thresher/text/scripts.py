"""Dominant writing system (ISO 15924) of a text, from Unicode block ranges of its letters.

Blocks approximate the Unicode Script property (Python's ``unicodedata`` does not expose it); for
telling which script a document is written in, letters of the major blocks are enough.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .charclass import ALPHA, MARK, char_flags, codepoints

# (first, last, ISO 15924) — Han/kana/Hangul are resolved to Hani/Jpan/Kore by ``dominant_script``.
_BLOCKS = [
    (0x0041, 0x024F, "Latn"), (0x1E00, 0x1EFF, "Latn"), (0x2C60, 0x2C7F, "Latn"), (0xA720, 0xA7FF, "Latn"),
    (0xFF21, 0xFF5A, "Latn"), (0x0370, 0x03FF, "Grek"), (0x1F00, 0x1FFF, "Grek"), (0x0400, 0x052F, "Cyrl"),
    (0x2DE0, 0x2DFF, "Cyrl"), (0xA640, 0xA69F, "Cyrl"), (0x1C80, 0x1C8F, "Cyrl"), (0x0530, 0x058F, "Armn"),
    (0x0590, 0x05FF, "Hebr"), (0xFB1D, 0xFB4F, "Hebr"), (0x0600, 0x06FF, "Arab"), (0x0750, 0x077F, "Arab"),
    (0x08A0, 0x08FF, "Arab"), (0xFB50, 0xFDFF, "Arab"), (0xFE70, 0xFEFF, "Arab"), (0x0700, 0x074F, "Syrc"),
    (0x0780, 0x07BF, "Thaa"), (0x07C0, 0x07FF, "Nkoo"), (0x0900, 0x097F, "Deva"), (0xA8E0, 0xA8FF, "Deva"),
    (0x0980, 0x09FF, "Beng"), (0x0A00, 0x0A7F, "Guru"), (0x0A80, 0x0AFF, "Gujr"), (0x0B00, 0x0B7F, "Orya"),
    (0x0B80, 0x0BFF, "Taml"), (0x0C00, 0x0C7F, "Telu"), (0x0C80, 0x0CFF, "Knda"), (0x0D00, 0x0D7F, "Mlym"),
    (0x0D80, 0x0DFF, "Sinh"), (0x0E00, 0x0E7F, "Thai"), (0x0E80, 0x0EFF, "Laoo"), (0x0F00, 0x0FFF, "Tibt"),
    (0x1000, 0x109F, "Mymr"), (0x10A0, 0x10FF, "Geor"), (0x2D00, 0x2D2F, "Geor"), (0x1100, 0x11FF, "Hang"),
    (0x3130, 0x318F, "Hang"), (0xAC00, 0xD7AF, "Hang"), (0x1200, 0x139F, "Ethi"), (0x2D80, 0x2DDF, "Ethi"),
    (0x13A0, 0x13FF, "Cher"), (0x1400, 0x167F, "Cans"), (0x1680, 0x169F, "Ogam"), (0x16A0, 0x16FF, "Runr"),
    (0x1780, 0x17FF, "Khmr"), (0x19E0, 0x19FF, "Khmr"), (0x1800, 0x18AF, "Mong"), (0x2D30, 0x2D7F, "Tfng"),
    (0x3040, 0x309F, "Hira"), (0x30A0, 0x30FF, "Kana"), (0x31F0, 0x31FF, "Kana"), (0xFF66, 0xFF9F, "Kana"),
    (0x3100, 0x312F, "Bopo"), (0x2E80, 0x2FDF, "Hani"), (0x3400, 0x4DBF, "Hani"), (0x4E00, 0x9FFF, "Hani"),
    (0xF900, 0xFAFF, "Hani"), (0x20000, 0x3134F, "Hani"), (0xA000, 0xA4CF, "Yiii"), (0xA500, 0xA63F, "Vaii"),
]
SCRIPTS = sorted({s for _, _, s in _BLOCKS})


@lru_cache(maxsize=1)
def script_table() -> np.ndarray:
    """uint8 code point -> 1 + index into SCRIPTS for letters and marks of a known block, else 0."""
    table = np.zeros(0x110000, dtype=np.uint8)
    for lo, hi, s in _BLOCKS:
        table[lo:hi + 1] = SCRIPTS.index(s) + 1
    letters = (char_flags() & (ALPHA | MARK)) != 0
    table[~letters] = 0
    return table


def script_counts(text: str) -> dict[str, int]:
    """Letters per script in ``text``."""
    counts = np.bincount(script_table()[codepoints(text)], minlength=len(SCRIPTS) + 1)
    return {SCRIPTS[i - 1]: int(c) for i, c in enumerate(counts) if i and c}


def dominant_script(counts: dict[str, int]) -> str:
    """ISO 15924 code of the main script; Han with kana is Jpan, Han with Hangul is Kore;
    "Zyyy" (undetermined) when the text has no letters."""
    if not counts:
        return "Zyyy"
    kana = counts.get("Hira", 0) + counts.get("Kana", 0)
    han = counts.get("Hani", 0)
    hang = counts.get("Hang", 0)
    merged = dict(counts)
    if kana and kana + han >= max(counts.values()):
        return "Jpan"
    if hang and han and hang + han >= max(counts.values()):
        return "Kore"
    return max(merged, key=lambda s: merged[s])

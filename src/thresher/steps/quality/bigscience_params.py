"""BigScience's per-language filtering parameters (ROOTS, 2022), keyed by ISO 639-3 code.

From ``preprocessing/training/01b_oscar_cleaning_and_filtering/parameters_filtering.py`` in
bigscience-workshop/data-preparation. Perplexity cut-offs are left out (they need KenLM models that
thresher does not ship); ``lang_id`` applies to the ``language_score`` written by ``language_id``.
"""
from __future__ import annotations

FIELDS = ("number_words_min", "number_words_max", "character_repetition_length", "character_repetition_max",
          "word_repetition_length", "word_repetition_max", "special_characters_max", "stopwords_min",
          "flagged_words_max", "lang_id_min")

#          words_min words_max  char_len char_max  word_len word_max  special  stop_min  flagged_max  lang_id
_TABLE = {
    "default": (10, 100000, 10, 0.20, 5, 0.30, 0.40, 0.10, 0.10, 0.70),
    "ara": (20, 100000, 10, 0.20, 5, 0.34, 0.30, 0.07, 0.03, 0.81),
    "ben": (33, 100000, 10, 0.13, 5, 0.21, 0.45, 0.002, 0.001, 0.95),
    "cat": (15, 100000, 10, 0.20, 5, 0.40, 0.25, 0.25, 0.10, 0.80),
    "eng": (20, 100000, 10, 0.106, 5, 0.19, 0.40, 0.30, 0.01, 0.80),
    "spa": (16, 100000, 10, 0.14, 5, 0.25, 0.34, 0.40, 0.01, 0.80),
    "eus": (8, 100000, 10, 0.20, 5, 0.40, 0.31, 0.05, 0.10, 0.70),
    "fra": (13, 100000, 10, 0.14, 5, 0.13, 0.34, 0.27, 0.008, 0.80),
    "hin": (38, 100000, 10, 0.18, 5, 0.47, 0.45, 0.01, 0.005, 0.90),
    "ind": (15, 100000, 10, 0.15, 5, 0.20, 0.34, 0.15, 0.01, 0.70),
    "por": (19, 100000, 10, 0.25, 5, 0.98, 0.35, 0.20, 0.007, 0.60),
    "urd": (25, 100000, 10, 0.19, 7, 0.50, 0.25, 0.01, 0.025, 0.90),
    "vie": (30, 100000, 10, 0.15, 5, 0.20, 0.34, 0.08, 0.005, 0.90),
    "zho": (1, 1000000, 3, 0.20, 5, 0.96, 0.30, 0.1691, 0.001, 0.85),
}
# Word augmentation (group size, join string) for languages written without spaces between words
# (Chinese) or with a space between syllables (Vietnamese): stop/flagged words may span two "words".
AUGMENTATION = {"vie": (2, " "), "zho": (2, "")}


def params_for(lang: str | None, overrides: dict[str, dict[str, float]] | None = None) -> dict[str, float]:
    """The parameters for a language (its own row, else "default"), with config overrides applied."""
    key = lang if lang in _TABLE else "default"
    out = dict(zip(FIELDS, _TABLE[key]))
    for k in (key, lang):
        if overrides and k in overrides:
            out.update(overrides[k])
    return out


def known_languages() -> list[str]:
    return sorted(k for k in _TABLE if k != "default")

"""Word lists shipped as package data: NLTK stop words and BigScience flagged words, by ISO 639-3 code."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ..errors import ConfigError


def _read(folder: str, lang: str) -> list[str] | None:
    f = resources.files("thresher").joinpath(f"data/{folder}/{lang}.txt")
    if not f.is_file():
        return None
    return [w.strip() for w in f.read_text("utf-8").splitlines() if w.strip()]


@lru_cache(maxsize=None)
def load_stopwords(lang: str) -> list[str] | None:
    """The NLTK stop-word list for an ISO 639-3 language code, or None when none ships."""
    return _read("stopwords", lang)


@lru_cache(maxsize=None)
def load_flagged_words(lang: str) -> list[str] | None:
    """BigScience's flagged-word list for an ISO 639-3 language code, or None when none ships."""
    return _read("flagged_words", lang)


def read_word_file(path: str) -> list[str]:
    """A user-supplied word list: one word per line, ``#`` comments allowed."""
    try:
        with open(path, encoding="utf-8") as f:
            return [w.strip() for w in f if w.strip() and not w.lstrip().startswith("#")]
    except OSError as e:
        raise ConfigError(f"cannot read word list {path}: {e.strerror}") from None

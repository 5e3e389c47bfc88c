"""Per-language packs: what a quality step needs to judge a document in its own language.

One pack per language + script (``srp_Cyrl``, ``srp_Latn``; ``eng`` alone when the script does not
matter; ``zho_Hans`` and ``zho_Hant``, the forms ``language_id`` tells apart), shipped as ``thresher/data/language_packs.json`` and built by ``thresher.languages_gen``:

- ``lid_threshold``: the language-ID score below which a document of this language is doubtful,
  by FineWeb-2's rule (median - std of the language's scores, clamped to [0.3, 0.9]) applied to
  thresher's own scores of the language's UDHR paragraphs (``lid_threshold_source`` says which);
- ``stopwords``: NLTK's list where NLTK has one, else FineWeb-2's, else the 20 most frequent words
  of the UDHR translation (``stopwords_source``);
- ``tokenizer``: ``spacy_en`` (English) or ``script`` (thresher's script-aware splitter: Han and kana
  one word per character, Thai/Lao/Khmer/Myanmar split into syllable clusters); ``segmenter`` names
  the dictionary segmenter (``thresher.text.segmenters``: jieba for Han, pythainlp's newmm for Thai,
  SudachiPy for Japanese, khmer-nltk, LaoNLP, pyidaungsu for Burmese) that a quality step with ``language_pack`` splits the language's documents with instead;
- ``thresholds``: per quality step, the options FineWeb-2 tuned for this language (``configs/`` of
  huggingface/fineweb-2, Apache-2.0), as thresher option names; empty: the step's own defaults.

``thresher calibrate`` writes a pack file of the same shape from a release's own scores;
``language_pack: PATH`` on a quality step reads such a file instead of the shipped one.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from ..errors import ConfigError

LID_CLAMP = (0.3, 0.9)      # FineWeb-2's clamp of the per-language language-score threshold
SHIPPED = "shipped"


@lru_cache(maxsize=8)
def load_packs(source: str = SHIPPED) -> dict[str, dict[str, Any]]:
    """All packs of the shipped file, or of a pack file (JSON: {"packs": {key: pack}})."""
    try:
        if source == SHIPPED:
            raw = resources.files("thresher").joinpath("data/language_packs.json").read_text("utf-8")
        else:
            raw = Path(source).read_text("utf-8")
        packs = json.loads(raw)["packs"]
    except OSError as e:
        raise ConfigError(f"{source}: cannot read language packs: {e.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{source}: not a language-pack file (expected JSON with a 'packs' object)") from None
    return packs


def pack_key(language: str | None, script: str | None) -> str | None:
    """``lang_Script``, the unit packs (and the card's language section) are keyed by, spelled as
    ``language_id`` writes ``meta.language`` and ``meta.script`` (``zho_Hans``, ``zho_Hant``); None when unknown."""
    if not language or language in ("unknown", "und"):
        return None
    return f"{language}_{script}" if script and script != "Zyyy" else language


def find_pack(meta: dict[str, Any], source: str = SHIPPED) -> tuple[str, dict[str, Any]] | None:
    """The pack for a document's ``meta.language`` + ``meta.script``: the exact pair, else the
    language's script-independent pack, else its only pack."""
    key = pack_key(meta.get("language"), meta.get("script"))
    if key is None:
        return None
    packs = load_packs(source)
    if key in packs:
        return key, packs[key]
    lang = key.split("_")[0]
    if lang in packs:
        return lang, packs[lang]
    same = [k for k in packs if k.split("_")[0] == lang]
    if len(same) == 1 or (same and all(_rules(packs[k]) == _rules(packs[same[0]]) for k in same)):
        return same[0], packs[same[0]]          # its only pack, or packs that differ in the script's name only
    return None


def _rules(pack: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pack.items() if k != "script"}


def lid_threshold(scores: list[float] | np.ndarray) -> float:
    """FineWeb-2's language-score threshold: median - standard deviation, clamped to [0.3, 0.9]."""
    import numpy as np        # here, not at the top: `thresher languages` starts without numpy

    x = np.asarray(scores, dtype=np.float64)
    if x.size == 0:
        return LID_CLAMP[0]
    return float(min(max(float(np.median(x) - x.std()), LID_CLAMP[0]), LID_CLAMP[1]))

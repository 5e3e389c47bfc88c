"""OCR with Tesseract (Debian's ``tesseract-ocr`` language packs) through the tesserocr binding.

The language pack for a page is chosen, in order, from: the input's declared language; Tesseract's
script detection (OSD) when exactly one installed pack writes that script; else a first pass with the
default pack of the script and language ID (py3langid) on its text, re-recognising with the detected
language's pack when one is installed and it differs. ``meta.ocr`` records how the pack was chosen.

Each worker process recognises one page at a time with OpenMP off (``OMP_THREAD_LIMIT=1``): Tesseract's
OpenMP threads fight over the cores the process pool already uses, and on 2 cores one page per worker
was measured 3x faster. Engines are kept per process and language pack (loading a pack costs 0.1-0.5 s).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_THREAD_LIMIT", "1")      # before libtesseract loads (see module docstring)

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import InputError

TESSDATA_DIRS = ("/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                 "/usr/share/tessdata", "/usr/local/share/tessdata")
# ISO 639-3 codes whose Tesseract pack has another name (macrolanguages, Chinese scripts).
_PACK_NAMES = {"zho": "chi_sim", "cmn": "chi_sim", "arb": "ara", "pes": "fas", "zsm": "msa", "nob": "nor",
               "nno": "nor", "ekk": "est", "lvs": "lav", "swh": "swa", "azj": "aze", "uzn": "uzb"}
# Script (Tesseract OSD's names) of the packs that do not write Latin.
_PACK_SCRIPTS = {
    "jpn": "Japanese", "jpn_vert": "Japanese", "chi_sim": "Han", "chi_tra": "Han", "kor": "Hangul",
    "rus": "Cyrillic", "ukr": "Cyrillic", "bul": "Cyrillic", "srp": "Cyrillic", "bel": "Cyrillic",
    "mkd": "Cyrillic", "kaz": "Cyrillic", "ara": "Arabic", "fas": "Arabic", "urd": "Arabic",
    "hin": "Devanagari", "mar": "Devanagari", "nep": "Devanagari", "san": "Devanagari", "ell": "Greek",
    "heb": "Hebrew", "tha": "Thai", "ben": "Bengali", "tam": "Tamil", "tel": "Telugu", "kat": "Georgian",
    "hye": "Armenian", "amh": "Ethiopic", "khm": "Khmer", "mya": "Myanmar", "sin": "Sinhala",
}
_SCRIPT_ALIASES = {"Katakana": "Japanese", "Hiragana": "Japanese", "Korean": "Hangul"}
_DEFAULT_PACK = {"Latin": "eng", "Han": "chi_sim", "Japanese": "jpn", "Cyrillic": "rus", "Arabic": "ara"}
MIN_OSD_CONF = 1.0      # OSD's script confidence below this is a guess: fall back to the first pass


@lru_cache(maxsize=1)
def tessdata() -> str:
    """The folder holding Tesseract's ``*.traineddata`` (TESSDATA_PREFIX, else Debian's locations)."""
    for d in filter(None, (os.environ.get("TESSDATA_PREFIX"), *TESSDATA_DIRS)):
        if any(Path(d).glob("*.traineddata")):
            return str(Path(d)) + "/"
    raise InputError("Tesseract language data not found: install it (Debian: apt-get install "
                     "tesseract-ocr tesseract-ocr-eng) or set TESSDATA_PREFIX")


@lru_cache(maxsize=1)
def installed_packs() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in Path(tessdata()).glob("*.traineddata") if p.stem != "osd"))


@lru_cache(maxsize=1)
def engine_version() -> str:
    import tesserocr

    return tesserocr.tesseract_version().split()[1]


def pack_for(language: str | None) -> str | None:
    """The installed pack for a language code (ISO 639-1 or 639-3, or a pack name), or None."""
    if not language:
        return None
    code = language.strip().lower()
    if code in installed_packs():
        return code
    if len(code) == 2:
        code = _alpha2_to_3().get(code, code)
    code = _PACK_NAMES.get(code, code)
    return _with_vertical(code) if code in installed_packs() else None


def _with_vertical(pack: str) -> str:
    """CJK packs come with a companion for vertical text (``jpn_vert``): load both, Tesseract picks per
    block (horizontal-only recognition of a vertical page is ~92% CER, with both ~8%)."""
    return f"{pack}+{pack}_vert" if f"{pack}_vert" in installed_packs() else pack


@lru_cache(maxsize=1)
def _alpha2_to_3() -> dict[str, str]:
    import json
    from importlib import resources

    return json.loads(resources.files("thresher").joinpath("data/iso_codes.json").read_text("utf-8"))[
        "alpha2_to_alpha3"]


def packs_of_script(script: str) -> list[str]:
    script = _SCRIPT_ALIASES.get(script, script)
    return [p for p in installed_packs() if _PACK_SCRIPTS.get(p, "Latin") == script and not p.endswith("_vert")]


@dataclass
class OcrResult:
    text: str
    meta: dict[str, Any]


_ENGINES: dict[str, Any] = {}


def _engine(lang: str):
    """One Tesseract engine per language pack and process (``osd`` for script detection)."""
    api = _ENGINES.get(lang)
    if api is None:
        import tesserocr

        psm = tesserocr.PSM.OSD_ONLY if lang == "osd" else tesserocr.PSM.AUTO
        api = _ENGINES[lang] = tesserocr.PyTessBaseAPI(path=tessdata(), lang=lang, psm=psm)
    return api


def _recognise(image, pack: str) -> tuple[str, list[int]]:
    api = _engine(pack)
    api.SetImage(image)
    text = api.GetUTF8Text()
    confs = list(api.AllWordConfidences())
    api.Clear()
    return text, confs


def detect_script(image) -> tuple[str | None, float, int]:
    """Tesseract OSD: (script, confidence, clockwise rotation to apply); (None, 0, 0) when it cannot tell."""
    if not Path(tessdata(), "osd.traineddata").exists():
        return None, 0.0, 0
    api = _engine("osd")
    api.SetImage(image)
    try:
        res = api.DetectOrientationScript()
    except RuntimeError:        # too few characters for OSD
        res = None
    api.Clear()
    if not res:
        return None, 0.0, 0
    return res["script_name"], float(res["script_conf"]), int(res["orient_deg"])


def _language_of(text: str) -> str | None:
    """ISO 639-1 code py3langid gives a first-pass text (None when too little text to tell)."""
    if sum(c.isalpha() for c in text) < 20:
        return None
    import py3langid

    lang, _ = py3langid.classify(text)
    return lang


def clean_text(text: str, pack: str) -> str:
    """Tesseract's text without trailing form feeds and blank-line runs; CJK packs lose the spaces
    Tesseract puts between characters."""
    lines = [ln.rstrip() for ln in text.replace("\f", "").splitlines()]
    out = "\n".join(lines).strip()
    while "\n\n\n" in out:
        out = out.replace("\n\n\n", "\n\n")
    if _PACK_SCRIPTS.get(pack.split("+")[0]) in ("Japanese", "Han"):
        import re

        cjk = r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]"
        out = re.sub(rf"(?<={cjk}) +(?={cjk})", "", out)
    return out


def recognise(image, language: str | None = None) -> OcrResult:
    """OCR one page image (PIL). ``language``: the declared language, if any (see module docstring)."""
    pack, how, rotate = pack_for(language), "declared", 0
    if language and pack is None:
        raise InputError(f"no Tesseract language pack for '{language}' (installed: "
                         f"{', '.join(installed_packs())}); install e.g. tesseract-ocr-{language}")
    if pack is None:
        script, conf, rotate = detect_script(image)
        if rotate:
            image = image.rotate(rotate, expand=True)   # PIL rotates counter-clockwise; OSD says so too
        candidates = packs_of_script(script) if script and conf >= MIN_OSD_CONF else []
        if len(candidates) == 1:
            pack, how = _with_vertical(candidates[0]), "osd"
        else:
            script = script if candidates else "Latin"
            first = _DEFAULT_PACK.get(script)
            first = _with_vertical(first if first in installed_packs() else (candidates or list(installed_packs()))[0])
            text, confs = _recognise(image, first)
            guess = pack_for(_language_of(text))
            if guess is None or guess == first:
                return OcrResult(clean_text(text, first), _meta(first, "first_pass", confs, rotate))
            pack, how = guess, "langid"
    text, confs = _recognise(image, pack)
    return OcrResult(clean_text(text, pack), _meta(pack, how, confs, rotate))


def _meta(pack: str, how: str, confs: list[int], rotate: int) -> dict[str, Any]:
    words = [c for c in confs if c >= 0]
    hist = [0] * 10
    for c in words:
        hist[min(int(c) // 10, 9)] += 1
    out = {"engine": "tesseract", "version": engine_version(), "lang": pack, "lang_from": how,
           "mean_conf": round(sum(words) / len(words), 2) if words else 0.0, "words": len(words),
           "conf_hist": hist}
    if rotate:
        out["rotated"] = rotate
    return out


def merge_meta(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``meta.ocr`` for a document OCR'd page by page: word-weighted mean confidence, summed counts."""
    words = sum(p["words"] for p in parts)
    mean = sum(p["mean_conf"] * p["words"] for p in parts) / words if words else 0.0
    return {"engine": "tesseract", "version": engine_version(), "lang": "+".join(sorted({p["lang"] for p in parts})),
            "lang_from": "+".join(sorted({p["lang_from"] for p in parts})), "mean_conf": round(mean, 2),
            "words": words, "conf_hist": [sum(h) for h in zip(*(p["conf_hist"] for p in parts))]}

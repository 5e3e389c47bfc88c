"""Build ``thresher/data/language_packs.json`` (see ``thresher.text.packs``) for every language the
language-ID step can output. Run by maintainers, not at run time:

    python -m thresher.languages_gen --fineweb2 PATH/fineweb-2/configs --udhr UDHR2_TXT_DIR   (nltk_data udhr2.zip, unzipped)

Sources: FineWeb-2's per-language configs (huggingface/fineweb-2, Apache-2.0: filter thresholds and
stop words as tuned for FineWeb-2, carried over unchanged and attributed in each pack), NLTK's stop
words shipped in ``thresher/data/stopwords``, and the UDHR translations (Unicode's udhr2 texts):
thresher's own language-ID scores of each language's paragraphs give the pack's ``lid_threshold``
(FineWeb-2's median - std rule), and where neither NLTK nor FineWeb-2 has stop words, the 20 most
frequent words of the translation stand in.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

import yaml

from .steps.langid import identify_batch, iso_codes, known_languages
from .text.packs import LID_CLAMP, lid_threshold, pack_key
from .text.scripts import dominant_script, script_counts
from .text.stopwords import load_stopwords

# A detector's macrolanguage code -> the individual language FineWeb-2 (and the UDHR) file it under.
INDIVIDUAL = {"zho": "cmn", "ara": "arb", "swa": "swh", "msa": "zsm", "fas": "pes", "est": "ekk", "lav": "lvs",
              "mon": "khk", "uzb": "uzn", "yid": "ydd", "aze": "azj", "mlg": "plt", "orm": "gaz", "nep": "npi",
              "ori": "ory", "pus": "pbu", "sqi": "als", "que": "quy", "grn": "gug", "kur": "kmr", "kau": "knc",
              "ful": "fuv", "nob": "nob", "hbs": "hrv", "tgl": "tgl", "lah": "pnb"}
# Scripts written without spaces -> the dictionary segmenter the quality steps call with language_pack
# (thresher.text.segmenters, FineWeb-2's choices). Tibetan's (botok) downloads its dictionary at first
# use, so Tibetan keeps the script splitter.
UNSPACED = {"Thai": "pythainlp (newmm)", "Hani": "jieba", "Jpan": "sudachipy (A)", "Khmr": "khmer-nltk",
            "Laoo": "laonlp", "Mymr": "pyidaungsu (word)"}
# language_id tells Simplified from Traditional Chinese (cld2) and writes meta.script Hans or Hant: the
# Chinese pack is keyed by each form (one FineWeb-2 Han config and the UDHR scores of both behind them)
HAN_FORMS = {"zho": ("Hans", "Hant")}
WORD = re.compile(r"\w+(?:['’-]\w+)*")


def fineweb2_thresholds(cfg: dict) -> dict[str, dict]:
    """FineWeb-2's config as thresher step options (its pipeline disables some rules: None here)."""
    return {
        "gopher_repetition": {"dup_line_frac": cfg["dup_line_frac"], "dup_para_frac": None,
                              "dup_line_char_frac": None, "dup_para_char_frac": None,
                              "top_n_grams": cfg["top_n_grams"], "dup_n_grams": cfg["dup_n_grams"]},
        "fineweb_quality": {"line_punct_thr": cfg["line_punct_thr"], "new_line_ratio": cfg["new_line_ratio"],
                            "short_line_thr": 999, "char_duplicates_ratio": 0.1},
        "gopher_quality": {"max_avg_word_length": cfg["max_avg_word_length"],
                           "min_avg_word_length": cfg["min_avg_word_length"],
                           "max_non_alpha_words_ratio": cfg["max_non_alpha_words_ratio"],
                           "stop_words": cfg["stopwords"], "min_stop_words": 2},
    }


def udhr_texts(udhr: Path, code: str) -> list[str]:
    files = sorted(udhr.glob(f"{code}.txt")) + sorted(udhr.glob(f"{code}_*.txt"))
    return [f.read_text("utf-8", errors="replace") for f in files]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fineweb2", type=Path, required=True, help="fineweb-2's configs/ folder")
    ap.add_argument("--udhr", type=Path, required=True, help="the udhr2_txt folder")
    ap.add_argument("-o", "--out", type=Path, default=Path(__file__).parent / "data" / "language_packs.json")
    args = ap.parse_args()
    lid, cld = known_languages()
    names = iso_codes()["names"]
    configs = {p.stem: yaml.safe_load(p.read_text("utf-8")) for p in sorted(args.fineweb2.glob("*.yml"))}
    packs: dict[str, dict] = {}
    for code in sorted(lid | cld):
        indiv = INDIVIDUAL.get(code, code)
        texts = udhr_texts(args.udhr, indiv) or udhr_texts(args.udhr, code)
        paras = [p.strip() for t in texts for p in t.splitlines() if len(p.strip()) >= 60][:80]
        fw = {k: v for k, v in configs.items() if k.split("_")[0] in (code, indiv)}
        if fw:
            scripts = sorted({k.split("_")[1] for k in fw})
        elif paras:
            scripts = [dominant_script(script_counts(" ".join(paras[:20])))]
        else:
            scripts = [None]
        guesses = identify_batch(paras)[0] if paras else []
        for script, form in [(s, f) for s in scripts for f in (HAN_FORMS.get(code, (s,)) if s == "Hani" else (s,))]:
            key = pack_key(code, form) if form else code
            if code == "eng":
                key = "eng"
            mine = [g.score for g, p in zip(guesses, paras) if g.language == code and (not script or g.script in
                    ((script,) if script != "Hani" else ("Hans", "Hant", "Hani")))]
            cfg = next((fw[k] for k in (f"{code}_{script}", f"{indiv}_{script}") if k in fw), None)
            nltk = load_stopwords(code)
            if nltk:
                stops, stop_src = nltk, "nltk"
            elif cfg and cfg.get("stopwords"):
                stops, stop_src = cfg["stopwords"], "fineweb2"
            elif paras:
                counts = Counter(w.lower() for p in paras for w in WORD.findall(p) if not w.isdigit())
                stops, stop_src = [w for w, _ in counts.most_common(20)], "udhr-top20"
            else:
                stops, stop_src = [], "none"
            packs[key] = {
                "language": code, "script": form, "name": names.get(code, code),
                "detectors": sorted(d for d, s in (("py3langid", lid), ("pycld2", cld)) if code in s),
                "lid_threshold": lid_threshold(mine) if len(mine) >= 5 else LID_CLAMP[0],
                "lid_threshold_source": f"udhr: median - std of {len(mine)} paragraph scores" if len(mine) >= 5
                else "default (fewer than 5 UDHR paragraphs identified)",
                "stopwords": stops, "stopwords_source": stop_src,
                "tokenizer": "spacy_en" if code == "eng" else "script",
                "segmenter": UNSPACED.get(script or ""),
                "thresholds": fineweb2_thresholds(cfg) if cfg else {},
                "thresholds_source": f"fineweb2 configs/{next(k for k in fw if fw[k] is cfg)}.yml" if cfg else "defaults",
            }
    out = {"source": "thresher.languages_gen: FineWeb-2 configs (huggingface/fineweb-2, Apache-2.0), NLTK stop "
                     "words, UDHR (udhr2) paragraphs scored by thresher's language_id",
           "packs": packs}
    lines = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False, sort_keys=True)}" for k, v in sorted(packs.items())]
    args.out.write_text(f'{{"source": {json.dumps(out["source"])},\n"packs": {{\n' + ",\n".join(lines) + "\n}}\n",
                        "utf-8")     # one pack per line: diffs stay readable
    print(f"{len(packs)} packs -> {args.out}")


if __name__ == "__main__":
    main()

"""Copies the UDHR translations that ``thresher tokenizer report`` ships into package data.

Usage: ``python -m thresher.tokens.gen_udhr UDHR2_TXT_DIR`` (nltk_data ``udhr2.zip``, unzipped)

The texts are NLTK's ``udhr2`` corpus (Unicode UDHR texts, public domain; nltk/nltk_data @5db857e6),
copied unchanged except that each line's leading/trailing spaces are stripped and blank lines removed.
They are parallel: the same declaration (preamble and 30 articles) in every language, which makes
token counts comparable across languages (parity, Petrov et al. 2023).
"""
from __future__ import annotations

import sys
from pathlib import Path

# ISO 639-3 (+ variant) file names of udhr2_txt, picked to cover BLOOM's language families and many scripts
LANGUAGES = ["eng", "fra", "spa", "por_BR", "deu", "cat", "eus", "fin", "tur", "ind", "vie", "swh", "yor", "ibo",
             "hau_NG", "zul", "xho", "kin", "amh", "arb", "heb", "urd", "hin", "mar", "ben", "guj", "pan", "tam",
             "rus", "ell_monotonic", "cmn_hans", "jpn", "kor", "tha"]
OUT = Path(__file__).resolve().parent.parent / "data" / "udhr"


def main(src: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for code in LANGUAGES:
        lines = [ln.strip() for ln in (Path(src) / f"{code}.txt").read_text(encoding="utf-8").splitlines()]
        (OUT / f"{code}.txt").write_text("\n".join(ln for ln in lines if ln) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])

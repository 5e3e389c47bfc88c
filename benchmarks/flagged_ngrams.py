"""Flagged words in unsegmented languages (thresher.text.flagged): does the `bigscience_quality` rule
drop explicit pages now, and how many clean documents does it drop with them?

Clean text: lingua-py's 1,000 news sentences per language (zh, ja, th), cut into documents of 10 and of
50 sentences, and the UDHR in each language. Explicit text: the explicit Chinese page of the demo crawl
(tests/fixtures/text/zho_explicit_page.txt). "before" is the word rule as on main (whitespace words,
BigScience's lists only); "after" adds the character n-gram matching.

    .venv/bin/python benchmarks/flagged_ngrams.py --data ../shared/data
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from thresher.document import Document
from thresher.steps.quality.bigscience import BigScienceQuality

LANGS = {"zho": ("zh", "cmn_hans"), "jpn": ("ja", "jpn"), "tha": ("th", "tha")}
ROOT = Path(__file__).resolve().parent.parent


def dropped(texts: list[str], lang: str, ngram: bool) -> int:
    """Documents the flagged-words rule drops, with (after) or without (before) the n-gram matching."""
    step = BigScienceQuality(flagged_ngrams=ngram)
    docs = [Document(f"d{i}", t, {}, {"language": lang, "language_score": 1.0}) for i, t in enumerate(texts)]
    n = 0
    for m in step.measure(docs):
        d = step.judge(m)
        n += d is not None and d.reason == "bigscience_flagged_words"
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data"), help="the shared data folder")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    explicit = (ROOT / "tests/fixtures/text/zho_explicit_page.txt").read_text(encoding="utf-8")
    rows = []
    t0 = time.perf_counter()
    chars = 0
    for lang, (two, udhr) in LANGS.items():
        lines = (args.data / "lingua_testdata/language-testdata/sentences" / f"{two}.txt").read_text("utf-8").split("\n")
        sets = {"news, 10 sentences": ["".join(lines[i:i + 10]) for i in range(0, 1000, 10)],
                "news, 50 sentences": ["".join(lines[i:i + 50]) for i in range(0, 1000, 50)],
                "UDHR": [(args.data / "udhr/udhr2_txt" / f"{udhr}.txt").read_text("utf-8")]}
        if lang == "zho":
            sets["explicit page (demo crawl)"] = [explicit]
        for name, texts in sets.items():
            chars += sum(map(len, texts))
            rows.append((lang, name, len(texts), dropped(texts, lang, False), dropped(texts, lang, True)))
    dt = time.perf_counter() - t0
    print("| language | documents | n | dropped as flagged: before | after |")
    print("|---|---|---:|---:|---:|")
    for lang, name, n, before, after in rows:
        print(f"| {lang} | {name} | {n} | {before} | {after} |")
    print(f"\n{chars / 1e6:.2f} M characters measured twice in {dt:.1f} s (one run; the machine is shared).")


if __name__ == "__main__":
    main()

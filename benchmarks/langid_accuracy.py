#!/usr/bin/env python3
"""Language-ID accuracy: pycld2 alone, py3langid alone and thresher's reconciled answer, side by side.

Gold labels are file names: lingua-py's test sentences (ISO 639-1, one sentence per line) and UDHR
paragraphs (``udhr2_txt``, ISO 639-3 [+ variant]). Everything is compared as ISO 639-3, with
individual languages folded into their macrolanguage where a detector only knows the latter
(cmn -> zho, arb -> ara, swh -> swa ...). "unknown" counts as wrong. Macro averages are over the
languages *both* detectors support (the target: combined >= 0.95 and above either alone) and over
every language in the data.

    python benchmarks/langid_accuracy.py --data /work/shared/data
    python benchmarks/langid_accuracy.py --data /work/shared/data --per-lang 300 --udhr-paragraphs 20
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from thresher.steps.langid import (UNKNOWN, _py3langid, detect_cld2, detect_py3langid, identify,  # noqa: E402
                                   iso_codes, to_iso639_3)

# Individual languages -> the macrolanguage code a detector reports (ISO 639-3 macrolanguage table).
MACRO = {"cmn": "zho", "yue": "zho", "wuu": "zho", "arb": "ara", "ary": "ara", "arz": "ara", "swh": "swa",
         "zsm": "msa", "ind": "ind", "pes": "fas", "prs": "fas", "ekk": "est", "lvs": "lav", "khk": "mon",
         "uzn": "uzb", "uzs": "uzb", "ydd": "yid", "azj": "aze", "plt": "mlg", "gaz": "orm", "npi": "nep",
         "ory": "ori", "pbu": "pus", "als": "sqi", "nob": "nob", "quz": "que", "quy": "que", "gug": "grn",
         "kmr": "kur", "ckb": "kur", "sdh": "kur", "lit": "lit", "hbs": "hbs", "tgl": "tgl", "fil": "tgl",
         "bcl": "bik", "nso": "nso", "hbo": "heb", "fuv": "ful", "knc": "kau", "mly": "msa"}


def fold(code: str | None) -> str | None:
    return MACRO.get(code, code) if code else code


def supported() -> tuple[set[str], set[str]]:
    import pycld2

    cld = {fold(to_iso639_3(c)) for _, c in pycld2.LANGUAGES} - {None}
    lid = {fold(to_iso639_3(c)) for c in _py3langid().nb_classes} - {None}
    return cld, lid


def predict(text: str) -> tuple[str, str, str]:
    cld, _, _ = detect_cld2(text)
    lid = detect_py3langid(text)
    c = max(cld, key=cld.get) if cld else UNKNOWN
    p = max(lid, key=lid.get) if lid else UNKNOWN
    return fold(c), fold(p), fold(identify(text).language)


def lingua(data: Path, per_lang: int) -> list[tuple[str, str]]:
    out = []
    a2 = iso_codes()["alpha2_to_alpha3"]
    for f in sorted((data / "lingua_testdata" / "language-testdata" / "sentences").glob("*.txt")):
        gold = fold(a2.get(f.stem, f.stem))
        lines = [ln.strip() for ln in f.read_text("utf-8").splitlines() if ln.strip()][:per_lang]
        out += [(gold, s) for s in lines]
    return out


def udhr(data: Path, per_lang: int, min_chars: int) -> list[tuple[str, str]]:
    out = []
    for f in sorted((data / "udhr" / "udhr2_txt").glob("*.txt")):
        code = f.stem.split("_")[0]
        if not re.fullmatch(r"[a-z]{3}", code):
            continue
        paras = [p.strip() for p in f.read_text("utf-8", errors="replace").splitlines()]
        paras = [p for p in paras if len(p) >= min_chars][:per_lang]
        out += [(fold(code), p) for p in paras]
    return out


def evaluate(name: str, items: list[tuple[str, str]], workers: int, both: set[str], names: dict[str, str],
             show_all: bool) -> None:
    t0 = time.perf_counter()
    with Pool(workers) as pool:
        preds = pool.map(predict, [t for _, t in items], chunksize=64)
    dt = time.perf_counter() - t0
    per: dict[str, list[int]] = {}
    for (gold, _), pr in zip(items, preds):
        acc = per.setdefault(gold, [0, 0, 0, 0])
        for k in range(3):
            acc[k] += pr[k] == gold
        acc[3] += 1
    print(f"\n## {name}: {len(items)} texts, {len(per)} languages ({dt:.0f} s on {workers} workers)\n")
    print("| language | name | n | both support | pycld2 | py3langid | thresher |")
    print("|---|---|---|---|---|---|---|")
    rows = sorted(per.items())
    for gold, (a, b, c, n) in rows:
        if show_all or gold in both:
            print(f"| {gold} | {names.get(gold, '?')} | {n} | {'yes' if gold in both else 'no'} | "
                  f"{a / n:.3f} | {b / n:.3f} | {c / n:.3f} |")
    for label, keep in (("languages both detectors support", lambda g: g in both), ("all languages", lambda g: True)):
        sel = [(a / n, b / n, c / n) for g, (a, b, c, n) in rows if keep(g)]
        if sel:
            m = [sum(x[k] for x in sel) / len(sel) for k in range(3)]
            print(f"| **macro, {label}** | | {len(sel)} langs | | **{m[0]:.4f}** | **{m[1]:.4f}** | **{m[2]:.4f}** |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder (lingua_testdata/, udhr/)")
    ap.add_argument("--per-lang", type=int, default=1000, help="lingua sentences per language")
    ap.add_argument("--udhr-paragraphs", type=int, default=30, help="UDHR paragraphs per language")
    ap.add_argument("--udhr-min-chars", type=int, default=60)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--all-rows", action="store_true", help="print languages only one detector supports too")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    cld, lid = supported()
    both = cld & lid
    names = iso_codes()["names"]
    print(f"pycld2 supports {len(cld)} languages, py3langid {len(lid)}, both {len(both)} (ISO 639-3, folded)")
    evaluate("lingua test sentences", lingua(args.data, args.per_lang), args.workers, both, names, True)
    evaluate("UDHR paragraphs", udhr(args.data, args.udhr_paragraphs, args.udhr_min_chars), args.workers, both,
             names, args.all_rows)


if __name__ == "__main__":
    main()

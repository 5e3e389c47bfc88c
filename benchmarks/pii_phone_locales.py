#!/usr/bin/env python3
"""Phone numbers written in national formats, in real paragraphs of many languages: recall per
locale, and what the detector finds in the same paragraphs left clean (should be nothing).

Numbers: for each of 13 regions, valid fixed-line and mobile numbers (phonenumbers' example number
for the region with its last four digits drawn at random until the number is valid again), written
the way people write them at home: the national format (trunk prefix, the region's own grouping,
no "+" country code) and the same digits with no separators at all. Each is put into a real
paragraph (the multilingual sample thresher ships: UDHR and news/web text) in the region's language
where the sample has it, else in English, once bare between two sentences and once after a cue
word; half the documents carry a URL on the region's country-code domain. The document's language
comes from thresher's own ``language_id``.

    python benchmarks/pii_phone_locales.py --per-region 40
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from thresher.document import Document  # noqa: E402
from thresher.pii.detect import find_pii  # noqa: E402
from thresher.steps.base import StepContext  # noqa: E402
from thresher.steps.langid import LanguageId, normalize_language  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "src" / "thresher" / "samples" / "multilingual.jsonl.gz"
# region -> (language of the paragraphs the number goes into, its ccTLD, a cue word people write before a number)
LOCALES = {"DE": ("deu", "de", "Telefon:"), "FR": ("fra", "fr", "Tél. :"), "IT": ("eng", "it", "Tel."),
           "ES": ("spa", "es", "Teléfono:"), "BR": ("por", "br", "Telefone:"), "IN": ("hin", "in", "फ़ोन:"),
           "GB": ("eng", "uk", "Tel:"), "NL": ("eng", "nl", "Tel."), "RU": ("rus", "ru", "Тел.:"),
           "ID": ("ind", "id", "Telp."), "VN": ("vie", "vn", "ĐT:"), "ZA": ("zul", "za", "Ucingo:"),
           "PK": ("urd", "pk", "فون:")}
SENT = re.compile(r"(?<=[.!?।。])\s+")


def numbers(region: str, n: int, rng: random.Random) -> list[phonenumbers.PhoneNumber]:
    out = []
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        ex = phonenumbers.example_number_for_type(region, kind)
        nsn = str(ex.national_number)
        tries = 0
        while len([x for x in out if phonenumbers.number_type(x) in (kind, PhoneNumberType.FIXED_LINE_OR_MOBILE)]) \
                < n // 2 and tries < 5000:
            tries += 1
            cand = nsn[:-4] + "".join(rng.choice("0123456789") for _ in range(4))
            num = phonenumbers.parse(f"+{ex.country_code}{cand}", None)
            if phonenumbers.is_valid_number(num) and num not in out:
                out.append(num)
    return out


def paragraphs() -> dict[str, list[str]]:
    by = defaultdict(list)
    for line in gzip.open(SAMPLE, "rt", encoding="utf-8"):
        r = json.loads(line)
        lang = normalize_language(r["gold_language"].split("_")[0])
        for p in r["text"].split("\n"):
            if len(p) > 200 and len(SENT.split(p)) >= 2:
                by[lang].append(p)
    return by


def insert(par: str, number: str, cue: str | None, rng: random.Random) -> tuple[str, int, int]:
    sents = SENT.split(par)
    k = rng.randrange(1, len(sents))
    head = " ".join(sents[:k]) + " "
    piece = f"{cue} {number}" if cue else number
    start = len(head) + (len(cue) + 1 if cue else 0)
    return head + piece + " " + " ".join(sents[k:]), start, start + len(number)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-region", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    rng = random.Random(args.seed)
    paras = paragraphs()
    cases = []      # (region, form, cue?, text, start, end, url)
    for region, (lang, tld, cue) in LOCALES.items():
        pool = paras.get(lang) or paras["eng"]
        for i, num in enumerate(numbers(region, args.per_region, rng)):
            national = phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)
            for form, text in (("national", national), ("no separators", re.sub(r"\D", "", national))):
                for with_cue in (False, True):
                    t, a, b = insert(rng.choice(pool), text, cue if with_cue else None, rng)
                    url = f"https://www.example.{tld}/kontakt" if i % 2 else None
                    cases.append((region, form, with_cue, t, a, b, url))
    docs = [Document(str(i), c[3], {"uri": c[6]} if c[6] else {}) for i, c in enumerate(cases)]
    LanguageId().process(docs, StepContext())
    hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (region, form, _, text, a, b, url), d in zip(cases, docs):
        spans = find_pii(text, ["PHONE"], language=d.meta["language"], url=url)
        ok = any(s.start <= a and s.end >= b and s.end - s.start <= (b - a) + 1 for s in spans)
        hits[(region, form)][0] += ok
        hits[(region, form)][1] += 1
    clean_found = sum(len(find_pii(p, ["PHONE"], language=lang)) for lang, ps in paras.items() for p in ps)
    clean_n = sum(len(ps) for ps in paras.values())
    print(f"\n{len(cases)} numbers in real paragraphs, {len(LOCALES)} regions (seed {args.seed})\n")
    print("| region | text language | national format | no separators |")
    print("|---|---|---|---|")
    tot = [0, 0]
    for region, (lang, _, _) in LOCALES.items():
        row = []
        for form in ("national", "no separators"):
            h, n = hits[(region, form)]
            tot[0] += h
            tot[1] += n
            row.append(f"{h / n:.3f} ({n})")
        print(f"| {region} | {lang if paras.get(lang) else 'eng'} | {' | '.join(row)} |")
    print(f"| **all** | | **recall {tot[0] / tot[1]:.3f}** ({tot[1]} numbers) | |")
    print(f"\nclean paragraphs: {clean_n}, phone spans found in them: {clean_found}")


if __name__ == "__main__":
    main()

"""Phone numbers in national formats (trunk prefix, the region's grouping, or no separators at all,
never a + country code) inside real paragraphs of other languages: the region comes from the
document's language, its URL's country-code domain and the number's own form. The numbers are
built with phonenumbers' own metadata (valid ranges of each region); clean paragraphs stay clean."""
from __future__ import annotations

import json
import re
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from thresher.pii.detect import find_pii
from thresher.pii.validators import document_regions, tld_region

WEB = Path(__file__).parent / "fixtures" / "web"
# region -> UDHR fixture paragraphs (file name) of a language written there, and that language's code
LOCALES = {"DE": ("deu", "deu"), "FR": ("fra", "fra"), "ES": ("spa", "spa"), "BR": ("por_BR", "por"),
           "IN": ("hin", "hin"), "GB": ("eng", "eng"), "RU": ("rus", "rus"), "ID": ("ind", "ind"),
           "ZA": ("zul", "zul"), "PK": ("urd", "urd"), "VN": ("vie", "vie")}


def paragraphs() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (WEB / "udhr_paragraphs.jsonl").read_text("utf-8").splitlines():
        r = json.loads(line)
        out.setdefault(r["lang"], []).append(r["text"])
    return out


def numbers(region: str) -> list[str]:
    out = []
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        ex = phonenumbers.example_number_for_type(region, kind)
        national = phonenumbers.format_number(ex, PhoneNumberFormat.NATIONAL)
        out += [national, re.sub(r"\D", "", national)]
    return out


def test_national_numbers_in_other_languages():
    paras = paragraphs()
    found = total = 0
    missed = []
    for region, (fname, lang) in LOCALES.items():
        for i, num in enumerate(numbers(region)):
            p = paras[fname][i % len(paras[fname])]
            cut = p.find(" ", len(p) // 2)
            text = f"{p[:cut]} {num} {p[cut + 1:]}"
            a = cut + 1
            spans = find_pii(text, ["PHONE"], language=lang)
            ok = any(s.start <= a and s.end >= a + len(num) for s in spans)
            found += ok
            total += 1
            if not ok:
                missed.append((region, num))
    assert total >= 40 and found / total >= 0.95, missed
    for texts in paras.values():        # the paragraphs themselves hold no phone number
        assert all(find_pii(t, ["PHONE"], language=None) == [] for t in texts)


def test_region_from_the_domain_and_the_language():
    assert tld_region("https://www.example.de/impressum") == "DE"
    assert tld_region("http://shop.example.co.uk:8080/") == "GB"
    assert tld_region("https://example.com/") is None and tld_region(None) is None
    assert document_regions("deu", "https://example.at/") == ("AT", "DE", "CH")
    assert document_regions("de")[0] == "DE"
    # a Spanish number without separators (Spain has no trunk prefix) in English text: found
    # once the page is on .es, not before
    text = "The Madrid office opens on weekdays: 912345678 from nine."
    assert find_pii(text, ["PHONE"], language="eng") == []
    assert find_pii(text, ["PHONE"], language="eng", url="https://example.es/contacto")
    # a nine-digit amount in Spanish text is not a phone number unless it dials in Spain
    assert find_pii("El presupuesto total fue de 123456789 euros en el año.", ["PHONE"], language="spa") == []

"""Regenerate ``thresher/data/tokenizer_tables.json`` (developer tool, not used at run time).

datatrove 0.10.1 splits English text into words with spaCy's blank English tokenizer and counts
sentences with spaCy's sentencizer. thresher re-implements that tokenizer as a numba kernel
(``thresher.text.tokenize``) so its quality filters make the same decisions without spaCy. This
script reads the rule tables out of an installed spaCy and datatrove and writes them as plain data:
character classes (as code-point ranges), the tokenizer exceptions ("special cases") and the
patterns of the special cases that spaCy re-applies after affix splitting.

Run it with an interpreter that has spaCy and datatrove 0.10.1 installed, e.g.
``benchmarks/.venv-datatrove/bin/python src/thresher/text/gen_tables.py``.
spaCy is MIT-licensed and datatrove Apache-2.0; see ``thresher/data/ATTRIBUTION.md``.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "tokenizer_tables.json"
ALL = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def ranges(pred) -> list[list[int]]:
    """Code points where ``pred(ch)`` holds, as sorted inclusive [lo, hi] ranges."""
    out: list[list[int]] = []
    for ch in ALL:
        if pred(ch):
            c = ord(ch)
            if out and out[-1][1] == c - 1:
                out[-1][1] = c
            else:
                out.append([c, c])
    return out


def cls(expr: str):
    rx = re.compile(expr)
    return lambda ch: rx.fullmatch(ch) is not None


def main() -> None:
    import spacy
    from spacy.lang import char_classes as cc
    from spacy.pipeline import Sentencizer
    from spacy.tokenizer import Tokenizer
    from datatrove.utils.text import PUNCTUATION, TERMINAL_PUNCTUATION

    nlp = spacy.blank("en")
    tok = nlp.tokenizer
    # Single-character prefixes: everything the prefix regex strips from "<c>x" as one character.
    # '+' (only when no digit follows) and '.' runs are handled by the kernel itself.
    pfx1 = ranges(lambda ch: ch not in "+." and tok.find_prefix(ch + "x") == 1)
    # Unconditional one-character suffixes: the suffix regex matches the lone character (every
    # look-behind rule fails at the start of the string).
    sfx1 = ranges(lambda ch: ch != "." and tok.find_suffix(ch) == 1)
    q = cc.CONCAT_QUOTES
    tables = {
        "spacy_version": spacy.__version__,
        "classes": {
            "prefix1": pfx1,
            "suffix1": sfx1,
            "alpha": ranges(cls(f"[{cc.ALPHA}]")),
            "alpha_lower": ranges(cls(f"[{cc.ALPHA_LOWER}]")),
            "alpha_upper": ranges(cls(f"[{cc.ALPHA_UPPER}]")),
            "quote": ranges(cls(f"[{q}]")),
            "icon": ranges(cls(f"[{cc._other_symbols}]")),
            # look-behind class of the suffix rule  (?<=[0-9{al}{e}{p}(?:{q})])\.
            "dot_suffix_lb": ranges(cls("[0-9{al}{e}{p}(?:{q})]".format(
                al=cc.ALPHA_LOWER, e=r"%²\-\+", q=q, p=cc.PUNCT))),
            "url_host": ranges(cls("[A-Za-z0-9\u00a1-\uffff]")),
            "word": ranges(cls(r"\w")),
            "digit_re": ranges(cls(r"\d")),
            "sent_punct": ranges(lambda ch: ch in set(Sentencizer.default_punct_chars)),
            "dt_punct": ranges(lambda ch: ch in set(PUNCTUATION) | set(TERMINAL_PUNCTUATION)),
            "dt_terminal": ranges(lambda ch: ch in TERMINAL_PUNCTUATION),
        },
        "prefix_multi": ["US$", "C$", "A$"],
        "suffix_multi": ["'s", "'S", "’s", "’S"],
        "suffix_after_digit": [u for u in cc.LIST_CURRENCY + cc.LIST_UNITS],
        "hyphens": cc.LIST_HYPHENS,
    }
    # Literal alternatives (unescape the regex pieces).
    tables["suffix_after_digit"] = sorted({re.sub(r"\\(.)", r"\1", u) for u in tables["suffix_after_digit"]})
    tables["hyphens"] = [re.sub(r"\\(.)", r"\1", h) for h in tables["hyphens"]]
    specials = {s: [t[65] if 65 in t else t["ORTH"] for t in toks] for s, toks in tok.rules.items()}
    tables["specials"] = specials
    # Special cases that spaCy re-applies with a phrase matcher after affix splitting: those whose
    # text has a prefix, suffix, infix or space. The pattern is how the text tokenizes without rules.
    bare = Tokenizer(nlp.vocab, rules={}, prefix_search=tok.prefix_search, suffix_search=tok.suffix_search,
                     infix_finditer=tok.infix_finditer, token_match=tok.token_match, url_match=tok.url_match)
    matcher = {}
    for s in specials:
        if tok.find_prefix(s) or tok.find_suffix(s) or tok.find_infix(s) or " " in s:
            matcher[s] = [t.text for t in bare(s)]
    tables["matcher_patterns"] = matcher
    OUT.write_text(json.dumps(tables, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Main-text extraction quality and speed: ``extract_html``'s extractors against the gold article
bodies of the Zyte/Scrapinghub article-extraction benchmark (181 real pages).

Quality is word-level precision / recall / F1: each text is lower-cased and split into words
(``\\w+``), and the overlap is the multiset intersection of extracted and gold words. Reported as
the mean over pages (macro) and over all words (micro). Speed is pages/s of the extraction call
alone, single process, median of ``--runs`` passes (the HTML is decoded once, beforehand).

    python benchmarks/extraction_quality.py --data /work/shared/data/article_extraction_benchmark
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from thresher.io import decode  # noqa: E402
from thresher.steps.basic import EXTRACTORS  # noqa: E402

WORD = re.compile(r"\w+")


def words(text: str) -> Counter:
    return Counter(WORD.findall(text.lower()))


def variants() -> dict[str, Callable[[str], str]]:
    """The shipped extractors plus the settings compared when choosing resiliparse's defaults."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    def resiliparse_full_page(html: str) -> str:
        return extract_plain_text(HTMLTree.parse(html), main_content=False, alt_texts=False, links=False,
                                  form_fields=False, noscript=False, comments=False)

    def trafilatura_recall(html: str) -> str:
        import trafilatura

        return trafilatura.extract(html, favor_recall=True, include_comments=False, include_images=False,
                                   include_tables=True, deduplicate=False) or ""

    return {**EXTRACTORS, "resiliparse (main_content=False)": resiliparse_full_page,
            "trafilatura (favor_recall)": trafilatura_recall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/article_extraction_benchmark"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    gold = json.loads((args.data / "ground-truth.json").read_text("utf-8"))
    pages = []
    for key, rec in sorted(gold.items()):
        raw = gzip.open(args.data / "html" / f"{key}.html.gz").read()
        html, _ = decode(raw, None)
        pages.append((html, words(rec["articleBody"])))
    print(f"\n## Extraction quality: {len(pages)} pages, word-level P/R/F1 against the gold article body\n")
    print("| extractor | macro P | macro R | macro F1 | micro P | micro R | micro F1 | pages/s (median) | empty |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, fn in variants().items():
        times = []
        outs: list[str] = []
        for _ in range(args.runs):
            outs = []
            t0 = time.perf_counter()
            for html, _ in pages:
                try:
                    outs.append(fn(html) or "")
                except Exception:       # a page the extractor cannot parse counts as empty
                    outs.append("")
            times.append(time.perf_counter() - t0)
        ps, rs, fs = [], [], []
        tp = ng = ne = 0
        for out, (_, g) in zip(outs, pages):
            e = words(out)
            inter = sum((e & g).values())
            p = inter / max(1, sum(e.values()))
            r = inter / max(1, sum(g.values()))
            ps.append(p)
            rs.append(r)
            fs.append(2 * p * r / (p + r) if p + r else 0.0)
            tp, ng, ne = tp + inter, ng + sum(g.values()), ne + sum(e.values())
        mp, mr = tp / max(1, ne), tp / max(1, ng)
        empty = sum(1 for o in outs if not o.strip())
        print(f"| {name} | {statistics.mean(ps):.3f} | {statistics.mean(rs):.3f} | {statistics.mean(fs):.3f} | "
              f"{mp:.3f} | {mr:.3f} | {2 * mp * mr / (mp + mr):.3f} | {len(pages) / statistics.median(times):.1f} | "
              f"{empty} |")


if __name__ == "__main__":
    main()

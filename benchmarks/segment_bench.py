#!/usr/bin/env python3
"""What the dictionary segmenters cost the quality steps: documents/s (CPU) of the FineWeb chain
``gopher_repetition -> gopher_quality -> fineweb_quality`` on Chinese, Thai, Japanese, Khmer, Lao and
Burmese text, side by side in the same process:

- ``pack+segmenter``: the steps with ``language_pack: shipped``: Chinese split by jieba, Thai by
  pythainlp newmm-safe, Japanese by SudachiPy (mode A), Khmer by khmer-nltk, Lao by LaoNLP, Burmese by
  pyidaungsu (``thresher.text.segmenters``), each document segmented once for the chain;
- ``pack, script``: the same pack values with the segmenter removed (a pack file written here): the
  compiled script splitter, Han one word per character, Thai syllable clusters (before segmenters);
- ``defaults``: the steps without ``language_pack`` (the script splitter, datatrove's defaults);
- ``segmenter alone``: the segmenter's own call on each document, nothing else.

Documents are 10 news sentences each, drawn at random (seeded) from lingua-py's Leipzig test
sentences (``--data``: the shared data folder's ``lingua_testdata``; else the 200-line copies in
tests/fixtures/text); lingua has no Khmer, Lao or Burmese, so theirs are 3 UDHR paragraphs each (``--udhr``:
the shared data folder's ``udhr/udhr2_txt``; else the 42-line copies in tests/fixtures/text). Fed in
batches of 1,000 as the shard runner does. CPU seconds
(``time.process_time``), medians of ``--runs`` runs, the configurations interleaved in each run;
compile and dictionary loading are warmed up first and not counted.

    python benchmarks/segment_bench.py --docs 2000 --runs 3 --langs zho,tha,jpn,khm,lao,mya
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _inputs import require_inputs  # noqa: E402

FIXTURES = HERE.parent / "tests" / "fixtures" / "text"
# code -> (lingua's code or None: UDHR paragraphs, script, segmenter)
LANGS = {"zho": ("zh", "Hans", "jieba"), "tha": ("th", "Thai", "pythainlp (newmm)"),
         "jpn": ("ja", "Jpan", "sudachipy (A)"), "khm": (None, "Khmr", "khmer-nltk"),
         "lao": (None, "Laoo", "laonlp"), "mya": (None, "Mymr", "pyidaungsu (word)")}


def sentences(code: str, data: str | None, udhr: str | None) -> list[str]:
    two = LANGS[code][0]
    if two is None:
        path = Path(udhr) / f"{code}.txt" if udhr else FIXTURES / f"udhr_{code}.txt"
    else:
        path = (Path(data) / "language-testdata" / "sentences" / f"{two}.txt" if data
                else FIXTURES / f"{code}_news_sentences.txt")
    return [s.strip() for s in path.read_text("utf-8").split("\n") if s.strip()]


def make_docs(code: str, sents: list[str], n: int, seed: int):
    from thresher.document import Document
    rng = random.Random(seed)
    two, script, _ = LANGS[code]
    k = 10 if two else 3
    return [Document(f"{code}-{i}", " ".join(rng.sample(sents, k)), {}, {"language": code, "script": script})
            for i in range(n)]


def chain(pack):
    from thresher.steps.quality.fineweb import FineWebQuality
    from thresher.steps.quality.gopher import GopherQuality, GopherRepetition
    kw = {"language_pack": pack} if pack else {}
    return [GopherRepetition(drop=False, **kw), GopherQuality(drop=False, **kw), FineWebQuality(drop=False, **kw)]


def run_chain(steps, docs, batch=1000) -> float:
    from thresher.steps.base import StepContext
    from thresher.steps.quality import common
    common.WORDS.entries.clear()
    common.WORDS.n_tokens = 0
    t = time.process_time()
    for i in range(0, len(docs), batch):
        part = docs[i:i + batch]
        for s in steps:
            part = s.process(part, StepContext())
    return time.process_time() - t


def run_alone(mode: int, docs) -> float:
    from thresher.text.segmenters import spans
    t = time.process_time()
    for d in docs:
        spans(d.text, mode)
    return time.process_time() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", help="lingua_testdata folder (default: the fixtures' 200 sentences per language)")
    ap.add_argument("--udhr", help="udhr2_txt folder for Khmer, Lao, Burmese (default: the fixtures' 42 lines)")
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--langs", default="zho,tha")
    args = ap.parse_args()
    require_inputs(args, ("data", "udhr"))
    from thresher.text.packs import load_packs
    from thresher.text.segmenters import segmenter_mode

    tmp = Path(tempfile.mkdtemp()) / "packs_no_segmenter.json"
    tmp.write_text(json.dumps({"packs": {k: dict(v, segmenter=None) for k, v in load_packs().items()}},
                              ensure_ascii=False), "utf-8")
    rows = []
    for code in args.langs.split(","):
        sents = sentences(code, args.data, args.udhr)
        configs = {"pack+segmenter": chain("shipped"), "pack, script": chain(str(tmp)), "defaults": chain(None)}
        mode = segmenter_mode(LANGS[code][2])
        warm = make_docs(code, sents, 50, seed=0)
        for steps in configs.values():
            run_chain(steps, warm)
        times: dict[str, list[float]] = {k: [] for k in [*configs, "segmenter alone"]}
        nbytes = 0
        for r in range(args.runs):
            docs = make_docs(code, sents, args.docs, seed=r + 1)      # fresh strings: no cache across runs
            nbytes = sum(len(d.text.encode()) for d in docs)
            for name, steps in configs.items():
                for d in docs:
                    d.meta = {"language": d.meta["language"], "script": d.meta["script"]}
                times[name].append(run_chain(steps, docs))
            times["segmenter alone"].append(run_alone(mode, docs))
        base = statistics.median(times["pack, script"])
        for name, ts in times.items():
            med = statistics.median(ts)
            rows.append((code, name, args.docs / med, nbytes / med / 1e6, med / base))
        print(f"{code}: {args.docs} docs, {nbytes / args.docs:.0f} UTF-8 bytes/doc on average ({LANGS[code][2]})",
              file=sys.stderr)
    print(f"\n{'lang':5} {'configuration':18} {'docs/s':>9} {'MB/s':>7} {'time vs pack,script':>20}")
    for code, name, dps, mbs, rel in rows:
        print(f"{code:5} {name:18} {dps:9.0f} {mbs:7.2f} {rel:19.2f}x")
    print("\n(MB/s of UTF-8 text; CPU time; medians of", args.runs, "runs)")


if __name__ == "__main__":
    main()

"""License detection accuracy and code-pipeline throughput.

1. licensee's labelled fixtures (spec/fixtures, gold in fixtures.yml): our repository-level answer mapped
   to licensee's vocabulary (its 47 choosealicense keys; "other" for any other license or a
   combination; "no-license" for copyright-only files). Every miss is listed.
2. The 47 choosealicense.com texts with their YAML front matter removed: full-text match vs spdx-id.
3. The whole code pipeline of examples/code.yaml (reader -> license -> quality -> secrets -> near-dedup
   -> decontamination) on a real code corpus (a Python site-packages folder: a folder of
   "repositories", one per top-level package / dist-info folder), files/s and MB/s, median of N runs.

    python benchmarks/license_accuracy.py [--fixtures DIR] [--corpus DIR] [--runs 3] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

from thresher import run
from thresher.code import spdx
from thresher.code.license import detect_folder
from thresher.code.licensedb import index
from thresher.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def licensee_key(expr: str | None, known: set[str]) -> str | None:
    if expr is None:
        return None
    if expr == "NONE":
        return "no-license"
    if " " in expr:
        return "other"
    k = expr.lower().removesuffix("-only")
    return k if k in known else "other"


def fixtures_accuracy(base: Path) -> tuple[int, int, list[tuple[str, str, str, str]]]:
    root = base / "spec" / "fixtures"
    gold = yaml.safe_load((root / "fixtures.yml").read_text())
    known = {p.stem for p in (base / "vendor/choosealicense.com/_licenses").glob("*.txt")}
    n = ok = 0
    misses = []
    for name, g in gold.items():
        if not (root / name).is_dir():
            continue
        expr, _, _ = detect_folder(root / name)
        got = licensee_key(expr, known)
        n += 1
        if got == g["key"]:
            ok += 1
        else:
            misses.append((name, str(g["key"]), str(got), str(expr)))
    return ok, n, misses


def choosealicense_accuracy(base: Path) -> tuple[int, int, list[tuple[str, str, str]]]:
    n = ok = 0
    misses = []
    for p in sorted((base / "vendor/choosealicense.com/_licenses").glob("*.txt")):
        fm = re.match(r"^---\n(.*?)\n---\n", p.read_text(), re.S)
        want = spdx.canonical_id(re.search(r"^spdx-id:\s*(\S+)", fm.group(1), re.M).group(1))
        got = [m.spdx for m in index().match(p.read_text()[fm.end():])]
        n += 1
        if got == [want]:
            ok += 1
        else:
            misses.append((p.stem, want, " AND ".join(got) or "(none)"))
    return ok, n, misses


def pipeline_run(corpus: Path, workers: int, out: Path, keep_unknown: bool) -> dict:
    cfg = load_config(ROOT / "examples" / "code.yaml", output=str(out))
    cfg.input.path = str(corpus)
    for step in cfg.steps:       # site-packages folders mostly carry no license file of their own:
        if "license_filter" in step:      # keep them so every step sees the whole corpus
            step["license_filter"] = {**step["license_filter"], "keep_unknown": keep_unknown}
    t0 = time.perf_counter()
    run(cfg, workers=workers, overwrite=True)
    wall = time.perf_counter() - t0
    stats = json.loads((out / "stats.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    r = stats["reader"]
    return {"wall": wall, "files": r.get("files_seen", 0), "docs": r.get("docs_read", 0),
            "bytes": r.get("bytes_read", 0), "kept": manifest["documents"],
            "steps": {k: v["seconds"] for k, v in stats["steps"].items()},
            "drops": {k: v["drops"] for k, v in stats["steps"].items()},
            "skipped": {k: v for k, v in r.items() if k.startswith("skipped_")}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", default="/work/shared/data/licensee_fixtures")
    ap.add_argument("--corpus", default=str(Path(os.__file__).parent / "site-packages"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-pipeline", action="store_true")
    ap.add_argument("--drop-unknown", action="store_true",
                    help="run examples/code.yaml as is (files without a detected license are dropped early)")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    base = Path(args.fixtures)

    ok, n, misses = fixtures_accuracy(base)
    print(f"\n## License detection: licensee fixtures ({base})\n")
    print("| fixtures | correct | accuracy | target |\n|---|---|---|---|")
    print(f"| {n} | {ok} | {ok / n:.4f} | >= 0.95 |")
    print("\nMisses (expected = licensee gold key, detected = our answer mapped to licensee keys):\n")
    print("| fixture | expected | detected | our SPDX expression |\n|---|---|---|---|")
    for m in misses:
        print("| " + " | ".join(m) + " |")

    ok2, n2, misses2 = choosealicense_accuracy(base)
    print("\n## License detection: choosealicense.com texts, front matter removed\n")
    print("| texts | correct | accuracy |\n|---|---|---|")
    print(f"| {n2} | {ok2} | {ok2 / n2:.4f} |")
    print("\n| text | expected | detected |\n|---|---|---|")
    for m in misses2:
        print("| " + " | ".join(m) + " |")

    if args.skip_pipeline:
        return
    corpus = Path(args.corpus)
    runs = []
    tmp = Path(tempfile.mkdtemp(prefix="thresher-code-bench-"))
    try:
        for i in range(args.runs):
            r = pipeline_run(corpus, args.workers, tmp / f"run{i}", not args.drop_unknown)
            shutil.rmtree(tmp / f"run{i}", ignore_errors=True)
            runs.append(r)
            print(f"run {i + 1}: {r['wall']:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median(r["wall"] for r in runs)
    r0 = runs[0]
    print(f"\n## Code pipeline throughput: examples/code.yaml on {corpus}\n")
    print(f"license_filter keep_unknown={not args.drop_unknown}. "
          f"{args.workers} workers, {os.cpu_count()} CPUs, median of {len(runs)} runs; the machine is shared"
          f" (load average at end {os.getloadavg()[0]:.1f}), so absolute numbers are noisy.\n")
    print("| files seen | documents | MB read | kept | wall s (median) | runs (s) | files/s | docs/s | MB/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
    print(f"| {r0['files']:,} | {r0['docs']:,} | {r0['bytes'] / 1e6:.1f} | {r0['kept']:,} | {med:.1f} | "
          f"{walls} | {r0['files'] / med:,.0f} | {r0['docs'] / med:,.0f} | {r0['bytes'] / 1e6 / med:.2f} |")
    print("\nStep CPU seconds (run 1, summed over workers) and drops:\n")
    print("| step | seconds | drops (top 5) |\n|---|---|---|")
    for step, sec in r0["steps"].items():
        top = sorted(r0["drops"][step].items(), key=lambda kv: -kv[1])[:5]
        print(f"| {step} | {sec:.1f} | {', '.join(f'{k}: {v}' for k, v in top)} |")
    print("\nReader skips: " + ", ".join(f"{k}={v:,}" for k, v in sorted(r0["skipped"].items())))


if __name__ == "__main__":
    main()

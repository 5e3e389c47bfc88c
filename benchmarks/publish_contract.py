"""What the publishing contract costs (issue 14): the same build with and without the redaction of
what leaves (``source`` strings of kept documents; dropped documents as text-less traces or redacted
text), in one process, alternated, medians of ``--runs``; then ``thresher publish`` and ``verify``.

The corpus (``../shared/bench/build_corpus.py``) has only ``id`` and ``text``; the ``fields`` variant
adds what a scraped dump carries (author e-mail, phone, a free-text note) to every record, the worst
case for the contract (every document's provenance goes through the PII detector).

    .venv/bin/python benchmarks/publish_contract.py --corpus /tmp/bench/corpus.jsonl --mb 40
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import orjson

import thresher
from thresher import runner
from thresher.public import public_data, public_excluded


def sample(corpus: Path, work: Path, mb: int, fields: bool) -> Path:
    out = work / f"input-{mb}mb{'-fields' if fields else ''}.jsonl"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    budget = mb * 1_000_000
    with open(corpus, "rb") as src, open(out, "wb") as dst:
        for n, line in enumerate(src):
            d = orjson.loads(line)
            if fields:
                d.update({"author_email": f"user{n}@example.org", "phone": f"+1 415 555 {n % 10000:04d}",
                          "notes": f"scraped by crawler {n} from host {n % 250}.example.net"})
            b = orjson.dumps(d) + b"\n"
            dst.write(b)
            budget -= len(b)
            if budget <= 0:
                break
    return out


def build(src: Path, out: Path, excluded: str, contract: bool) -> float:
    shutil.rmtree(out.parent, ignore_errors=True)
    cfg = thresher.PipelineConfig(name="bench", input={"path": str(src), "format": "jsonl"},
                                  steps=[{"length_filter": {"min_chars": 50}}, {"exact_dedup": {}}, {"pii_redact": {}}],
                                  output={"path": str(out), "excluded": excluded})
    runner.public_data = public_data if contract else None
    runner.public_excluded = public_excluded if contract else (lambda mode: None)
    t0 = time.perf_counter()
    thresher.run(cfg, workers=2, progress=False)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--work", type=Path, default=Path("/tmp/thresher-publish-bench"))
    ap.add_argument("--mb", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(a)
    rows = []
    for fields in (False, True):
        src = sample(a.corpus, a.work, a.mb, fields)
        for excluded in ("trace", "redacted"):
            t_off, t_on = [], []
            for _ in range(a.runs):
                t_off.append(build(src, a.work / "off" / "r", excluded, False))
                t_on.append(build(src, a.work / "on" / "r", excluded, True))
            off, on = statistics.median(t_off), statistics.median(t_on)
            rows.append((("id+text" if not fields else "id+text+3 fields"), excluded, off, on))
    rel = a.work / "on" / "r"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from thresher.cli import main; main()", "publish", str(rel),
                    str(a.work / "hub")], check=True, capture_output=True)
    t_pub = time.perf_counter() - t0
    shutil.rmtree(a.work / "hub")
    print(f"\n{a.mb} MB of the benchmark corpus, pipeline length_filter + exact_dedup + pii_redact, 2 workers, "
          f"median of {a.runs} (machine shared and noisy: compare within a row)\n")
    print("| records | output.excluded | build without contract (s) | build with contract (s) | cost |")
    print("|---|---|---:|---:|---:|")
    for kind, excl, off, on in rows:
        print(f"| {kind} | {excl} | {off:.1f} | {on:.1f} | {on / off:.2f}x |")
    print(f"\n`thresher publish` (verify + copy, fresh process, last release): {t_pub:.1f} s")


if __name__ == "__main__":
    main()

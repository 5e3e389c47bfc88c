"""Governance benchmark on the 200 MB corpus: forget one URL prefix vs rebuilding the release, search
index build MB/s, search latency (median / p95 over 100 queries), lookup latency, verify time.

The corpus (``../shared/bench/build_corpus.py``) has ``id`` = ``source:path#n`` and ``text``; this script
derives ``url`` = ``file://path`` so "every document from one package's folder" is a URL prefix. Rebuilds
run with the request already in the project's ledger (a new build applies it as its final step), so
both sides produce a release without those documents. The releases are ordered by source
(``output.order: source``, the layout for releases that take removal requests); ``--order input``
measures the default layout.

    .venv/bin/python benchmarks/governance_bench.py --corpus /tmp/bench/corpus.jsonl --work /tmp/bench/gov
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import orjson

import thresher
from thresher.governance import Ledger, build_index, forget, lookup, search, verify
from thresher.steps import step_class

PREFIX = "file:///root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/awscli/"
# The curation a release of this corpus would get: dedup and PII. Quality filters for web prose are left
# out (they would drop most of these docs, man pages and sources), and so is language ID: it is slow
# for now and would flatter the ratio; the faster the rebuild, the harder the 10x target.
OPTIONAL_STEPS = [{"length_filter": {"min_chars": 50}}, {"exact_dedup": {}}, {"minhash_dedup": {}},
                  {"pii_redact": {}}]


def wait_for_corpus(corpus: Path) -> None:
    flag = Path(str(corpus) + ".building")
    while flag.exists():
        print(f"waiting for {flag} to disappear ...", file=sys.stderr)
        time.sleep(30)
    if not corpus.exists():
        sys.exit(f"{corpus} not found: build it with python3 ../shared/bench/build_corpus.py --out {corpus}")


def with_urls(corpus: Path, work: Path) -> Path:
    out = work / "input" / "corpus_url.jsonl"
    if out.exists() and out.stat().st_mtime >= corpus.stat().st_mtime:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(corpus, "rb") as src, open(tmp, "wb") as dst:
        for line in src:
            d = orjson.loads(line)
            path = d["id"].split(":", 1)[1].split("#")[0]
            d["url"] = "file://" + path
            dst.write(orjson.dumps(d) + b"\n")
    tmp.replace(out)
    return out


def available(steps: list[dict]) -> list[dict]:
    ok = []
    for s in steps:
        try:
            step_class(next(iter(s)))
            ok.append(s)
        except Exception:
            pass
    return ok


def write_yaml(work: Path, name: str, inp: Path, steps: list[dict], order: str) -> Path:
    import yaml

    y = work / f"{name}.yaml"
    y.write_text(yaml.safe_dump({"name": name, "input": {"path": str(inp), "format": "jsonl"}, "steps": steps,
                                 "output": {"path": str(work / "project" / name), "order": order}}, sort_keys=False))
    return y


CPU: dict[int, float] = {}      # id(list of wall times) -> CPU seconds, summed


def _cpu() -> float:
    # this process and its reaped children (the process pool's workers): contention-independent work
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def timed(fn, *a, **kw) -> tuple[float, object]:
    t0 = time.perf_counter()
    r = fn(*a, **kw)
    return time.perf_counter() - t0, r


def timed_cpu(acc: list[float], cpu: list[float], fn, *a, **kw) -> object:
    c0 = _cpu()
    dt, r = timed(fn, *a, **kw)
    acc.append(dt)
    cpu.append(_cpu() - c0)
    return r


def reset_governance(project: Path, base: str) -> None:
    """A fresh ledger (the custodian's key stays: the releases are signed with it)."""
    gov = project / "governance"
    for name in ("ledger.jsonl", "forget-journal.json"):
        (gov / name).unlink(missing_ok=True)
    shutil.rmtree(gov / "receipts", ignore_errors=True)
    for p in project.glob(f"{base}@v*"):
        shutil.rmtree(p)


def file_approved(project: Path, matcher: str, value: str) -> str:
    """File a request and approve it (only approved requests are applied); a whole package folder
    is a broad request, filed knowingly."""
    led = Ledger(project)
    rid = led.add(matcher, value, broad=True)
    led.approve(rid, by="benchmark")
    return rid


def queries(release: Path, n: int, seed: int = 1) -> list[str]:
    import pyarrow.parquet as pq

    rng = random.Random(seed)
    # drawn from every shard: one shard of a release ordered by source holds one kind of text only
    texts = [t for f in thresher.Release(release).files("data")
             for t in pq.read_table(f, columns=["text"]).column("text").to_pylist()[::50]]
    out = []
    while len(out) < n:
        words = [w for w in re.findall(r"[A-Za-z]{5,}", rng.choice(texts))]
        if len(words) >= 2:
            out.append(" ".join(rng.sample(words, 2)))
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/bench/corpus.jsonl"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench/governance"))
    ap.add_argument("--prefix", default=PREFIX)
    ap.add_argument("--runs", type=int, default=3, help="forget / minimal rebuild repetitions")
    ap.add_argument("--rebuild-runs", type=int, default=2, help="curation-pipeline rebuild repetitions")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--order", choices=["source", "input"], default="source",
                    help="release layout (output.order): source-key ranges (default), or as the input came")
    ap.add_argument("--extra-steps", default="",
                    help="comma-separated steps added after length_filter, e.g. language_id,secrets_redact")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    wait_for_corpus(args.corpus)
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    inp = with_urls(args.corpus, work)
    project = work / "project"
    extra = [{name: {}} for name in args.extra_steps.split(",") if name]
    steps = available(OPTIONAL_STEPS[:1] + extra + OPTIONAL_STEPS[1:])
    cfg_cur = write_yaml(work, "curated", inp, steps, args.order)
    cfg_min = write_yaml(work, "minimal", inp, [], args.order)
    mb = inp.stat().st_size / 1e6
    print(f"corpus {inp} ({mb:.0f} MB), curation steps: {[next(iter(s)) for s in steps]}, workers {args.workers}, "
          f"cpus {os.cpu_count()}", file=sys.stderr)
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    # --- the release (built without any request) ---
    t_build, v1 = timed(thresher.run, cfg_cur, workers=args.workers, overwrite=True)
    m1 = thresher.Release(v1).manifest
    print(f"built {v1}: {m1['documents']} docs in {t_build:.1f} s", file=sys.stderr)
    # --- forget one URL prefix ---
    t_forget, t_verify, removed, shards, files = [], [], 0, "", ""
    c_forget, c_rebuild, c_min = [], [], []
    for _ in range(args.runs):
        reset_governance(project, "curated")
        file_approved(project, "url_prefix", args.prefix)
        res = timed_cpu(t_forget, c_forget, forget, project, workers=args.workers)
        dt = t_forget[-1]
        v2 = res["versions"][0]
        m2 = thresher.Release(v2).manifest
        removed = m1["documents"] - m2["documents"]
        changed = sum(1 for k, v in m2["outputs"].items() if k.startswith("data/") and v["sha256"] != m1["outputs"][k]["sha256"])
        shards = f"{changed}/{sum(1 for k in m1['outputs'] if k.startswith('data/'))}"
        files = f"{sum(1 for k, v in m2['outputs'].items() if k in m1['outputs'] and v['sha256'] != m1['outputs'][k]['sha256'])}/{len(m1['outputs'])}"
        t_verify.append(timed(verify, v2, res["receipts"][0])[0])
        print(f"forget: {dt:.2f} s, removed {removed}", file=sys.stderr)
    # --- forget one document (a URL that only one document of the release has) ---
    import pyarrow.parquet as pq
    from collections import Counter

    def urls(f: Path) -> list[str]:
        return [orjson.loads(s).get("url") for s in pq.read_table(f, columns=["source"]).column("source").to_pylist()]
    r1 = thresher.Release(v1)
    seen = Counter(u for f in r1.files("data") + r1.files("excluded") for u in urls(f))
    one_url = next(u for u in urls(r1.files("data")[-1]) if seen[u] == 1)
    t_one, c_one = [], []
    for _ in range(args.runs):
        reset_governance(project, "curated")
        file_approved(project, "url", one_url)
        timed_cpu(t_one, c_one, forget, project, workers=args.workers)
    reset_governance(project, "curated")
    file_approved(project, "url_prefix", args.prefix)
    # --- rebuilds with the request in the ledger (applied as the final build step) ---
    t_rebuild = []
    # (into sibling folders of the same project, so the ledger applies and v1 stays as it is)
    for _ in range(args.rebuild_runs):
        out = timed_cpu(t_rebuild, c_rebuild, thresher.run, thresher.load_config(cfg_cur, str(project / "rebuild")),
                        workers=args.workers, overwrite=True)
        dt = t_rebuild[-1]
        assert thresher.Release(out).manifest["documents"] == m2["documents"], "rebuild and forget disagree"
        print(f"rebuild (curated): {dt:.1f} s", file=sys.stderr)
    shutil.rmtree(project / "rebuild", ignore_errors=True)
    t_min = []
    for _ in range(args.runs):
        out = timed_cpu(t_min, c_min, thresher.run, cfg_min, workers=args.workers, overwrite=True)
        dt = t_min[-1]
        print(f"rebuild (minimal): {dt:.1f} s", file=sys.stderr)
    shutil.rmtree(project / "minimal", ignore_errors=True)
    # --- search index, forget carrying the index, search latency, lookup ---
    t_index = []
    for _ in range(args.runs):
        dt, info = timed(build_index, v1)
        t_index.append(dt)
    reset_governance(project, "curated")
    file_approved(project, "url_prefix", args.prefix)
    qs = queries(v1, args.queries)
    t_first_pending, _ = timed(search, v1, qs[0])           # computes the pending-removal set once per ledger head
    lat_pending = [timed(search, v1, q)[0] * 1000 for q in qs]
    t_forget_idx, res = timed(forget, project, workers=args.workers)
    v2 = res["versions"][0]
    lat = [timed(search, v2, q)[0] * 1000 for q in qs]
    leak = sum(1 for q in qs[:20] for h in search(v2, q, k=10) if (h["url"] or "").startswith(args.prefix))
    t_lu_prefix, lu = timed(lookup, v2, url_prefix=args.prefix)
    t_lu_prefix_v1, lu1 = timed(lookup, v1, url_prefix=args.prefix)
    some = pq.read_table(thresher.Release(v1).files("data")[0], columns=["text"]).column("text")[3].as_py()[:300]
    t_lu_text, _ = timed(lookup, v1, text=some)
    t_lu_text2, _ = timed(lookup, v1, text=some)
    t_lu_email, lue = timed(lookup, v1, email="nobody-here@example.org")

    med = statistics.median
    print(f"\n## Governance on the 200 MB corpus ({m1['documents']:,} documents, {mb:.0f} MB JSONL; "
          f"{args.workers} workers on a shared {os.cpu_count()}-core machine)\n")
    print(f"Request: `--url-prefix {args.prefix}` ({removed:,} documents; data shards rewritten: {shards}, "
          f"files rewritten: {files}). Curation pipeline: {', '.join(next(iter(s)) for s in steps)}; "
          f"output.order: {args.order}.\n")
    print("| operation | runs | median wall s | min s | max s | wall ratio vs forget | median CPU s | CPU ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    f, fc = med(t_forget), med(c_forget)
    rows = [("forget (new version + receipt, proofs)", t_forget, c_forget),
            ("forget one URL (one document)", t_one, c_one),
            ("rebuild, curation pipeline, ledger applied", t_rebuild, c_rebuild),
            ("rebuild, minimal pipeline (read+write only), ledger applied", t_min, c_min),
            ("verify new version + receipt", t_verify, None),
            ("index build (FTS5)", t_index, None)]
    for name, xs, cs in rows:
        cpu = f"{med(cs):.2f} | {med(cs) / fc:.1f}x" if cs else " | "
        print(f"| {name} | {len(xs)} | {med(xs):.2f} | {min(xs):.2f} | {max(xs):.2f} | {med(xs) / f:.1f}x | {cpu} |")
    print(f"| forget incl. carrying the search index | 1 | {t_forget_idx:.2f} | | | {t_forget_idx / f:.1f}x | | |")
    print(f"\n- rebuild / forget: **{med(t_rebuild) / f:.1f}x** wall, **{med(c_rebuild) / fc:.1f}x** CPU (curation "
          f"pipeline); {med(t_min) / f:.1f}x wall, {med(c_min) / fc:.1f}x CPU (minimal pipeline)")
    print(f"- index build: {info['mb'] / med(t_index):.1f} MB/s of text ({info['mb']:.0f} MB, {info['documents']:,} docs), "
          f"index file {info['index_mb']:.0f} MB")
    print(f"- search latency over {len(qs)} two-word queries (k=10): median {med(lat):.1f} ms, p95 {pct(lat, 95):.1f} ms "
          f"(after forget); with the request pending (before forget): median {med(lat_pending):.1f} ms, "
          f"p95 {pct(lat_pending, 95):.1f} ms, first query after a new request {t_first_pending * 1000:.0f} ms")
    print(f"- results from the removed prefix in the top 10 of 20 queries after forget: {leak}")
    print(f"- lookup --url-prefix: {t_lu_prefix:.2f} s on the new version ({lu['total']} found), "
          f"{t_lu_prefix_v1:.2f} s on v1 ({lu1['total']} found); lookup --text (exact + near-dup): "
          f"{t_lu_text:.2f} s first (MinHash signatures cached in the release), {t_lu_text2:.2f} s after; "
          f"lookup --email (every address in the release hashed and compared): {t_lu_email:.2f} s")
    print(f"- initial build of the release: {t_build:.1f} s")


if __name__ == "__main__":
    main()

"""Crawler cost: pages/s of ``thresher crawl --no-delay`` against a plain warcio ``capture_http`` +
``requests`` loop over the same URLs, both as fresh processes against the same local server; and the
crawler's peak RSS with a 100k-URL frontier.

The site is the libffi manual from tests/fixtures/crawl (real Texinfo HTML, 20 pages, ~8 KB each),
served N times under /m/K/ by tests/crawl_site.py in its own process on 127.0.0.1 (nothing else is
ever contacted). thresher does everything a crawl does (robots.txt, ai.txt, tdmrep.json, sitemap,
link extraction, scope and robots checks, rights signals, register, terms, SQLite frontier,
request/response/metadata records); the peer fetches a fixed URL list (thresher's own, from its
crawl log) and records request/response pairs, nothing else: the ratio is the price of the crawler's
work, with politeness off. The peer is installed into benchmarks/.venv-warcio on first use.

    .venv/bin/python benchmarks/crawl_bench.py --runs 3 --mirrors 25
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-warcio"
CONTACT = "mailto:bench@example.org"

PEER = r'''
import sys, time, json
from warcio.capture_http import capture_http
import requests                       # after capture_http, as warcio's docs require
urls = open(sys.argv[1]).read().split()
t = time.perf_counter()
with capture_http(sys.argv[2]):
    with requests.Session() as s:
        s.headers["User-Agent"] = "peer-bench"
        for u in urls:
            s.get(u, allow_redirects=False, timeout=30)
print(json.dumps({"loop_s": time.perf_counter() - t}))
'''


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    r = subprocess.run([str(py), "-c", "import warcio, requests"], capture_output=True)
    if r.returncode:
        subprocess.run([str(py), "-m", "pip", "install", "-q", "warcio==1.7.5", "requests==2.32.3"], check=True)
    return py


def start_server(mirrors: int, extra_links: int = 0) -> tuple[subprocess.Popen, str]:
    p = subprocess.Popen([sys.executable, str(ROOT / "tests" / "crawl_site.py"), str(mirrors), str(extra_links)],
                         stdout=subprocess.PIPE, text=True)
    base = p.stdout.readline().strip()
    assert base.startswith("http://127.0.0.1:"), base
    return p, base


CPU: list[float] = []      # user + system seconds of the last timed process


def timed(cmd: list[str], **kw) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (MiB) of one fresh process (its CPU seconds go to CPU)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    CPU.append(usage.ru_utime + usage.ru_stime)
    out, err = p.stdout.read(), p.stderr.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{cmd[:3]} failed: {err[-2000:]}")
    return wall, usage.ru_maxrss // 1024, subprocess.CompletedProcess(cmd, p.returncode, out, err)


def thresher_crawl(base: str, work: Path, max_pages: int, depth: int) -> tuple[float, int, list[str], float]:
    seeds = work / "seeds.txt"
    seeds.write_text(base + "/bench.html\n")
    out = work / "thr"
    shutil.rmtree(out, ignore_errors=True)
    wall, rss, _ = timed([str(Path(sys.executable).parent / "thresher"), "crawl", str(seeds), "-o", str(out),
                          "--no-delay", "--max-pages", str(max_pages), "--depth", str(depth), "--contact", CONTACT])
    log = [json.loads(x) for x in (out / "crawl.log.jsonl").read_text().splitlines()]
    fetched = [r["url"] for r in log if r.get("status") is not None and r["outcome"] not in ("too_large", "content_type")]
    t0 = min(r["time"] for r in log)
    t1 = max(r["time"] for r in log)
    from datetime import datetime
    span = (datetime.fromisoformat(t1.rstrip("Z")) - datetime.fromisoformat(t0.rstrip("Z"))).total_seconds()
    return wall, rss, fetched, span


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mirrors", type=int, default=25, help="copies of the 20-page manual (pages ~ 20 x N)")
    ap.add_argument("--frontier", type=int, default=100_000, help="URLs queued for the RSS measurement")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    peer_py = ensure_venv()
    work = Path(tempfile.mkdtemp(prefix="crawl-bench-"))
    rows = []
    srv, base = start_server(args.mirrors)
    try:
        thr, peer, loops, thr_rss, peer_rss, thr_cpu, peer_cpu = [], [], [], [], [], [], []
        pages = 0
        for _ in range(args.runs):
            wall, rss, fetched, span = thresher_crawl(base, work, max_pages=30 * args.mirrors + 100, depth=3)
            pages = len(fetched)
            thr.append(wall)
            thr_cpu.append(CPU[-1])
            loops.append(span)
            thr_rss.append(rss)
            urls = work / "urls.txt"
            urls.write_text("\n".join(fetched))
            warc = work / "peer.warc.gz"
            warc.unlink(missing_ok=True)
            pwall, prss, res = timed([str(peer_py), "-c", PEER, str(urls), str(warc)])
            peer.append(pwall)
            peer_cpu.append(CPU[-1])
            peer_rss.append(prss)
        t, p = statistics.median(thr), statistics.median(peer)
        tc, pc = statistics.median(thr_cpu), statistics.median(peer_cpu)
        rows.append(("thresher crawl --no-delay (fresh process)", pages, t, pages / t, tc, statistics.median(thr_rss)))
        rows.append(("thresher crawl loop (log first to last request)", pages, statistics.median(loops),
                     pages / statistics.median(loops), None, None))
        rows.append(("warcio capture_http + requests loop (fresh process)", pages, p, pages / p, pc,
                     statistics.median(peer_rss)))
    finally:
        srv.kill()
        srv.wait()
    # peak RSS with a 100k-URL frontier: the seed page links to --frontier URLs; 200 fetched, the rest queued
    srv, base = start_server(0, args.frontier)
    try:
        rss_rows = []
        for n, label in ((0, "small site (no extra links)"), (args.frontier, f"{args.frontier:,} URLs queued")):
            if n == 0:
                srv.kill(), srv.wait()
                srv, base = start_server(0, 0)
            else:
                srv.kill(), srv.wait()
                srv, base = start_server(0, n)
            rs = []
            for _ in range(args.runs):
                wall, rss, fetched, _ = thresher_crawl(base, work, max_pages=200, depth=1)
                rs.append(rss)
            queued = _queued(work / "thr" / "frontier.sqlite")
            rss_rows.append((label, queued, statistics.median(rs), wall))
    finally:
        srv.kill()
        srv.wait()
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nlocal server on 127.0.0.1, libffi manual x {args.mirrors}; medians of {args.runs} runs; "
          "shared, noisy 2-core machine: compare ratios within this run\n")
    print("| crawler | pages | wall s | pages/s (wall) | CPU s | pages per CPU s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, n, s, r, c, m in rows:
        cpu = f"{c:.2f} | {n / c:.0f}" if c else "- | -"
        print(f"| {name} | {n} | {s:.2f} | {r:.0f} | {cpu} | {m if m is not None else '-'} |")
    print(f"\nthresher / peer (fresh processes): wall {t / p:.2f}x, CPU {tc / pc:.2f}x\n")
    print("| frontier | URLs still queued | thresher peak RSS MiB | seconds (last run) |")
    print("|---|---:|---:|---:|")
    for label, q, m, w in rss_rows:
        print(f"| {label} | {q:,} | {m:.0f} | {w:.1f} |")


def _queued(db: Path) -> int:
    import sqlite3
    con = sqlite3.connect(str(db))
    try:
        return con.execute("select count(*) from urls where state = 'queued'").fetchone()[0]
    finally:
        con.close()


if __name__ == "__main__":
    main()

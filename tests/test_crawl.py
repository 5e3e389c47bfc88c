"""The crawler against a real documentation site (the libffi manual) served on 127.0.0.1 by the test.

One crawl (module fixture, ~12 s: the site's robots.txt asks for a 0.15 s Crawl-delay) is checked from
every side: what the server saw (paths, order, timing, connections), the WARC (warcio validates it), the
documents ``format: warc`` reads back, and the rights, terms and register records. A second crawl is
killed with SIGKILL and resumed.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from crawl_site import SiteServer, site_pages
from thresher.config import load_config
from thresher.crawl import CrawlConfig, crawl
from thresher.crawl.crawler import read_seeds
from thresher.crawl.warcfile import _groups
from thresher.errors import InputError
from thresher.pipeline import run as run_pipeline

CRAWL_DELAY = 0.15
CONTACT = "mailto:crawler-tests@example.org"
LIBFFI = sorted(p for p in site_pages() if p.endswith(".html") and p[1:2].isupper() or p == "/index.html")


def config(**kw) -> CrawlConfig:
    base = dict(contact=CONTACT, delay=0.05, timeout=1.0, retries=2, backoff=0.1, max_bytes=1 << 20, depth=3,
                max_pages=200, workers=2)
    base.update(kw)
    return CrawlConfig(**base)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    out = tmp_path_factory.mktemp("crawl")
    with SiteServer(crawl_delay=CRAWL_DELAY) as srv:
        summary = crawl([srv.base + "/index.html"], out, config())
        log = list(srv.log)
    return out, log, summary, srv.base


def warc_records(out: Path) -> list:
    recs = []
    for f in sorted((out / "warc").glob("*.warc.gz")):
        with open(f, "rb") as fh:
            for r in ArchiveIterator(fh):
                body = r.content_stream().read()
                recs.append((r.rec_type, r.rec_headers, r.http_headers, body))
    return recs


def crawl_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "crawl.log.jsonl").read_text().splitlines()]


def outcome(out: Path, path: str) -> list[str]:
    return [r["outcome"] for r in crawl_log(out) if r["url"].endswith(path)]


def test_robots_obeyed_and_user_agent(crawled):
    out, log, _, _ = crawled
    paths = [r["path"] for r in log]
    assert paths[0] == "/robots.txt"
    assert not [p for p in paths if p.startswith("/private/") or p == "/Memory-Usage.html"]
    assert all("thresher/" in r["ua"] and CONTACT in r["ua"] for r in log)
    disallowed = {r["url"].split("/", 3)[3] for r in crawl_log(out) if r["outcome"] == "robots_disallowed"}
    # linked, listed in the sitemap, and reached through a redirect: all refused before any request
    assert {"private/secret.html", "private/hidden.html", "Memory-Usage.html"} <= disallowed
    assert outcome(out, "/to-private") == ["redirect_robots_disallowed"]


def test_delays_honoured_one_connection(crawled):
    _, log, _, _ = crawled
    log = sorted(log, key=lambda r: r["start"])
    starts = [r["start"] for r in log]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= CRAWL_DELAY - 0.005, min(gaps)
    # end of one response to the start of the next (responses the crawler aborted end late on the server)
    aborted = {"/huge.html", "/huge-stream.html", "/too-slow.html"}
    idle = [b["start"] - a["end"] for a, b in zip(log, log[1:]) if a["path"] not in aborted]
    assert min(idle) >= CRAWL_DELAY - 0.02, min(idle)
    # one connection at a time: a connection's requests all end before the next connection's first starts
    conns: dict[int, list] = {}
    for r in log:
        if r["path"] not in aborted:
            span = conns.setdefault(r["port"], [r["start"], r["end"]])
            span[1] = max(span[1], r["end"])
    spans = sorted(conns.values())
    assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:]))
    assert len(spans) < len(log) / 3         # keep-alive: connections are reused


def test_retries_back_off_and_limits(crawled):
    out, log, _, _ = crawled
    hits = Counter(r["path"] for r in log)
    err = [r for r in sorted(log, key=lambda r: r["start"]) if r["path"] == "/error.html"]
    assert len(err) == 3 and outcome(out, "/error.html") == ["retry:500", "retry:500", "http_500"]
    assert err[1]["start"] - err[0]["end"] >= CRAWL_DELAY - 0.01     # back-off, never under the delay
    assert hits["/flaky.html"] == 2 and outcome(out, "/flaky.html")[-1] == "stored"
    assert hits["/too-slow.html"] == 3 and outcome(out, "/too-slow.html")[-1] == "timeout"
    assert outcome(out, "/slow.html") == ["stored"]
    assert outcome(out, "/huge.html") == ["too_large"] and outcome(out, "/huge-stream.html") == ["too_large"]
    assert outcome(out, "/manual.pdf") == ["content_type"]
    assert "/elsewhere" not in hits and not outcome(out, "/elsewhere")


def test_redirects_bounded_and_loops_detected(crawled):
    out, log, _, _ = crawled
    hits = Counter(r["path"] for r in log)
    assert hits["/loop-a"] == 1 and hits["/loop-b"] == 1
    assert outcome(out, "/loop-b") == ["redirect_loop"]
    chain = sorted(int(p.rsplit("/", 1)[1]) for p in hits if p.startswith("/chain/"))
    assert chain == [0, 1, 2, 3, 4, 5]                                # max_redirects=5 hops followed
    assert outcome(out, "/chain/5") == ["too_many_redirects"]
    assert outcome(out, "/moved") == ["redirect"] and outcome(out, "/moved-target.html") == ["stored"]


def test_sitemap_followed(crawled):
    _, log, _, _ = crawled
    paths = [r["path"] for r in log]
    assert "/sitemap.xml" in paths and "/sitemap-only.html" in paths     # linked from nowhere else


def test_warc_validates_with_warcio(crawled):
    out, _, _, _ = crawled
    from warcio.checker import Checker

    class Cmd:
        inputs = [str(f) for f in sorted((out / "warc").glob("*.warc.gz"))]
        verbose = False
    assert Cmd.inputs and Checker(Cmd).process_all() == 0
    assert not list((out / "warc").glob("*.open"))
    recs = warc_records(out)
    assert recs[0][0] == "warcinfo"
    ids = {h.get_header("WARC-Record-ID"): t for t, h, _, _ in recs}
    kinds = Counter(t for t, _, _, _ in recs)
    assert kinds["request"] == kinds["response"] > 30
    for t, h, _, _ in recs:
        if t in ("request", "metadata") and h.get_header("WARC-Concurrent-To"):
            assert ids[h.get_header("WARC-Concurrent-To")] == "response"
        if t == "response":
            assert h.get_header("WARC-IP-Address") == "127.0.0.1"
    # every response has its request and its metadata record
    per_resp = Counter(h.get_header("WARC-Concurrent-To") for t, h, _, _ in recs if t != "response")
    assert all(per_resp[i] == 2 for i, t in ids.items() if t == "response")


def _release(out: Path, tmp: Path, steps: str = "[]") -> Path:
    yaml = tmp / "p.yaml"
    yaml.write_text(f"name: crawl\ninput: {{path: '{out}/warc/*.warc.gz', format: warc}}\nsteps: {steps}\n"
                    f"output: {{path: '{tmp}/rel'}}\n")
    return run_pipeline(load_config(yaml), workers=1, overwrite=True)


def _docs(rel: Path, kind: str = "data") -> dict[str, dict]:
    rows = pq.read_table(rel / kind).to_pylist() if (rel / kind).exists() and list((rel / kind).glob("*.parquet")) else []
    out = {}
    for r in rows:
        src = json.loads(r["source"])
        out[src["uri"].split("/", 3)[3]] = {"text": r["text"], "source": src, "meta": json.loads(r["meta"]),
                                           "reason": r.get("reason")}
    return out


@pytest.fixture(scope="module")
def release(crawled, tmp_path_factory):
    out = crawled[0]
    return _release(out, tmp_path_factory.mktemp("rel"), "[{register: {}}]")


def test_reads_back_through_format_warc(crawled, release):
    out, log, _, _ = crawled
    docs = _docs(release)
    served = site_pages()
    ok_html = {r["path"].lstrip("/") for r in log if r["status"] == 200 and r["path"] in served}
    ok_html.add("flaky.html")
    assert set(docs) == ok_html
    for name, d in docs.items():
        if "/" + name in served:
            assert d["text"] == served["/" + name].decode()          # the page as served
    assert set(LIBFFI) - {"/Memory-Usage.html"} <= {"/" + n for n in docs}


def _sig(s: dict) -> tuple:
    return (s["signal"], s["value"], s["via"]) + ((s["agent"],) if s["signal"] == "robots" else ())


def test_signals_on_the_right_documents(release):
    docs = _docs(release)
    expected_extra = {
        "Complex.html": {("noai", True, "header"), ("noimageai", True, "header")},
        "Multiple-ABIs.html": {("noai", True, "meta"), ("noimageai", True, "meta")},
        "Structures.html": {("tdm_reservation", 1, "header")},
        "Thread-Safety.html": {("ai_txt", "disallow", "ai.txt")},
        "Closure-Example.html": {("robots", "disallow", "robots.txt", "CCBot")},
        "Simple-Example.html": {("license", "https://creativecommons.org/licenses/by-sa/4.0/", "link")},
        "Type-Example.html": {("cc_mark", "CC-BY-4.0", "link")},
    }
    for name, d in docs.items():
        rights = d["source"]["rights"]
        got = {_sig(s) for s in rights["signals"]}
        tdm = ("tdm_reservation", 1, "tdmrep.json") if name == "Types.html" else ("tdm_reservation", 0, "tdmrep.json")
        want = {("robots", "disallow", "robots.txt", "GPTBot"), tdm} | expected_extra.get(name, set())
        assert got == want, name
        assert all(s["seen"] for s in rights["signals"]) and rights["seen"].startswith("20")
        assert rights["site"]["robots_ai_agents"] == {"GPTBot": "disallow_all", "CCBot": "partial"}
    lic = [s for s in docs["Simple-Example.html"]["source"]["rights"]["signals"] if s["signal"] == "license"]
    assert lic[0]["cc"] == "CC-BY-SA-4.0"
    types = [s for s in docs["Types.html"]["source"]["rights"]["signals"] if s["signal"] == "tdm_reservation"]
    assert types[0]["policy"].endswith("/tdm-policy.json")


def test_terms_found_and_recorded(crawled, release):
    out, log, _, _ = crawled
    sites = json.loads((out / "sites.json").read_text())
    (site,) = sites.values()
    terms = site["terms"]["terms"]
    assert terms["url"].endswith("/terms.html")
    assert set(terms["findings"]) == {"automated_access_prohibited", "tdm_reserved", "all_rights_reserved",
                                      "commercial_use_prohibited", "permissive_license"}
    assert "Article 4" in terms["findings"]["tdm_reserved"] and terms["licenses"] == ["MIT License"]
    pages = [r["path"] for r in sorted(log, key=lambda r: r["start"]) if r["path"].endswith(".html")]
    assert pages.index("/terms.html") == 1           # found on the seed, fetched before anything else
    docs = _docs(release)
    later = [d for n, d in docs.items() if "terms" in d["source"]["rights"]["site"]]
    assert len(later) >= len(docs) - 2               # pages fetched after it carry the site's terms


def test_register_from_page_metadata(release):
    docs = _docs(release)
    labels = {n: d["meta"]["register"]["label"] for n, d in docs.items()}
    for name in LIBFFI:
        if name.lstrip("/") in labels:
            assert labels[name.lstrip("/")] == "documentation", name
    assert labels["terms.html"] == "legal"
    assert labels["sitemap-only.html"] == "qa"
    assert labels["moved-target.html"] == "product"
    assert labels["slow.html"] == "forum"
    ev = docs["sitemap-only.html"]["meta"]["register"]["evidence"]
    assert "schema:QAPage->qa" in ev and "generator:makeinfo->documentation" in docs["Types.html"]["meta"]["register"]["evidence"]


def test_rights_filter_policy(crawled, tmp_path):
    out = crawled[0]
    rel = _release(out, tmp_path, "[{rights_filter: {honour: [noai, tdm_reservation, ai_txt], agents: []}}]")
    kept, dropped = _docs(rel), _docs(rel, "excluded")
    assert {n: d["reason"] for n, d in dropped.items()} == {
        "Complex.html": "noai:header", "Multiple-ABIs.html": "noai:meta", "Structures.html": "tdm_reservation:header",
        "Types.html": "tdm_reservation:tdmrep.json", "Thread-Safety.html": "ai_txt"}
    assert "index.html" in kept
    rel = _release(out, tmp_path, "[{rights_filter: {}}]")          # default: robots.txt for AI agents counts
    assert not _docs(rel) and {d["reason"] for d in _docs(rel, "excluded").values()} == {"robots:GPTBot"}
    rel = _release(out, tmp_path, "[{rights_filter: {honour: [terms_tdm]}}]")
    assert {d["reason"] for d in _docs(rel, "excluded").values()} == {f"terms_tdm:{crawled[3]}/terms.html"}
    rel = _release(out, tmp_path, "[{rights_filter: {honour: [], licenses: [CC-BY-SA-4.0, CC-BY-4.0]}}]")
    assert set(_docs(rel)) == {"Simple-Example.html", "Type-Example.html"}


def test_resume_after_kill_never_refetches(tmp_path):
    out = tmp_path / "crawl"
    with SiteServer(crawl_delay=0.05) as srv:
        code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
                "from test_crawl import config; from thresher.crawl import crawl; from pathlib import Path\n"
                f"crawl([{srv.base + '/index.html'!r}], Path({str(out)!r}), config(delay=0.05))\n")
        proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": "src"})
        deadline = time.monotonic() + 60
        while sum(p.endswith(".html") for p in srv.fetched()) < 15 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = len(srv.log)
        assert list((out / "warc").glob("*.warc.gz.open"))        # killed mid-file
        # what the killed crawl had stored: complete response groups in its WARC files (open or closed)
        stored = set()
        for f in (out / "warc").glob("*.warc.gz*"):
            stored |= {uri for _, kind, uri, _ in _groups(f) if kind == "response"}
        stored = {u.split("/", 3)[3] for u in stored}
        assert len(stored) >= 8
        summary = crawl([srv.base + "/index.html"], out, config(delay=0.05))
        again = Counter(r["path"].lstrip("/") for r in srv.log[first:])
    refetched = {p for p in again if p in stored and p not in ("robots.txt", "ai.txt")}
    assert not refetched
    assert not [p for p in again if p in ("robots.txt", "ai.txt", ".well-known/tdmrep.json", "sitemap.xml")]
    assert summary["frontier"].get("queued", 0) == 0
    # the resumed WARC holds each page once, the interrupted group cut off cleanly
    finals = Counter()
    for t, h, _, body in warc_records(out):
        if t == "metadata" and json.loads(body).get("final"):
            finals[h.get_header("WARC-Target-URI")] += 1
    assert finals and max(finals.values()) == 1
    assert any(u.endswith("/Types.html") for u in finals) and any(u.endswith("/terms.html") for u in finals)


def test_seed_file_and_contact_errors(tmp_path):
    f = tmp_path / "seeds.txt"
    f.write_text("# sites\nexample.org\nhttps://Example.COM:443/a#x\n\n")
    assert read_seeds(f) == ["https://example.org/", "https://example.com/a"]
    f.write_text("ftp://example.org/\n")
    with pytest.raises(InputError, match="seeds.txt:1: not an http"):
        read_seeds(f)
    with pytest.raises(InputError, match="--contact"):
        crawl(["http://127.0.0.1:9/"], tmp_path / "c", CrawlConfig(contact=""))
    r = subprocess.run([sys.executable, "-c", "from thresher.cli import main; main()", "crawl", str(f), "-o", str(tmp_path / "c"),
                        "--contact", CONTACT], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": "src"})
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [f"Error: {f}:1: not an http(s) URL: 'ftp://example.org/'"]


def test_card_lists_sites_terms_and_register_mix(release):
    from thresher.card import write_card

    write_card(release)
    card = (release / "card" / "README.md").read_text()
    docs = _docs(release)
    mix = Counter(d["meta"]["register"]["label"] for d in docs.values())
    header = next(line for line in card.splitlines() if line.startswith("| language | documents | documentation"))
    labels = [c.strip() for c in header.strip().strip("|").split("|")][2:]
    row = next(line for line in card.splitlines() if line.startswith("| unknown | "))
    assert [int(c) for c in row.strip().strip("|").split("|")[1:]] == [len(docs)] + [mix[k] for k in labels]
    site = next(line for line in card.splitlines() if line.startswith("| 127.0.0.1 |") and "robots:" in line)
    assert "GPTBot (disallow all)" in site and "CCBot (partial)" in site and "terms: http://127.0.0.1:" in site
    assert "tdm_reserved" in site and "automated_access_prohibited" in site and "noai (meta)=1" in site
    assert f"| {len(docs)} ({len(docs)}) |" in site


def test_rights_survive_shard_boundaries(crawled, release, tmp_path):
    """A WARC cut into many ranges (one cut can fall between a response and its metadata record)
    reads back to the same documents, each with its rights record."""
    out = crawled[0]
    yaml = tmp_path / "p.yaml"
    yaml.write_text(f"name: c\ninput: {{path: '{out}/warc/*.warc.gz', format: warc, shard_mb: 0.01}}\nsteps: []\n"
                    f"output: {{path: '{tmp_path}/rel'}}\n")
    rel = run_pipeline(load_config(yaml), workers=1, overwrite=True)
    whole, cut = _docs(release), _docs(rel)
    assert len(list((rel / "data").glob("*.parquet"))) > 5
    assert set(cut) == set(whole)
    assert all(cut[n]["source"]["rights"] == whole[n]["source"]["rights"] for n in whole)

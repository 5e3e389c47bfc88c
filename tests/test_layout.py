"""A release ordered by source (``output.order: source``): every data and excluded shard holds one
key range, the release holds the same documents as one cut by input, dedup decides the same
clusters, and ``forget`` by URL or domain reads and rewrites only the shards of that range."""
from __future__ import annotations

import json
import os
import random
from importlib.resources import files
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from thresher import Release, run
from thresher.config import PipelineConfig
from thresher.document import Document
from thresher.governance import Ledger, forget, verify
from thresher.governance.apply import SaltedHasher, find_hits, release_files
from thresher.layout import key_prefixes, may_hold, order_keys, overlaps, surt
from thresher.merkle import MerkleTree

SAMPLES = Path(str(files("thresher") / "samples"))
GOV = Path(__file__).parent / "fixtures" / "governance"
DEDUP = Path(__file__).parent / "fixtures" / "dedup"


def web_pipeline(out: Path, order: str, name: str = "corpus") -> PipelineConfig:
    # the bundled crawls (iana.org + a multilingual crawl) and the Clough-Stevenson answers (no URL),
    # cut into several shards
    return PipelineConfig(name=name, input=[{"path": f"{SAMPLES}/web/*.warc.gz", "format": "warc"},
                                            {"path": str(GOV / "clough_stevenson.jsonl"), "format": "jsonl",
                                             "shard_mb": 0.03}],
                          steps=[{"extract_html": {"extractor": "resiliparse"}}, {"length_filter": {"min_chars": 200}}],
                          output={"path": str(out), "order": order})


def rows(release: Path, kind: str) -> dict[str, list[dict]]:
    return {f.name: pq.read_table(f).to_pylist() for f in Release(release).files(kind)}


def keys_of(rs: list[dict]) -> list[str]:
    return order_keys([Document(r["id"], r["text"], orjson.loads(r["source"]), {}) for r in rs])


def test_surt_keys_keep_hosts_and_folders_together():
    assert surt("https://www.Example.org:8080/a/b?q=1#frag") == "org,example,www:8080)/a/b?q=1"
    assert surt("http://example.org") == "org,example)/"
    assert surt("file:///usr/share/doc/x.gz") == ")/usr/share/doc/x.gz"
    docs = [Document("a", "", {"url": "https://docs.python.org/3/library/os.html"}, {}),
            Document("b", "", {"repo": "https://github.com/Owner/Name.git", "path": "src/x.py"}, {}),
            Document("c", "", {}, {})]
    assert order_keys(docs) == ["u org,python,docs)/3/library/os.html", "r owner/name/src/x.py", "i c"]
    # every document a domain / prefix request matches has a key starting with the request's prefix
    for host in ("sub.docs.python.org", "docs.python.org"):
        k = order_keys([Document("x", "", {"url": f"https://{host}/3/x"}, {})])[0]
        assert k.startswith(key_prefixes("domain", "python.org")[0])
        assert k.startswith(key_prefixes("url_prefix", f"https://{host}/3/")[0])
    assert key_prefixes("email", "salted-sha256:00") is None and key_prefixes("text", "some words") is None


def test_fast_surt_equals_the_one_from_norm_url(both):
    """The regex split of plain URLs gives the key norm_url's urlsplit gives (on the bundled crawls'
    URLs and on edge cases), so a request's key prefix and its documents' keys agree."""
    from thresher.layout import _surt_parsed

    _, by_input, _ = both
    urls = [orjson.loads(r["source"]).get("uri") or orjson.loads(r["source"]).get("url")
            for rs in rows(by_input, "data").values() for r in rs]
    urls = [u for u in urls if u]
    assert len(urls) > 20
    edge = ["https://www.Example.org:8080/a/b?q=1#frag", "http://example.org", "http://example.org:80/x",
            "https://a.b.:443?x", "HTTP://A.B/C?", "http://a#f", "file:///usr/share/x.gz", "http://a:0/x",
            "http://a:99999/x", "http://user@a/x", "http://[::1]/x", "http://a/%7Euser", "http://a/ b",
            "ftp://h/p?q#r", "http://a:008080/", "https://x.org/p?a=1?b#c#d", "http://a..b/x", "http://a:/x",
            "https://bücher.de/ä", "mailto:x@y.org", "//no-scheme/x", "http:///x"]
    for u in urls + edge:
        assert surt(u) == _surt_parsed(u), u


def test_every_document_a_url_request_matches_has_the_request_key_prefix(both):
    """What lets forget skip shards: if the matcher removes a document for a domain, URL prefix or
    URL request, the document's key starts with the request's key prefix (also where norm_url
    fails or finds no scheme, the host comes from the matcher's own url_host)."""
    from thresher.governance.ledger import Request
    from thresher.governance.matchers import Compiled, doc_url, normalize_value, url_host

    _, by_input, _ = both
    sources = [orjson.loads(r["source"]) for rs in rows(by_input, "data").values() for r in rs]
    sources += [{"url": u} for u in ("//cdn.example.org/a.js", "http://example.org:99999/x", "http://example.org:8o80/x",
                                     "http://[::ffff:1.2.3.4]/x", " https://example.org/a/b", "https://EXAMPLE.ORG./x",
                                     "https://www.BÜCHER.de/x", "http://example.org/a b")]
    sources += [{"fields": {"url": "https://www.example.org/x"}}, {"link": "https://www.example.org/x", "repo": "a/b"}]
    checked = 0
    for src in sources:
        url = doc_url(src)
        if not url:
            continue
        key = order_keys([Document("d", "", src, {})])[0]
        host = url_host(url)
        labels = host.split(".")
        values = [("domain", ".".join(labels[k:])) for k in range(len(labels) - 1)]
        values += [("url_prefix", url.strip()[:k]) for k in range(12, len(url.strip()), 7)] + [("url", url)]
        for matcher, value in values:
            try:
                v = normalize_value(matcher, value)
            except Exception:
                continue
            r = Request("R", matcher, v, False, "*", "", "")
            if Compiled([r], lambda x: x).match("", orjson.dumps(src).decode()):
                prefixes = key_prefixes(matcher, v)
                assert prefixes is None or any(key.startswith(p) for p in prefixes), (matcher, v, key)
                checked += 1
    assert checked > 150


def test_a_global_step_called_from_python_reads_its_decisions_by_row():
    from thresher.steps.base import GlobalStep

    seen = []

    class Rows(GlobalStep):
        name = "rows"

        def decide_rows(self, start, ids, ctx):
            seen.append(start)
            return {}
    docs = [Document(str(k), "x", {}, {}) for k in range(25)]
    assert len(list(Rows()(docs, batch_size=10))) == 25 and seen == [0, 10, 20]


def test_key_range_test_never_skips_a_matching_range():
    rng = random.Random(3)
    words = ["a", "ab", "abc", "b", "ba", "u )/x", "u )/x/", "u org,ex", "u org,ex,www)/", "u org,exa)/"]
    keys = sorted({"".join(rng.choice(words) for _ in range(rng.randint(1, 3))) for _ in range(400)})
    for _ in range(300):
        lo, hi = sorted(rng.sample(keys, 2))
        inside = [k for k in keys if lo <= k < hi]
        for p in words + [rng.choice(keys)[:rng.randint(1, 6)]]:
            if any(k.startswith(p) for k in inside):
                assert overlaps([p], lo, hi), (p, lo, hi)
        assert overlaps(["zz"], lo, None) is (lo <= "zz" or lo.startswith("zz"))


def test_merkle_tree_reusing_a_parent_equals_a_fresh_tree():
    rng = random.Random(5)
    for _ in range(200):
        n = rng.randint(0, 200)
        leaves = [os.urandom(32) for _ in range(n)]
        gone = set(rng.sample(range(n), rng.randint(0, min(n, 6))))
        kept = [x for k, x in enumerate(leaves) if k not in gone]
        t = MerkleTree(kept, like=MerkleTree(leaves), same=min(gone) if gone else n)
        assert t.levels == MerkleTree(kept).levels


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layout")
    by_input = run(web_pipeline(tmp / "input" / "corpus", "input"), workers=2)
    by_source = run(web_pipeline(tmp / "source" / "corpus", "source"), workers=2)
    return tmp, by_input, by_source


def test_source_order_holds_the_same_release_in_key_ranges(both):
    _, by_input, by_source = both
    a, b = Release(by_input).manifest, Release(by_source).manifest
    # the same documents (the Merkle root is over sorted (id, content hash): layout-free) and the same drops
    assert a["merkle"]["root"] == b["merkle"]["root"] and a["documents"] == b["documents"]
    ex_a = sorted(r["id"] for rs in rows(by_input, "excluded").values() for r in rs)
    ex_b = sorted(r["id"] for rs in rows(by_source, "excluded").values() for r in rs)
    assert ex_a == ex_b and len(ex_b) > 0
    assert "layout" not in a and b["layout"]["order"] == "source"
    bounds = b["layout"]["boundaries"]
    n = sum(1 for k in b["outputs"] if k.startswith("data/"))
    assert n >= 4 and len(bounds) == n - 1 and bounds == sorted(bounds)
    # every data and excluded shard holds only keys of its range, and the shards are about even
    for kind in ("data", "excluded"):
        for name, rs in rows(by_source, kind).items():
            j = int(name.split("-")[1].split(".")[0])
            lo, hi = bounds[j - 1] if j else "", bounds[j] if j < len(bounds) else None
            assert all(lo <= k and (hi is None or k < hi) for k in keys_of(rs)), name
    sizes = [len(rs) for rs in rows(by_source, "data").values()]
    assert max(sizes) < 3 * (sum(sizes) / len(sizes))
    assert Release(by_source).stats.steps["length_filter"].drops == Release(by_input).stats.steps["length_filter"].drops
    assert verify(by_source)["documents"] == b["documents"]
    assert not (by_source / ".thresher" / "stage-0").exists()        # stage files are gone once final


def test_forget_by_domain_reads_and_rewrites_only_its_range(both):
    tmp, by_input, by_source = both
    project = by_source.parent
    ledger = Ledger(project)
    rid = ledger.add("domain", "iana.org")
    ledger.approve(rid, by="steward")
    req = [r for r in ledger.requests() if r.id == rid]
    layout = Release(by_source).manifest["layout"]
    every = release_files(by_source)
    scanned = may_hold(every, req, layout)
    assert 0 < len(scanned) < len(every)
    hasher = SaltedHasher(ledger.salt)
    assert find_hits(by_source, req, hasher, layout=layout) == find_hits(by_source, req, hasher)
    res = forget(project, workers=2)
    v2 = res["versions"][0]
    m1, m2 = Release(by_source).manifest, Release(v2).manifest
    changed = {k for k, v in m2["outputs"].items() if k in m1["outputs"] and v["sha256"] != m1["outputs"][k]["sha256"]}
    assert changed and changed <= set(scanned)
    iana = {name for name, rs in rows(by_source, "data").items()
            if any(k.startswith("u org,iana") for k in keys_of(rs))}
    assert {k for k in changed if k.startswith("data/")} == {f"data/{n}" for n in iana}
    assert m2["layout"] == m1["layout"]
    assert verify(v2, res["receipts"][0])["documents"] == m2["documents"] < m1["documents"]
    # the same request on the release cut by input removes the very same documents
    led_in = Ledger(by_input.parent)
    led_in.approve(led_in.add("domain", "iana.org"), by="steward")
    v2_in = forget(by_input.parent, workers=1)["versions"][0]
    assert Release(v2_in).manifest["merkle"]["root"] == m2["merkle"]["root"]


def udhr(out: Path, steps: list, order: str) -> PipelineConfig:
    return PipelineConfig(name="dedup", input={"path": str(DEDUP / "udhr-*.jsonl.gz"), "format": "jsonl"},
                          steps=steps, output={"path": str(out), "order": order})


def clusters(release: Path, label: str) -> list[list[str]]:
    out: dict[str, list[str]] = {}
    for r in pq.ParquetDataset(release / "clusters" / label).read().to_pylist():
        out.setdefault(r["cluster_id"], []).append(r["id"])
    return sorted(sorted(c) for c in out.values())


def test_dedup_on_source_order_finds_the_golden_clusters(tmp_path):
    """The last stage reads key ranges of every earlier file: decisions still reach the right rows
    (the Arrow row path, and the Document path where another step shares the last stage)."""
    golden = json.loads((DEDUP / "golden_udhr.json").read_text())
    for steps in (["exact_dedup", "minhash_dedup"], ["exact_dedup", "minhash_dedup", {"length_filter": {"min_chars": 1}}]):
        out = run(udhr(tmp_path / str(len(steps)), steps, "source"), workers=2)
        for label in ("exact_dedup", "minhash_dedup"):
            assert clusters(out, label) == sorted(sorted(c) for c in golden[label]), label
        st = Release(out).stats.steps
        assert st["exact_dedup"].drops["exact_duplicate"] == sum(len(c) - 1 for c in golden["exact_dedup"])
        assert st["minhash_dedup"].drops["near_duplicate"] == sum(len(c) - 1 for c in golden["minhash_dedup"])
        data = [r for rs in rows(out, "data").values() for r in rs]
        dropped = [r for rs in rows(out, "excluded").values() for r in rs]
        kept = {r["id"] for r in data}
        assert len(kept) == len(data) == Release(out).manifest["documents"]
        assert all(orjson.loads(r["meta"])["duplicate_of"] in kept | {d["id"] for d in dropped} for r in dropped)
    one = Release(run(udhr(tmp_path / "w1", ["exact_dedup", "minhash_dedup"], "source"), workers=1)).manifest
    two = Release(out.parent / "2").manifest
    assert one["outputs"] == two["outputs"] and one["merkle"] == two["merkle"]


def test_a_crash_in_the_last_stage_resumes_with_the_same_ranges(tmp_path, monkeypatch):
    from thresher import runner

    clean = Release(run(web_pipeline(tmp_path / "clean" / "corpus", "source"), workers=1)).manifest
    real = runner._cut_excluded

    def crash(out, stage, layout, j, opts):
        if j == 2:
            raise RuntimeError("simulated crash")
        return real(out, stage, layout, j, opts)
    monkeypatch.setattr(runner, "_cut_excluded", crash)
    cfg = web_pipeline(tmp_path / "crash" / "corpus", "source")
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(cfg, workers=1)
    out = cfg.output_dir()
    assert (out / ".thresher" / "layout.json").exists()
    assert not runner.marker_path(out, 1, 2).exists() and runner.marker_path(out, 1, 1).exists()
    monkeypatch.setattr(runner, "_cut_excluded", real)
    resumed = Release(run(cfg, workers=1)).manifest
    assert resumed["outputs"] == clean["outputs"] and resumed["merkle"] == clean["merkle"]


def test_a_release_that_keeps_nothing_still_cuts_its_drops(tmp_path):
    cfg = web_pipeline(tmp_path / "corpus", "source")
    cfg.steps[1] = {"length_filter": {"min_chars": 10_000_000}}
    m = Release(run(cfg, workers=2)).manifest
    assert m["documents"] == 0 and m["excluded_documents"] > 0
    assert m["layout"]["boundaries"] == [""] * (sum(1 for k in m["outputs"] if k.startswith("data/")) - 1)

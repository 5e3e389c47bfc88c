"""URL block lists on real crawl URLs (the bundled WARC samples): domain with subdomains, TLD,
substring, lists from files, documents without a URL."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import thresher
from thresher.document import Document
from thresher.errors import ConfigError
from thresher.io import ShardSpec, read_shard
from thresher.steps.base import Drop, StepContext
from thresher.steps.urls import UrlFilter, url_host

SAMPLES = Path(thresher.__file__).parent / "samples" / "web"


@pytest.fixture(scope="module")
def crawl() -> list[Document]:
    docs: list[Document] = []
    for f in sorted(SAMPLES.glob("*.warc.gz")):
        spec = ShardSpec(index=0, format="warc", files=(str(f),), root=str(SAMPLES))
        docs += list(read_shard(spec, Counter()))
    assert len(docs) > 20
    return docs


def verdicts(step: UrlFilter, docs: list[Document]) -> dict[str, str]:
    out = {}
    for d in docs:
        v = step.decide(d)
        out[d.source["uri"]] = v.reason if isinstance(v, Drop) else "keep"
    return out


def test_url_host():
    assert url_host("http://User@WWW.Example.COM.:8080/a?b") == "www.example.com"
    assert url_host("example.org/path") == "example.org"
    assert url_host("http://[::1") is None


def test_domain_blocks_subdomains_only(crawl):
    hosts = Counter(url_host(d.source["uri"]) for d in crawl)
    host = next(h for h, _ in hosts.most_common() if h and h.count(".") >= 2)   # e.g. www.<domain>
    parent = host.split(".", 1)[1]
    v = verdicts(UrlFilter(domains=[parent]), crawl)
    for uri, verdict in v.items():
        h = url_host(uri)
        blocked = h == parent or h.endswith("." + parent)
        assert (verdict == f"domain:{parent}") == blocked, uri
    assert list(v.values()).count(f"domain:{parent}") >= hosts[host]
    # a longer name that merely ends with the same letters is not a subdomain
    assert UrlFilter(domains=["ana.org"]).decide(Document("x", "t", {"uri": "http://www.iana.org/"})) is True


def test_tld_and_substring_and_files(crawl, tmp_path):
    tlds = Counter(url_host(d.source["uri"]).rsplit(".", 1)[-1] for d in crawl)
    tld = tlds.most_common(1)[0][0]
    (tmp_path / "tlds.txt").write_text(f"# blocked top-level domains\n.{tld.upper()}\n")
    (tmp_path / "subs.txt").write_text("/_js/\n")
    step = UrlFilter(tlds_file=str(tmp_path / "tlds.txt"), substrings_file=str(tmp_path / "subs.txt"))
    v = verdicts(step, crawl)
    assert sum(r == f"tld:{tld}" for r in v.values()) == sum(1 for d in crawl
                                                             if url_host(d.source["uri"]).endswith("." + tld))
    for uri, r in v.items():
        if "/_js/" in uri.lower() and not url_host(uri).endswith("." + tld):
            assert r == "substring:/_js/"


def test_missing_url_and_empty_config(tmp_path):
    doc = Document("x", "text", {}, {})
    assert UrlFilter(domains=["a.com"]).decide(doc) is True
    assert UrlFilter(domains=["a.com"], drop_missing_url=True).decide(doc) == Drop("no_url")
    doc = Document("y", "text", {"url": "https://shop.a.com/x"}, {})   # JSONL documents carry "url"
    ctx = StepContext()
    assert UrlFilter(domains=["a.com"]).process([doc], ctx) == [] and ctx.dropped[0].drop.reason == "domain:a.com"
    with pytest.raises(ConfigError):
        UrlFilter()
    with pytest.raises(ConfigError):
        UrlFilter(domains_file=str(tmp_path / "missing.txt"))


def test_block_list_file_resolves_against_the_yaml_folder(tmp_path):
    """`domains_file: blocked.txt` in a pipeline means the file next to the YAML, wherever thresher runs."""
    from thresher.config import load_config
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "blocked.txt").write_text("iana.org\n")
    (tmp_path / "p.yaml").write_text("name: u\ninput: {path: x.jsonl, format: jsonl}\n"
                                     "steps:\n  - url_filter: {domains_file: lists/blocked.txt}\noutput: {path: out}\n")
    step = load_config(tmp_path / "p.yaml").build_steps()[0]
    assert step.domains == {"iana.org"}

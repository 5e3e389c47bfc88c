"""The crawler's parts on their own: rights parsing, terms links and findings in several languages,
register rules, sitemaps, the frontier's order, and WARC recovery after a torn write."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

from warcio.warcwriter import WARCWriter

from thresher.crawl.fetch import Exchange
from thresher.crawl.frontier import Frontier
from thresher.crawl.page import normalize_url, parse_page
from thresher.crawl.register import classify
from thresher.crawl.rights import SiteRules, cc_id, document_signals
from thresher.crawl.sitemaps import parse_sitemap
from thresher.crawl.terms import analyse_terms, terms_links
from thresher.crawl.warcfile import WarcOut, recover, stored_metadata

FIX = Path(__file__).parent / "fixtures" / "crawl"
SEEN = "2026-01-01T00:00:00Z"


def test_normalize_url():
    assert normalize_url("../b.html#x", "http://Ex.ORG:80/a/c.html") == "http://ex.org/b.html"
    assert normalize_url("HTTPS://ex.org:443") == "https://ex.org/"
    assert normalize_url("https://ex.org:8443/p?q=1") == "https://ex.org:8443/p?q=1"
    assert normalize_url("mailto:a@b.c") is None and normalize_url("javascript:void(0)", "http://e.org/") is None


def test_cc_ids():
    assert cc_id("https://creativecommons.org/licenses/by-nc-sa/3.0/de/") == "CC-BY-NC-SA-3.0"
    assert cc_id("http://creativecommons.org/publicdomain/zero/1.0/") == "CC0-1.0"
    assert cc_id("https://creativecommons.org/publicdomain/mark/1.0/") == "PDM-1.0"
    assert cc_id("https://example.org/license") is None


def test_site_rules_robots_ai_txt_tdmrep():
    robots = "User-agent: *\nAllow: /\n\nUser-agent: CCBot\nUser-agent: GPTBot\nDisallow: /\n\nUser-agent: ClaudeBot\nDisallow: /news/\n"
    tdm = '[{"location": "/news/*", "tdm-reservation": 1, "tdm-policy": "https://e.org/p.json"}, {"location": "/*", "tdm-reservation": 0}]'
    r = SiteRules(robots, "User-Agent: *\nDisallow: *.jpg\nDisallow: /art/\n", tdm, SEEN)
    assert r.summary()["robots_ai_agents"] == {"GPTBot": "disallow_all", "CCBot": "disallow_all", "ClaudeBot": "partial"}
    sig = {(s["signal"], s.get("agent"), s["value"]) for s in r.document_signals("https://e.org/news/a.html")}
    assert sig == {("robots", "GPTBot", "disallow"), ("robots", "CCBot", "disallow"), ("robots", "ClaudeBot", "disallow"),
                   ("tdm_reservation", None, 1)}
    sig = {(s["signal"], s["value"]) for s in r.document_signals("https://e.org/art/x.jpg")}
    assert ("ai_txt", "disallow") in sig and ("tdm_reservation", 0) in sig
    assert r.allowed("https://e.org/news/a.html", "thresher")
    down = SiteRules(None, None, None, SEEN, robots_unreachable=True)     # RFC 9309: 5xx means disallow all
    assert not down.allowed("https://e.org/", "thresher")
    assert SiteRules(None, None, "{not json", SEEN).summary()["tdmrep_error"].startswith("invalid JSON")


def test_document_signals_headers_and_meta():
    html = ('<html><head><meta name="robots" content="index, NoAI"><meta name="GPTBot" content="noimageai">'
            '<meta name="tdm-reservation" content="1"><meta name="tdm-policy" content="https://e.org/tdm">'
            '<link rel="license" href="/licence.html"></head><body>'
            '<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY</a>'
            '<a href="https://creativecommons.org/publicdomain/zero/1.0/">CC0</a></body></html>')
    page = parse_page(html, "https://e.org/a/b.html")
    headers = [("X-Robots-Tag", "googlebot: noindex"), ("X-Robots-Tag", "otherbot: noai"),
               ("Link", '<https://e.org/L>; rel="license"')]
    got = {(s["signal"], str(s["value"]), s["via"], s.get("agent")) for s in document_signals(page, headers, SEEN)}
    assert got == {("noai", "True", "meta", None), ("noimageai", "True", "meta", "gptbot"),
                   ("noai", "True", "header", "otherbot"), ("tdm_reservation", "1", "meta", None),
                   ("license", "https://e.org/licence.html", "link", None),
                   ("license", "https://creativecommons.org/licenses/by/4.0/", "link", None),
                   ("license", "https://e.org/L", "header", None),
                   ("cc_mark", "CC0-1.0", "link", None)}


def test_terms_links_in_several_languages():
    links = [("https://e.org/impressum", "Impressum", ""), ("https://e.org/agb.html", "Nutzungsbedingungen", ""),
             ("https://e.org/about", "Über uns", ""), ("https://www.e.org/licence", "Licence", "license"),
             ("https://other.org/terms", "Terms of Service", "")]
    assert terms_links(links, "e.org") == {"legal_notice": ("https://e.org/impressum", 4),
                                           "terms": ("https://e.org/agb.html", 4),
                                           "license": ("https://www.e.org/licence", 7)}
    fr = [("https://e.fr/mentions-legales", "Mentions légales", ""), ("https://e.fr/cgu", "Conditions générales", "")]
    assert set(terms_links(fr, "e.fr")) == {"legal_notice", "terms"}
    ja = [("https://e.jp/kiyaku", "利用規約", ""), ("https://e.jp/c", "著作権について", "")]
    assert set(terms_links(ja, "e.jp")) == {"terms", "copyright"}
    es = [("https://e.es/aviso-legal", "Aviso legal", ""), ("https://e.es/terminos", "Términos y condiciones", "")]
    assert set(terms_links(es, "e.es")) == {"legal_notice", "terms"}


def test_analyse_terms_findings():
    text = (FIX / "extra" / "terms.html").read_text()
    from resiliparse.extract.html2text import extract_plain_text
    found = analyse_terms(extract_plain_text(text))
    assert set(found["findings"]) == {"automated_access_prohibited", "tdm_reserved", "all_rights_reserved",
                                      "commercial_use_prohibited", "permissive_license"}
    de = analyse_terms("Die Nutzung ist frei. Das automatisierte Auslesen durch Crawler ist untersagt. "
                       "Wir behalten uns die Nutzung für Text- und Data-Mining ausdrücklich vor, ein Vorbehalt nach § 44b UrhG. "
                       "Alle Rechte vorbehalten.")
    assert set(de["findings"]) == {"automated_access_prohibited", "tdm_reserved", "all_rights_reserved"}
    cc = analyse_terms("Content is available under CC BY-SA 4.0 unless otherwise noted.",
                       ["https://creativecommons.org/licenses/by-sa/4.0/"])
    assert cc["licenses"] == ["CC BY-SA 4.0", "CC-BY-SA-4.0"] and not cc["findings"].get("tdm_reserved")
    assert analyse_terms("We welcome links to our site. Have a nice day.")["findings"] == {}


REGISTER_GOLD = [
    ('<script type="application/ld+json">{"@graph": [{"@type": "NewsArticle"}]}</script>', "https://e.org/2024/05/17/big-storm-hits", "news"),
    ('<meta property="og:type" content="article"><article><time>1</time></article>', "https://e.org/blog/my-trip", "blog"),
    ('<div itemscope itemtype="https://schema.org/DiscussionForumPosting"></div>', "https://e.org/t/12", "forum"),
    ('<title>Datenschutzerklärung und Impressum</title>', "https://e.de/impressum", "legal"),
    ('<meta name="generator" content="Sphinx 7.2"><pre>x</pre><pre>y</pre>', "https://e.org/lib/os.html", "documentation"),
    ('<p>Hello</p>', "https://e.org/", "other"),
    ('<p>Hello</p>', "https://e.org/some/page", "other"),
    ('<div vocab="https://schema.org/" typeof="Product"></div>', "https://e.org/x", "product"),
]


def test_register_rules():
    for html, url, label in REGISTER_GOLD:
        got = classify(parse_page(f"<html><head></head><body>{html}</body></html>", url), url)
        assert got["label"] == label, (url, got)
        assert got["version"] == 1
    page = (FIX / "libffi" / "Closure-Example.html").read_text()
    r = classify(parse_page(page, "https://e.org/Closure-Example.html"))
    assert r["label"] == "documentation" and r["evidence"][0] == "generator:makeinfo->documentation"


def test_sitemaps():
    xml = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc> https://e.org/a </loc></url><url><loc>https://e.org/b</loc></url></urlset>'
    assert parse_sitemap(xml) == (["https://e.org/a", "https://e.org/b"], [])
    idx = b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>https://e.org/s1.xml.gz</loc></sitemap></sitemapindex>'
    assert parse_sitemap(gzip.compress(idx)) == ([], ["https://e.org/s1.xml.gz"])
    assert parse_sitemap(b"https://e.org/x\nnot a url\n") == (["https://e.org/x"], [])
    assert parse_sitemap(b"<urlset><url><loc>broken") == ([], [])


def test_frontier_breadth_first_terms_first(tmp_path):
    f = Frontier(tmp_path / "f.sqlite")
    f.add_site("e.org", "https://e.org/")
    f.add([("https://e.org/d2", "e.org", 2, 1, None), ("https://e.org/d1", "e.org", 1, 1, None)])
    f.add([("https://e.org/d1", "e.org", 3, 1, None)])                 # known: keeps its first depth
    assert f.next("e.org") == ("https://e.org/d1", 1, 1)
    f.add([("https://e.org/terms", "e.org", 3, 0, "terms")])
    assert f.next("e.org")[0] == "https://e.org/terms"
    f.finish("https://e.org/terms", "e.org", "done", "stored")
    f.close()
    f = Frontier(tmp_path / "f.sqlite")                                 # persists across runs
    assert f.state("https://e.org/terms") == "done" and f.next("e.org")[0] == "https://e.org/d1"
    assert f.seq == 4


def test_warc_recover_cuts_a_torn_group(tmp_path):
    w = WarcOut(tmp_path, "t", 1 << 30, {"software": "test"})
    for i in range(3):
        ex = Exchange(f"http://127.0.0.1/{i}", [("Host", "127.0.0.1")], SEEN, status=200, reason="OK",
                      headers=[("Content-Type", "text/html")], body=b"<html>%d</html>" % i)
        w.write(ex, {"url": ex.url, "final": True, "outcome": "stored"})
    open_file = Path(str(w.path) + ".open")
    whole = open_file.stat().st_size
    buf = io.BytesIO()
    WARCWriter(buf, gzip=True).write_record(WARCWriter(io.BytesIO()).create_warc_record(
        "http://127.0.0.1/torn", "resource", payload=io.BytesIO(b"x" * 5000), warc_content_type="text/html"))
    with open(open_file, "ab") as fh:                 # a crash half-way through the next group
        fh.write(buf.getvalue()[: len(buf.getvalue()) // 2])
    metas = recover(tmp_path)
    assert [m["url"] for m in metas] == [f"http://127.0.0.1/{i}" for i in range(3)]
    assert not open_file.exists() and w.path.stat().st_size == whole
    assert [m["url"] for m in stored_metadata(w.path)] == [m["url"] for m in metas]


def test_example_pipeline_validates():
    from thresher.config import load_config

    cfg = load_config(Path(__file__).parent.parent / "examples" / "crawl.yaml")
    assert [next(iter(s)) for s in cfg.model_dump()["steps"]][:2] == ["register", "rights_filter"]

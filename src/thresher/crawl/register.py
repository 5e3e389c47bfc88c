"""Register / genre of a web page from its own metadata and structure, with the evidence.

Evidence is scored per register and the best register wins when it has at least ``MIN_SCORE``; else
``other``. Strong evidence is what the page says about itself (schema.org types in JSON-LD,
microdata or RDFa; ``og:type``; the generator of documentation tools); weaker evidence is the URL's
shape (``/docs/``, ``/questions/123``, ``/2024/05/17/slug``) and the page structure (code blocks and
prev/next navigation, forms and prices, many dated posts). The result goes into ``meta["register"]``:
``{"label", "evidence": [...], "scores": {...}, "version"}``.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from .page import Page

VERSION = 1
REGISTERS = ("news", "blog", "article", "forum", "qa", "product", "documentation", "legal", "listing", "other")
MIN_SCORE = 2.0

SCHEMA_TYPES: dict[str, str] = {
    "newsarticle": "news", "reportagenewsarticle": "news", "analysisnewsarticle": "news",
    "opinionnewsarticle": "news", "liveblogposting": "news",
    "blogposting": "blog", "blog": "blog",
    "article": "article", "scholarlyarticle": "article", "report": "article", "review": "article",
    "discussionforumposting": "forum", "socialmediaposting": "forum", "comment": "forum",
    "qapage": "qa", "question": "qa", "answer": "qa", "faqpage": "qa",
    "product": "product", "offer": "product", "aggregateoffer": "product", "productgroup": "product",
    "techarticle": "documentation", "apireference": "documentation", "howto": "documentation",
    "softwaresourcecode": "documentation",
    "collectionpage": "listing", "itemlist": "listing", "searchresultspage": "listing",
}
OG_TYPES = {"article": "article", "product": "product", "product.item": "product", "og:product": "product",
            "blog": "blog", "book": "article"}
GENERATORS = re.compile(r"makeinfo|texinfo|sphinx|doxygen|mkdocs|docusaurus|javadoc|gitbook|hugo-book|"
                        r"antora|asciidoctor|pydoc|rustdoc|docfx|vuepress|readthedocs", re.I)
FORUM_GENERATORS = re.compile(r"discourse|phpbb|vbulletin|xenforo|mybb|smf|invision|flarum|nodebb", re.I)
BLOG_GENERATORS = re.compile(r"wordpress|ghost|blogger|jekyll|medium|substack|hexo|typepad", re.I)

URL_SHAPES: list[tuple[str, re.Pattern[str], float]] = [
    ("documentation", re.compile(r"/(docs?|documentation|manual|reference|api|guide|tutorials?|howto|handbook|"
                                 r"library|man\d?|html?/node\d*|wiki)(/|\.|$)", re.I), 1.5),
    ("documentation", re.compile(r"^(docs|developer|developers|devdocs|wiki|man|readthedocs)\.|\.readthedocs\.io$"
                                 , re.I), 1.5),
    ("forum", re.compile(r"/(forums?|threads?|topics?|t|viewtopic\.php|showthread\.php|discussions?|community|board)"
                         r"(/|\.|\?|$)", re.I), 2.0),
    ("qa", re.compile(r"/(questions?|q|answers?|faq|ask)(/|\.|\?|$)", re.I), 2.0),
    ("product", re.compile(r"/(products?|shop|store|item|p|dp|buy|cart)(/|\.|\?|$)", re.I), 1.5),
    ("blog", re.compile(r"/(blog|blogs|posts?|entry)(/|\.|$)|^blog\.", re.I), 1.5),
    ("news", re.compile(r"/(news|article|story|press)(/|\.|$)|/(19|20)\d\d/[01]?\d/([0-3]?\d/)?[\w\-]{8,}", re.I), 1.5),
    ("legal", re.compile(r"/(terms|tos|legal|privacy|license|licence|copyright|impressum|imprint|agb|cookies?|"
                         r"disclaimer|policies|policy|mentions-legales|aviso-legal)([-_./?]|$)", re.I), 2.5),
]
LEGAL_TITLE = re.compile(r"terms|conditions|privacy|licen[cs]e|copyright|legal|impressum|nutzungsbedingungen|"
                         r"mentions\s+légales|aviso\s+legal|datenschutz|条款|規約|약관", re.I)


def _url_evidence(url: str, add) -> None:
    p = urlsplit(url)
    host = (p.hostname or "").lower()
    path = p.path or "/"
    if path in ("/", "/index.html", "/index.htm", "/index.php", "/default.aspx") and not p.query:
        add("listing", 1.5, "url:site_root")
    for label, rx, w in URL_SHAPES:
        target = host if rx.pattern.startswith("^(") else path
        m = rx.search(target)
        if m:
            add(label, w, f"url:{m.group(0).strip('/.?')[:40] or target[:40]}")


def classify(page: Page, url: str | None = None) -> dict[str, Any]:
    """The register of one parsed page, with every piece of evidence that counted."""
    scores: dict[str, float] = defaultdict(float)
    evidence: list[str] = []

    def add(label: str, weight: float, why: str) -> None:
        scores[label] += weight
        evidence.append(f"{why}->{label}")

    for t in dict.fromkeys(page.types):
        label = SCHEMA_TYPES.get(t.lower())
        if label:
            add(label, 3.0, f"schema:{t}")
    for og in page.meta.get("og:type", [])[:1]:
        label = OG_TYPES.get(og.lower())
        if label:
            add(label, 2.0, f"og:type={og}")
    for gen in page.meta.get("generator", [])[:1]:
        if GENERATORS.search(gen):
            add("documentation", 2.5, f"generator:{gen[:30]}")
        elif FORUM_GENERATORS.search(gen):
            add("forum", 2.5, f"generator:{gen[:30]}")
        elif BLOG_GENERATORS.search(gen):
            add("blog", 1.0, f"generator:{gen[:30]}")
    if page.meta.get("article:published_time") or page.meta.get("article:section"):
        add("news" if page.meta.get("article:section") else "article", 1.0, "meta:article:*")
    if page.meta.get("product:price:amount") or page.meta.get("og:price:amount"):
        add("product", 2.0, "meta:price")
    _url_evidence(url or page.url, add)
    c = page.counts
    rels = set(page.rels)
    link_rels = {rel for _, _, r in page.links for rel in r.split()}
    if c.get("pre", 0) + c.get("code", 0) >= 3 and ({"next", "prev", "previous"} & (rels | link_rels)):
        add("documentation", 1.5, f"structure:code_blocks={c.get('pre', 0) + c.get('code', 0)}+prev/next")
    elif c.get("pre", 0) >= 2:
        add("documentation", 0.5, f"structure:pre={c['pre']}")
    if c.get("article", 0) >= 3 and c.get("time", 0) >= 3:
        add("forum", 1.5, f"structure:articles={c['article']},times={c['time']}")
    elif c.get("article", 0) >= 1 and c.get("time", 0) >= 1:
        add("article", 1.0, "structure:article+time")
    if page.title and LEGAL_TITLE.search(page.title):
        add("legal", 1.5, f"title:{LEGAL_TITLE.search(page.title).group(0)}")
    if not scores:
        return {"label": "other", "evidence": [], "scores": {}, "version": VERSION}
    label, best = max(scores.items(), key=lambda kv: (kv[1], -REGISTERS.index(kv[0])))
    if label == "article" and (scores.get("news") or scores.get("blog")):   # news and blog posts are articles too
        label = "news" if scores.get("news", 0) >= scores.get("blog", 0) else "blog"
    return {"label": label if best >= MIN_SCORE else "other", "evidence": evidence,
            "scores": {k: round(v, 2) for k, v in sorted(scores.items())}, "version": VERSION}

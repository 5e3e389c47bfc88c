"""What the crawler and the register/rights code read off one HTML page, in one parse (resiliparse).

``Page`` holds the links (with their anchor text), the ``<meta>`` tags, the ``<link rel>`` targets,
schema.org types (JSON-LD, microdata, RDFa ``typeof``), the page's language and a few structure
counts. Everything else in the crawler works on this record, never on raw HTML.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

WS = re.compile(r"\s+")


@dataclass(slots=True)
class Page:
    url: str
    links: list[tuple[str, str, str]] = field(default_factory=list)   # (absolute url, anchor text, rel)
    meta: dict[str, list[str]] = field(default_factory=dict)          # lower-cased name/property -> contents
    rels: dict[str, list[str]] = field(default_factory=dict)          # <link rel=X href> -> absolute hrefs
    types: list[str] = field(default_factory=list)                    # schema.org types, short names
    lang: str | None = None
    title: str = ""
    counts: dict[str, int] = field(default_factory=dict)              # structure: pre, code, form, article, time ...


def normalize_url(url: str, base: str | None = None) -> str | None:
    """An absolute http(s) URL without fragment, with lower-cased scheme and host and no default port;
    None for anything else (mailto:, javascript:, malformed)."""
    try:
        if base is not None:
            url = urljoin(base, url.strip())
        p = urlsplit(url.strip())
        if p.scheme.lower() not in ("http", "https") or not p.hostname:
            return None
        host = p.hostname.lower().rstrip(".")
        if ":" in host:
            host = f"[{host}]"
        port = p.port
    except ValueError:
        return None
    scheme = p.scheme.lower()
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, p.path or "/", p.query, ""))


def _schema_types(node, out: list[str]) -> None:
    if isinstance(node, list):
        for n in node:
            _schema_types(n, out)
    elif isinstance(node, dict):
        t = node.get("@type")
        for v in (t if isinstance(t, list) else [t]):
            if isinstance(v, str) and v:
                out.append(v.rsplit("/", 1)[-1].rsplit(":", 1)[-1])
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in node:
                _schema_types(node[key], out)


COUNTED = ("pre", "code", "form", "article", "time", "table", "h1", "h2", "nav", "aside", "textarea", "blockquote")


def parse_page(html: str, url: str) -> Page:
    from resiliparse.parse.html import HTMLTree

    tree = HTMLTree.parse(html)
    doc = tree.document
    page = Page(url)
    base_el = doc.query_selector("base[href]")
    base = normalize_url(base_el.getattr("href") or "", url) if base_el is not None else None
    base = base or url
    for a in doc.query_selector_all("a[href], area[href]"):
        target = normalize_url(a.getattr("href") or "", base)
        if target:
            page.links.append((target, WS.sub(" ", a.text or "").strip()[:200],
                               (a.getattr("rel") or "").lower()))
    for m in doc.query_selector_all("meta"):
        name = (m.getattr("name") or m.getattr("property") or m.getattr("http-equiv") or "").strip().lower()
        if name:
            page.meta.setdefault(name, []).append((m.getattr("content") or "").strip())
    for link in doc.query_selector_all("link[rel][href]"):
        href = normalize_url(link.getattr("href") or "", base)
        for rel in (link.getattr("rel") or "").lower().split():
            if href:
                page.rels.setdefault(rel, []).append(href)
    for s in doc.query_selector_all('script[type="application/ld+json"]'):
        try:
            _schema_types(json.loads(s.text or ""), page.types)
        except ValueError:
            continue
    for e in doc.query_selector_all("[itemtype]"):
        for t in (e.getattr("itemtype") or "").split():
            page.types.append(t.rstrip("/").rsplit("/", 1)[-1])
    for e in doc.query_selector_all("[typeof]"):
        for t in (e.getattr("typeof") or "").split():
            page.types.append(t.rsplit(":", 1)[-1].rsplit("/", 1)[-1])
    html_el = doc.query_selector("html")
    page.lang = (html_el.getattr("lang") if html_el is not None else None) or None
    if page.lang is None and tree.body is not None:
        page.lang = tree.body.getattr("lang") or None
    title = doc.query_selector("title")
    page.title = WS.sub(" ", title.text).strip() if title is not None and title.text else ""
    for tag in COUNTED:
        page.counts[tag] = len(doc.query_selector_all(tag))
    return page

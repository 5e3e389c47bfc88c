"""What the crawler and the register/rights code read off one HTML page, in one parse (lxml).

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


SIMPLE = re.compile(r"[A-Za-z0-9_\-~/%+=&;,@!$'()*]*[A-Za-z0-9_\-~/%+=&;,@!$'()*.]*")


def normalize_url(url: str, base: str | None = None) -> str | None:
    """An absolute http(s) URL without fragment, with lower-cased scheme and host and no default port;
    None for anything else (mailto:, javascript:, malformed). ``base`` must itself be normalised."""
    if base is not None:               # fast path for the common link: a plain path, no dot segments or query
        href = url.strip().split("#", 1)[0]
        if href and SIMPLE.fullmatch(href) and "/." not in href and not href.startswith((".", "//")):
            origin_end = base.find("/", base.find("//") + 2)
            if origin_end > 0 and "?" not in base:
                return base[:origin_end] + href if href[0] == "/" else base[:base.rfind("/") + 1] + href
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
    # lxml, not resiliparse's DOM: iterating a resiliparse node collection costs O(n) per item, which
    # made a page of 5,000 links take minutes; lxml's walk is linear.
    import lxml.html
    from lxml import etree

    page = Page(url)
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8", "surrogatepass"),
                                             parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return page
    base = url
    for b in root.iter("base"):
        base = normalize_url(b.get("href") or "", url) or url
        break
    counts: dict[str, int] = {}
    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in COUNTED:
            counts[tag] = counts.get(tag, 0) + 1
        if tag in ("a", "area") and el.get("href") is not None:
            target = normalize_url(el.get("href"), base)
            if target:
                page.links.append((target, WS.sub(" ", el.text_content() or "").strip()[:200],
                                   (el.get("rel") or "").lower()))
        elif tag == "meta":
            name = (el.get("name") or el.get("property") or el.get("http-equiv") or "").strip().lower()
            if name:
                page.meta.setdefault(name, []).append((el.get("content") or "").strip())
        elif tag == "link" and el.get("rel") and el.get("href"):
            href = normalize_url(el.get("href"), base)
            for rel in el.get("rel").lower().split():
                if href:
                    page.rels.setdefault(rel, []).append(href)
        elif tag == "script" and (el.get("type") or "").strip().lower() == "application/ld+json":
            try:
                _schema_types(json.loads(el.text or ""), page.types)
            except ValueError:
                pass
        elif tag == "title" and not page.title:
            page.title = WS.sub(" ", el.text_content() or "").strip()
        if tag and el.get("itemtype"):
            page.types += [t.rstrip("/").rsplit("/", 1)[-1] for t in el.get("itemtype").split()]
        if tag and el.get("typeof"):
            page.types += [t.rsplit(":", 1)[-1].rsplit("/", 1)[-1] for t in el.get("typeof").split()]
    page.counts = {tag: counts.get(tag, 0) for tag in COUNTED}
    page.lang = root.get("lang") or None
    if page.lang is None:
        body = root.find("body")
        page.lang = body.get("lang") if body is not None else None
    return page

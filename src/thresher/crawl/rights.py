"""Machine-readable rights signals, per site and per document.

A signal is a small dict: ``{"signal", "value", "scope": "site"|"document", "evidence", "seen"}`` plus
``"agent"`` for robots rules. The crawler stores the list in each response's metadata record; the WARC
reader carries it into ``source["rights"]``; the ``rights_filter`` step drops what a policy honours.

Sources of signals:

- robots.txt rules for our user agent and for known AI crawler agents (``AI_AGENTS``), through protego;
- ai.txt (Spawning's robots-like file of what AI datasets may use), evaluated like robots.txt for ``*``;
- TDMRep (W3C community group report): ``/.well-known/tdmrep.json`` rules (first matching ``location``
  wins), the ``tdm-reservation``/``tdm-policy`` HTTP headers and ``<meta name="tdm-reservation">``;
- ``noai`` / ``noimageai`` directives in ``<meta name="robots">`` and ``X-Robots-Tag`` headers;
- ``<link rel="license">``, ``<a rel="license">`` and ``Link: <...>; rel="license"`` targets, and
  Creative Commons licence URLs anywhere on the page (``cc`` normalised to an SPDX-like id).
"""
from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from protego import Protego

from .page import Page

# Published user-agent tokens of crawlers that collect for AI training or AI answers (as listed by
# their operators; the list is data: extend it through CrawlConfig.ai_agents).
AI_AGENTS = ("GPTBot", "ChatGPT-User", "OAI-SearchBot", "CCBot", "Google-Extended", "anthropic-ai",
             "ClaudeBot", "Claude-Web", "PerplexityBot", "Bytespider", "Applebot-Extended", "FacebookBot",
             "Meta-ExternalAgent", "cohere-ai", "Diffbot", "Amazonbot", "Omgilibot", "YouBot", "Timpibot",
             "ImagesiftBot")

NOAI_DIRECTIVES = ("noai", "noimageai")
CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z\-+]+)/(\d(?:\.\d)?)?", re.I)


def cc_id(url: str) -> str | None:
    """``https://creativecommons.org/licenses/by-sa/4.0/`` -> ``CC-BY-SA-4.0``; CC0 and the PD mark too."""
    m = CC_URL.search(url)
    if not m:
        return None
    kind, name, version = m.group(1).lower(), m.group(2).lower(), m.group(3)
    if kind == "publicdomain":
        return {"zero": "CC0-1.0", "mark": "PDM-1.0"}.get(name, f"CC-PD-{name}")
    return f"CC-{name.upper()}" + (f"-{version}" if version else "")


def sig(signal: str, value: Any, via: str, evidence: str, seen: str, **extra: Any) -> dict[str, Any]:
    """One signal; ``via`` says where it was found (robots.txt, ai.txt, tdmrep.json, header, meta, link)
    and so whether it covers the site (the first three) or this document only."""
    scope = "site" if via in ("robots.txt", "ai.txt", "tdmrep.json") else "document"
    return {"signal": signal, "value": value, "scope": scope, "via": via, "evidence": evidence, "seen": seen,
            **extra}


class SiteRules:
    """The site-wide files: robots.txt, ai.txt, tdmrep.json (any may be missing), parsed once per site."""

    def __init__(self, robots: str | None, ai_txt: str | None, tdmrep: str | None, seen: str,
                 robots_unreachable: bool = False, ai_agents: tuple[str, ...] = AI_AGENTS):
        self.seen = seen
        self.robots_text = robots
        # RFC 9309: robots.txt unreachable (5xx, network error) means "assume complete disallow"
        self.robots = Protego.parse("User-agent: *\nDisallow: /\n" if robots_unreachable else (robots or ""))
        self.robots_unreachable = robots_unreachable
        self.ai_txt = Protego.parse(ai_txt) if ai_txt is not None else None
        self.tdmrep: list[dict[str, Any]] = []
        self.tdmrep_error: str | None = None
        if tdmrep is not None:
            try:
                rules = json.loads(tdmrep)
                self.tdmrep = [r for r in (rules if isinstance(rules, list) else []) if isinstance(r, dict)]
            except ValueError as e:
                self.tdmrep_error = f"invalid JSON: {e}"
        self.ai_agents = ai_agents

    def allowed(self, url: str, agent: str) -> bool:
        return self.robots.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float | None:
        d = self.robots.crawl_delay(agent)
        return float(d) if d is not None else None

    def sitemaps(self) -> list[str]:
        return list(self.robots.sitemaps)

    def summary(self) -> dict[str, Any]:
        """Per site: for each AI agent, whether robots.txt blocks all, some or none of the site."""
        agents = {}
        for a in self.ai_agents:
            if not self.robots.can_fetch("/", a):
                agents[a] = "disallow_all"
            elif self.robots_text and re.search(rf"(?im)^\s*user-agent\s*:\s*{re.escape(a)}\s*$", self.robots_text):
                agents[a] = "partial"
        out: dict[str, Any] = {"seen": self.seen, "robots_txt": self.robots_text is not None,
                               "robots_unreachable": self.robots_unreachable, "robots_ai_agents": agents,
                               "ai_txt": self.ai_txt is not None, "tdmrep": bool(self.tdmrep)}
        if self.tdmrep_error:
            out["tdmrep_error"] = self.tdmrep_error
        return out

    def tdm_rule(self, url: str) -> dict[str, Any] | None:
        """The first tdmrep.json rule whose ``location`` (a path pattern, ``*`` any run, ``$`` end) matches."""
        p = urlsplit(url)
        path = p.path + (f"?{p.query}" if p.query else "")
        for rule in self.tdmrep:
            loc = str(rule.get("location", ""))
            if not loc.startswith("/"):
                loc = "/" + loc
            pattern = "".join(".*" if ch == "*" else ("$" if ch == "$" else re.escape(ch)) for ch in loc)
            if re.match(pattern, path):
                return rule
        return None

    def document_signals(self, url: str) -> list[dict[str, Any]]:
        """Site-file signals that apply to this URL."""
        out = []
        for a in self.ai_agents:
            if not self.robots.can_fetch(url, a):
                out.append(sig("robots", "disallow", "robots.txt", f"robots.txt disallows {a}", self.seen, agent=a))
        if self.ai_txt is not None and not self.ai_txt.can_fetch(url, "*"):
            out.append(sig("ai_txt", "disallow", "ai.txt", "ai.txt disallows *", self.seen))
        rule = self.tdm_rule(url)
        if rule is not None and "tdm-reservation" in rule:
            extra = {"policy": rule["tdm-policy"]} if rule.get("tdm-policy") else {}
            out.append(sig("tdm_reservation", int(rule["tdm-reservation"]), "tdmrep.json",
                           f"tdmrep.json location {rule.get('location')!r}", self.seen, **extra))
        return out


def _directives(value: str) -> tuple[str | None, list[str]]:
    """``"googlebot: noindex, noai"`` -> (``googlebot``, [noindex, noai]); no agent prefix -> None."""
    agent = None
    head, sep, rest = value.partition(":")
    if sep and "," not in head and head.strip() and " " not in head.strip() and not head.strip().lower().startswith(
            ("unavailable_after", "max-")):
        agent, value = head.strip(), rest
    return agent, [d.strip().lower() for d in value.split(",") if d.strip()]


def header_values(headers: list[tuple[str, str]], name: str) -> list[str]:
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


def document_signals(page: Page | None, headers: list[tuple[str, str]], seen: str) -> list[dict[str, Any]]:
    """Signals the response itself carries: headers always, the HTML's own marks when it was parsed."""
    out: list[dict[str, Any]] = []
    for v in header_values(headers, "X-Robots-Tag"):
        agent, dirs = _directives(v)
        for d in dirs:
            if d in NOAI_DIRECTIVES:
                out.append(sig(d, True, "header", f"X-Robots-Tag: {v.strip()}", seen,
                               **({"agent": agent} if agent else {})))
    for v in header_values(headers, "tdm-reservation"):
        if v.strip() in ("0", "1"):
            pol = header_values(headers, "tdm-policy")
            out.append(sig("tdm_reservation", int(v.strip()), "header", "tdm-reservation header", seen,
                           **({"policy": pol[0].strip()} if pol else {})))
    for v in header_values(headers, "Link"):
        for part in v.split(","):
            m = re.match(r'\s*<([^>]+)>\s*;.*\brel="?([^";]+)"?', part)
            if m and "license" in m.group(2).lower().split():
                out.append(_license(m.group(1), "header", "Link header", seen))
    if page is None:
        return out
    for name in ("robots",) + tuple(a.lower() for a in AI_AGENTS):
        for content in page.meta.get(name, []):
            for d in _directives(content)[1]:
                if d in NOAI_DIRECTIVES:
                    out.append(sig(d, True, "meta", f'<meta name="{name}" content="{content}">', seen,
                                   **({"agent": name} if name != "robots" else {})))
    for content in page.meta.get("tdm-reservation", []):
        if content in ("0", "1"):
            pol = page.meta.get("tdm-policy", [])
            out.append(sig("tdm_reservation", int(content), "meta", '<meta name="tdm-reservation">', seen,
                           **({"policy": pol[0]} if pol else {})))
    licenses = set(page.rels.get("license", [])) | {u for u, _, rel in page.links if "license" in rel.split()}
    for href in sorted(licenses):
        out.append(_license(href, "link", 'rel="license"', seen))
    for href in sorted({u for u, _, _ in page.links if cc_id(u)} - licenses):
        out.append(sig("cc_mark", cc_id(href), "link", f"link to {href}", seen, url=href))
    return out


def _license(href: str, via: str, evidence: str, seen: str) -> dict[str, Any]:
    return sig("license", href, via, evidence, seen, **({"cc": cc_id(href)} if cc_id(href) else {}))

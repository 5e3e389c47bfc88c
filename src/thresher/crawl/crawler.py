"""The crawl loop: sites from a seed list, breadth first within each site, polite per host.

The main thread owns all state (frontier, WARC writer, crawl log, site rules) and schedules *jobs*
onto a thread pool; a job is all the HTTP one site needs next (its set-up: robots.txt, ai.txt,
tdmrep.json and sitemaps; or one URL with its retries), and a site never has two jobs at once, so
there is one connection per host. A site's next job starts no earlier than ``delay`` seconds (or its
robots.txt Crawl-delay, if longer) after its last request ended; retries back off exponentially
(honouring Retry-After). Redirects are not followed inside a job: the target goes back through the
frontier (scope, robots.txt, already-seen checks) and is fetched next; a chain that comes back to one
of its own URLs is a loop, and chains are cut after ``max_redirects`` hops.
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

from .. import __version__
from ..errors import InputError
from ..io import decode
from .fetch import Exchange, Fetcher, utc_now
from .frontier import Frontier
from .page import normalize_url, parse_page
from .register import classify
from .rights import AI_AGENTS, SiteRules, document_signals
from .sitemaps import parse_sitemap
from .terms import analyse_terms, terms_links
from .warcfile import WarcOut, recover

WARC_DIR, LOG, SITES, FRONTIER = "warc", "crawl.log.jsonl", "sites.json", "frontier.sqlite"
RETRY_STATUS = (429, 500, 502, 503, 504)
REDIRECTS = (301, 302, 303, 307, 308)
SITE_FILES = (("robots", "/robots.txt"), ("ai_txt", "/ai.txt"), ("tdmrep", "/.well-known/tdmrep.json"))


@dataclass
class CrawlConfig:
    """Options of one crawl. ``max_pages`` counts URLs fetched per site (robots.txt, ai.txt, tdmrep.json
    and sitemaps not included); ``depth`` is link hops from the seed (sitemap URLs count as one)."""

    contact: str
    max_pages: int = 100
    depth: int = 2
    delay: float = 1.0
    polite: bool = True              # False: no delays at all (only for servers you run); robots.txt still obeyed
    max_crawl_delay: float = 30.0
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 2.0
    max_redirects: int = 5
    max_bytes: int = 10 << 20
    content_types: tuple[str, ...] = ("text/html", "application/xhtml+xml")
    sitemaps: bool = True
    max_sitemap_urls: int = 50_000
    terms: bool = True
    workers: int = 4
    agent_token: str = "thresher"
    ai_agents: tuple[str, ...] = AI_AGENTS
    warc_file_mb: float = 1024.0

    @property
    def user_agent(self) -> str:
        return f"{self.agent_token}/{__version__} (research crawler for open text corpora; +{self.contact})"


@dataclass
class Site:
    key: str
    seed: str
    rules: SiteRules | None = None
    busy: bool = False
    next_at: float = 0.0
    delay: float = 0.0
    done: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def site_key(url: str) -> str:
    """``host[:port]`` without ``www.`` of a normalised URL (split by hand: this runs once per link)."""
    parts = url.split("/", 3)
    return parts[2].lower().removeprefix("www.") if len(parts) > 2 else ""


def read_seeds(path: Path) -> list[str]:
    seeds = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        url = normalize_url(line if "://" in line else f"https://{line}")
        if url is None:
            raise InputError(f"{path}:{i}: not an http(s) URL: {line!r}")
        seeds.append(url)
    if not seeds:
        raise InputError(f"{path}: no seed URLs")
    return seeds


class Crawler:
    def __init__(self, out: Path, cfg: CrawlConfig, progress: Callable[[str, dict], None] | None = None):
        if not cfg.contact or ("@" not in cfg.contact and "://" not in cfg.contact):
            raise InputError("--contact: a crawler must say who runs it (an e-mail address or a URL)")
        self.out, self.cfg, self.progress = out, cfg, progress
        (out / WARC_DIR).mkdir(parents=True, exist_ok=True)
        self.frontier = Frontier(out / FRONTIER)
        self.fetcher = Fetcher(cfg.user_agent, cfg.timeout, cfg.max_bytes)
        self.log = open(out / LOG, "a", encoding="utf-8")
        self.warc = WarcOut(out / WARC_DIR, "thresher-crawl", int(cfg.warc_file_mb * 2**20),
                            {"software": f"thresher/{__version__}", "format": "WARC File Format 1.1",
                             "http-header-user-agent": cfg.user_agent, "robots": "classic",
                             "operator": cfg.contact})
        self.sites: dict[str, Site] = {}
        self.counts: Counter = Counter()
        self._lock = threading.Lock()

    # ---- bookkeeping ---------------------------------------------------------------------------
    def _log(self, **rec: Any) -> None:
        rec.setdefault("time", utc_now())
        self.log.write(json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n")
        self.log.flush()
        self.counts[rec.get("outcome", "?")] += 1
        if self.progress:
            self.progress("log", rec)

    def _resume(self) -> None:
        for meta in recover(self.out / WARC_DIR):          # groups flushed before a crash, maybe uncommitted
            url, site = meta.get("url"), meta.get("site")
            if meta.get("final") and url and site and self.frontier.state(url) not in ("done", "skipped"):
                self.frontier.finish(url, site, "done", meta.get("outcome", "stored"), meta.get("depth", 0))
                if meta.get("counted"):
                    self.frontier.count_page(site)
        for key, seed in self.frontier.sites():
            s = self.sites.setdefault(key, Site(key, seed))
            info = self.frontier.site_info(key)
            if info and "files" in info:
                s.info = info
                self._set_rules(s)

    def _set_rules(self, s: Site) -> None:
        f = s.info["files"]
        s.rules = SiteRules(f.get("robots"), f.get("ai_txt"), f.get("tdmrep"), f["seen"],
                            robots_unreachable=f.get("robots_unreachable", False), ai_agents=self.cfg.ai_agents)
        cd = s.rules.crawl_delay(self.cfg.agent_token)
        s.delay = max(self.cfg.delay, min(cd or 0.0, self.cfg.max_crawl_delay)) if self.cfg.polite else 0.0

    def in_scope(self, url: str, s: Site) -> bool:
        return site_key(url) == s.key

    # ---- jobs (worker threads: HTTP only, no shared state) ----------------------------------------
    def _get(self, url: str, accept: tuple[str, ...] | None, delay: float) -> list[Exchange]:
        tries = []
        for attempt in range(self.cfg.retries + 1):
            ex = self.fetcher.get(url, accept)
            tries.append(ex)
            retry = ex.error in ("timeout", "connection") or ex.status in RETRY_STATUS
            if not retry or attempt == self.cfg.retries:
                break
            wait_s = self.cfg.backoff * 2 ** attempt
            ra = ex.header("Retry-After")
            if ra and ra.strip().isdigit():
                wait_s = max(wait_s, min(float(ra), self.cfg.max_crawl_delay))
            time.sleep(max(wait_s, delay) if self.cfg.polite else wait_s)
        return tries

    def _setup_job(self, s: Site) -> dict[str, Any]:
        """robots.txt, ai.txt, tdmrep.json (following up to 5 same-site redirects each), then sitemaps."""
        base = "{0.scheme}://{0.netloc}".format(urlsplit(s.seed))
        delay = self.cfg.delay if self.cfg.polite else 0.0
        exchanges: list[tuple[str, Exchange]] = []
        files: dict[str, Any] = {"seen": utc_now()}
        for kind, path in SITE_FILES:
            url, last = base + path, None
            for _ in range(6):
                if exchanges:
                    time.sleep(delay)
                tries = self._get(url, None, delay)
                exchanges += [(kind, ex) for ex in tries]
                last = tries[-1]
                loc = last.header("Location") if last.status in REDIRECTS else None
                nxt = normalize_url(loc, url) if loc else None
                if not nxt or site_key(nxt) != s.key:
                    break
                url = nxt
            ok = last.status is not None and 200 <= last.status < 300 and last.error is None
            text = last.decoded().decode("utf-8", "replace") if ok else None
            if text is not None and kind != "robots" and text.lstrip()[:1] == "<":   # an HTML "soft 404"
                text = None
            files[kind] = text
            if kind == "robots":
                files["robots_unreachable"] = last.status is None or last.status >= 500
                if last.status is None:            # the host does not answer: nothing more to ask it
                    return {"kind": "setup", "exchanges": exchanges, "files": {**files, "ai_txt": None,
                            "tdmrep": None}, "sitemap_urls": []}
                rules = SiteRules(text, None, None, files["seen"], files["robots_unreachable"])
                cd = rules.crawl_delay(self.cfg.agent_token)
                if self.cfg.polite:
                    delay = max(delay, min(cd or 0.0, self.cfg.max_crawl_delay))
        page_urls: list[str] = []
        if self.cfg.sitemaps and self.cfg.depth >= 1:
            rules = SiteRules(files["robots"], None, None, files["seen"], files["robots_unreachable"])
            todo = [u for u in rules.sitemaps() if site_key(u) == s.key] or [base + "/sitemap.xml"]
            todo = [u for u in todo if rules.allowed(u, self.cfg.agent_token)]
            fetched = 0
            while todo and fetched < 50 and len(page_urls) < self.cfg.max_sitemap_urls:
                url = todo.pop(0)
                fetched += 1
                time.sleep(delay)
                tries = self._get(url, None, delay)
                exchanges += [("sitemap", ex) for ex in tries]
                ex = tries[-1]
                if ex.status == 200 and ex.error is None:
                    urls, children = parse_sitemap(ex.decoded())
                    page_urls += urls[: self.cfg.max_sitemap_urls - len(page_urls)]
                    todo += [c for c in children if site_key(c) == s.key and rules.allowed(c, self.cfg.agent_token)]
        return {"kind": "setup", "exchanges": exchanges, "files": files, "sitemap_urls": page_urls}

    def _page_job(self, url: str, depth: int, prio: int, delay: float) -> dict[str, Any]:
        return {"kind": "page", "url": url, "depth": depth, "prio": prio,
                "tries": self._get(url, self.cfg.content_types, delay)}

    # ---- results (main thread) --------------------------------------------------------------------
    def _write(self, ex: Exchange, meta: dict[str, Any]) -> None:
        self.warc.write(ex, meta)
        self._log(url=ex.url, site=meta["site"], status=ex.status, outcome=meta["outcome"], bytes=len(ex.body),
                  seconds=round(ex.seconds, 3), depth=meta.get("depth"), detail=ex.detail or None)

    def _on_setup(self, s: Site, res: dict[str, Any]) -> None:
        for kind, ex in res["exchanges"]:
            outcome = ex.error or ("fetched" if ex.status and ex.status < 400 else f"http_{ex.status}")
            self._write(ex, {"url": ex.url, "site": s.key, "kind": kind, "outcome": outcome, "fetched": ex.date})
        s.info = {"seed": s.seed, "files": res["files"], "terms": {}, "terms_candidates": {}}
        self._set_rules(s)
        self.frontier.set_site_info(s.key, s.info)
        urls = [u for raw in res["sitemap_urls"] if (u := normalize_url(raw))]
        self._enqueue(s, [(u, "") for u in urls], 1, via="sitemap")

    def _enqueue(self, s: Site, links: list[tuple[str, str]], depth: int, via: str, prio: int = 1) -> None:
        rows = []
        for url, _ in links:                           # normalised by parse_page / _on_setup
            if not self.in_scope(url, s):
                continue
            if not s.rules.allowed(url, self.cfg.agent_token):
                if self.frontier.state(url) is None:
                    self.frontier.finish(url, s.key, "skipped", "robots_disallowed", depth)
                    self._log(url=url, site=s.key, outcome="robots_disallowed", depth=depth)
                continue
            rows.append((url, s.key, depth, prio, via))
        self.frontier.add(rows)

    def _rights(self, s: Site, url: str, ex: Exchange, page) -> dict[str, Any]:
        summary = s.rules.summary()
        if s.info.get("terms"):
            summary["terms"] = {k: {"url": v["url"], "findings": sorted(v["findings"]), "licenses": v["licenses"]}
                                for k, v in s.info["terms"].items()}
        return {"seen": ex.date, "site": summary,
                "signals": s.rules.document_signals(url) + document_signals(page, ex.headers, ex.date)}

    def _on_page(self, s: Site, res: dict[str, Any]) -> None:
        url, depth, tries = res["url"], res["depth"], res["tries"]
        for ex in tries[:-1]:
            self._write(ex, {"url": url, "site": s.key, "depth": depth, "fetched": ex.date,
                             "outcome": f"retry:{ex.error or ex.status}"})
        ex = tries[-1]
        meta: dict[str, Any] = {"url": url, "site": s.key, "depth": depth, "fetched": ex.date, "final": True,
                                "counted": True, "attempts": len(tries)}
        outcome = ex.error or f"http_{ex.status}"
        if ex.error is None and ex.status in REDIRECTS and ex.header("Location"):
            outcome = self._on_redirect(s, url, depth, ex)
        elif ex.error is None and ex.status is not None and 200 <= ex.status < 300:
            outcome = "stored"
            html, _ = decode(ex.decoded(), ex.charset)
            page = parse_page(html, url)
            meta["rights"] = self._rights(s, url, ex, page)
            meta["register"] = classify(page, url)
            kind = s.info["terms_candidates"].get(url)
            if kind:
                from resiliparse.extract.html2text import extract_plain_text
                found = analyse_terms(extract_plain_text(html, main_content=False), [u for u, _, _ in page.links])
                s.info["terms"][kind] = {"url": url, "seen": ex.date, **found}
                meta["terms"] = {"kind": kind, **found}
            if depth < self.cfg.depth:
                self._enqueue(s, [(u, t) for u, t, _ in page.links], depth + 1, via=url)
            if self.cfg.terms:
                self._find_terms(s, page, depth)
        meta["outcome"] = outcome
        self._write(ex, meta)
        self.frontier.finish(url, s.key, "done", outcome, depth)
        self.frontier.count_page(s.key)
        self.frontier.set_site_info(s.key, s.info)

    def _on_redirect(self, s: Site, url: str, depth: int, ex: Exchange) -> str:
        target = normalize_url(ex.header("Location") or "", url)
        chain = json.loads(self._via(url) or "[]") + [url]
        if target is None:
            return "redirect_invalid"
        if target in chain:
            return "redirect_loop"
        if len(chain) > self.cfg.max_redirects:
            return "too_many_redirects"
        if not self.in_scope(target, s):
            return "redirect_offsite"
        if not s.rules.allowed(target, self.cfg.agent_token):
            if self.frontier.state(target) is None:
                self.frontier.finish(target, s.key, "skipped", "robots_disallowed", depth)
                self._log(url=target, site=s.key, outcome="robots_disallowed", depth=depth, detail=f"redirect from {url}")
            return "redirect_robots_disallowed"
        if self.frontier.state(target) in ("done", "skipped"):
            return "redirect_to_known"
        if self.frontier.state(target) is None:
            self.frontier.add([(target, s.key, depth, -1, json.dumps(chain))])
        else:
            self.frontier.db.execute("update urls set prio = -1, via = ? where url = ?", (json.dumps(chain), target))
        return "redirect"

    def _via(self, url: str) -> str | None:
        row = self.frontier.db.execute("select via from urls where url = ?", (url,)).fetchone()
        return row[0] if row and row[0] and row[0].startswith("[") else None

    def _find_terms(self, s: Site, page, depth: int) -> None:
        """Queue the best terms / licence / copyright / legal-notice link per kind, first, at any depth."""
        found = terms_links(page.links, s.key.split(":")[0])
        cands = s.info["terms_candidates"]
        for kind, (url, _score) in found.items():
            if kind in cands.values() or kind in s.info["terms"] or url in cands:
                continue
            if not s.rules.allowed(url, self.cfg.agent_token):
                continue
            cands[url] = kind
            if self.frontier.state(url) in ("done", "skipped"):
                continue              # already fetched as an ordinary page: not analysed, by design
            self.frontier.add([(url, s.key, depth + 1, 0, "terms")])

    # ---- the loop ---------------------------------------------------------------------------------
    def _next_job(self, s: Site) -> tuple | None:
        if s.rules is None:
            return (self._setup_job, s)
        if self.frontier.pages(s.key) >= self.cfg.max_pages:
            return None
        while (nxt := self.frontier.next(s.key)) is not None:
            url, depth, prio = nxt
            if s.rules.allowed(url, self.cfg.agent_token):      # seeds and resumed URLs are checked here
                return (self._page_job, url, depth, prio, s.delay)
            self.frontier.finish(url, s.key, "skipped", "robots_disallowed", depth)
            self._log(url=url, site=s.key, outcome="robots_disallowed", depth=depth)
        return None

    def run(self, seeds: list[str]) -> dict[str, Any]:
        self._resume()
        self.frontier.begin()
        for seed in seeds:
            key = site_key(seed)
            self.frontier.add_site(key, seed)
            self.sites.setdefault(key, Site(key, seed))
            self.frontier.add([(seed, key, 0, 1, "seed")])
        self.frontier.commit()
        inflight: dict[Future, Site] = {}
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(max_workers=max(1, self.cfg.workers), thread_name_prefix="crawl") as pool:
                while True:
                    now = time.monotonic()
                    waits = []
                    for s in self.sites.values():
                        if s.busy or s.done:
                            continue
                        if now < s.next_at:
                            waits.append(s.next_at)
                            continue
                        if len(inflight) >= self.cfg.workers:
                            break
                        job = self._next_job(s)
                        if job is None:
                            s.done = True
                            continue
                        s.busy = True
                        inflight[pool.submit(*job)] = s
                    if not inflight:
                        if not waits:
                            break
                        time.sleep(max(0.0, min(waits) - time.monotonic()))
                        continue
                    timeout = max(0.0, min(waits) - time.monotonic()) if waits else None
                    finished, _ = wait(list(inflight), timeout=timeout, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        s = inflight.pop(fut)
                        res = fut.result()
                        self.frontier.begin()
                        try:
                            (self._on_setup if res["kind"] == "setup" else self._on_page)(s, res)
                        finally:
                            self.frontier.commit()
                        self.warc.rotate_if_full()
                        s.busy = False
                        s.next_at = time.monotonic() + s.delay
        finally:
            self.warc.close()
            self._write_sites()
            self.log.close()
            self.fetcher.close()
        summary = {"seconds": round(time.monotonic() - started, 3), "outcomes": dict(self.counts),
                   "frontier": self.frontier.counts(), "sites": len(self.sites)}
        self.frontier.close()
        return summary

    def _write_sites(self) -> None:
        """sites.json: per site what the rights files and the terms pages said, and page counts."""
        out = {}
        for key, s in sorted(self.sites.items()):
            entry: dict[str, Any] = {"seed": s.seed, "pages": self.frontier.pages(key)}
            if s.rules is not None:
                entry["rights"] = s.rules.summary()
                entry["delay_seconds"] = s.delay
                entry["terms"] = s.info.get("terms", {})
            out[key] = entry
        tmp = self.out / (SITES + ".tmp")
        tmp.write_text(json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, self.out / SITES)


def crawl(seeds: list[str] | Path, out: Path, cfg: CrawlConfig,
          progress: Callable[[str, dict], None] | None = None) -> dict[str, Any]:
    """Crawl ``seeds`` (a list of URLs or a seed file) into ``out``; a re-run into the same folder resumes."""
    if isinstance(seeds, Path):
        seeds = read_seeds(seeds)
    return Crawler(Path(out), cfg, progress).run(seeds)

"""A polite shallow crawler that writes WARC and records rights signals, terms pages and registers.

``crawl(seeds, out, CrawlConfig(contact=...))`` fetches each seed's site breadth first into
``out/warc/*.warc.gz`` (request, response and metadata records), ``out/crawl.log.jsonl`` and
``out/sites.json``; ``input: {format: warc}`` then reads the pages with their ``source["rights"]``.
"""
from .crawler import CrawlConfig, crawl, read_seeds
from .register import classify as classify_register
from .rights import AI_AGENTS

__all__ = ["AI_AGENTS", "CrawlConfig", "classify_register", "crawl", "read_seeds"]

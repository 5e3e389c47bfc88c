"""A polite shallow crawler that writes WARC and records rights signals, terms pages and registers.

``crawl(seeds, out, CrawlConfig(contact=...))`` fetches each seed's site breadth first into
``out/warc/*.warc.gz`` (request, response and metadata records), ``out/crawl.log.jsonl`` and
``out/sites.json``; ``input: {format: warc}`` then reads the pages with their ``source["rights"]``.
"""
from ..lazy import exports

__getattr__, __dir__, __all__ = exports(__name__, {
    "CrawlConfig": ".crawler", "crawl": ".crawler", "read_seeds": ".crawler", "AI_AGENTS": ".rights",
    "classify_register": ".register:classify"})


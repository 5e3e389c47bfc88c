"""``register``: the register / genre of each HTML document (news, blog, article, forum, Q&A, product,
documentation, legal, listing, other) from the page's own metadata and structure, with the evidence.

It reads the HTML, so it goes before ``extract_html``. The rules live in ``thresher.crawl.register``.
"""
from __future__ import annotations

from ..crawl.page import parse_page
from ..crawl.register import classify
from ..document import Document
from .base import Annotator


class Register(Annotator):
    """Register/genre of HTML pages into meta["register"] ({label, evidence, scores}); run before extract_html."""

    name = "register"
    version = 1

    def annotate(self, doc: Document) -> None:
        ctype = doc.source.get("content_type")
        if (ctype and "html" not in ctype) or (not ctype and not doc.text.lstrip()[:1] == "<"):
            return                  # not HTML (extracted already, or plain text): nothing of its own to read
        url = doc.source.get("uri") or doc.source.get("url") or ""
        doc.meta["register"] = classify(parse_page(doc.text, url), url)

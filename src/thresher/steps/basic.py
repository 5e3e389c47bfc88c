"""General steps every pipeline uses: HTML main-text extraction and a length filter."""
from __future__ import annotations

from typing import Literal

from ..document import Document
from ..text.error_pages import MAX_WORDS, error_page
from .base import Drop, Filter, Step, StepContext


def _resiliparse(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    return extract_plain_text(HTMLTree.parse(html), main_content=True, preserve_formatting=True,
                              alt_texts=False, links=False, form_fields=False, noscript=False,
                              comments=False, list_bullets=True)


def _trafilatura(html: str) -> str:
    import trafilatura

    # datatrove's settings: precision over recall, no comments, no images.
    return trafilatura.extract(html, favor_precision=True, include_comments=False,
                               include_images=False, include_tables=True, deduplicate=False) or ""


EXTRACTORS = {"resiliparse": _resiliparse, "trafilatura": _trafilatura}


class ExtractHtml(Step):
    """Turn HTML documents (from WARC/HTML readers) into their main text.

    Documents whose ``source["content_type"]`` is not HTML pass through unchanged; pages with no text
    left are dropped as ``empty_after_extraction``; a server's error page (a database, PHP or HTTP
    error message on its first lines and fewer than ``error_page_words`` other words) as
    ``error_page:KIND`` (``thresher.text.error_pages``; 0 keeps them).
    """

    name = "extract_html"

    def __init__(self, extractor: Literal["resiliparse", "trafilatura"] = "resiliparse",
                 min_chars: int = 1, error_page_words: int = MAX_WORDS):
        self.extractor = extractor
        self.min_chars = min_chars
        self.error_page_words = error_page_words
        self._fn = EXTRACTORS[extractor]

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        kept = []
        for doc in docs:
            if "html" not in doc.source.get("content_type", ""):
                kept.append(doc)
                continue
            try:
                text = self._fn(doc.text).strip()
            except Exception as e:  # a page the extractor cannot parse is dropped, counted, not fatal
                ctx.drop(doc, self.name, Drop(f"extractor_error:{type(e).__name__}"))
                continue
            if len(text) < self.min_chars:
                ctx.drop(doc, self.name, Drop("empty_after_extraction", len(text), self.min_chars))
                continue
            doc.source["content_type"] = "text/plain"
            doc.source["extracted_by"] = self.extractor
            doc.text = text
            err = error_page(text, self.error_page_words) if self.error_page_words > 0 else None
            if err is not None:         # dropped with its main text: `thresher why` shows the error
                ctx.drop(doc, self.name, Drop(f"error_page:{err[0]}", err[1], self.error_page_words))
                continue
            kept.append(doc)
        return kept


class LengthFilter(Filter):
    """Keep documents whose length in characters lies in [min_chars, max_chars]."""

    name = "length_filter"

    def __init__(self, min_chars: int = 0, max_chars: int | None = None):
        self.min_chars = min_chars
        self.max_chars = max_chars

    def decide(self, doc: Document) -> bool | Drop:
        n = len(doc.text)
        if n < self.min_chars:
            return Drop("too_short", n, self.min_chars)
        if self.max_chars is not None and n > self.max_chars:
            return Drop("too_long", n, self.max_chars)
        return True

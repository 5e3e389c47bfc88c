"""PDF reader (``format: pdf``): the born-digital text layer per page with pypdfium2 (PDFium); a page
whose text layer is empty, implausibly short or mostly unmapped glyphs is rendered and OCR'd.

One document per PDF by default (``per_page: true``: one per page). ``source`` names the file and, per
page, its number (1-based), character range in the text and how its text was obtained. ``meta.modality``
is ``pdf_text``, or ``ocr`` when most of the document's characters came from OCR (``meta.ocr`` lists the
OCR'd pages). Encrypted, broken and truncated PDFs are skipped and counted (``skipped_encrypted_pdf``,
``skipped_broken_pdf``); a page that fails to load is skipped and counted (``skipped_bad_page``).

Shards hold about PAGES_PER_SHARD pages; a PDF is one document, so it stays in one shard and its pages
are OCR'd one after another. With ``per_page: true`` long PDFs are split into page ranges, so every
worker takes a share of a large scanned book.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pypdfium2 as pdfium

from ..document import Document, stable_id
from ..io import ShardSpec
from . import ocr

log = logging.getLogger("thresher.media")
PAGES_PER_SHARD = 16          # OCR costs 1-4 s a page: shards of under a minute keep every worker busy
# Unmapped glyphs (fonts without a ToUnicode map) come out as U+FFFD, private-use or control characters.
_JUNK = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe]")


def media_options(cfg: Any) -> dict[str, Any]:
    return {"language": getattr(cfg, "language", None), "per_page": bool(getattr(cfg, "per_page", False)),
            "min_page_chars": getattr(cfg, "min_page_chars", 32), "dpi": getattr(cfg, "dpi", 300),
            "ocr": getattr(cfg, "ocr", True)}


def page_count(path: Path) -> int:
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return 1                # read() counts it as skipped; planning must not fail on it
    try:
        return len(pdf)
    finally:
        pdf.close()


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    """Shards of about PAGES_PER_SHARD pages; with ``per_page``, long PDFs are split into page ranges."""
    opts = media_options(cfg)
    out, cur, pages = [], [], 0
    for f in files:
        n = page_count(f)
        if opts["per_page"] and n > PAGES_PER_SHARD:
            out.extend({"files": (str(f),), "start": s, "end": min(s + PAGES_PER_SHARD, n), "options": opts}
                       for s in range(0, n, PAGES_PER_SHARD))
            continue
        cur.append(str(f))
        pages += n
        if pages >= PAGES_PER_SHARD:
            out.append({"files": tuple(cur), "options": opts})
            cur, pages = [], 0
    if cur:
        out.append({"files": tuple(cur), "options": opts})
    return out


def clean_layer(text: str) -> str:
    """PDFium's page text with \\n line ends, no control characters and no trailing spaces."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(ln.rstrip() for ln in text.split("\n")).strip()


def needs_ocr(text: str, min_chars: int) -> bool:
    """An empty or implausibly short text layer, or one that is mostly unmapped glyphs."""
    visible = sum(not c.isspace() for c in text)
    return visible < min_chars or len(_JUNK.findall(text)) > 0.1 * visible


def _metadata(pdf: pdfium.PdfDocument) -> dict[str, str]:
    try:
        md = pdf.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError:
        return {}
    return {k.lower(): v for k, v in md.items() if k in ("Title", "Author", "Producer", "CreationDate")}


def read_pages(path: str, start: int, end: int | None, opts: dict[str, Any],
               counters: Counter) -> tuple[int, list[tuple[int, str, dict | None]], dict] | None:
    """(page count, [(page number, text, ocr meta or None)], pdf metadata); None if the PDF is unreadable."""
    try:
        pdf = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        why = "encrypted" if "password" in str(e).lower() else "broken"
        counters[f"skipped_{why}_pdf"] += 1
        log.warning("skipped %s PDF: %s: %s", why, path, e)
        return None
    try:
        n = len(pdf)
        out = []
        for i in range(start, n if end is None else min(end, n)):
            try:
                page = pdf[i]
                text = clean_layer(page.get_textpage().get_text_range())
                meta = None
                if opts.get("ocr", True) and needs_ocr(text, opts.get("min_page_chars", 32)):
                    image = page.render(scale=opts.get("dpi", 300) / 72, grayscale=True).to_pil()
                    res = ocr.recognise(image, opts.get("language"))
                    text, meta = res.text, res.meta
                    counters["pages_ocr"] += 1
                else:
                    counters["pages_text_layer"] += 1
            except pdfium.PdfiumError as e:
                counters["skipped_bad_page"] += 1
                log.warning("skipped bad page: %s page %d: %s", path, i + 1, e)
                continue
            out.append((i + 1, text, meta))
        return n, out, _metadata(pdf)
    finally:
        pdf.close()


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    opts = spec.options
    for path in spec.files:
        rel = spec.rel(path)
        counters["bytes_read"] += Path(path).stat().st_size
        got = read_pages(path, spec.start, spec.end, opts, counters)
        if got is None:
            continue
        n, pages, pdf_meta = got
        if opts.get("per_page"):
            for number, text, ocr_meta in pages:
                source = {"file": rel, "page": number, "page_count": n, **pdf_meta}
                meta: dict[str, Any] = {"modality": "ocr" if ocr_meta else "pdf_text"}
                if ocr_meta:
                    meta["ocr"] = ocr_meta
                counters["docs_read"] += 1
                yield Document(stable_id(f"{rel}#page={number}"), text, source, meta)
            continue
        if not any(text for _, text, _ in pages):
            counters["skipped_empty_pdf"] += 1
            continue
        yield _whole(rel, n, pages, pdf_meta, counters)


def _whole(rel: str, n: int, pages: list[tuple[int, str, dict | None]], pdf_meta: dict,
           counters: Counter) -> Document:
    """One document for the whole PDF: pages joined by a blank line, each page's range in ``source``."""
    parts, spans, pos, ocr_chars, ocr_parts = [], [], 0, 0, []
    for number, text, ocr_meta in pages:
        if not text:                # a blank page adds nothing (page_count still says it was there)
            continue
        if parts:
            pos += 2
        spans.append({"page": number, "start": pos, "end": pos + len(text),
                      "how": "ocr" if ocr_meta else "pdf_text"})
        parts.append(text)
        pos += len(text)
        if ocr_meta:
            ocr_chars += len(text)
            ocr_parts.append(ocr_meta)
    text = "\n\n".join(parts)
    meta: dict[str, Any] = {"modality": "ocr" if ocr_chars * 2 > len(text) else "pdf_text"}
    if ocr_parts:
        meta["ocr"] = {**ocr.merge_meta(ocr_parts), "pages": [s["page"] for s in spans if s["how"] == "ocr"]}
    counters["docs_read"] += 1
    return Document(stable_id(rel), text, {"file": rel, "page_count": n, "pages": spans, **pdf_meta}, meta)

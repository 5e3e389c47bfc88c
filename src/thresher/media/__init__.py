"""Text from media: PDFs (text layer, OCR for pages without one), images (OCR) and audio (ASR).

Every document a reader yields says how its text was obtained in ``meta.modality``, one of
``MODALITIES``; OCR and ASR documents also carry the engine, model and confidences (``meta.ocr`` /
``meta.asr``) so the data card can show them and ``ocr_confidence_filter`` can act on them.
"""
from __future__ import annotations

MODALITIES = ("html", "pdf_text", "ocr", "asr", "code", "text")

__all__ = ["MODALITIES"]

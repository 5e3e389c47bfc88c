"""Filter on how sure the recogniser was: OCR mean word confidence and ASR confidence (thresher.media)."""
from __future__ import annotations

from ..document import Document
from .base import Drop, Filter


class OcrConfidenceFilter(Filter):
    """Drop OCR'd documents whose mean word confidence (Tesseract's 0-100) is below ``min_confidence``,
    and, when ``min_asr_confidence`` is set, transcripts whose confidence (0-1) is below it.

    Documents with no ``meta.ocr`` / ``meta.asr`` (text layers, web pages, code) pass. A PDF with both a
    text layer and OCR'd pages is judged on its OCR'd pages' confidence.
    """

    name = "ocr_confidence_filter"

    def __init__(self, min_confidence: float = 60.0, min_asr_confidence: float | None = None):
        self.min_confidence = min_confidence
        self.min_asr_confidence = min_asr_confidence

    def decide(self, doc: Document) -> bool | Drop:
        ocr = doc.meta.get("ocr")
        if isinstance(ocr, dict) and ocr.get("words", 0) > 0 and ocr["mean_conf"] < self.min_confidence:
            return Drop("low_ocr_confidence", ocr["mean_conf"], self.min_confidence)
        if isinstance(ocr, dict) and ocr.get("words", 1) == 0:
            return Drop("no_ocr_words", 0.0, self.min_confidence)
        asr = doc.meta.get("asr")
        if self.min_asr_confidence is not None and isinstance(asr, dict) \
                and asr.get("confidence", 0.0) < self.min_asr_confidence:
            return Drop("low_asr_confidence", asr.get("confidence", 0.0), self.min_asr_confidence)
        return True

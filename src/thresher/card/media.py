"""The card's media facts: how each kept document's text was obtained (``meta.modality``) per language,
and the OCR / ASR confidence distributions, so the lower-quality modalities stay visible."""
from __future__ import annotations

from collections import Counter
from typing import Any

MODALITY_ORDER = ("html", "text", "pdf_text", "ocr", "asr", "code")
RECOGNISED = ("pdf_text", "ocr", "asr")     # the section is shown when a release holds any of these


def count(modalities: dict[str, Counter], confidence: dict[str, Counter], meta: dict[str, Any],
          lang: str) -> None:
    """Add one kept document: its modality under its language; its confidence in 10 bins of 0-100."""
    modalities.setdefault(lang, Counter())[str(meta.get("modality") or "unknown")] += 1
    ocr, asr = meta.get("ocr"), meta.get("asr")
    if isinstance(ocr, dict) and ocr.get("words"):
        confidence.setdefault("ocr", Counter())[min(int(ocr.get("mean_conf", 0)) // 10, 9)] += 1
    if isinstance(asr, dict) and asr.get("segments"):
        confidence.setdefault("asr", Counter())[min(int(100 * asr.get("confidence", 0)) // 10, 9)] += 1


def context(modalities: dict[str, Counter], confidence: dict[str, Counter]) -> dict[str, Any] | None:
    """Rows for the template, or None when the release holds no PDF, OCR or ASR text."""
    seen = set().union(*modalities.values()) if modalities else set()
    if not seen & set(RECOGNISED):
        return None
    cols = [m for m in MODALITY_ORDER if m in seen] + sorted(seen - set(MODALITY_ORDER))
    rows = []
    for lang, c in sorted(modalities.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        total = sum(c.values())
        rows.append({"lang": lang, "docs": total, "shares": [100.0 * c[m] / total for m in cols]})
    dists = {k: [int(c.get(b, 0)) for b in range(10)] for k, c in sorted(confidence.items())}
    return {"columns": cols, "rows": rows, "confidence": dists}

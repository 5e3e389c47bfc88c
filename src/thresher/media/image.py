"""Image reader (``format: image``): PNG, JPEG, TIFF (every frame of a multi-page TIFF), WebP, BMP, GIF,
OCR'd with Tesseract; one document per image file (``per_page: true``: one per frame).

``source`` = {file, width, height, pages (multi-frame files)}; ``meta.modality`` = ``ocr`` and
``meta.ocr`` = engine, version, language pack, how it was chosen, mean word confidence and a histogram.
Unreadable or truncated images are skipped and counted (``skipped_broken_image``).
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from PIL import Image, ImageSequence, UnidentifiedImageError

from ..document import Document, stable_id
from ..io import ShardSpec
from . import ocr
from .pdf import media_options

log = logging.getLogger("thresher.media")
IMAGES_PER_SHARD = 2         # OCR takes 1-4 s an image: small shards keep every worker busy
EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".pbm", ".pgm", ".ppm")


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    opts = media_options(cfg)
    files = [f for f in files if f.suffix.lower() in EXTENSIONS]
    return [{"files": tuple(str(f) for f in files[i:i + IMAGES_PER_SHARD]), "options": opts}
            for i in range(0, len(files), IMAGES_PER_SHARD)]


def _frames(path: str) -> list[Image.Image]:
    with Image.open(path) as im:
        frames = [f.convert("L") if f.mode not in ("L", "RGB") else f.copy() for f in ImageSequence.Iterator(im)]
    return frames


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    language = spec.options.get("language")
    per_page = spec.options.get("per_page", False)
    for path in spec.files:
        rel = spec.rel(path)
        counters["bytes_read"] += Path(path).stat().st_size
        try:
            frames = _frames(path)
        except (UnidentifiedImageError, OSError, ValueError) as e:      # PIL's truncated-file error is OSError
            counters["skipped_broken_image"] += 1
            log.warning("skipped broken image: %s: %s", rel, e)
            continue
        results = [ocr.recognise(f, language) for f in frames]
        counters["pages_ocr"] += len(frames)
        w, h = frames[0].size
        if per_page and len(frames) > 1:
            for i, (f, r) in enumerate(zip(frames, results), 1):
                counters["docs_read"] += 1
                yield Document(stable_id(f"{rel}#page={i}"), r.text,
                               {"file": rel, "page": i, "page_count": len(frames), "width": f.size[0],
                                "height": f.size[1]}, {"modality": "ocr", "ocr": r.meta})
            continue
        source: dict[str, Any] = {"file": rel, "width": w, "height": h}
        if len(frames) == 1:
            meta = results[0].meta
            text = results[0].text
        else:
            text, spans, pos = "", [], 0
            for i, r in enumerate(results, 1):
                if i > 1:
                    text += "\n\n"
                    pos += 2
                spans.append({"page": i, "start": pos, "end": pos + len(r.text), "how": "ocr"})
                text += r.text
                pos += len(r.text)
            source.update(page_count=len(frames), pages=spans)
            meta = ocr.merge_meta([r.meta for r in results])
        counters["docs_read"] += 1
        yield Document(stable_id(rel), text, source, {"modality": "ocr", "ocr": meta})

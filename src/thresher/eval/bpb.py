"""Bits per byte: a tokenizer-independent score of a language model on text.

For each document: ``bpb = sum of -ln p(token | context) over its tokens / (ln 2 x its UTF-8 bytes)``.
The first token is predicted from the model's boundary token (end-of-document / BOS), so every byte
is paid for. A document longer than the model's context is scored by rolling windows: a window of
``context`` tokens moves ``stride`` tokens at a time and scores only the tokens the previous window did
not, so each token is scored once, with at least ``context - stride`` tokens of context (all of it in
the first window). Figures are summed per language (``meta.language``), per source and overall (sums
of nats over sums of bytes, not means of per-document ratios).

Beside each figure: the bits per byte that ``gzip -9``, ``zstd -19`` and ``xz -9`` reach on the same
documents, each group compressed as one stream (the concatenated UTF-8 of its documents), the floor a
language model should beat.
"""
from __future__ import annotations

import gzip
import lzma
import math
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import zstandard

from .data import EvalDoc
from .models import LanguageModel

__all__ = ["windows", "score_documents", "compressed_bpb", "bits_per_byte"]

LN2 = math.log(2)


def windows(n_seq: int, context: int, stride: int) -> list[tuple[int, int, int]]:
    """``(begin, end, first_target)`` over a sequence of ``n_seq`` ids (boundary + tokens): the window
    feeds ``seq[begin:end]`` and scores targets ``first_target .. end-1`` (index into ``seq``)."""
    if not 0 < stride <= context - 1:
        raise ValueError(f"stride must be in 1..context-1 (context {context}, stride {stride})")
    out, begin, scored = [], 0, 1
    while scored < n_seq:
        end = min(begin + context, n_seq)
        out.append((begin, end, scored))
        scored = end
        begin += stride
    return out


def score_documents(model: LanguageModel, docs: list[EvalDoc], context: int | None = None,
                    stride: int | None = None, batch_tokens: int = 4096, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Per document: summed negative log-likelihood in nats, and the number of tokens scored."""
    import torch

    ctx = context or model.context
    stride = stride or max(1, ctx // 2)
    seqs = [[model.boundary] + model.encode(d.text) for d in docs]
    jobs = [(i, b, e, f) for i, s in enumerate(seqs) for b, e, f in windows(len(s), ctx, stride)]
    jobs.sort(key=lambda j: j[2] - j[1], reverse=True)     # similar lengths together: little padding
    nll = np.zeros(len(docs), dtype=np.float64)
    ntok = np.zeros(len(docs), dtype=np.int64)
    k = 0
    with torch.no_grad():
        while k < len(jobs):
            width = jobs[k][2] - jobs[k][1]
            batch = jobs[k:k + max(1, batch_tokens // width)]
            k += len(batch)
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            for r, (i, b, e, _) in enumerate(batch):
                ids[r, :e - b] = torch.tensor(seqs[i][b:e])
            logits = model.logits(ids)
            rows, pos, owner = [], [], []
            for r, (i, b, e, f) in enumerate(batch):
                rows += [r] * (e - f)
                pos += range(f - b - 1, e - b - 1)          # logits at j predict token j + 1
                owner += [i] * (e - f)
            rows_t, pos_t = torch.tensor(rows), torch.tensor(pos)
            # only the scored positions: half of them when stride = context / 2
            loss = torch.nn.functional.cross_entropy(logits[rows_t, pos_t].float(), ids[rows_t, pos_t + 1],
                                                     reduction="none").double().numpy()
            np.add.at(nll, np.asarray(owner), loss)
            np.add.at(ntok, np.asarray(owner), 1)
            if progress:
                progress(sum(e - f for _, _, e, f in batch))
    return nll, ntok


def compressed_bpb(texts: list[bytes]) -> dict[str, float]:
    blob = b"".join(texts)
    if not blob:
        return {"gzip-9": float("nan"), "zstd-19": float("nan"), "xz-9": float("nan")}
    n = len(blob)
    return {"gzip-9": 8 * len(gzip.compress(blob, compresslevel=9, mtime=0)) / n,
            "zstd-19": 8 * len(zstandard.ZstdCompressor(level=19).compress(blob)) / n,
            "xz-9": 8 * len(lzma.compress(blob, preset=9)) / n}


@dataclass
class _Group:
    docs: int = 0
    bytes: int = 0
    tokens: int = 0
    nats: float = 0.0

    def row(self, texts: list[bytes]) -> dict:
        return {"documents": self.docs, "bytes": self.bytes, "tokens": self.tokens,
                "bits_per_byte": self.nats / (LN2 * self.bytes) if self.bytes else float("nan"),
                "bits_per_token": self.nats / (LN2 * self.tokens) if self.tokens else float("nan"),
                **compressed_bpb(texts)}


def bits_per_byte(model: LanguageModel, docs: list[EvalDoc], context: int | None = None, stride: int | None = None,
                  batch_tokens: int = 4096, progress=None) -> dict:
    """The report: ``overall``, ``languages`` and ``sources``, each with bits/byte, bits/token, counts and
    the three compressors' bits/byte; plus tokens/s of the scoring."""
    t0 = time.perf_counter()
    nll, ntok = score_documents(model, docs, context, stride, batch_tokens, progress)
    seconds = time.perf_counter() - t0
    groups: dict[tuple[str, str], _Group] = defaultdict(_Group)
    texts: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for d, x, t in zip(docs, nll, ntok):
        raw = d.text.encode("utf-8", "surrogatepass")
        for key in (("overall", ""), ("languages", d.language), ("sources", d.source)):
            g = groups[key]
            g.docs += 1
            g.bytes += len(raw)
            g.tokens += int(t)
            g.nats += float(x)
            texts[key].append(raw)
    out: dict = {"overall": groups[("overall", "")].row(texts[("overall", "")]), "languages": {}, "sources": {}}
    for (kind, name), g in sorted(groups.items()):
        if kind != "overall":
            out[kind][name] = g.row(texts[(kind, name)])
    ctx = context or model.context
    out.update(model=model.name, context=ctx, stride=stride or max(1, ctx // 2), seconds=round(seconds, 3),
               tokens_per_s=round(int(ntok.sum()) / seconds, 1) if seconds else None)
    return out

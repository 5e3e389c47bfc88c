"""A release's token shards as training windows and a validation stream, and bits per byte.

Reads ``RELEASE/tokens/{train,valid}/part-NNNNN.{bin,idx}`` (Megatron-LM indexed datasets, one
document per sequence with its end-of-document token) through memory maps. Each split's shards, in
order, form one token stream. A training batch is a set of random windows of that stream whose starts
depend only on (seed, step, micro-step): no sampler state, so a resumed run reads exactly what an
uninterrupted one would.

Bits per byte divide the summed negative log-likelihood (in bits) by the UTF-8 bytes of the text the
predicted tokens stand for. The tokenizer is byte-level BPE (lossless), so each token id has a fixed
byte length; special tokens stand for no text.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..errors import ReleaseError
from ..tokens.encoder import bytes_to_unicode
from ..tokens.indexed import IndexedDataset


def token_byte_lengths(tokenizer) -> np.ndarray:
    """UTF-8 bytes each token id stands for (0 for special tokens), from a `tokenizers.Tokenizer`."""
    char_to_byte = {c: b for b, c in bytes_to_unicode().items()}
    special = {t.content for t in tokenizer.get_added_tokens_decoder().values() if t.special}
    out = np.zeros(tokenizer.get_vocab_size(), dtype=np.int64)
    for tok, i in tokenizer.get_vocab().items():
        if tok in special:
            continue
        if all(c in char_to_byte for c in tok):
            out[i] = len(tok)
        else:                     # not in byte-level form (a plain added token): its text
            out[i] = len(tok.encode("utf-8"))
    return out


class TokenData:
    """The train and valid token streams of a tokenized release, and the tokenizer's byte table."""

    def __init__(self, release: Path) -> None:
        self.release = Path(release)
        self.dir = self.release / "tokens"
        self.tokenizer_path = self.dir / "tokenizer.json"
        if not self.tokenizer_path.is_file():
            raise ReleaseError(f"{self.tokenizer_path}: missing; tokenize the release first (thresher tokenize)")
        from tokenizers import Tokenizer

        try:
            self.tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
        except Exception as e:  # tokenizers raises a bare Exception on a bad file
            raise ReleaseError(f"{self.tokenizer_path}: not a tokenizers file ({e})") from None
        self.vocab_size = self.tokenizer.get_vocab_size()
        self.byte_lengths = token_byte_lengths(self.tokenizer)
        self.train = self._split("train")
        self.valid = self._split("valid")
        self.eod = self.tokenizer.token_to_id("<|endoftext|>")

    def _split(self, name: str) -> list[IndexedDataset]:
        parts = sorted((self.dir / name).glob("part-*.idx"))
        if not parts:
            raise ReleaseError(f"{self.dir / name}: no token shards (part-NNNNN.idx)")
        shards = [IndexedDataset(p.with_suffix("")) for p in parts]
        for s, p in zip(shards, parts):
            if s.num_tokens and int(s.tokens.max()) >= self.vocab_size:
                raise ReleaseError(f"{p}: token id {int(s.tokens.max())} is outside the tokenizer's "
                                   f"{self.vocab_size} ids")
        return shards

    @staticmethod
    def _offsets(shards: list[IndexedDataset]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([s.num_tokens for s in shards])]).astype(np.int64)

    def num_tokens(self, split: str = "train") -> int:
        return int(self._offsets(getattr(self, split))[-1])

    def window(self, shards: list[IndexedDataset], offsets: np.ndarray, start: int, n: int) -> np.ndarray:
        """Tokens [start, start + n) of a split's stream (a window may span shards)."""
        pieces, pos, end = [], start, start + n
        i = int(np.searchsorted(offsets, pos, side="right")) - 1
        while pos < end:
            s = shards[i]
            a = pos - offsets[i]
            b = min(end, offsets[i + 1]) - offsets[i]
            pieces.append(s.tokens[a:b])
            pos += b - a
            i += 1
        return np.concatenate(pieces) if len(pieces) > 1 else np.asarray(pieces[0])

    def batch(self, seed: int, step: int, micro: int, batch_size: int, ctx: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and next-token targets (batch_size, ctx) from random train windows fixed by (seed, step, micro)."""
        offsets = self._offsets(self.train)
        total = int(offsets[-1])
        if total < ctx + 1:
            raise ReleaseError(f"{self.dir / 'train'}: {total} tokens, fewer than one window of {ctx + 1}")
        rng = np.random.default_rng([seed, step, micro])
        starts = rng.integers(0, total - ctx, size=batch_size)     # window of ctx + 1 tokens
        rows = np.stack([self.window(self.train, offsets, int(s), ctx + 1) for s in starts]).astype(np.int64)
        t = torch.from_numpy(rows)
        return t[:, :-1], t[:, 1:]

    def valid_stream(self, max_tokens: int | None = None) -> np.ndarray:
        """The first `max_tokens` tokens of the valid split (all of it when None)."""
        offsets = self._offsets(self.valid)
        n = int(offsets[-1]) if max_tokens is None else min(int(offsets[-1]), max_tokens)
        if n < 2:
            raise ReleaseError(f"{self.dir / 'valid'}: fewer than two validation tokens (a small release: give its "
                               f"validation split more documents, `thresher tokenize {self.dir.parent} "
                               "--valid-fraction 0.1 --overwrite`)")
        return self.window(self.valid, offsets, 0, n).astype(np.int64)


@torch.no_grad()
def evaluate(model, stream: np.ndarray, byte_lengths: np.ndarray, ctx: int, batch_size: int = 8,
             device="cpu", autocast=None) -> dict:
    """Loss (nats/token) and bits per byte of `model` over `stream`, cut into consecutive windows of `ctx`.

    Every token but the first is predicted once, from the tokens before it in its window, so two
    context lengths score exactly the same targets."""
    import torch.nn.functional as F
    from contextlib import nullcontext

    was_training = model.training
    model.eval()
    n = len(stream) - 1
    starts = list(range(0, n, ctx))
    nll, n_tok, n_bytes = 0.0, 0, 0
    lengths = torch.from_numpy(byte_lengths)
    for i in range(0, len(starts), batch_size):
        group = starts[i:i + batch_size]
        # windows of one length batch together; only the last window may be shorter
        for size in sorted({min(ctx, n - s) for s in group}):
            rows = [s for s in group if min(ctx, n - s) == size]
            x = torch.from_numpy(np.stack([stream[s:s + size] for s in rows])).to(device)
            y = torch.from_numpy(np.stack([stream[s + 1:s + size + 1] for s in rows])).to(device)
            with autocast or nullcontext():
                logits, _ = model(x)
            nll += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), reduction="sum").item()
            n_tok += y.numel()
            n_bytes += int(lengths[y.cpu()].sum())
    model.train(was_training)
    return {"loss": nll / n_tok, "bits_per_byte": nll / math.log(2) / max(n_bytes, 1), "tokens": n_tok,
            "bytes": n_bytes}

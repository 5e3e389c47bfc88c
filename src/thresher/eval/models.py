"""What evaluation needs of a model, and loaders for the models a user can name.

A :class:`LanguageModel` is a handful of callables: ``encode``/``decode`` (text <-> token ids),
``logits`` (a ``[batch, time]`` int64 tensor of token ids -> ``[batch, time, vocab]`` logits; a causal
model, so right padding never changes the positions before it), ``boundary`` (the token that precedes
every document: end-of-document or BOS, so the first token is scored too), ``context`` (the longest
window it takes) and, for pass@k, ``generate`` (prompt ids -> n continuations, with a KV cache).

Names: ``hf:PATH`` is a local transformers causal-LM folder (weights + tokenizer; nothing is
downloaded); a folder holding ``checkpoint.pt`` and ``config.yaml`` is a ``thresher train`` run (the proxy
model of ``thresher.train``, imported when such a run is named).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError

__all__ = ["LanguageModel", "load_model"]

Generate = Callable[[list[int], int, float, float, int, tuple[str, ...]], list[str]]


@dataclass
class LanguageModel:
    name: str
    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]
    logits: Callable                     # torch.LongTensor [B, T] -> torch.Tensor [B, T, V]
    boundary: int
    context: int
    generate: Generate | None = None     # (prompt ids, n, temperature, top_p, max_new_tokens, stop) -> texts


def truncate_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """The text up to the first stop sequence (the completion the harnesses score)."""
    cut = min((i for s in stop if (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def load_model(spec: str, context: int | None = None, device: str = "cpu") -> LanguageModel:
    if spec.startswith("hf:"):
        return _from_hf(Path(spec[3:]), context, device)
    path = Path(spec)
    if (path / "checkpoint.pt").is_file() and (path / "config.yaml").is_file():
        return _from_run(path, context, device)
    raise InputError(f"{spec}: not a model (expected hf:PATH to a transformers folder, or a thresher train run "
                     "folder with checkpoint.pt and config.yaml)")


def _from_hf(path: Path, context: int | None, device: str) -> LanguageModel:
    if not (path / "config.json").is_file():
        raise InputError(f"{path}: no config.json (hf:PATH must name a local transformers model folder)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=torch.float32).to(device).eval()
    boundary = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    if boundary is None:
        raise InputError(f"{path}: the tokenizer has neither a BOS nor an EOS token to start a document with")
    cfg = model.config
    n_ctx = context or next((getattr(cfg, k) for k in ("n_positions", "max_position_embeddings", "seq_length")
                             if isinstance(getattr(cfg, k, None), int)), None)
    if n_ctx is None:       # ALiBi models (BLOOM) have no fixed length: the tokenizer's, else 2048
        n_ctx = tok.model_max_length if tok.model_max_length < 1_000_000 else 2048

    def logits(ids):
        return model(input_ids=ids.to(device), use_cache=False).logits

    def generate(prompt: list[int], n: int, temperature: float, top_p: float, max_new: int,
                 stop: tuple[str, ...]) -> list[str]:
        ids = torch.tensor([prompt], device=device)
        sample = temperature > 0
        out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=sample, num_return_sequences=n,
                             max_new_tokens=max_new, use_cache=True, pad_token_id=tok.pad_token_id or boundary,
                             **({"temperature": temperature, "top_p": top_p} if sample else {}),
                             **({"stop_strings": list(stop), "tokenizer": tok} if stop else {}))
        return [truncate_at_stop(tok.decode(o[len(prompt):].tolist(), skip_special_tokens=True), stop) for o in out]

    return LanguageModel(f"hf:{path}", lambda t: tok(t, add_special_tokens=False)["input_ids"],
                         lambda ids: tok.decode(ids), logits, boundary, int(n_ctx), generate)


def _from_run(path: Path, context: int | None, device: str) -> LanguageModel:
    """A thresher training run (the proxy model of ``thresher.train``: checkpoint.pt, config.yaml,
    tokenizer.json). Its forward returns ``(logits, loss)``; generation is its KV-cache ``decode``."""
    import torch
    from tokenizers import Tokenizer

    try:
        from ..train.generate import decode
        from ..train.trainer import load_model as load_run
    except ImportError as e:
        raise InputError(f"{path}: a thresher train run needs the proxy-model package thresher.train ({e})") from None

    model, tok_path = load_run(path, device)
    tok = Tokenizer.from_file(str(tok_path))
    eod = tok.token_to_id("<|endoftext|>")
    if eod is None:
        raise InputError(f"{tok_path}: no <|endoftext|> token")
    learned = model.cfg.positions == "learned"
    n_ctx = min(context, model.cfg.block_size) if context and learned else (context or model.cfg.block_size)

    def logits(ids):
        return model(ids.to(device))[0]

    def generate(prompt: list[int], n: int, temperature: float, top_p: float, max_new: int,
                 stop: tuple[str, ...]) -> list[str]:
        prompt = prompt or [eod]
        if learned:
            max_new = min(max_new, model.cfg.block_size - len(prompt))
            if max_new < 1:
                raise InputError(f"{path}: a {len(prompt)}-token prompt fills this model's context")

        def all_stopped(ids):
            return all(any(s in tok.decode(row[len(prompt):].tolist()) for s in stop) for row in ids)

        out = decode(model, torch.tensor([prompt] * n, device=device), max_new, temperature, top_p,
                     torch.Generator(device=device).manual_seed(0), eos_id=eod, on_token=all_stopped if stop else None)
        return [truncate_at_stop(tok.decode([t for t in row[len(prompt):].tolist() if t != eod]), stop) for row in out]

    return LanguageModel(f"run:{path}", lambda t: tok.encode(t, add_special_tokens=False).ids, tok.decode, logits,
                         eod, int(n_ctx), generate)

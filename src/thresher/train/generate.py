"""`thresher generate`: sample from a trained run with the KV cache (temperature, top-p, stop strings).

`decode` is the loop: one forward over the prompt fills the cache, then each step feeds one token per
row. ``use_cache=False`` recomputes the whole sequence every step instead; the tests hold the two to
the same tokens.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ConfigError
from .model import GPT, KVCache


def pick(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Next token per row from last-position logits (B, V): greedy at temperature 0, else nucleus sampling."""
    if temperature <= 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1.0:
        sorted_p, order = probs.sort(dim=-1, descending=True)
        # keep the smallest prefix whose mass reaches top_p (the first token always stays)
        drop = sorted_p.cumsum(dim=-1) - sorted_p >= top_p
        sorted_p = sorted_p.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def decode(model: GPT, prompt: torch.Tensor, max_new_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
           generator: torch.Generator | None = None, use_cache: bool = True, eos_id: int | None = None,
           on_token=None) -> torch.Tensor:
    """Prompt (B, T) -> (B, T + n) token ids; stops early when every row has produced `eos_id`, or when
    `on_token(ids)` returns True."""
    model.eval()
    B, T = prompt.shape
    total = T + max_new_tokens
    if model.cfg.positions == "learned" and total > model.cfg.block_size:
        raise ConfigError(f"generate: learned positions stop at {model.cfg.block_size} tokens; "
                          f"prompt {T} + {max_new_tokens} new is more")
    dtype = next(model.parameters()).dtype
    cache = KVCache(model.cfg, B, total, device=prompt.device, dtype=dtype) if use_cache else None
    ids = prompt
    done = torch.zeros(B, dtype=torch.bool, device=prompt.device)
    logits, _ = model(prompt, cache=cache, last_only=True)
    for _ in range(max_new_tokens):
        nxt = pick(logits[:, -1], temperature, top_p, generator)
        if eos_id is not None:
            nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
            done |= nxt == eos_id
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        if (eos_id is not None and bool(done.all())) or (on_token is not None and on_token(ids)):
            break
        if ids.shape[1] == total:
            break
        if use_cache:
            logits, _ = model(nxt[:, None], cache=cache, last_only=True)
        else:
            logits, _ = model(ids, last_only=True)
    return ids


def generate_text(run: Path, prompt: str, max_new_tokens: int = 200, temperature: float = 0.8, top_p: float = 0.95,
                  stop: list[str] | None = None, seed: int = 0, device: str = "cpu") -> str:
    """The continuation of `prompt` (text only, without the prompt), cut before the first stop string."""
    from tokenizers import Tokenizer

    from .trainer import load_model

    model, tok_path = load_model(Path(run), device)
    tok = Tokenizer.from_file(str(tok_path))
    eos = tok.token_to_id("<|endoftext|>")
    ids = tok.encode(prompt).ids or [eos]
    if model.cfg.positions == "learned":
        max_new_tokens = min(max_new_tokens, model.cfg.block_size - len(ids))
        if max_new_tokens < 1:
            raise ConfigError(f"generate: the prompt is {len(ids)} tokens; this model's context is "
                              f"{model.cfg.block_size}")
    stop = [s for s in (stop or []) if s]
    n_prompt = len(ids)

    def hit_stop(all_ids: torch.Tensor) -> bool:
        return bool(stop) and any(s in tok.decode(all_ids[0, n_prompt:].tolist()) for s in stop)

    g = torch.Generator(device=device).manual_seed(seed)
    out = decode(model, torch.tensor([ids], device=device), max_new_tokens, temperature, top_p, g, eos_id=eos,
                 on_token=hit_stop)
    new = [t for t in out[0, n_prompt:].tolist() if t != eos]
    text = tok.decode(new)
    cut = min((text.find(s) for s in stop if s in text), default=-1)
    return text[:cut] if cut >= 0 else text

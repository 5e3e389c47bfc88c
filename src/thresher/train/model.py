"""The proxy model: a decoder-only transformer in one file (nanoGPT's spirit, our own code).

Pre-LayerNorm blocks, tied input/output embeddings, a GELU (tanh) MLP of 4x width and
`torch.nn.functional.scaled_dot_product_attention`. Positions are one of

- ``alibi``: no position embeddings; each head adds ``slope * (key_pos - query_pos)`` to its scores,
  with BLOOM's slopes (Press et al. 2022). BLOOM also normalises the embeddings (``embed_ln``);
- ``learned``: a position table of ``block_size`` rows (GPT-2, StarCoder);
- ``rope``: rotary embeddings on queries and keys (GPT-NeoX's rotate-half layout).

``n_head`` query heads share ``n_kv_head`` key/value heads: 1 is multi-query attention (StarCoder),
``n_head`` is ordinary multi-head attention, anything between is grouped-query attention. The fused
``c_attn`` projection lays out ``[q (n_head*hd); k (n_kv_head*hd); v (n_kv_head*hd)]``: exactly
GPTBigCode's multi-query layout, so the export only reorders rows for the multi-head formats.

A `KVCache` keeps keys and values of earlier positions for incremental decoding; a forward call with a
cache appends the new positions to it and attends to everything before.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import ConfigError

POSITIONS = ("alibi", "learned", "rope")


@dataclass
class GPTConfig:
    vocab_size: int = 8192
    block_size: int = 256          # training context; the learned position table has this many rows
    n_layer: int = 4
    n_embd: int = 128
    n_head: int = 4
    n_kv_head: int | None = None   # None: n_head (MHA); 1: MQA; between: GQA
    positions: str = "alibi"
    embed_ln: bool | None = None   # LayerNorm after the embedding; None: on for alibi, as BLOOM
    dropout: float = 0.0
    rope_base: float = 10000.0
    ln_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.n_kv_head is None:
            self.n_kv_head = self.n_head
        if self.embed_ln is None:
            self.embed_ln = self.positions == "alibi"
        if self.positions not in POSITIONS:
            raise ConfigError(f"model.positions: {self.positions!r} is not one of {', '.join(POSITIONS)}")
        for name in ("vocab_size", "block_size", "n_layer", "n_embd", "n_head", "n_kv_head"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"model.{name}: must be a positive integer, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise ConfigError(f"model: n_embd {self.n_embd} is not a multiple of n_head {self.n_head}")
        if self.n_head % self.n_kv_head:
            raise ConfigError(f"model: n_head {self.n_head} is not a multiple of n_kv_head {self.n_kv_head}")
        if self.positions == "rope" and (self.n_embd // self.n_head) % 2:
            raise ConfigError("model: rope needs an even head size")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"model: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**d)


def alibi_slopes(n_head: int) -> torch.Tensor:
    """BLOOM's per-head slopes: a geometric sequence from 2^(-8/n); for a head count that is not a power of
    two, the odd terms of the sequence for the next power of two fill the remaining heads."""
    p = 2 ** math.floor(math.log2(n_head))
    base = 2.0 ** (-(2.0 ** -(math.log2(p) - 3)))
    slopes = [base ** i for i in range(1, p + 1)]
    if p != n_head:
        extra = 2.0 ** (-(2.0 ** -(math.log2(2 * p) - 3)))
        slopes += [extra ** i for i in range(1, 1 + 2 * min(p, n_head - p), 2)]
    return torch.tensor(slopes, dtype=torch.float32)


class KVCache:
    """Keys and values of every layer for up to `max_len` positions, written in place as decoding goes."""

    def __init__(self, cfg: GPTConfig, batch: int, max_len: int, device=None, dtype=torch.float32) -> None:
        shape = (cfg.n_layer, batch, cfg.n_kv_head, max_len, cfg.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len
        self.pos = 0            # positions filled so far (advanced by GPT.forward after the last layer)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        end = self.pos + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} positions, {end} needed")
        self.k[layer, :, :, self.pos:end] = k
        self.v[layer, :, :, self.pos:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding, rotate-half layout: pairs (i, i + hd/2) turn by angle pos * base^(-2i/hd)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.n_head, self.n_kv_head, self.hd = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.c_attn = nn.Linear(cfg.n_embd, cfg.n_embd + 2 * cfg.n_kv_head * cfg.head_dim)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout

    def forward(self, x, mask, causal, rope, cache: KVCache | None, layer: int):
        B, T, _ = x.shape
        H, Hkv, hd = self.n_head, self.n_kv_head, self.hd
        q, k, v = self.c_attn(x).split((H * hd, Hkv * hd, Hkv * hd), dim=-1)
        q = q.view(B, T, H, hd).transpose(1, 2)
        k = k.view(B, T, Hkv, hd).transpose(1, 2)
        v = v.view(B, T, Hkv, hd).transpose(1, 2)
        if rope is not None:
            q, k = rotate(q, *rope), rotate(k, *rope)
        if cache is not None:
            k, v = cache.update(layer, k, v)
        drop = self.dropout if self.training else 0.0
        if mask is not None and mask.dtype != q.dtype:      # under autocast q is bf16; SDPA wants one dtype
            mask = mask.to(q.dtype)
        if Hkv != H and not causal and B * Hkv >= torch.get_num_threads():
            # Fewer key/value heads, decoding, enough (batch x kv head) blocks to keep every thread busy:
            # fold the query heads sharing a key/value head into one longer query block (one matmul per
            # key/value head, the cache read once per group: what makes MQA decoding cheap at batch 32).
            g, S = H // Hkv, k.shape[2]
            qf = q.reshape(B, Hkv, g * T, hd)
            mf = None if mask is None else mask.expand(1, H, T, S).reshape(1, Hkv, g * T, S)
            y = F.scaled_dot_product_attention(qf, k, v, attn_mask=mf, dropout_p=drop).view(B, H, T, hd)
        else:
            # Otherwise SDPA's fused kernel maps each query head to its key/value head itself (enable_gqa),
            # with no copies of the cache, and splits the work over batch x query heads (a folded block
            # is one work item per kv head: batch-1 MQA decoding would run on one thread).
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=drop,
                                               enable_gqa=Hkv != H)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, H * hd))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.ln_eps)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.ln_eps)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, mask, causal, rope, cache, layer):
        x = x + self.drop(self.attn(self.ln_1(x), mask, causal, rope, cache, layer))
        return x + self.drop(self.mlp(self.ln_2(x)))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd) if cfg.positions == "learned" else None
        self.emb_ln = nn.LayerNorm(cfg.n_embd, eps=cfg.ln_eps) if cfg.embed_ln else None
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.ln_eps)
        if cfg.positions == "alibi":
            self.register_buffer("slopes", alibi_slopes(cfg.n_head), persistent=False)
        self._inputs_cache: dict = {}
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):      # GPT-2: residual projections scaled by depth
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.wte.weight.numel() + (self.wpe.weight.numel() if self.wpe is not None else 0)
        return n

    def _attention_inputs(self, T: int, p0: int, device):
        """(mask, causal, rope) for queries at positions p0..p0+T-1 over keys 0..p0+T-1.

        The mask is 4-D, (1, heads or 1, T, S): SDPA's fused CPU kernel (flash attention) takes a float mask
        only in 2-D or 4-D and falls back to the unfused math kernel (several times slower, the T x S
        scores kept for backward) on a 3-D one. Training and evaluation call this with the same (T, 0) at
        every step, so those inputs are built once and kept."""
        key = (T, p0, str(device))
        if p0 == 0 and key in self._inputs_cache:
            return self._inputs_cache[key]
        out = self._build_attention_inputs(T, p0, device)
        if p0 == 0:
            self._inputs_cache = {key: out}         # one length at a time: training, or one evaluation
        return out

    def _build_attention_inputs(self, T: int, p0: int, device):
        S = p0 + T
        rope = None
        if self.cfg.positions == "rope":
            hd = self.cfg.head_dim
            inv = self.cfg.rope_base ** (-torch.arange(0, hd, 2, device=device, dtype=torch.float32) / hd)
            ang = torch.outer(torch.arange(p0, S, device=device, dtype=torch.float32), inv)
            ang = torch.cat((ang, ang), dim=-1)
            rope = (ang.cos(), ang.sin())
        if self.cfg.positions != "alibi":
            if p0 == 0:
                return None, T > 1, rope          # SDPA's own causal mask
            if T == 1:
                return None, False, rope          # one new query sees the whole cache
        qpos = torch.arange(p0, S, device=device)[:, None]
        kpos = torch.arange(S, device=device)[None, :]
        rel = (kpos - qpos).float()                # <= 0 for visible keys
        mask = torch.zeros(T, S, device=device).masked_fill(rel > 0, float("-inf"))
        if self.cfg.positions == "alibi":
            mask = mask + self.slopes.to(device)[:, None, None] * rel
        return mask.expand(1, -1, T, S) if mask.dim() == 3 else mask[None, None], False, rope

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, cache: KVCache | None = None,
                last_only: bool = False):
        """Logits (B, T, V) — or (B, 1, V) with `last_only` — and the mean cross-entropy when `targets` is given."""
        B, T = idx.shape
        p0 = cache.pos if cache is not None else 0
        if self.wpe is not None and p0 + T > self.cfg.block_size:
            raise ValueError(f"learned positions stop at {self.cfg.block_size}; got position {p0 + T - 1}")
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(p0, p0 + T, device=idx.device))
        if self.emb_ln is not None:
            x = self.emb_ln(x)
        x = self.drop(x)
        mask, causal, rope = self._attention_inputs(T, p0, idx.device)
        for i, block in enumerate(self.h):
            x = block(x, mask, causal, rope, cache, i)
        if cache is not None:
            cache.pos += T
        x = self.ln_f(x)
        if last_only:
            x = x[:, -1:]
        logits = F.linear(x, self.wte.weight)     # tied embeddings
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss

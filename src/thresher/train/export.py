"""Export a run to a transformers checkpoint: ALiBi + MHA as BLOOM, learned positions as GPTBigCode (StarCoder).

`AutoModelForCausalLM.from_pretrained(OUT)` then loads it (and `AutoTokenizer` the tokenizer), so
lm-evaluation-harness and the rest of the ecosystem can read a proxy run. The two classes are also the
oracle for this package's attention: tests compare logits through `to_hf`.

Our fused projection is ``[q; k; v]`` (all heads of each). GPTBigCode's multi-query layout is the same;
BLOOM and GPTBigCode's multi-head layout interleave per head ``[q_h; k_h; v_h]``, so rows are reordered.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import torch

from ..errors import ConfigError
from .model import GPT, GPTConfig


def hf_format(cfg: GPTConfig) -> str:
    """'bloom' or 'gpt_bigcode' — or a ConfigError naming why neither class can hold this architecture."""
    if cfg.positions == "alibi":
        if cfg.n_kv_head != cfg.n_head:
            raise ConfigError(f"export: ALiBi with {cfg.n_kv_head} key/value heads for {cfg.n_head} query heads has "
                              "no transformers class (BLOOM is multi-head only); it still trains and generates here")
        if not cfg.embed_ln:
            raise ConfigError("export: BLOOM normalises the embeddings; train with model.embed_ln: true to export")
        return "bloom"
    if cfg.positions == "learned":
        if cfg.n_kv_head not in (1, cfg.n_head):
            raise ConfigError(f"export: GPTBigCode has multi-query (n_kv_head 1) or multi-head attention, "
                              f"not {cfg.n_kv_head} key/value heads")
        if cfg.embed_ln:
            raise ConfigError("export: GPTBigCode has no embedding LayerNorm; train with model.embed_ln: false")
        return "gpt_bigcode"
    raise ConfigError(f"export: {cfg.positions} positions have no BLOOM or GPTBigCode equivalent")


def _interleave(t: torch.Tensor, n_head: int) -> torch.Tensor:
    """[q; k; v] rows -> per head [q_h; k_h; v_h] (works for a weight (3d, d) and a bias (3d,))."""
    rest = t.shape[1:]
    return t.reshape(3, n_head, -1, *rest).transpose(0, 1).reshape(t.shape)


def hf_config(cfg: GPTConfig, bos: int = 0, eos: int = 0, pad: int | None = None):
    fmt = hf_format(cfg)
    if fmt == "bloom":
        from transformers import BloomConfig

        return BloomConfig(vocab_size=cfg.vocab_size, hidden_size=cfg.n_embd, n_layer=cfg.n_layer,
                           n_head=cfg.n_head, layer_norm_epsilon=cfg.ln_eps, hidden_dropout=0.0,
                           attention_dropout=0.0, bos_token_id=bos, eos_token_id=eos, pad_token_id=pad,
                           tie_word_embeddings=True)
    from transformers import GPTBigCodeConfig

    return GPTBigCodeConfig(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd,
                            n_layer=cfg.n_layer, n_head=cfg.n_head, n_inner=4 * cfg.n_embd,
                            activation_function="gelu_pytorch_tanh", resid_pdrop=0.0, embd_pdrop=0.0,
                            attn_pdrop=0.0, layer_norm_epsilon=cfg.ln_eps, multi_query=cfg.n_kv_head == 1,
                            bos_token_id=bos, eos_token_id=eos, pad_token_id=pad, tie_word_embeddings=True)


def hf_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """Our weights under BLOOM's or GPTBigCode's parameter names."""
    cfg = model.cfg
    fmt = hf_format(cfg)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    out: dict[str, torch.Tensor] = {}
    bloom = fmt == "bloom"
    out["transformer.word_embeddings.weight" if bloom else "transformer.wte.weight"] = sd["wte.weight"]
    if bloom:
        out["transformer.word_embeddings_layernorm.weight"] = sd["emb_ln.weight"]
        out["transformer.word_embeddings_layernorm.bias"] = sd["emb_ln.bias"]
    else:
        out["transformer.wpe.weight"] = sd["wpe.weight"]
    names = ({"ln_1": "input_layernorm", "attn.c_attn": "self_attention.query_key_value",
              "attn.c_proj": "self_attention.dense", "ln_2": "post_attention_layernorm",
              "mlp.c_fc": "mlp.dense_h_to_4h", "mlp.c_proj": "mlp.dense_4h_to_h"} if bloom else
             {k: k for k in ("ln_1", "attn.c_attn", "attn.c_proj", "ln_2", "mlp.c_fc", "mlp.c_proj")})
    interleave = bloom or cfg.n_kv_head != 1
    for i in range(cfg.n_layer):
        for ours, theirs in names.items():
            for kind in ("weight", "bias"):
                t = sd[f"h.{i}.{ours}.{kind}"]
                if ours == "attn.c_attn" and interleave:
                    t = _interleave(t, cfg.n_head)
                out[f"transformer.h.{i}.{theirs}.{kind}"] = t
    out["transformer.ln_f.weight"] = sd["ln_f.weight"]
    out["transformer.ln_f.bias"] = sd["ln_f.bias"]
    out["lm_head.weight"] = sd["wte.weight"]
    return out


def to_hf(model: GPT, **token_ids):
    """The transformers model (BloomForCausalLM or GPTBigCodeForCausalLM) holding `model`'s weights, in eval mode."""
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_config(hf_config(model.cfg, **token_ids))
    missing, unexpected = hf.load_state_dict(hf_state_dict(model), strict=False)
    missing = [m for m in missing if not m.endswith(".attn.bias") and not m.endswith("masked_bias")]
    if missing or unexpected:
        raise RuntimeError(f"export: weights do not match the transformers class: missing {missing}, "
                           f"unexpected {unexpected}")
    hf.tie_weights()
    return hf.eval()


def export(run: Path, out: Path) -> Path:
    """Write `run`'s checkpoint as a transformers model folder (config, safetensors, tokenizer) at `out`."""
    from transformers import PreTrainedTokenizerFast

    from .trainer import load_model

    model, tokenizer_path = load_model(Path(run))
    tok = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_path))
    specials = {"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "unk_token": None}
    vocab = tok.get_vocab()
    if "<pad>" in vocab:
        specials["pad_token"] = "<pad>"
    tok.add_special_tokens({k: v for k, v in specials.items() if v is not None and v in vocab})
    eos = vocab.get("<|endoftext|>", 0)
    hf = to_hf(model, bos=eos, eos=eos, pad=vocab.get("<pad>"))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        hf.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out

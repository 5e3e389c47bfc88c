"""Proxy models: a small GPT (ALiBi / learned / rope positions; MHA, GQA, MQA) trained on a release's token
shards, sampled with a KV cache, exported to transformers' BLOOM and GPTBigCode formats. Needs `thresher[train]`."""

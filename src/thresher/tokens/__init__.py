"""Token shards of a release: Megatron-LM's indexed dataset (.bin + .idx) and the id -> token-range index."""

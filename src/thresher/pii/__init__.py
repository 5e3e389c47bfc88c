"""Personal information and secrets: detect (validated), redact (tags or pseudonyms), measure.

``find_pii(text)`` and ``find_secrets(text)`` return (type, start, end) spans; ``redact_text``
replaces them. The pipeline steps are ``pii_redact`` (PiiRedact) and ``secrets_redact``
(SecretsRedact). Person names and other model-only entities come from a named-entity detector
registered through ``register_ner`` or the ``thresher.pii_ner`` entry-point group.
"""
from .detect import PII_TYPES, PiiSpan, find_pii, resolve_overlaps
from .ner import load_ner, register_ner
from .pseudonyms import Pseudonymizer
from .redact import PiiRedact, redact_spans, redact_text
from .secret_rules import SecretOptions, find_secrets
from .secrets import SecretsRedact

__all__ = ["PII_TYPES", "PiiSpan", "find_pii", "resolve_overlaps", "find_secrets", "SecretOptions",
           "redact_text", "redact_spans", "Pseudonymizer", "register_ner", "load_ner", "PiiRedact",
           "SecretsRedact"]

"""Personal information and secrets: detect (validated), redact (tags or pseudonyms), measure.

``find_pii(text)`` and ``find_secrets(text)`` return (type, start, end) spans; ``redact_text``
replaces them. The pipeline steps are ``pii_redact`` (PiiRedact) and ``secrets_redact``
(SecretsRedact). Person names and other model-only entities come from a named-entity detector
registered through ``register_ner`` or the ``thresher.pii_ner`` entry-point group.
"""
from ..lazy import exports

# lazy (thresher.lazy): the pii_redact step imports thresher.pii.redact without the secret scanner's
# detect-secrets and requests (0.2 s of every process that runs it)
__getattr__, __dir__, __all__ = exports(__name__, {
    "PII_TYPES": ".detect", "PiiSpan": ".detect", "find_pii": ".detect", "resolve_overlaps": ".detect",
    "find_secrets": ".secret_rules", "SecretOptions": ".secret_rules", "redact_text": ".redact",
    "redact_spans": ".redact", "Pseudonymizer": ".pseudonyms", "register_ner": ".ner", "load_ner": ".ner",
    "PiiRedact": ".redact", "SecretsRedact": ".secrets"})

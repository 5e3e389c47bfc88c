"""``secrets_redact``: replace keys, tokens and passwords in code and config text.

Detection lives in ``secret_rules`` (detect-secrets' plugins behind fast gates, plus BigCode's
false-positive filters in ``secret_filters``); this module is the pipeline step. Like ``pii_redact``
it records replacement types and offsets (never values) and counts ``secret:TYPE[:LANG]``.
"""
from __future__ import annotations

from ..document import Document
from .detect import PiiSpan
from .redact import Mode, SpanRedactor, pseudonymizer_from_env
from .secret_rules import SecretOptions, find_secrets, scan_texts


class SecretsRedact(SpanRedactor):
    """Redact private keys, API keys and tokens, passwords and high-entropy strings in code and config.

    Secrets become ``<KEY>``/``<PASSWORD>`` tags or same-shape pseudonyms. Placeholders (xxxx,
    <your-key>, example values), UUIDs, hashes, ids and word-like strings are left alone, and so are
    lines marked ``pragma: allowlist secret``.
    """

    name = "secrets_redact"
    version = 1
    kind = "secret"

    def __init__(self, mode: Mode = "tag", keywords: bool = True, entropy: bool = True,
                 tokens: bool = True, private_keys: bool = True, honor_allowlist_pragma: bool = True,
                 base64_limit: float = 4.5, hex_limit: float = 3.0, gibberish_limit: float = 3.7,
                 salt_env: str = "THRESHER_PII_SALT"):
        self.mode = mode
        self.options = SecretOptions(keywords, entropy, tokens, private_keys, honor_allowlist_pragma,
                                     base64_limit, hex_limit, gibberish_limit)
        self._pseudo = pseudonymizer_from_env(salt_env, self.name) if mode == "pseudonym" else None

    def find_batch(self, docs: list[Document]) -> list[list[PiiSpan]]:
        out = []
        for doc, scanned in zip(docs, scan_texts([d.text for d in docs], self.options)):
            path = doc.source.get("path") or doc.source.get("uri")
            out.append(find_secrets(doc.text, path if isinstance(path, str) else None, self.options, scanned))
        return out


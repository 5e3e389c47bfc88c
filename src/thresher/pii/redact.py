"""``pii_redact``: replace validated personal information with typed tags or consistent pseudonyms.

``redact_text(text, spans, mode)`` is the reusable half (search snippets use it at display time);
``PiiRedact`` is the pipeline step. The step records in ``meta["pii_redact_v1"]["spans"]`` each
replacement's type and its offsets in the *released* text — never the original value — and counts
``pii:TYPE`` and ``pii:TYPE:LANG`` for the release stats.
"""
from __future__ import annotations

import os
from typing import Iterable, Literal

from ..document import Document
from ..errors import ConfigError
from ..steps.base import Modifier, StepContext
from .detect import PII_TYPES, PiiSpan, find_pii
from .ner import load_ner
from .pseudonyms import Pseudonymizer
from .scan import candidate_windows_batch
from .validators import DEFAULT_REGIONS, FORM_REGIONS, warm

Mode = Literal["tag", "pseudonym"]


def redact_spans(text: str, spans: Iterable[tuple[str, int, int]], mode: Mode = "tag",
                 pseudonymizer: Pseudonymizer | None = None) -> tuple[str, list[PiiSpan]]:
    """Redacted text plus each replacement's (type, start, end) in the redacted text.

    ``spans`` must not overlap (``find_pii`` guarantees it). Tags are ``<TYPE>``; pseudonyms need a
    ``Pseudonymizer`` (a salted, deterministic fake of a valid shape).
    """
    if mode == "pseudonym" and pseudonymizer is None:
        raise ConfigError("pseudonym mode needs a Pseudonymizer (a salt)")
    if mode not in ("tag", "pseudonym"):
        raise ConfigError(f"unknown redaction mode '{mode}' (tag | pseudonym)")
    parts: list[str] = []
    out: list[PiiSpan] = []
    pos = 0
    size = 0
    for kind, start, end in sorted(spans, key=lambda s: s[1]):
        if start < pos:
            continue                                   # overlapping input: first span wins
        parts.append(text[pos:start])
        size += start - pos
        new = f"<{kind}>" if mode == "tag" else pseudonymizer.fake(kind, text[start:end])  # type: ignore[union-attr]
        parts.append(new)
        out.append(PiiSpan(kind, size, size + len(new)))
        size += len(new)
        pos = end
    parts.append(text[pos:])
    return "".join(parts), out


def redact_text(text: str, spans: Iterable[tuple[str, int, int]], mode: Mode = "tag",
                pseudonymizer: Pseudonymizer | None = None) -> str:
    """``text`` with every span replaced by ``<TYPE>`` (mode "tag") or a consistent pseudonym."""
    return redact_spans(text, spans, mode, pseudonymizer)[0]


def pseudonymizer_from_env(var: str, step: str) -> Pseudonymizer:
    """The salt lives in an environment variable so that it never lands in the release manifest."""
    salt = os.environ.get(var, "")
    if not salt:
        raise ConfigError(f"step '{step}': mode 'pseudonym' needs a secret salt in the environment "
                          f"variable {var} (it is kept out of the manifest on purpose)")
    return Pseudonymizer(salt)


def _shift_earlier(doc: Document, found: list[PiiSpan], out: list[PiiSpan]) -> None:
    """Keep spans recorded by earlier redaction steps pointing at their tags in the new text."""
    for key, value in doc.meta.items():
        if not (isinstance(value, dict) and key.endswith(("redact_v1", "redact_v2")) and "spans" in value):
            continue
        shifted = []
        for kind, a, b in value["spans"]:
            delta = sum((o.end - o.start) - (f.end - f.start) for f, o in zip(found, out) if f.end <= a)
            shifted.append([kind, a + delta, b + delta])
        value["spans"] = shifted


def record(step: Modifier, doc: Document, ctx: StepContext, spans: list[PiiSpan], new_text: str,
           prefix: str, found: list[PiiSpan] | None = None) -> None:
    """Shared bookkeeping of pii_redact and secrets_redact: meta spans, counters, modified_by.

    ``spans`` are offsets in ``new_text``; ``found`` (offsets in the old text) lets spans recorded by
    an earlier redaction step follow the text they point into."""
    if found:
        _shift_earlier(doc, found, spans)
    lang = doc.meta.get("language")
    lang = lang if isinstance(lang, str) and lang else None
    for s in spans:
        ctx.count(step.name, f"{prefix}:{s.type}")
        if lang:
            ctx.count(step.name, f"{prefix}:{s.type}:{lang}")
    ctx.count(step.name, "modified")
    ctx.count(step.name, "spans", len(spans))
    doc.meta[step.meta_key] = {"spans": [[s.type, s.start, s.end] for s in spans]}
    doc.meta.setdefault("modified_by", []).append(step.meta_key)
    doc.text = new_text


class SpanRedactor(Modifier):
    """The shared loop of the PII and secrets steps: find spans, redact them, record types + offsets."""

    kind = "pii"            # counter prefix: pii:EMAIL, secret:KEY ...
    mode: str
    _pseudo: Pseudonymizer | None

    def find(self, doc: Document) -> list[PiiSpan]:
        return self.find_batch([doc])[0]

    def find_batch(self, docs: list[Document]) -> list[list[PiiSpan]]:
        """The spans of each document (the compiled scans run once over the whole batch)."""
        raise NotImplementedError

    def modify(self, doc: Document) -> str | None:
        spans = self.find(doc)
        return redact_text(doc.text, spans, self.mode, self._pseudo) if spans else None

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        for doc, spans in zip(docs, self.find_batch(docs)):
            if spans:
                new_text, out = redact_spans(doc.text, spans, self.mode, self._pseudo)
                record(self, doc, ctx, out, new_text, self.kind, spans)
        return docs


class PiiRedact(SpanRedactor):
    """Redact e-mails, phones, public IPs, cards, IBANs, national ids, handles and URL credentials.

    Every candidate is validated (checksum, numbering plan, address range) before it counts.
    ``types`` picks entity types (default: all of thresher.pii.PII_TYPES); ``region`` is the
    phone region hint (else taken from meta["language"]); ``ner`` names a registered
    named-entity detector (thresher.pii.ner) for person names and other model-only types.
    """

    name = "pii_redact"
    version = 1

    def __init__(self, types: list[str] | None = None, mode: Mode = "tag", region: str | None = None,
                 keep_private_ip: bool = True, ner: str | None = None,
                 salt_env: str = "THRESHER_PII_SALT"):
        unknown = sorted(set(types or ()) - set(PII_TYPES))
        if unknown:
            raise ConfigError(f"step 'pii_redact': unknown types {unknown} (known: {', '.join(PII_TYPES)})")
        self.types = tuple(types) if types else None
        self.mode = mode
        self.region = region.upper() if region else None
        self.keep_private_ip = keep_private_ip
        self.ner_name = ner
        self._ner = load_ner(ner) if ner else None
        self._pseudo = pseudonymizer_from_env(salt_env, self.name) if mode == "pseudonym" else None

    def prepare(self) -> None:
        """The compiled scan and the phone patterns of the hinted and the common regions, loaded once in
        the pipeline's process for the forked workers (``Step.prepare``), not on each worker's first
        documents."""
        candidate_windows_batch(["Call +1 202-555-0143 or mail a@b.org, 10.1.2.3"])
        warm(((self.region,) if self.region else ()) + DEFAULT_REGIONS + FORM_REGIONS)

    def find_batch(self, docs: list[Document]) -> list[list[PiiSpan]]:
        out = []
        for doc, windows in zip(docs, candidate_windows_batch([d.text for d in docs])):
            lang = doc.meta.get("language")
            out.append(find_pii(doc.text, self.types, region=self.region,
                                language=lang if isinstance(lang, str) else None,
                                keep_private_ip=self.keep_private_ip, ner=self._ner, windows=windows,
                                url=doc.source.get("uri") if isinstance(doc.source.get("uri"), str) else None))
        return out


"""The publishing contract: what a release publishes and what stays with its custodian.

Published (``thresher publish`` copies exactly these, see ``PUBLIC``): ``data/`` (kept documents),
``excluded/`` (dropped documents, see below), ``clusters/`` (dedup cluster tables: ids only),
``stats.json``, ``manifest.json``, the card and its figures, and the custodian's public key.
Kept by the custodian, never published: ``index/`` (the search index holds the text of every
document, removed ones until a forget), ``.thresher/`` (work files, resume state), and the project's
``governance/`` folder (ledger salt, private signing key, journals).

Every string that leaves passes the same redaction as the text (``pii`` and ``secrets`` detectors,
typed tags): each string in a document's ``source`` (extra JSONL/Parquet fields, titles, authors),
and, by the ``output.excluded`` setting, the text of dropped documents:

- ``trace`` (default): ``excluded/`` holds id, provenance (redacted), step, reason, score and
  threshold; the text is empty and ``meta.excluded_text`` keeps its length and sha256;
- ``redacted``: the dropped text too, through the PII and secrets redaction.

Documents are dropped *before* a pipeline's ``pii_redact`` step too (short, wrong language, low
quality), so without this the raw text of those would be published.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Literal

import orjson
import pyarrow as pa

from .paths import PUBLIC, WORK  # noqa: F401  (PUBLIC: what publishing copies)

ExcludedMode = Literal["trace", "redacted"]
EXCLUDED_MODES: tuple[str, ...] = ("trace", "redacted")
PRIVATE = ("index", WORK, "governance")
# provenance keys whose values are locators: only addresses and credentials are taken out of them, so a
# URL keeps matching removal requests by URL, prefix and domain
LOCATORS = frozenset({"url", "uri", "path", "repo", "commit", "digest", "record", "offset", "warc_record_id",
                      "date", "fetched_at", "format", "file", "license", "sha", "blob", "lang", "language"})
LOCATOR_TYPES = ("URL_CREDENTIALS", "EMAIL")


def _spans(text: str, windows: list | None = None, scanned: tuple | None = None) -> list:
    from .pii import find_pii, find_secrets, resolve_overlaps

    return resolve_overlaps(list(find_pii(text, windows=windows)) + list(find_secrets(text, scanned=scanned)))


def redact_string(text: str, light: bool = False) -> str:
    """``text`` with personal information (and, unless ``light``, secrets) replaced by ``<TYPE>`` tags."""
    if not text or (light and "@" not in text):
        return text             # before importing the detectors: most provenance strings need none
    from .pii import find_pii, redact_text

    if light:
        spans = find_pii(text, LOCATOR_TYPES)
    else:
        spans = _spans(text)
    return redact_text(text, spans) if spans else text


def redact_many(texts: list[str]) -> dict[str, str]:
    """Each distinct text -> its redaction, the compiled scans run once over all of them (10x faster
    than one ``redact_string`` call per short field value)."""
    uniq = list(dict.fromkeys(t for t in texts if t))
    if not uniq:
        return {}               # before importing the detectors (numba, detect-secrets: a second)
    from .pii import redact_text
    from .pii.scan import candidate_windows_batch
    from .pii.secret_rules import scan_texts

    out = {}
    for t, w, sc in zip(uniq, candidate_windows_batch(uniq), scan_texts(uniq)):
        # nothing for either detector to look at (no '@', no number-like window, no secret literal,
        # keyword or key-like run, no key block): the detectors would return nothing, skip the calls
        if not w and "@" not in t and not (sc[0] or sc[1] or sc[2]) and "PRIVATE KEY" not in t \
                and "PuTTY" not in t:
            out[t] = t
            continue
        spans = _spans(t, w, sc)
        out[t] = redact_text(t, spans) if spans else t
    return out


def _walk(value: Any, key: str | None, top: bool, fn: Callable[[str, bool], str]) -> Any:
    if isinstance(value, str):
        return fn(value, top and key in LOCATORS)
    if isinstance(value, dict):
        return {k: _walk(v, k, top and k != "fields", fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, key, False, fn) for v in value]
    return value


def public_value(value: Any, key: str | None = None, top: bool = True) -> Any:
    """A JSON value with every string redacted (locator keys at the top level only lightly)."""
    return _walk(value, key, top, lambda s, light: redact_string(s, light))


def _parse(raw: str | None) -> Any:
    """A stored source, parsed; None when it publishes as it is: empty, or plain locator values
    without an '@' (the {"file", "offset"} of a JSONL line), which both walks below would keep."""
    if not raw or raw == "{}":
        return None
    p = orjson.loads(raw)
    if "@" not in raw and isinstance(p, dict) and all(k in LOCATORS and not isinstance(v, (dict, list))
                                                       for k, v in p.items()):
        return None
    return p


def public_sources(sources: list[str | None]) -> list[str | None]:
    """Stored ``source`` JSON strings as they may be published (same key order: sorted); one batch."""
    parsed = [_parse(s) for s in sources]
    full: list[str] = []
    for p in parsed:
        if p is not None:
            _walk(p, None, True, lambda s, light: full.append(s) if not light else None)
    table = redact_many(full)
    out = []
    for raw, p in zip(sources, parsed):
        if p is None:
            out.append(raw)
            continue
        pub = _walk(p, None, True, lambda s, light: redact_string(s, True) if light else table.get(s, s))
        out.append(raw if pub == p else orjson.dumps(pub, option=orjson.OPT_SORT_KEYS).decode())
    return out


def public_source_json(source: str | None) -> str | None:
    """One stored ``source`` JSON string as it may be published."""
    return public_sources([source])[0]


def _set(table: pa.Table, name: str, values: list) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


def public_data(table: pa.Table) -> pa.Table:
    """Kept documents as published: their ``source`` strings redacted (the text is the pipeline's)."""
    return _set(table, "source", public_sources(table.column("source").to_pylist()))


def public_excluded(mode: str) -> "Excluded":
    """The transform of dropped documents for ``mode`` (``trace`` | ``redacted``)."""
    if mode not in EXCLUDED_MODES:
        from .errors import ConfigError

        raise ConfigError(f"output.excluded: unknown mode '{mode}' (known: {', '.join(EXCLUDED_MODES)})")
    return Excluded(mode)


def _traced(text: str, meta: dict) -> dict:
    """A dropped document's meta in ``trace`` mode: with the length and sha256 of its text."""
    if not text:
        return meta
    sha = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return {**meta, "excluded_text": {"chars": len(text), "sha256": sha}}


class Excluded:
    """Dropped documents as published for an ``output.excluded`` mode: a table's rows (``__call__``), or
    (``trace``) the text and meta columns straight from the documents (``documents``, then ``sources``
    for the rest), the same strings without writing the texts into a table and reading them back."""

    def __init__(self, mode: str):
        self.mode = mode

    def __call__(self, table: pa.Table) -> pa.Table:
        table = public_data(table)
        texts = table.column("text").to_pylist()
        if self.mode == "redacted":
            red = redact_many(texts)
            return _set(table, "text", [red.get(t, t) if t else t for t in texts])
        metas = table.column("meta").to_pylist()
        new_meta = [orjson.dumps(_traced(text or "", orjson.loads(meta) if meta else {}),
                                 option=orjson.OPT_SORT_KEYS).decode() for text, meta in zip(texts, metas)]
        return _set(_set(table, "text", [""] * table.num_rows), "meta", new_meta)

    def documents(self, texts: list[str], metas: list[dict], dump: Callable[[dict], str]) -> tuple[list, list] | None:
        """(published texts, published meta JSON by ``dump``) of dropped documents, or None where only a
        table can say (``redacted``: the redaction runs over the whole batch)."""
        if self.mode != "trace":
            return None
        return [""] * len(texts), [dump(_traced(t, m)) for t, m in zip(texts, metas)]

    sources = staticmethod(public_data)     # what ``documents`` leaves to do on the table

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

ExcludedMode = Literal["trace", "redacted"]
EXCLUDED_MODES: tuple[str, ...] = ("trace", "redacted")
PUBLIC = ("data", "excluded", "clusters", "stats.json", "manifest.json", "card", "custodian.pub")
PRIVATE = ("index", ".thresher", "governance")
# provenance keys whose values are locators: only addresses and credentials are taken out of them, so a
# URL keeps matching removal requests by URL, prefix and domain
LOCATORS = frozenset({"url", "uri", "path", "repo", "commit", "digest", "record", "offset", "warc_record_id",
                      "date", "fetched_at", "format", "file", "license", "sha", "blob", "lang", "language"})
LOCATOR_TYPES = ("URL_CREDENTIALS", "EMAIL")


def redact_string(text: str, light: bool = False) -> str:
    """``text`` with personal information (and, unless ``light``, secrets) replaced by ``<TYPE>`` tags."""
    from .pii import find_pii, find_secrets, redact_text, resolve_overlaps

    if not text:
        return text
    if light:
        if "@" not in text:
            return text
        spans = find_pii(text, LOCATOR_TYPES)
    else:
        spans = resolve_overlaps(list(find_pii(text)) + list(find_secrets(text)))
    return redact_text(text, spans) if spans else text


def public_value(value: Any, key: str | None = None, top: bool = True) -> Any:
    """A JSON value with every string redacted (locator keys at the top level only lightly)."""
    if isinstance(value, str):
        return redact_string(value, light=top and key in LOCATORS)
    if isinstance(value, dict):
        return {k: public_value(v, k, top and k != "fields") for k, v in value.items()}
    if isinstance(value, list):
        return [public_value(v, key, False) for v in value]
    return value


def public_source_json(source: str | None) -> str | None:
    """A stored ``source`` JSON string as it may be published (same key order: sorted)."""
    if not source or source == "{}":
        return source
    src = orjson.loads(source)
    pub = public_value(src)
    return source if pub == src else orjson.dumps(pub, option=orjson.OPT_SORT_KEYS).decode()


def _map_column(table: pa.Table, name: str, fn: Callable[[Any], Any]) -> pa.Table:
    i = table.schema.get_field_index(name)
    col = table.column(i)
    return table.set_column(i, table.schema.field(i), pa.array([fn(v) for v in col.to_pylist()], col.type))


def public_data(table: pa.Table) -> pa.Table:
    """Kept documents as published: their ``source`` strings redacted (the text is the pipeline's)."""
    return _map_column(table, "source", public_source_json)


def public_excluded(mode: str) -> Callable[[pa.Table], pa.Table]:
    """The transform of dropped documents for ``mode`` (``trace`` | ``redacted``)."""
    if mode not in EXCLUDED_MODES:
        from .errors import ConfigError

        raise ConfigError(f"output.excluded: unknown mode '{mode}' (known: {', '.join(EXCLUDED_MODES)})")

    def transform(table: pa.Table) -> pa.Table:
        table = public_data(table)
        if mode == "redacted":
            return _map_column(table, "text", lambda t: redact_string(t) if t else t)
        texts = table.column("text").to_pylist()
        metas = table.column("meta").to_pylist()
        new_meta = []
        for text, meta in zip(texts, metas):
            m = orjson.loads(meta) if meta else {}
            if text:
                raw = text.encode("utf-8", "surrogatepass")
                m["excluded_text"] = {"chars": len(text), "sha256": hashlib.sha256(raw).hexdigest()}
            new_meta.append(orjson.dumps(m, option=orjson.OPT_SORT_KEYS).decode())
        table = table.set_column(table.schema.get_field_index("text"), table.schema.field("text"),
                                 pa.array([""] * table.num_rows, table.schema.field("text").type))
        return table.set_column(table.schema.get_field_index("meta"), table.schema.field("meta"),
                                pa.array(new_meta, table.schema.field("meta").type))
    return transform

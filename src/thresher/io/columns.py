"""Top-level columns of a published shard for what people filter on, beside the full ``meta`` and
``source`` JSON: ``language``, ``script``, ``url``, ``repo``, ``path`` and ``license`` (null where a
document has none). DuckDB, pandas and pyarrow filter on them without JSON functions:

    SELECT id, url FROM 'out/demo/data/*.parquet' WHERE language = 'fra'

They are derived from ``meta``/``source`` when a shard is written (after redaction), so they never say
more than those do. Data shards also have ``token_count`` (int64): the text's tokens under the release's
tokenizer (``manifest.json`` ``tokens``), null until ``thresher tokenize`` fills it in (``set_token_counts``
in ``io.writer``):

    SELECT language, sum(token_count) FROM 'out/demo/data/*.parquet' GROUP BY 1
"""
from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

FILTER_FIELDS = [pa.field("language", pa.string()), pa.field("script", pa.string()), pa.field("url", pa.string()),
                 pa.field("repo", pa.string()), pa.field("path", pa.string()), pa.field("license", pa.string())]
FILTER_NAMES = tuple(f.name for f in FILTER_FIELDS)
TOKEN_COUNT = pa.field("token_count", pa.int64())      # data shards only; filled by `thresher tokenize`
_URL_KEYS = ("url", "uri", "target_uri", "warc_target_uri")
_REPO_KEYS = ("repo", "repository", "repo_name")


def _str(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("code") or v.get("spdx") or v.get("id") or v.get("name")
    if isinstance(v, (list, tuple)):
        v = " AND ".join(str(x) for x in v) if v else None
    return str(v) if v not in (None, "") else None


def _loads(s: str | None) -> dict[str, Any]:
    if not s:
        return {}
    try:
        d = orjson.loads(s)
    except orjson.JSONDecodeError:
        return {}
    return d if isinstance(d, dict) else {}


def filter_values(source: dict[str, Any], meta: dict[str, Any]) -> dict[str, str | None]:
    """The filter columns of one document."""
    url = next((v for k in _URL_KEYS if isinstance(v := source.get(k), str) and "://" in v), None)
    repo = next((_str(source.get(k)) for k in _REPO_KEYS if source.get(k)), None)
    path = _str(source.get("path")) if repo else None       # a file path inside a repository
    lic = meta.get("license", source.get("license"))
    return {"language": _str(meta.get("language")), "script": _str(meta.get("script")), "url": url,
            "repo": repo, "path": path, "license": _str(lic)}


# what the JSON text of a source / meta must contain for any filter value to come from it (orjson writes
# keys and "/" unescaped): rows without any are all null, and their JSON is never parsed
_SOURCE_HINTS = ("://", '"repo', '"license"')
_META_HINTS = ('"language"', '"script"', '"license"')


def _rows_with(col: pa.ChunkedArray | pa.Array, hints: tuple[str, ...]) -> np.ndarray:
    """Which rows of a string column contain any of ``hints``."""
    hit = np.zeros(len(col), dtype=bool)
    for h in hints:
        hit |= pc.fill_null(pc.match_substring(col, h), False).to_numpy(zero_copy_only=False)
    return hit


def add_filter_columns(table: pa.Table) -> pa.Table:
    """``table`` (with ``source`` and ``meta`` JSON columns) with the filter columns appended (or
    recomputed, where it has them already)."""
    for name in FILTER_NAMES:
        if name in table.column_names:
            table = table.drop_columns([name])
    n = table.num_rows
    cols: dict[str, list[str | None]] = {k: [None] * n for k in FILTER_NAMES}
    src, meta = table.column("source"), table.column("meta")
    rows = np.flatnonzero(_rows_with(src, _SOURCE_HINTS) | _rows_with(meta, _META_HINTS))
    if len(rows) < n:
        src, meta = src.take(pa.array(rows)), meta.take(pa.array(rows))
    for i, s, m in zip(rows.tolist(), src.to_pylist(), meta.to_pylist()):
        for k, v in filter_values(_loads(s), _loads(m)).items():
            cols[k][i] = v
    for f in FILTER_FIELDS:
        table = table.append_column(f, pa.array(cols[f.name], f.type))
    return table

"""The card's text: a Hugging Face dataset-card YAML header and a Markdown body following Datasheets
for Datasets (Gebru et al.) and Data Statements (Bender & Friedman), rendered from a Jinja2 template.

Numbers come from the release; where only a person can answer, the card says ``TODO(human):``.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined

from .facts import UNKNOWN, Facts, duplicate_rates, language_funnel, size_category
from . import media
from .figures import FIGURES
from .sites import register_rows, site_rows

MAX_ROWS = 30


def hub_language(code: str) -> str | None:
    """The ISO 639 code the Hub's ``language:`` list takes: ``cmn_Hans`` -> ``cmn``, ``pt-BR`` -> ``pt``,
    ``zho`` -> ``zh`` (two letters where ISO 639-1 has a code)."""
    base = re.split(r"[_\-]", code.strip())[0].lower()
    base = _alpha2().get(base, base)
    return base if re.fullmatch(r"[a-z]{2,3}", base) and base not in ("und", "unk", "zxx", "mul") else None


@lru_cache(maxsize=1)
def _alpha2() -> dict[str, str]:
    """ISO 639-3 -> ISO 639-1 (BCP-47 takes the two-letter code where one exists)."""
    import json

    table = json.loads((files("thresher") / "data" / "iso_codes.json").read_text(encoding="utf-8"))
    return {a3: a2 for a2, a3 in table["alpha2_to_alpha3"].items()}


def bcp47(code: str) -> str:
    """A BCP-47 tag: ``zho`` -> ``zh``, ``cmn_hans`` -> ``cmn-Hans``, ``por_br`` -> ``pt-BR`` (the
    two-letter ISO 639-1 code where one exists, as BCP-47 requires)."""
    parts = re.split(r"[_\-]", code)
    base = parts[0].lower()
    out = [_alpha2().get(base, base)]
    for p in parts[1:]:
        out.append(p.title() if len(p) == 4 else p.upper() if len(p) == 2 else p)
    return "-".join(out)


def hub_header(facts: Facts, license: str, pretty_name: str) -> dict[str, Any]:
    langs = sorted({c for k in facts.languages if (c := hub_language(k))})
    header: dict[str, Any] = {"pretty_name": pretty_name}
    if langs:
        header["language"] = langs
        header["multilinguality"] = ["multilingual" if len(langs) > 1 else "monolingual"]
    header.update({
        "license": license,
        "size_categories": [size_category(facts.kept_docs)],
        "source_datasets": ["original"],
        "task_categories": ["text-generation"],
        "task_ids": ["language-modeling"],
        "tags": ["thresher", "pretraining"] + (["code"] if facts.licenses else []),
        "configs": [{"config_name": "default", "default": True,
                     "data_files": [{"split": "train", "path": "data/*.parquet"}]}],
    })
    if facts.excluded_docs:
        header["configs"].append({"config_name": "excluded",
                                  "data_files": [{"split": "train", "path": "excluded/*.parquet"}]})
    return header


def md(value: Any) -> str:
    """Safe inside a Markdown table cell: no pipes or newlines break the row."""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def num(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def mb(nbytes: int) -> str:
    return f"{nbytes / 1e6:,.2f}"


def _languages(facts: Facts) -> list[dict[str, Any]]:
    total = sum(v.get("bytes", 0) for v in facts.languages.values()) or 1
    rows = []
    for k, v in sorted(facts.languages.items(), key=lambda kv: (-kv[1].get("bytes", 0), kv[0])):
        h = facts.lang_lengths.get(k)
        rows.append({"code": k, "tag": bcp47(k) if hub_language(k) else "–", "docs": v.get("docs", 0),
                     "bytes": v.get("bytes", 0), "share": v.get("bytes", 0) / total,
                     "median": h.quantile(0.5) if h else None})
    return rows


def _funnel(facts: Facts) -> list[dict[str, Any]]:
    rows = []
    for name in facts.pipeline_steps:
        st = facts.steps[name]
        reasons = st.drops or facts.reasons.get(name, Counter())
        dropped = st.docs_in - st.docs_out
        rows.append({"step": name, "in": st.docs_in, "out": st.docs_out, "dropped": dropped,
                     "mb_in": mb(st.bytes_in), "mb_out": mb(st.bytes_out), "seconds": f"{st.seconds:.2f}",
                     "reasons": ", ".join(f"{r}={n:,}" for r, n in reasons.most_common(6)) if dropped or st.drops else "",
                     "counters": ", ".join(f"{k}={v:,}" for k, v in sorted(st.counters.items())
                                           if ":" not in k) or ""})
    return rows


def _per_language(facts: Facts, known: list[str], steps: list[str]) -> dict[str, list[int]]:
    """Per language, documents entering each step and kept: the top languages, the rest summed, the
    documents without a language (dropped before language ID, or none found), and the total from
    stats.json, so every column adds up to the funnel above."""
    if not known or not steps:
        return {}
    langs = list(facts.languages) + [lang for c in facts.lang_drops.values() for lang in c]
    langs = sorted({lang for lang in langs if lang != UNKNOWN})
    series = language_funnel(facts, langs + [UNKNOWN])
    top = [lang for lang in known[:MAX_ROWS] if lang in series]
    out = {lang: series[lang] for lang in top}
    rest = [lang for lang in langs if lang not in out]
    if rest:
        out[f"{len(rest)} other languages"] = [sum(v) for v in zip(*(series[lang] for lang in rest))]
    if any(series[UNKNOWN]):
        out["(no language)"] = series[UNKNOWN]
    out["all documents"] = [facts.steps[s].docs_in for s in steps] + [facts.steps[steps[-1]].docs_out]
    return out


FIELDS = {
    "id": "stable id, from the source's own id or a hash of its locator",
    "text": "the document's text, after the pipeline's modifiers (extraction, redaction)",
    "source": "JSON: provenance (file and offset, URL, record digest, date, repository and path ...)",
    "meta": "JSON: what the steps wrote (language and scores, quality signals, PII spans as offsets, clusters)",
    "language": "`meta.language` (ISO 639-3), null where no language-ID step ran",
    "script": "`meta.script` (ISO 15924)",
    "url": "the web address it came from, null for other sources",
    "repo": "code: the repository it came from",
    "path": "code: the file's path inside the repository",
    "license": "code: the license found (SPDX id), null where none was looked for",
    "token_count": "data only: the text's tokens under the release's tokenizer, null until `thresher tokenize`",
    "step": "excluded only: the step that dropped it",
    "reason": "excluded only: why (the rule)",
    "score": "excluded only: the measured value",
    "threshold": "excluded only: the threshold it crossed",
}
EXAMPLE_CHARS = 400


def _fields(facts: Facts) -> list[dict[str, str]]:
    """The columns of the data shards as written, with their Arrow types, for the card's fields table."""
    import pyarrow.parquet as pq

    out = []
    for kind in ("data", "excluded"):
        shards = sorted((facts.path / kind).glob("*.parquet"))
        if not shards:
            continue
        for f in pq.ParquetFile(shards[0]).schema_arrow:
            if not any(r["field"] == f.name for r in out):
                out.append({"field": f.name, "type": str(f.type), "what": FIELDS.get(f.name, "")})
    return out


def _example(facts: Facts) -> str | None:
    """The first kept document as JSON, its text cut to EXAMPLE_CHARS, long meta values shortened."""
    import json

    import pyarrow.parquet as pq

    shards = sorted((facts.path / "data").glob("*.parquet"))
    for f in shards:
        pf = pq.ParquetFile(f)
        if not pf.metadata.num_rows:
            continue
        row = next(pf.iter_batches(batch_size=1)).to_pylist()[0]
        text = row.get("text") or ""
        row["text"] = text[:EXAMPLE_CHARS] + (f"… ({len(text):,} characters)" if len(text) > EXAMPLE_CHARS else "")
        for k in ("source", "meta"):
            try:
                row[k] = _shorten(json.loads(row[k] or "{}"))
            except ValueError:
                pass
        return json.dumps(row, ensure_ascii=False, indent=2, default=str)
    return None


def _shorten(v: Any, depth: int = 0) -> Any:
    if isinstance(v, str) and len(v) > 120:
        return v[:117] + "..."
    if isinstance(v, list):
        return [_shorten(x, depth + 1) for x in v[:5]] + (["..."] if len(v) > 5 else [])
    if isinstance(v, dict):
        return {k: (_shorten(x, depth + 1) if depth < 3 else "...") for k, x in list(v.items())[:20]}
    return v


def _summary(facts: Facts, name: str, langs: list[dict[str, Any]]) -> str:
    """The Hub template's summary, in numbers from the run."""
    known = [r for r in langs if r["code"] != UNKNOWN]
    kinds = ", ".join(f"{k} ({n:,})" for k, n in facts.source_kinds.most_common()) or "its inputs"
    steps = facts.pipeline_steps
    s = (f"{name} is a pre-training text corpus of {facts.kept_docs:,} documents ({facts.kept_bytes / 1e6:,.1f} MB "
         f"of UTF-8 text)")
    if known:
        top = ", ".join(f"{r['code']} {100 * r['share']:.0f}%" for r in known[:5])
        s += f" in {len(known)} language{'s' if len(known) != 1 else ''} (by bytes: {top}{', …' if len(known) > 5 else ''})"
    s += f", from sources of kind {kinds}."
    read = facts.reader.get("docs_read", 0)
    if steps:
        s += (f" Of {read:,} documents read, {facts.excluded_docs:,} were excluded by a {len(steps)}-step pipeline "
              f"({', '.join(steps[:8])}{', …' if len(steps) > 8 else ''}), each with its reason in `excluded/`.")
    return s


def _citation(facts: Facts, name: str, m: dict[str, Any]) -> str:
    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "dataset"
    year = str(m.get("created", ""))[:4] or datetime.now(timezone.utc).strftime("%Y")
    root = m.get("merkle", {}).get("root", "?")
    return (f"@misc{{{key}_{year},\n  title  = {{{name}}},\n  author = {{TODO(human): the people who built it}},\n"
            f"  year   = {{{year}}},\n  note   = {{{facts.kept_docs:,} documents; built with thresher; "
            f"Merkle root {root}}}\n}}")


def _shortfall(facts: Facts, targets: dict[str, float]) -> list[dict[str, Any]]:
    """Target share of bytes per language vs the actual share, and the bytes missing to reach it."""
    total = sum(v.get("bytes", 0) for v in facts.languages.values())
    rows = []
    for lang, target in sorted(targets.items(), key=lambda kv: -kv[1]):
        have = int(facts.languages.get(lang, Counter()).get("bytes", 0))
        share = have / total if total else 0.0
        missing = max(0, math.ceil(target * total - have))
        rows.append({"lang": lang, "target": f"{100 * target:.1f}%", "actual": f"{100 * share:.1f}%",
                     "bytes": have, "missing": missing, "status": "short" if missing else "met"})
    return rows


FEW_DOCS = 100      # fewer kept documents than this: flagged as too thin to stand for the language


def _language_units(facts: Facts, targets: dict[str, float] | None, steps: list[str]) -> list[dict[str, Any]]:
    """Per language + script: kept documents and words, share of words, how often pycld2 and
    py3langid disagreed, the share its language lost to the filters, and a representativeness flag
    (below its target share of bytes, or fewer than FEW_DOCS documents)."""
    units = facts.lang_units
    total_words = sum(c["words"] for c in units.values())
    langs = sorted({u.split("_")[0] for u in units if u != UNKNOWN})
    funnel = language_funnel(facts, langs) if langs and steps else {}
    short = {r["lang"] for r in _shortfall(facts, targets) if r["status"] == "short"} if targets else set()
    rows = []
    for unit, c in sorted(units.items(), key=lambda kv: (-kv[1]["docs"], kv[0]))[:MAX_ROWS]:
        lang = unit.split("_")[0]
        series = funnel.get(lang)
        flags = (["below target"] if lang in short else []) + (["few documents"] if c["docs"] < FEW_DOCS else [])
        rows.append({"unit": unit, "docs": c["docs"], "words": c["words"],
                     "share": f"{100 * c['words'] / total_words:.1f}%" if total_words else "n/a",
                     "disagree": f"{100 * c['disagree'] / c['lid']:.1f}%" if c["lid"] else "n/a",
                     "attrition": f"{100 * (1 - series[-1] / series[0]):.1f}%" if series and series[0] else "n/a",
                     "flag": ", ".join(flags) if unit != UNKNOWN else ""})
    return rows


def _step_options(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for s in manifest.get("config", {}).get("steps", []):
        if isinstance(s, dict) and len(s) == 1:
            (name, opts), = s.items()
            out.append((name, ", ".join(f"{k}={v!r}" for k, v in (opts or {}).items()) if isinstance(opts, dict)
                        else str(opts)))
    return out


def context(facts: Facts, figures: dict[str, str], *, license: str, targets: dict[str, float] | None,
            changes: dict[str, Any] | None, pretty_name: str | None = None) -> dict[str, Any]:
    m = facts.manifest
    name = pretty_name or str(m.get("name") or facts.path.name)
    header = hub_header(facts, license, name)
    langs = _languages(facts)
    known = [r["code"] for r in langs if r["code"] != UNKNOWN]
    steps = facts.pipeline_steps
    per_lang = _per_language(facts, known, steps)
    outputs = list(m.get("outputs", {}).items())
    lengths = {k: {"exact": h.exact, "n": h.n, "mean": h.mean, "min": h.lo, "p10": h.quantile(0.1),
                   "p50": h.quantile(0.5), "p90": h.quantile(0.9), "max": h.hi}
               for k, h in facts.lengths.items() if h.n}
    pii_total: Counter = sum(facts.pii_counts().values(), Counter())
    return {
        "name": name, "yaml_header": yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(),
        "license": license, "m": m, "f": facts, "facts": facts,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "thresher_version": m.get("tools", {}).get("thresher", "?"),
        "languages": langs, "known_languages": known, "hub_languages": header.get("language", []),
        "funnel": _funnel(facts), "steps": steps, "per_lang": per_lang, "step_options": _step_options(m),
        "lengths": lengths, "dups": duplicate_rates(facts), "pii": pii_total,
        "pii_by_step": facts.pii_counts(),
        "hosts": sorted(facts.hosts, key=lambda k: (-facts.host_bytes[k], k))[:MAX_ROWS],
        "licenses": sorted(set(facts.licenses) | set(facts.excluded_licenses),
                           key=lambda k: (-(facts.licenses[k] + facts.excluded_licenses[k]), k))[:MAX_ROWS],
        "targets": _shortfall(facts, targets) if targets else None,
        "lang_units": _language_units(facts, targets, steps), "few_docs": FEW_DOCS,
        "changes": changes, "figures": figures, "titles": {k: t for k, (t, _) in FIGURES.items()},
        "outputs": outputs[:MAX_ROWS], "more_outputs": max(0, len(outputs) - MAX_ROWS),
        "reader_skipped": {k: v for k, v in sorted(facts.reader.items()) if k.startswith("skipped")},
        "clusters": {k: {"clusters": sum(c.values()), "docs": sum(n * m for n, m in c.items()), "largest": max(c)}
                     for k, c in sorted(facts.clusters.items())},
        "max_rows": MAX_ROWS,
        "registers": register_rows(facts.registers), "sites": site_rows(facts.sites),
        "media": media.context(facts.modalities, facts.confidence),
        "data_shards": sum(1 for k, _ in outputs if k.startswith("data/")),
        "summary": _summary(facts, name, langs), "example": _example(facts), "fields": _fields(facts),
        "citation": _citation(facts, name, m),
    }


def render(ctx: dict[str, Any]) -> str:
    env = Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined,
                      autoescape=False)   # Markdown, not HTML; table cells go through |md
    env.filters.update(md=md, num=num, mb=mb)
    env.globals.update(pct=pct)
    src = (files("thresher.card") / "templates" / "README.md.jinja").read_text(encoding="utf-8")
    return env.from_string(src).render(**ctx)

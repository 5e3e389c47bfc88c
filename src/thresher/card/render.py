"""The card's text: a Hugging Face dataset-card YAML header and a Markdown body following Datasheets
for Datasets (Gebru et al.) and Data Statements (Bender & Friedman), rendered from a Jinja2 template.

Numbers come from the release; where only a person can answer, the card says ``TODO(human):``.
"""
from __future__ import annotations

import math
import re
from collections import Counter
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
    """The ISO 639 code the Hub's ``language:`` list accepts: ``cmn_Hans`` -> ``cmn``, ``pt-BR`` -> ``pt``."""
    base = re.split(r"[_\-]", code.strip())[0].lower()
    return base if re.fullmatch(r"[a-z]{2,3}", base) and base not in ("und", "unk", "zxx", "mul") else None


def bcp47(code: str) -> str:
    """A readable BCP-47 tag: ``cmn_hans`` -> ``cmn-Hans``, ``por_br`` -> ``por-BR``."""
    parts = re.split(r"[_\-]", code)
    out = [parts[0].lower()]
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
        rows.append({"step": name, "in": st.docs_in, "out": st.docs_out, "dropped": st.docs_in - st.docs_out,
                     "mb_in": mb(st.bytes_in), "mb_out": mb(st.bytes_out), "seconds": f"{st.seconds:.2f}",
                     "reasons": ", ".join(f"{r}={n:,}" for r, n in reasons.most_common(6)),
                     "counters": ", ".join(f"{k}={v:,}" for k, v in sorted(st.counters.items())
                                           if ":" not in k) or ""})
    return rows


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
    per_lang = language_funnel(facts, known[:MAX_ROWS]) if known and steps else {}
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
    }


def render(ctx: dict[str, Any]) -> str:
    env = Environment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined,
                      autoescape=False)   # Markdown, not HTML; table cells go through |md
    env.filters.update(md=md, num=num, mb=mb)
    env.globals.update(pct=pct)
    src = (files("thresher.card") / "templates" / "README.md.jinja").read_text(encoding="utf-8")
    return env.from_string(src).render(**ctx)

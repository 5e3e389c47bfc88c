"""The card's figures, drawn offline with matplotlib's Agg canvas.

No pyplot: each figure is its own ``Figure`` object, so drawing is thread-safe (the web app may
write a card while serving) and leaves no global state behind. A figure whose data is missing is
not drawn; ``draw_all`` returns the reason instead, and the card prints it.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from .facts import LOG_EDGES, UNKNOWN, Facts, duplicate_rates, language_funnel

KEPT, DROPPED, ACCENT = "#2b6cb0", "#c05621", "#2f855a"
TOP = 25


def _fig(w: float = 8.0, h: float = 4.5) -> Figure:
    fig = Figure(figsize=(w, h), dpi=100, layout="constrained")
    return fig


def _save(fig: Figure, path: Path) -> Path:
    # No "Software" text chunk: the same release gives byte-identical figures across matplotlib builds.
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def _hbar(ax, labels: list[str], values: list[float], color: str, log: bool = False, invert: bool = True) -> None:
    y = np.arange(len(labels))
    ax.barh(y, values, color=color)
    ax.set_yticks(y, labels, fontsize=8 if len(labels) > 12 else 9)
    if invert:      # largest first; axes sharing y must invert only once
        ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())    # minor labels of a log axis overlap
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", alpha=0.3)


def languages(facts: Facts) -> Figure | str:
    langs = {k: v for k, v in facts.languages.items() if v.get("docs")}
    if not langs:
        return "the release keeps no documents."
    if set(langs) == {UNKNOWN}:
        return "no language-ID step wrote `meta.language`, so every kept document is `unknown`."
    order = sorted(langs, key=lambda k: (-langs[k].get("bytes", 0), k))[:TOP]
    fig = _fig(9, 0.28 * len(order) + 1.6)
    a, b = fig.subplots(1, 2, sharey=True)
    _hbar(a, order, [langs[k]["docs"] for k in order], KEPT, log=True)
    _hbar(b, order, [langs[k]["bytes"] for k in order], ACCENT, log=True, invert=False)
    a.set_xlabel("documents (log)")
    b.set_xlabel("UTF-8 bytes (log)")
    more = f" (top {TOP} of {len(langs)})" if len(langs) > TOP else ""
    fig.suptitle(f"Kept documents and bytes per language{more}")
    return fig


def language_points(series: list[int], steps: list[str]) -> list[tuple[str, int]]:
    """The per-language line of the funnel figure: (label, documents). ``series`` is documents entering
    each step and, last, those kept (``language_funnel``); point 0 is what was read and point i + 1 what
    is still in after step i, so each drop shows at the step that made it."""
    return list(zip(["read"] + [f"after {s}" for s in steps], series))


def funnel(facts: Facts) -> Figure | str:
    steps = facts.pipeline_steps
    if not steps:
        return "the pipeline has no steps: every document read was kept."
    ins = [facts.steps[s].docs_in for s in steps]
    outs = [facts.steps[s].docs_out for s in steps]
    known = [k for k, v in sorted(facts.languages.items(), key=lambda kv: -kv[1].get("docs", 0)) if k != UNKNOWN][:8]
    fig = _fig(11 if known else 8, 4.8)
    axes = fig.subplots(1, 2) if known else [fig.subplots()]
    ax = axes[0]
    x = np.arange(len(steps))
    ax.bar(x - 0.2, ins, 0.4, color=KEPT, label="documents in")
    ax.bar(x + 0.2, outs, 0.4, color=DROPPED, label="documents out")
    for i, (a, b) in enumerate(zip(ins, outs)):
        if a != b:
            ax.annotate(f"-{a - b:,}", (i + 0.2, b), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, steps, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("documents")
    ax.legend(fontsize=8)
    ax.set_title("Filter attrition: documents in and out of each step", fontsize=10)
    if known:
        per = language_funnel(facts, known)
        ax2 = axes[1]
        xs = np.arange(len(steps) + 1)
        for lang, series in per.items():
            if series[0]:
                points = language_points(series, steps)
                ax2.plot(xs, [v / series[0] for _, v in points], marker="o", ms=3, label=lang)
        ax2.set_xticks(xs, [label for label, _ in language_points([0] * (len(steps) + 1), steps)],
                       rotation=30, ha="right", fontsize=8)
        ax2.set_ylim(0, 1.05)
        ax2.set_ylabel("share of the language's documents still in")
        ax2.set_title("Per language (top 8)", fontsize=10)
        ax2.legend(fontsize=7, ncol=2)
        ax2.grid(alpha=0.3)
    return fig


def lengths(facts: Facts) -> Figure | str:
    if not any(h.n for h in facts.lengths.values()):
        return "the release holds no documents, kept or excluded."
    fig = _fig(8, 4.2)
    ax = fig.subplots()
    edges = 10 ** LOG_EDGES
    used = np.flatnonzero(sum(h.counts for h in facts.lengths.values()))
    for name, color in (("kept", KEPT), ("excluded", DROPPED)):
        h = facts.lengths.get(name)
        if h and h.n:
            ax.stairs(h.counts, edges, color=color, label=f"{name} ({h.n:,} docs)", linewidth=1.8)
    ax.set_xscale("log")
    ax.set_xlim(edges[max(0, used[0] - 2)], edges[min(len(edges) - 1, used[-1] + 3)])
    ax.set_xlabel("document length (characters + 1, log scale)")
    ax.set_ylabel("documents")
    ax.set_title("Length distribution of kept and excluded documents", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def duplicates(facts: Facts) -> Figure | str:
    rates = duplicate_rates(facts)
    if not rates:
        return "no deduplication step ran in this pipeline."
    steps = list(rates)
    fig = _fig(8, 4.2)
    ax = fig.subplots()
    known = [k for k, v in sorted(facts.languages.items(), key=lambda kv: -kv[1].get("docs", 0))][:10]
    idx = {s: i for i, s in enumerate(facts.pipeline_steps)}
    per = language_funnel(facts, known) if known else {}
    groups = ["all"] + known
    width = 0.8 / len(steps)
    for j, s in enumerate(steps):
        vals = [rates[s][2] * 100]
        for lang in known:
            entered, left = per[lang][idx[s]], per[lang][idx[s] + 1]
            vals.append(100 * (entered - left) / entered if entered else 0.0)
        ax.bar(np.arange(len(groups)) + j * width, vals, width, label=s)
    ax.set_xticks(np.arange(len(groups)) + width * (len(steps) - 1) / 2, groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("% of entering documents dropped")
    ax.set_title("Duplicate rates per dedup step, overall and per language", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def pii(facts: Facts) -> Figure | str:
    total: Counter = sum(facts.pii_counts().values(), Counter())
    if not total:
        return "no PII or secrets step counted anything (no `pii:TYPE` / `secret:TYPE` counters in stats.json)."
    order = sorted(total, key=lambda k: (-total[k], k))[:TOP]
    fig = _fig(8, 0.3 * len(order) + 1.4)
    ax = fig.subplots()
    _hbar(ax, order, [total[k] for k in order], DROPPED, log=max(total.values()) > 100 * max(1, min(total.values())))
    ax.set_xlabel("occurrences redacted")
    ax.set_title("PII and secrets found, by type", fontsize=10)
    return fig


def sources(facts: Facts) -> Figure | str:
    if not facts.hosts:
        return "the release keeps no documents."
    order = sorted(facts.hosts, key=lambda k: (-facts.host_bytes[k], k))[:TOP]
    fig = _fig(9, 0.28 * len(order) + 1.6)
    a, b = fig.subplots(1, 2, sharey=True)
    _hbar(a, order, [facts.hosts[k] for k in order], KEPT, log=True)
    _hbar(b, order, [facts.host_bytes[k] for k in order], ACCENT, log=True, invert=False)
    a.set_xlabel("documents (log)")
    b.set_xlabel("UTF-8 bytes (log)")
    more = f" (top {TOP} of {len(facts.hosts)})" if len(facts.hosts) > TOP else ""
    fig.suptitle(f"Source mix: web hosts, repositories and input files{more}")
    return fig


def licenses(facts: Facts) -> Figure | str:
    if not facts.licenses and not facts.excluded_licenses:
        return "no document carries a license (`meta.license`): no license-detection step ran."
    names = sorted(set(facts.licenses) | set(facts.excluded_licenses),
                   key=lambda k: (-(facts.licenses[k] + facts.excluded_licenses[k]), k))[:TOP]
    fig = _fig(8, 0.3 * len(names) + 1.4)
    ax = fig.subplots()
    y = np.arange(len(names))
    ax.barh(y - 0.2, [facts.licenses[k] for k in names], 0.4, color=KEPT, label="kept")
    ax.barh(y + 0.2, [facts.excluded_licenses[k] for k in names], 0.4, color=DROPPED, label="excluded")
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("documents")
    ax.legend(fontsize=8)
    ax.set_title("License mix of code documents", fontsize=10)
    return fig


FIGURES: dict[str, tuple[str, Callable[[Facts], Figure | str]]] = {
    "languages": ("Documents and bytes per language", languages),
    "funnel": ("Filter attrition funnel", funnel),
    "lengths": ("Length distributions", lengths),
    "duplicates": ("Duplicate rates", duplicates),
    "pii": ("PII and secrets by type", pii),
    "sources": ("Source and domain mix", sources),
    "licenses": ("License mix (code)", licenses),
}


def draw_all(facts: Facts, outdir: Path) -> dict[str, str]:
    """Draw every figure into ``outdir``; name -> PNG file name, or ``"no data: <why>"``."""
    outdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, str] = {}
    for name, (_title, fn) in FIGURES.items():
        png = outdir / f"{name}.png"
        result = fn(facts)
        if isinstance(result, str):
            png.unlink(missing_ok=True)      # a stale figure from an earlier card must not linger
            out[name] = f"no data: {result}"
        else:
            _save(result, png)
            out[name] = png.name
    return out

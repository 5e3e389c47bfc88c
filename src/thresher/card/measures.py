"""The card's sections "Who the filters removed" (``thresher.audit``) and "Data measurements"
(``thresher.measurements``), with their figures ``card/audit.png`` and ``card/measurements.png``."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..audit import audit
from ..measurements import merged, summary
from ..release import Release
from ..io.writer import write_json
from .figures import DROPPED, KEPT, _fig, _save

MAX_FLAGGED = 15
MAX_LANGS = 6


def _audit_figure(rep: dict[str, Any], path: Path) -> str | None:
    rows = rep["flagged"][:MAX_FLAGGED]
    title = "Groups dropped more or less often than the rest (z / Fisher exact test, Holm-corrected)"
    if not rows:    # nothing beyond chance: show the largest groups' rates instead
        rows = sorted((r for r in rep["groups"] if r["dropped"]), key=lambda r: -r["docs_in"])[:MAX_FLAGGED]
        title = "Drop rate of the largest groups (none differs beyond chance)"
    if not rows:
        path.unlink(missing_ok=True)
        return None
    fig = _fig(8.5, 0.35 * len(rows) + 2.0)
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    rate = np.array([r["rate"] for r in rows])
    lo = rate - np.array([r["ci"][0] for r in rows])
    hi = np.array([r["ci"][1] for r in rows]) - rate
    ax.errorbar(rate, y, xerr=[lo, hi], fmt="o", color=DROPPED, capsize=3, label="group (95% Wilson interval)")
    ax.scatter([r["rest_rate"] for r in rows], y, marker="|", s=200, color=KEPT, label="rest of the documents")
    ax.set_yticks(y, [f"{r['step']} · {r['dimension']}={r['group']}"[:60] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("share of documents dropped by the step")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2)
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)
    return path.name


def _measure_figure(s: dict[str, Any], path: Path) -> str | None:
    langs = [k for k, v in s["languages"].items() if v["zipf"]][:MAX_LANGS]
    if not langs:
        path.unlink(missing_ok=True)
        return None
    fig = _fig(10, 4)
    ax1, ax2 = fig.subplots(1, 2)
    for k in langs:
        v = s["languages"][k]
        z = v["zipf"]
        r = np.arange(1, z["ranks"] + 1)
        obs = np.array(v["rank_frequency"])
        dots = ax1.plot(obs[:, 0], obs[:, 1], "o", ms=3, label=f"{k}: α={z['alpha']:.2f}, R²={z['r2']:.2f}")
        ax1.plot(r, np.exp(z["c"]) * r ** (-z["alpha"]), lw=1, color=dots[0].get_color())
        bins = sorted(int(b) for b in v["word_hist"])
        ax2.plot([2 ** max(0, b - 1) for b in bins], [v["word_hist"][str(b)] / v["docs"] for b in bins],
                 marker="o", ms=3, label=k)
    ax1.set(xscale="log", yscale="log", xlabel="rank", ylabel="word frequency",
            title="Rank-frequency (dots) and Zipf fit (line) per language")
    ax2.set(xscale="log", xlabel="words per document (lower edge of bin)", ylabel="share of documents",
            title="Document length per language")
    for ax in (ax1, ax2):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    _save(fig, path)
    return path.name


def context(rel: Release, outdir: Path) -> dict[str, Any]:
    """The two sections' data (``who_removed``, ``measures``) and their figures, also kept as
    ``card/audit.json`` and ``card/measurements.json``."""
    outdir.mkdir(parents=True, exist_ok=True)
    rep = audit(rel.path)
    rep["figure"] = _audit_figure(rep, outdir / "audit.png")
    write_json(outdir / "audit.json", rep, sort_keys=False)
    sk = merged(rel.path)
    meas = summary(sk) if sk is not None else None
    if meas is not None:
        meas["figure"] = _measure_figure(meas, outdir / "measurements.png")
        write_json(outdir / "measurements.json", meas, sort_keys=False)
        meas["shown"] = list(meas["languages"].items())[:MAX_LANGS]
        meas["hidden"] = len(meas["languages"]) - len(meas["shown"])
        meas["identity_rows"] = [(lang, term, [r["word"] for r in rows[:6]])
                                 for lang, v in meas["shown"] for term, rows in v["identity_terms"].items() if rows]
    return {"who_removed": rep, "measures": meas}

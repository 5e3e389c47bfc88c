"""``thresher ablate``: decide a data choice the way BigScience and BigCode did. The same proxy model
(same preset, same tokenizer, same token budget, same seeds) is trained on each release; every run is
scored on one common held-out set (the union of the releases' validation splits, or a file the user
names) in bits per byte; the report gives mean ± spread over seeds per release and per language, and
says which differences exceed the seed spread.

Training and the run loader are ``thresher.train``'s (the proxy-model trainer); this module only
orchestrates: a run that finished is reused, one that stopped is resumed (the trainer resumes bit for
bit), so a killed ablation continues where it was.

A difference between two releases *exceeds the seed spread* when their seed ranges do not overlap:
every seed of one is better than every seed of the other.
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import statistics
from pathlib import Path

import orjson

from ..errors import ConfigError, InputError
from ..io.writer import atomic_write_bytes, write_json
from .data import EvalDoc, load_eval_docs

__all__ = ["parse_tokens", "ablate", "summarize", "write_report", "add_card_section"]

CARD_BEGIN, CARD_END = "<!-- thresher:proxy-eval -->", "<!-- /thresher:proxy-eval -->"


def parse_tokens(text: str) -> int:
    """``20M`` -> 20_000_000 (K, M, G; plain integers too)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*", text)
    if not m:
        raise ConfigError(f"--tokens: {text!r} is not a token count (e.g. 20M, 500k, 1000000)")
    return int(float(m.group(1)) * {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}[m.group(2).lower()])


def _labels(releases: list[Path]) -> list[str]:
    names = [r.resolve().name for r in releases]
    return names if len(set(names)) == len(names) else [f"{i}-{n}" for i, n in enumerate(names)]


def _tokenizer_hash(release: Path) -> str:
    f = release / "tokens" / "tokenizer.json"
    if not f.is_file():
        raise InputError(f"{release}: no tokens/tokenizer.json (tokenize every release with one tokenizer first)")
    return hashlib.sha256(f.read_bytes()).hexdigest()


def held_out_docs(releases: list[Path], held_out: Path | None, max_docs: int | None) -> tuple[list[EvalDoc], dict]:
    if held_out is not None:
        return load_eval_docs(held_out, "all", max_docs)
    seen: dict[str, EvalDoc] = {}
    for r in releases:
        for d in load_eval_docs(r, "valid")[0]:
            seen.setdefault(d.id, d)
    docs = sorted(seen.values(), key=lambda d: d.id)[:max_docs]
    return docs, {"held_out": "union of the releases' validation splits", "documents": len(docs)}


def summarize(scores: dict[str, list[dict]]) -> dict:
    """``{release: [bpb report of each seed]}`` -> means, spreads and which pairs differ beyond the spread.
    Spread = max - min over seeds; std = sample standard deviation (0 with one seed)."""
    def stats(vals: list[float]) -> dict:
        return {"mean": statistics.fmean(vals), "std": statistics.stdev(vals) if len(vals) > 1 else 0.0,
                "min": min(vals), "max": max(vals), "spread": max(vals) - min(vals), "seeds": vals}

    out: dict = {"releases": {}, "differences": []}
    for name, reps in scores.items():
        langs = sorted({lang for r in reps for lang in r["languages"]})
        out["releases"][name] = {
            "overall": stats([r["overall"]["bits_per_byte"] for r in reps]),
            "languages": {lang: stats([r["languages"][lang]["bits_per_byte"] for r in reps if lang in r["languages"]])
                          for lang in langs},
            "compressors": {c: reps[0]["overall"][c] for c in ("gzip-9", "zstd-19", "xz-9")}}
    names = list(scores)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sa, sb = out["releases"][a]["overall"], out["releases"][b]["overall"]
            better = a if sa["mean"] < sb["mean"] else b
            exceeds = sa["max"] < sb["min"] or sb["max"] < sa["min"]
            out["differences"].append({"a": a, "b": b, "difference": sa["mean"] - sb["mean"], "better": better,
                                       "exceeds_seed_spread": exceeds})
    return out


def _plots(summary: dict, curves: dict[str, list[list[tuple[int, float]]]], out: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["releases"])
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(names), 3.2))
    means = [summary["releases"][n]["overall"]["mean"] for n in names]
    lo = [m - summary["releases"][n]["overall"]["min"] for m, n in zip(means, names)]
    hi = [summary["releases"][n]["overall"]["max"] - m for m, n in zip(means, names)]
    ax.bar(names, means, yerr=[lo, hi], capsize=6, color="#4c72b0")
    ax.set_ylabel("bits per byte (held-out; bars: seed range)")
    ax.set_ylim(min(means) * 0.95 - max(hi + [0]), max(means) * 1.02 + max(hi + [0]))
    fig.tight_layout()
    fig.savefig(out / "bits_per_byte.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for n, runs in curves.items():
        for j, c in enumerate(runs):
            if c:
                ax.plot(*zip(*c), color=f"C{names.index(n)}", alpha=0.8, label=n if j == 0 else None)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss_curves.png", dpi=110)
    plt.close(fig)
    return ["bits_per_byte.png", "loss_curves.png"]


def write_report(summary: dict, curves: dict, out: Path, settings: dict) -> Path:
    """report.md (+ report.json, two PNGs) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    figs = _plots(summary, curves, out)
    lines = ["# Proxy-model ablation", "",
             f"Preset `{settings['preset']}`, {settings['tokens']:,} training tokens per run, seeds "
             f"{settings['seeds']}, one tokenizer (sha256 `{settings['tokenizer_sha256'][:16]}…`); held-out: "
             f"{settings['held_out']} ({settings['documents']:,} documents). Bits per byte: lower is better.", "",
             "| release | bits/byte mean ± std | seed range | gzip -9 | zstd -19 | xz -9 |", "|---|---:|---:|---:|---:|---:|"]
    for n, r in summary["releases"].items():
        o, c = r["overall"], r["compressors"]
        lines.append(f"| {n} | {o['mean']:.4f} ± {o['std']:.4f} | {o['min']:.4f}–{o['max']:.4f} | "
                     f"{c['gzip-9']:.3f} | {c['zstd-19']:.3f} | {c['xz-9']:.3f} |")
    langs = sorted({lang for r in summary["releases"].values() for lang in r["languages"]})
    if langs:
        lines += ["", "Per language (mean ± std over seeds):", "",
                  "| language | " + " | ".join(summary["releases"]) + " |", "|---|" + "---:|" * len(summary["releases"])]
        for lang in langs:
            cells = [f"{r['languages'][lang]['mean']:.4f} ± {r['languages'][lang]['std']:.4f}" if lang in r["languages"]
                     else "" for r in summary["releases"].values()]
            lines.append(f"| {lang} | " + " | ".join(cells) + " |")
    lines += ["", "Differences (a − b, overall):", ""]
    for d in summary["differences"]:
        verdict = "exceeds the seed spread" if d["exceeds_seed_spread"] else "within the seed spread"
        lines.append(f"- {d['a']} vs {d['b']}: {d['difference']:+.4f} bits/byte, {d['better']} better, {verdict}")
    lines += ["", *(f"![{f}]({f})" for f in figs), ""]
    if settings.get("energy"):
        e = settings["energy"]
        lines += [f"Energy: {e['kwh']:.4g} kWh, {e['kg_co2eq']:.4g} kgCO2eq ({e['method']}; "
                  f"{e['grid_intensity_g_per_kwh']:g} gCO2eq/kWh).", ""]
    atomic_write_bytes(out / "report.md", "\n".join(lines).encode())
    write_json(out / "report.json", {"settings": settings, **summary})
    return out / "report.md"


def add_card_section(release: Path, report: Path, summary: dict, name: str) -> Path | None:
    """Put (or replace) a 'Proxy-model evaluation' section in the release's data card."""
    card = release / "card" / "README.md"
    if not card.is_file():
        return None
    r = summary["releases"][name]["overall"]
    beats = [d for d in summary["differences"] if name in (d["a"], d["b"])]
    body = "\n".join([CARD_BEGIN, "## Proxy-model evaluation", "",
                      f"A proxy model trained on this release scores {r['mean']:.4f} ± {r['std']:.4f} bits per byte "
                      f"on the ablation's held-out set (seeds {len(r['seeds'])}).",
                      *(f"- vs {d['b'] if d['a'] == name else d['a']}: "
                        f"{'better' if d['better'] == name else 'worse'}, "
                        f"{'beyond' if d['exceeds_seed_spread'] else 'within'} the seed spread" for d in beats),
                      "", f"Full report: [{report.name}]({Path(os.path.relpath(report, card.parent)).as_posix()})",
                      CARD_END])
    text = card.read_text(encoding="utf-8")
    if CARD_BEGIN in text and CARD_END in text:
        text = text[:text.index(CARD_BEGIN)] + body + text[text.index(CARD_END) + len(CARD_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    atomic_write_bytes(card, text.encode("utf-8"))
    return card


def _loss_curve(run: Path) -> list[tuple[int, float]]:
    log = run / "log.jsonl"
    if not log.is_file():
        return []
    rows = [orjson.loads(x) for x in log.read_bytes().splitlines() if x.strip()]
    return [(r["step"], r["loss"]) for r in rows if "loss" in r]


def ablate(releases: list[Path], out: Path, preset: str = "tiny", tokens: int = 20_000_000, seeds: int = 3,
           held_out: Path | None = None, max_docs: int | None = None, context: int | None = None,
           grid_intensity: float | None = None, console=None) -> Path:
    """Train ``len(releases) x seeds`` proxies, score them, write the report; returns report.md."""
    import yaml

    try:
        from ..train.trainer import PRESETS, train     # the proxy-model trainer (thresher.train)
    except ImportError as e:
        raise ConfigError(f"ablate needs the proxy-model trainer thresher.train and thresher[train] ({e})") from None
    from .bpb import bits_per_byte
    from .energy import EnergyMeter
    from .models import load_model

    if len(releases) < 2:
        raise ConfigError("ablate needs at least two releases to compare")
    if preset not in PRESETS:
        raise ConfigError(f"--preset: unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    hashes = {r: _tokenizer_hash(r) for r in releases}
    if len(set(hashes.values())) != 1:
        raise ConfigError("the releases were tokenized with different tokenizers: "
                          + ", ".join(f"{r}: {h[:12]}" for r, h in hashes.items()))
    model_opts, train_opts = PRESETS[preset]
    per_step = train_opts.get("batch_size", 16) * train_opts.get("grad_accum", 1) * model_opts["block_size"]
    steps = max(1, math.ceil(tokens / per_step))
    docs, info = held_out_docs(releases, held_out, max_docs)
    labels = _labels(releases)
    scores: dict[str, list[dict]] = {n: [] for n in labels}
    curves: dict[str, list] = {n: [] for n in labels}
    out.mkdir(parents=True, exist_ok=True)
    with EnergyMeter(grid_intensity) as meter:
        for rel, name in zip(releases, labels):
            for seed in range(seeds):
                run = out / "runs" / f"{name}-seed{seed}"
                cfg = out / "runs" / f"{name}-seed{seed}.yaml"
                atomic_write_bytes(cfg, yaml.safe_dump({"preset": preset, "train": {"seed": seed, "max_steps": steps,
                                                                                    "eval_every": steps}}).encode())
                result = run / "bpb.json"
                if not result.is_file():
                    train(rel, run, config=cfg, resume=(run / "checkpoint.pt").is_file(), progress=console is not None,
                          console=console)
                    write_json(result, bits_per_byte(load_model(str(run), context), docs, context))
                scores[name].append(orjson.loads(result.read_bytes()))
                curves[name].append(_loss_curve(run))
    summary = summarize(scores)
    settings = {"preset": preset, "tokens": steps * per_step, "steps": steps, "seeds": seeds,
                "tokenizer_sha256": next(iter(hashes.values())), "releases": {n: str(r.resolve()) for n, r in zip(labels, releases)},
                "held_out": info.get("held_out", info.get("file")), "documents": len(docs), "energy": meter.report()}
    report = write_report(summary, curves, out, settings)
    for rel, name in zip(releases, labels):
        add_card_section(rel, report, summary, name)
    return report

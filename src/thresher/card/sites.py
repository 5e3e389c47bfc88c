"""Web-crawl facts for the card: the register mix per language (``meta["register"]``) and, per site,
the rights signals and terms pages thresher's crawler recorded (``source["rights"]``)."""
from __future__ import annotations

from collections import Counter
from typing import Any

MAX_SITES = 30


def _signal_key(s: dict[str, Any]) -> str | None:
    """A short name for a signal that reserves or licenses something (``tdm_reservation: 0`` is not one)."""
    kind, value = s.get("signal"), s.get("value")
    if kind == "robots" and value == "disallow":
        return f"robots:{s.get('agent')}"
    if kind == "ai_txt" and value == "disallow":
        return "ai.txt"
    if kind == "tdm_reservation" and value == 1:
        return f"tdm_reservation ({s.get('via')})"
    if kind in ("noai", "noimageai") and value is True:
        return f"{kind} ({s.get('via')})"
    if kind in ("license", "cc_mark"):
        return f"licence:{s.get('cc') or (value if kind == 'cc_mark' else 'other')}"
    return None


def count_web(registers: dict[str, Counter], sites: dict[str, dict[str, Any]], host: str, src: dict[str, Any],
              meta: dict[str, Any], lang: str, kept: bool) -> None:
    reg = meta.get("register")
    if kept and isinstance(reg, dict) and reg.get("label"):
        registers.setdefault(lang, Counter())[str(reg["label"])] += 1
    rights = src.get("rights")
    if not isinstance(rights, dict):
        return
    site = sites.setdefault(host, {"docs": 0, "kept": 0, "signals": Counter(), "files": {}, "terms": {}})
    site["docs"] += 1
    site["kept"] += int(kept)
    for s in rights.get("signals") or []:
        if isinstance(s, dict) and (key := _signal_key(s)):
            site["signals"][key] += 1
    info = rights.get("site") or {}
    if info:
        site["files"] = {k: v for k, v in info.items() if k != "terms"}
    site["terms"].update(info.get("terms") or {})


def register_rows(registers: dict[str, Counter]) -> tuple[list[str], list[dict[str, Any]]]:
    """(register labels by total, rows per language by documents) for the card's table."""
    total: Counter = sum(registers.values(), Counter())
    labels = [k for k, _ in total.most_common()]
    rows = [{"lang": lang, "docs": sum(c.values()), "counts": [c.get(k, 0) for k in labels]}
            for lang, c in sorted(registers.items(), key=lambda kv: -sum(kv[1].values()))]
    return labels, rows


def site_rows(sites: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for host, s in sorted(sites.items(), key=lambda kv: -kv[1]["docs"])[:MAX_SITES]:
        f = s["files"]
        agents = f.get("robots_ai_agents") or {}
        terms = "; ".join(f"{kind}: {t.get('url')} ({', '.join(t.get('findings') or []) or 'nothing found'}"
                          f"{'; licences ' + ', '.join(t['licenses']) if t.get('licenses') else ''})"
                          for kind, t in sorted(s["terms"].items()))
        rows.append({"host": host, "docs": s["docs"], "kept": s["kept"],
                     "robots": ", ".join(f"{a} ({v.replace('_', ' ')})" for a, v in sorted(agents.items())) or "-",
                     "ai_txt": "yes" if f.get("ai_txt") else "no", "tdmrep": "yes" if f.get("tdmrep") else "no",
                     "signals": ", ".join(f"{k}={v}" for k, v in s["signals"].most_common(12)) or "-",
                     "terms": terms or "not found"})
    return rows

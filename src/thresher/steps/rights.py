"""``rights_filter``: drop documents whose rights signals (``source["rights"]``, recorded by thresher's
crawler) say the configured policy must be honoured; the signal is the reason.

``honour`` names the signals that count (``robots``: robots.txt disallows the URL for one of
``agents``; ``ai_txt``; ``tdm_reservation``: TDMRep value 1 from tdmrep.json, header or meta;
``noai``; ``noimageai``; ``terms_tdm``: the site's terms page reserves text-and-data mining / AI
training). ``licenses``, when given, keeps only documents carrying one of those licence ids (e.g.
``CC-BY-4.0``) from ``<link rel=license>`` or a Creative Commons mark. Documents with no rights record
(not from the crawler) are kept unless ``require_record``, and counted either way.
"""
from __future__ import annotations

from ..crawl.rights import AI_AGENTS
from ..document import Document
from ..errors import ConfigError
from .base import Drop, Filter, StepContext

SIGNALS = ("robots", "ai_txt", "tdm_reservation", "noai", "noimageai", "terms_tdm")


class RightsFilter(Filter):
    """Drop documents whose recorded rights signals (robots.txt for AI agents, ai.txt, TDMRep, noai, terms) the policy honours."""

    name = "rights_filter"
    version = 1

    def __init__(self, honour: list[str] = ["robots", "ai_txt", "tdm_reservation", "noai"],  # noqa: B006
                 agents: list[str] = list(AI_AGENTS), licenses: list[str] = [],  # noqa: B006
                 require_record: bool = False):
        bad = sorted(set(honour) - set(SIGNALS))
        if bad:
            raise ConfigError(f"rights_filter: unknown signal(s) {bad}; known: {list(SIGNALS)}")
        self.honour, self.agents = set(honour), {a.lower() for a in agents}
        self.licenses = {x.lower() for x in licenses}
        self.require_record = require_record
        self._ctx: StepContext | None = None

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        self._ctx = ctx
        return super().process(docs, ctx)

    def _count(self, key: str) -> None:
        if self._ctx is not None:
            self._ctx.count(self.name, key)

    def decide(self, doc: Document) -> bool | Drop:
        rights = doc.source.get("rights")
        if not isinstance(rights, dict):
            self._count("no_rights_record")
            return Drop("no_rights_record") if self.require_record else True
        signals = rights.get("signals") or []
        for s in signals:
            kind, value = s.get("signal"), s.get("value")
            if kind not in self.honour:
                continue
            if kind == "robots" and value == "disallow" and str(s.get("agent", "")).lower() in self.agents:
                return Drop(f"robots:{s['agent']}")
            if kind == "ai_txt" and value == "disallow":
                return Drop("ai_txt")
            if kind == "tdm_reservation" and value == 1:
                return Drop(f"tdm_reservation:{s.get('via', '?')}")
            if kind in ("noai", "noimageai") and value is True:
                return Drop(f"{kind}:{s.get('via', '?')}")
        if "terms_tdm" in self.honour:
            for kind, t in (rights.get("site", {}).get("terms") or {}).items():
                if "tdm_reserved" in (t.get("findings") or []):
                    return Drop(f"terms_tdm:{t.get('url')}")
        if self.licenses:
            found = {str(s.get("cc") or s.get("value") or "").lower() for s in signals
                     if s.get("signal") in ("license", "cc_mark")}
            if not found & self.licenses:
                return Drop("license_not_allowed")
        return True

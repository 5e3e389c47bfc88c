"""The card's language section on a real multilingual release: per language + script, documents,
words, share, LID disagreement, filter attrition and the representativeness flags, checked against
the release's own rows."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

import thresher
from thresher import PipelineConfig, run
from thresher.card import write_card
from thresher.card.facts import collect
from thresher.card.render import FEW_DOCS, _language_units
from thresher.release import Release
from thresher.text.packs import pack_key

SAMPLE = Path(thresher.__file__).parent / "samples" / "multilingual.jsonl.gz"


def test_language_section(tmp_path):
    cfg = PipelineConfig(name="ml", input={"path": str(SAMPLE), "format": "jsonl"},
                         steps=[{"language_id": {}}, {"length_filter": {"min_chars": 1500}}],
                         output={"path": str(tmp_path / "out")})
    rel = Release(run(cfg, workers=1, progress=False, overwrite=True))
    docs, words, disagree = Counter(), Counter(), Counter()
    for p in rel.files("data"):
        t = pq.read_table(p, columns=["text", "meta"]).to_pylist()
        for r in t:
            m = json.loads(r["meta"])
            u = pack_key(m["language"], m["script"]) or "unknown"
            docs[u] += 1
            words[u] += len(r["text"].split())
            disagree[u] += not m["language_id_v1"]["agree"]
    rows = {r["unit"]: r for r in _language_units(collect(rel), {"eng": 0.9}, ["language_id", "length_filter"])}
    assert set(rows) == set(docs) and len(rows) >= 10
    total = sum(words.values())
    for u, r in rows.items():
        assert (r["docs"], r["words"]) == (docs[u], words[u])
        assert r["share"] == f"{100 * words[u] / total:.1f}%"
        assert r["disagree"] == f"{100 * disagree[u] / docs[u]:.1f}%"
        assert ("few documents" in r["flag"]) == (docs[u] < FEW_DOCS and u != "unknown")
    assert "below target" in rows["eng_Latn"]["flag"]
    # attrition: the length filter dropped some documents of some languages
    assert any(r["attrition"] not in ("0.0%", "n/a") for r in rows.values())
    card = write_card(rel, target_shares={"eng": 0.9}).read_text("utf-8")
    assert "### Language section" in card and "| eng_Latn |" in card

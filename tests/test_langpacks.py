"""Language packs: every pack loads and covers the detectors' labels; quality steps judge each
document with its own language's values (real multilingual sample); calibration reproduces
FineWeb-2's median - std rule on a release built from that sample."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import thresher
from thresher.document import Document
from thresher.errors import ConfigError
from thresher.steps.base import Drop, StepContext
from thresher.steps.langid import LanguageFilter, LanguageId, known_languages
from thresher.steps.quality.fineweb import FineWebQuality
from thresher.steps.quality.gopher import GopherQuality, GopherRepetition
from thresher.text.packs import find_pack, lid_threshold, load_packs

SAMPLE = Path(thresher.__file__).parent / "samples" / "multilingual.jsonl.gz"


def sample_docs() -> list[Document]:
    rows = [json.loads(x) for x in gzip.open(SAMPLE, "rt", encoding="utf-8")]
    docs = [Document(str(i), r["text"]) for i, r in enumerate(rows)]
    LanguageId().process(docs, StepContext())
    return docs


def test_every_pack_loads_and_every_label_has_one():
    packs = load_packs()
    lid, cld = known_languages()
    have = {k.split("_")[0] for k in packs}
    assert lid | cld <= have
    for key, p in packs.items():
        assert 0.3 <= p["lid_threshold"] <= 0.9, key
        assert p["stopwords_source"] in ("nltk", "fineweb2", "udhr-top20", "none"), key
        assert p["tokenizer"] in ("spacy_en", "script")
        for step, cls in (("fineweb_quality", FineWebQuality), ("gopher_quality", GopherQuality),
                          ("gopher_repetition", GopherRepetition)):
            if step in p["thresholds"]:     # the values build the step
                cls(language_pack="shipped").for_pack(key, p["thresholds"][step])
    assert packs["srp_Cyrl"]["script"] == "Cyrl" and packs["srp_Latn"]["script"] == "Latn"
    assert packs["deu_Latn"]["stopwords_source"] == "nltk"
    assert packs["deu_Latn"]["thresholds"]["fineweb_quality"]["new_line_ratio"] == 0.152    # FineWeb-2's


@pytest.mark.parametrize("cls", [FineWebQuality, GopherQuality, GopherRepetition])
def test_each_document_is_judged_with_its_languages_values(cls):
    docs = sample_docs()
    step = cls(drop=False, language_pack="shipped")
    step.process(docs, StepContext())
    default = cls(drop=False)
    used, differs = set(), 0
    for d in docs:
        stored = d.meta[step.meta_key]
        found = find_pack(d.meta)
        if found is None or step.name not in found[1]["thresholds"]:
            assert "language_pack" not in stored
            continue
        key, pack = found
        assert stored["language_pack"] == key
        used.add(key)
        own = step.for_pack(key, pack["thresholds"][step.name])
        for k, v in pack["thresholds"][step.name].items():
            assert getattr(own, k) == (v if not isinstance(v, list) or k == "stop_words" else [tuple(x) for x in v])
        # the verdict recorded is the one the language's own thresholds give on the same signals
        fresh = own.measure([Document("x", d.text, {}, dict(d.meta))])[0]
        verdict = own.judge(fresh)
        assert stored["verdict"] == (verdict.reason if verdict else "keep")
        base = default.judge(default.measure([Document("x", d.text, {}, dict(d.meta))])[0])
        differs += (verdict.reason if verdict else "keep") != (base.reason if base else "keep")
    assert len(used) >= 5, used
    if cls is not GopherRepetition:    # FineWeb-2 moved these thresholds enough to change verdicts here
        assert differs >= 1


def test_language_filter_uses_each_languages_lid_threshold(tmp_path):
    packs = load_packs()
    deu = packs["deu_Latn"]["lid_threshold"]
    f = LanguageFilter(language_pack="shipped", min_score=0.0)
    doc = Document("a", "", {}, {"language": "deu", "script": "Latn", "language_score": deu - 0.01})
    assert f.decide(doc) == Drop("language_score", deu - 0.01, deu)
    doc.meta["language_score"] = deu
    assert f.decide(doc) is True
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    with pytest.raises(ConfigError):
        LanguageFilter(language_pack=str(bad))


def test_lid_threshold_rule():
    assert lid_threshold([0.5, 0.7, 0.9]) == pytest.approx(0.7 - np.std([0.5, 0.7, 0.9]))
    assert lid_threshold([0.99, 0.98, 0.97]) == 0.9          # clamped above
    assert lid_threshold([0.1, 0.2, 0.3, 0.9]) == 0.3        # clamped below


def test_calibrate_a_release(tmp_path):
    from thresher import PipelineConfig, run
    from thresher.cli import app
    from thresher.languages import calibrate, release_scores
    from thresher.release import Release

    cfg = PipelineConfig(name="lid", input={"path": str(SAMPLE), "format": "jsonl"},
                         steps=[{"language_id": {}}, {"language_filter": {"languages": ["en"]}}],
                         output={"path": str(tmp_path / "out")})
    out = Path(run(cfg, workers=1, progress=False, overwrite=True))
    # the rule, recomputed here from the release's own rows (kept and excluded)
    import pyarrow.parquet as pq
    scores = []
    for kind in ("data", "excluded"):
        for p in Release(out).files(kind):
            for m in pq.read_table(p, columns=["meta"]).column(0).to_pylist():
                meta = json.loads(m)
                if meta.get("language") == "fra" and meta.get("script") == "Latn":
                    scores.append(meta["language_score"])
    assert len(scores) >= 3
    want = min(max(float(np.median(scores) - np.std(scores)), 0.3), 0.9)
    pack = calibrate(out, "fra_Latn")
    assert pack["lid_threshold"] == pytest.approx(want)
    assert pack["calibration"]["documents"] == len(scores)
    assert sorted(release_scores(Release(out), "fra").tolist()) == sorted(scores)
    r = CliRunner().invoke(app, ["calibrate", str(out), "--language", "fra_Latn", "-o", str(tmp_path / "fra.json")])
    assert r.exit_code == 0, r.output
    written = json.loads((tmp_path / "fra.json").read_text())["packs"]["fra_Latn"]
    assert written["lid_threshold"] == pytest.approx(want)
    f = LanguageFilter(language_pack=str(tmp_path / "fra.json"))
    doc = Document("a", "", {}, {"language": "fra", "script": "Latn", "language_score": want - 1e-3})
    assert f.decide(doc) == Drop("language_score", want - 1e-3, written["lid_threshold"])
    with pytest.raises(ConfigError):
        calibrate(out, "xyz_Latn")

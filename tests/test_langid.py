"""Language ID against gold labels: lingua-py test sentences and UDHR paragraphs (copied small into
fixtures/web), scripts, "unknown" for short or mixed text, the filter, and a pipeline run."""
from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import thresher
from thresher.document import Document
from thresher.errors import ConfigError
from thresher.steps.base import Drop
from thresher.steps.langid import (_CONTROL, LanguageFilter, LanguageId, _assemble, _dominant_scripts, combine,
                                   detect_cld2, detect_py3langid, identify, identify_batch, normalize_language)
from thresher.text.charclass import pack
from thresher.text.scripts import SCRIPTS, dominant_script, script_counts, script_table
from thresher.steps.langid_nb import classify, identifier, nb_probs

WEB = Path(__file__).parent / "fixtures" / "web"
# UDHR file name -> (ISO 639-3 the detectors report, ISO 15924)
UDHR_GOLD = {"eng": ("eng", "Latn"), "fra": ("fra", "Latn"), "spa": ("spa", "Latn"), "por_BR": ("por", "Latn"),
             "arb": ("ara", "Arab"), "cmn_hans": ("zho", "Hans"), "hin": ("hin", "Deva"), "urd": ("urd", "Arab"),
             "vie": ("vie", "Latn"), "cat": ("cat", "Latn"), "eus": ("eus", "Latn"), "ind": ("ind", "Latn"),
             "swh": ("swa", "Latn"), "yor": ("yor", "Latn"), "zul": ("zul", "Latn"), "xho": ("xho", "Latn"),
             "kin": ("kin", "Latn"), "ben": ("ben", "Beng"), "tam": ("tam", "Taml"), "deu": ("deu", "Latn"),
             "rus": ("rus", "Cyrl"), "jpn": ("jpn", "Jpan"), "tha": ("tha", "Thai")}


def rows(name: str) -> list[dict]:
    return [json.loads(x) for x in (WEB / name).read_text("utf-8").splitlines()]


def annotate(text: str, **opts) -> Document:
    d = Document("x", text)
    LanguageId(**opts).annotate(d)
    return d


def test_lingua_sentences_bigscience_languages():
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows("lingua_sentences.jsonl"):
        gold = normalize_language(r["lang"])
        per[gold][0] += identify(r["text"]).language == gold
        per[gold][1] += 1
    acc = {k: a / n for k, (a, n) in per.items()}
    assert len(acc) == 16
    assert sum(acc.values()) / len(acc) >= 0.95, acc
    assert min(acc.values()) >= 0.75, acc


def test_udhr_language_and_script():
    for r in rows("udhr_paragraphs.jsonl"):
        lang, script = UDHR_GOLD[r["lang"]]
        d = annotate(r["text"])
        assert (d.meta["language"], d.meta["script"]) == (lang, script), r["lang"]
        assert 0.5 < d.meta["language_score"] <= 1.0
        info = d.meta["language_id_v1"]
        assert info["agree"] == (info["cld2"] == info["py3langid"])


def test_unknown_when_too_short_or_mixed():
    d = annotate("Hi there")
    assert d.meta["language"] == "unknown" and d.meta["language_id_v1"]["reason"] == "too_short"
    udhr = defaultdict(list)
    for r in rows("udhr_paragraphs.jsonl"):
        udhr[r["lang"]].append(r["text"])
    mixed = "\n\n".join(udhr["eng"] + udhr["fra"])
    d = annotate(mixed, min_paragraph_chars=100)
    shares = d.meta["language_id_v1"]["paragraphs"]
    assert set(shares) == {"eng", "fra"} and abs(shares["eng"] - 0.5) < 0.2
    if max(shares.values()) < 0.5:
        assert d.meta["language"] == "unknown" and d.meta["language_id_v1"]["reason"] == "mixed"
    # mostly English with one French paragraph: English, and the French share is recorded
    d = annotate("\n\n".join(udhr["eng"] * 3 + udhr["fra"][:1]), min_paragraph_chars=100)
    assert d.meta["language"] == "eng" and 0 < d.meta["language_id_v1"]["paragraphs"]["fra"] < 0.5


def fixture_texts() -> list[str]:
    texts = [r["text"] for r in rows("lingua_sentences.jsonl") + rows("udhr_paragraphs.jsonl") + rows("pages.jsonl")]
    return texts + ["", "x", "ALL CAPS SHOUTING IS LOWER-CASED FIRST", "1234 5678 ..."]


# py3langid computes its scores in float32: ``log1p(counts) @ nb_ptc[features]`` is an OpenBLAS sgemv
# whose summation order depends on the processor's kernel (Haswell, SkylakeX, ... give probabilities up
# to 3.5e-6 apart), and on 2 kB texts the scores are ~1e4, where a float32 ulp is ~1e-3. Its packaged
# probabilities are therefore off their own exact value by up to 1.5e-5 on these texts (measured: the
# packaged float32 identifier against the same identifier holding float64 copies of its model). The
# compiled scorer computes in float64 (every product is exact there), so it equals py3langid's own code
# run in float64 to rounding (measured 2.6e-10), and the packaged float32 figures to their rounding.
PACKAGED_FLOAT32_ROUNDING = 2.5e-5
EXACT = 1e-9


def _py3langid_float64():
    from py3langid.langid import LanguageIdentifier

    i = identifier()
    return LanguageIdentifier(i.nb_ptc.astype(np.float64), i.nb_pc.astype(np.float64), i.nb_classes, i.tk_nextmove,
                              i.tk_output, norm_probs=True, tk_row=i.tk_row)


def test_compiled_scorer_gives_py3langids_labels_and_scores():
    ident, exact = identifier(), _py3langid_float64()
    texts = fixture_texts()
    ours = classify(texts)
    probs = nb_probs(texts)
    worst_exact = worst_packaged = 0.0
    for text, (label, score), row in zip(texts, ours, probs):
        theirs, theirs64 = ident.classify(text), exact.classify(text)
        assert label == theirs[0] == theirs64[0], text[:60]
        assert abs(score - theirs64[1]) < 1e-6 and abs(score - theirs[1]) < PACKAGED_FLOAT32_ROUNDING, text[:60]
        worst_exact = max(worst_exact, float(abs(row - exact._decide(text)).max()))
        worst_packaged = max(worst_packaged, float(abs(row - ident._decide(text)).max()))
    assert worst_exact < EXACT, worst_exact                      # every class's probability, not only the top
    assert worst_packaged < PACKAGED_FLOAT32_ROUNDING, worst_packaged
    assert len(texts) > 250


def test_batch_equals_one_at_a_time_and_the_python_combination():
    texts = fixture_texts()[::3]
    batch, _ = identify_batch(texts)
    for text, g in zip(texts, batch):
        one = identify(text)
        assert (one.language, one.script, one.reason) == (g.language, g.script, g.reason)
        assert abs(one.score - g.score) < 1e-9
        if g.reason in ("ok", "low_score"):    # the compiled combination is langid.combine's
            head = _CONTROL.sub(" ", text[:5000])
            post = combine(detect_py3langid(head), detect_cld2(head)[0])
            assert abs(max(post.values()) - g.score) < 1e-6


def test_paragraph_labels_come_from_one_pass():
    udhr = defaultdict(list)
    for r in rows("udhr_paragraphs.jsonl"):
        udhr[r["lang"]].append(r["text"])
    paras = udhr["eng"][:2] + udhr["deu"][:2] + udhr["rus"][:1]
    text = "\n\n".join(paras)
    spans = []
    for p in paras:
        start = text.index(p)
        spans.append((start, start + len(p)))
    _, labels = identify_batch([text], paragraphs=[spans])
    assert labels == [["eng", "eng", "deu", "deu", "rus"]]
    # the step's own paragraph spans, with their lengths as the stripped, newline-joined blocks
    step = LanguageId(min_paragraph_chars=100)
    for (a, b, size), p in zip(step._blocks(text), paras):
        assert text[a:b] == p and size == len(p)


def test_cld2_survives_control_characters_and_surrogates():
    langs, reliable, _ = detect_cld2("Bonjour tout le monde \x00\x1f\x85 \udcff, ceci est un test de la détection.")
    assert isinstance(reliable, bool) and isinstance(langs, dict)
    d = annotate("Ceci est un texte français \x85\x00 avec des caractères de contrôle, assez long pour être jugé.")
    assert d.meta["language"] == "fra"


def test_language_filter():
    f = LanguageFilter(languages=["en", "fra"], min_score=0.6)
    assert f.languages == {"eng", "fra"}
    assert f.decide(Document("a", "", {}, {"language": "eng", "language_score": 0.9})) is True
    assert f.decide(Document("b", "", {}, {"language": "deu", "language_score": 0.9})) == Drop("language:deu")
    assert f.decide(Document("c", "", {}, {"language": "fra", "language_score": 0.5})) == \
        Drop("language_score", 0.5, 0.6)
    assert f.decide(Document("d", "", {}, {"language": "unknown"})) == Drop("language_unknown")
    assert LanguageFilter(keep_unknown=True).decide(Document("d", "", {}, {"language": "unknown"})) is True
    assert f.decide(Document("e", "", {}, {})) == Drop("language_not_identified")
    with pytest.raises(ConfigError):
        LanguageFilter(languages=["klingon"])


def test_pipeline_records_languages(tmp_path):
    from thresher import PipelineConfig, run
    from thresher.release import Release

    src = Path(thresher.__file__).parent / "samples" / "multilingual.jsonl.gz"
    sample = [json.loads(x) for x in gzip.open(src, "rt", encoding="utf-8")]
    cfg = PipelineConfig(name="lid", input={"path": str(src), "format": "jsonl"},
                         steps=[{"language_id": {}}, {"language_filter": {"languages": ["en", "fr", "sw"]}}],
                         output={"path": str(tmp_path / "out")})
    rel = Release(run(cfg, workers=2, progress=False, overwrite=True))
    wanted = {"en", "eng", "fr", "fra", "sw", "swh"}
    assert rel.manifest["documents"] == sum(1 for r in sample if r["gold_language"] in wanted)
    langs = rel.stats.to_json()["languages"]
    assert set(langs) == {"eng", "fra", "swa"}


def reference_blocks(text: str, max_chars: int = 5000, min_chars: int = 200, max_blocks: int = 16) -> list[tuple]:
    """``LanguageId._blocks`` as it was written before it was compiled: regular expressions and str.strip."""
    def stripped(a: int, b: int) -> tuple[int, int]:
        piece = text[a:b]
        right = len(piece.rstrip())
        return (a + len(piece) - len(piece.lstrip()), a + right) if right else (a, a)

    head = text[: max_chars * 4]
    sep = re.compile(r"\n\s*\n") if re.search(r"\n\s*\n", head) else re.compile(r"\n")
    if sep.pattern == r"\n" and "\n" not in head:
        return []
    pieces, pos = [], 0
    for m in sep.finditer(head):
        pieces.append(stripped(pos, m.start()))
        pos = m.end()
    pieces.append(stripped(pos, len(head)))
    blocks: list[tuple] = []
    start, size = -1, 0
    for a, b in pieces:
        if a == b:
            continue
        if start < 0:
            start, size = a, b - a
        else:
            size += 1 + b - a
        if size >= min_chars:
            blocks.append((start, b, size))
            start = -1
            if len(blocks) >= max_blocks:
                break
    return blocks if len(blocks) >= 2 else []


def test_compiled_blocks_equal_the_regex_definition():
    udhr = [r["text"] for r in rows("udhr_paragraphs.jsonl")]
    texts = fixture_texts() + [r["text"] for r in rows("pages.jsonl")] + [
        "\n\n".join(udhr[:40]), "\n".join(udhr[:30]), " \r\n \u3000\n\t".join(udhr[5:25]),
        "\u2028\n\u00a0\x85\n".join(udhr[10:30]) + "\n \n  ", "\n\n\n" + "\n \n".join(udhr[:3]),
        " \n".join(["x" * 150] * 40), "a\n" * 3000, "\n".join(udhr[:200])]
    assert sum(bool(reference_blocks(t)) for t in texts) > 30
    for opts in ({}, {"min_paragraph_chars": 50, "max_paragraphs": 3}, {"max_chars": 300, "min_paragraph_chars": 1}):
        step = LanguageId(**opts)
        ref_opts = {"max_chars": step.max_chars, "min_chars": step.min_paragraph_chars,
                    "max_blocks": step.max_paragraphs}
        cps, coff = pack([t[: step.max_chars * 4] for t in texts])
        pa, pb, size, poff = step._blocks_packed(cps, coff)
        for d, t in enumerate(texts):
            got = list(zip(*(x[poff[d]:poff[d + 1]].tolist() for x in (pa, pb, size))))
            assert got == reference_blocks(t, **ref_opts) == step._blocks(t), (opts, t[:80])


def test_vectorised_dominant_script_equals_dominant_script():
    rng = np.random.default_rng(7)
    rows_ = rng.integers(0, 4, size=(3000, len(SCRIPTS) + 1)) * (rng.random((3000, len(SCRIPTS) + 1)) < 0.08)
    for cols in (["Hani", "Hira"], ["Hani", "Hang"], ["Hang", "Latn"], ["Kana", "Cyrl"]):
        block = rng.integers(0, 6, size=(500, len(SCRIPTS) + 1)) * 0
        for c in cols:
            block[:, 1 + SCRIPTS.index(c)] = rng.integers(0, 6, size=500)
        rows_ = np.vstack([rows_, block])
    got = _dominant_scripts(rows_)
    for r, g in zip(rows_, got):
        assert g == dominant_script({SCRIPTS[i - 1]: int(r[i]) for i in range(1, len(r)) if r[i]}), r


def test_one_walk_bytes_are_the_regions_utf8_and_spans_land_on_characters():
    """A document walked once is the UTF-8 of its control-cleaned region; every span's bytes are its
    characters' (1- to 4-byte characters, control characters and lone surrogates on the way), and
    its letters per script are ``script_counts`` of its characters."""
    texts = ["Grüße aus Köln — 東京 🙂 \x00\x1f\x85 ok\ud800 done. " * 40, "plain ascii\x07 text " * 30, "", "ab"]
    spans = [[(10, 60), (100, 400), (401, 1500)], [(5, 20), (20, 200)], [], []]
    max_chars = 700
    n = len(texts)
    poff = np.cumsum([0] + [len(s) for s in spans])
    pa = np.array([a for s in spans for a, _ in s], dtype=np.int64)
    pb = np.array([b for s in spans for _, b in s], dtype=np.int64)
    region = np.array([min(len(t), max(max_chars, s[-1][1] if s else 0)) for t, s in zip(texts, spans)])
    head = np.minimum(region, max_chars)
    cps, coff = pack(texts)
    empty = np.zeros(0, dtype=np.uint8)
    data, woff, seg_a, seg_b, seg_doc, letters = _assemble(
        cps, coff, region, head, pa, pb, poff, max_chars, np.ones(n, dtype=np.uint8), empty,
        np.zeros(1, dtype=np.int64), np.zeros(n + 1, dtype=np.int64), script_table(), len(SCRIPTS) + 1)
    blob = data.tobytes()
    s = 0
    for d, (t, sp) in enumerate(zip(texts, spans)):
        clean = _CONTROL.sub(" ", t)
        assert blob[woff[d]:woff[d + 1]] == clean[:region[d]].encode("utf-8")
        for a, b in [(0, head[d])] + [(a, min(b, a + max_chars)) for a, b in sp]:
            assert blob[seg_a[s]:seg_b[s]] == clean[a:b].encode("utf-8")
            assert seg_doc[s] == d and {SCRIPTS[i - 1]: c for i, c in enumerate(letters[s].tolist()) if i and c} == \
                script_counts(t[a:b])
            s += 1
    assert s == len(seg_a)


def test_documents_walked_apart_equal_one_at_a_time():
    """All upper case or not NFC: the head and each paragraph are encoded (lower-cased, NFC) and
    walked on their own; in a batch beside documents walked once, each gets what it gets alone."""
    udhr = defaultdict(list)
    for r in rows("udhr_paragraphs.jsonl"):
        udhr[r["lang"]].append(r["text"])
    eng = udhr["eng"] * 3
    shout = "\n\n".join(p.upper() for p in eng)
    decomposed = "\n\n".join(udhr["fra"] * 2).replace("é", "e\u0301") + "\n\nSchöne Grüße aus Köln. " * 9
    texts = [shout, decomposed, "\n\n".join(eng), "\n\n".join(udhr["deu"]).upper(), "ÇA VA, MERCI BEAUCOUP !"]
    step = LanguageId(min_paragraph_chars=100)
    batch = step.guesses(texts)
    assert [g.language for g in batch[:4]] == ["eng", "fra", "eng", "deu"] and batch[0].paragraphs
    for t, g in zip(texts, batch):
        assert step.guesses([t])[0] == g

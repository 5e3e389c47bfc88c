"""Dictionary word segmenters (jieba for Chinese, pythainlp newmm for Thai, SudachiPy for Japanese,
khmer-nltk, LaoNLP, pyidaungsu for Burmese) under the quality steps' ``language_pack``: words are the segmenter's (as datatrove/FineWeb-2 strip them), real UDHR prose lands
inside FineWeb-2's per-language word-length range, documents of other languages get the same signals
and verdicts as before, and a pack naming a segmenter that cannot run is one clear error."""
from __future__ import annotations

import gzip
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import thresher
from thresher.document import Document
from thresher.errors import ConfigError
from thresher.steps.base import StepContext
from thresher.steps.langid import LanguageId
from thresher.steps.quality import common
from thresher.steps.quality.fineweb import FineWebQuality
from thresher.steps.quality.gopher import GopherQuality, GopherRepetition
from thresher.text import segmenters
from thresher.text.charclass import pack
from thresher.text.packs import load_packs
from thresher.text.segment import SCRIPT, SPACY_EN, tokenize_batch
from thresher.text.segmenters import segmenter_mode

PKG = Path(thresher.__file__).parent
FIX = Path(__file__).parent / "fixtures" / "text"
JIEBA, NEWMM = "jieba", "pythainlp (newmm)"
SUDACHI, KHMER, LAO, BURMESE = "sudachipy (A)", "khmer-nltk", "laonlp", "pyidaungsu (word)"


def udhr_docs(name: str, lang: str, script: str, per_doc: int = 6) -> list[Document]:
    """The UDHR translation shipped with thresher (or in the fixtures: ``udhr_khm``), as documents of
    ``per_doc`` paragraphs."""
    path = FIX / f"{name}.txt" if name.startswith("udhr_") else PKG / "data" / "udhr" / f"{name}.txt"
    paras = [p for p in path.read_text("utf-8").split("\n") if p.strip()]
    return [Document(f"{name}-{i}", "\n".join(paras[i:i + per_doc]), {}, {"language": lang, "script": script})
            for i in range(0, len(paras) - per_doc + 1, per_doc)]


def news_texts(code: str, per_doc: int = 10) -> list[str]:
    lines = (FIX / f"{code}_news_sentences.txt").read_text("utf-8").split("\n")[:200]
    return [" ".join(lines[i:i + per_doc]) for i in range(0, len(lines), per_doc)]


def udhr_texts(code: str, per_doc: int = 4) -> list[str]:
    return [d.text for d in udhr_docs(f"udhr_{code}", code, "", per_doc)]


def reference_words(text: str, name: str) -> list[str]:
    """datatrove's word_tokenize for the language (what FineWeb-2's thresholds were tuned on): spaCy's
    Chinese tokenizer over jieba.cut, pythainlp newmm-safe for Thai, spaCy's Japanese tokenizer (SudachiPy
    split mode A morphemes), khmer-nltk, LaoNLP, pyidaungsu's word form; then ``strip_strings``."""
    if name == JIEBA:
        import jieba
        raw = jieba.lcut(text, cut_all=False)
    elif name == NEWMM:
        from pythainlp.tokenize import word_tokenize
        raw = word_tokenize(text, keep_whitespace=False, engine="newmm-safe")
    elif name == SUDACHI:
        raw = [m.surface() for m in sudachi_a().tokenize(text)]
    elif name == KHMER:
        from khmernltk import word_tokenize as khmer
        raw = khmer(text, return_tokens=True)
    elif name == LAO:
        from laonlp.tokenize import word_tokenize as lao
        raw = lao(text)
    else:
        import pyidaungsu
        raw = pyidaungsu.tokenize(text, form="word")
    return [w.strip() for w in raw if w.strip()]


@lru_cache(maxsize=1)
def sudachi_a():
    from sudachipy import Dictionary, SplitMode
    return Dictionary().tokenizer(mode=SplitMode.A)


def visible(w: str) -> str:
    return "".join(c for c in w if not (c.isspace() or c in "\u200b\u200c\u200d"))


@pytest.mark.parametrize("code,name", [("zho", JIEBA), ("tha", NEWMM), ("jpn", SUDACHI), ("khm", KHMER),
                                       ("lao", LAO), ("mya", BURMESE)])
def test_words_are_the_segmenters(code, name):
    texts = (news_texts(code) if code in ("zho", "tha", "jpn") else udhr_texts(code)) + ["", "  ", "English words only, here."]
    # a mixed batch: segmenter documents between documents of the compiled splitters
    modes = [SPACY_EN, segmenter_mode(name), SCRIPT] * len(texts)
    batch = [t for t in texts for _ in range(3)]
    cps, off = pack(batch)
    toks = tokenize_batch(cps, off, np.array(modes, dtype=np.uint8))
    for d, (t, m) in enumerate(zip(batch, modes)):
        a, b = toks.off[d], toks.off[d + 1]
        words = [t[s - off[d]:e - off[d]] for s, e, w in zip(toks.start[a:b], toks.end[a:b], toks.ws[a:b]) if not w]
        if m == segmenter_mode(name) and name in (KHMER, BURMESE):
            # they return strings of a normalised copy (khmer-nltk drops line breaks and adds zero-width
            # spaces, pyidaungsu joins syllables across a space): laid back on the text, same words
            assert [visible(w) for w in words] == [v for v in map(visible, reference_words(t, name)) if v]
            assert not toks.ws[a:b].any()
        elif m == segmenter_mode(name):
            assert words == reference_words(t, name)
            assert not toks.ws[a:b].any()
        else:            # the compiled splitters' spans are unchanged by the segmenter documents around them
            one = tokenize_batch(*pack([t]), np.array([m], dtype=np.uint8))
            assert np.array_equal(toks.start[a:b] - off[d], one.start) and np.array_equal(toks.end[a:b] - off[d], one.end)
            assert np.array_equal(toks.ws[a:b], one.ws)


@pytest.mark.parametrize("udhr,lang,script,key", [("cmn_hans", "zho", "Hans", "zho_Hans"), ("tha", "tha", "Thai", "tha_Thai")])
def test_udhr_prose_inside_fineweb2_word_length_range(udhr, lang, script, key):
    """FineWeb-2 tuned min/max mean word length on segmented words: the UDHR's prose lands well inside
    the range with the segmenter, and on its lower edge (or below it) with characters/syllable clusters."""
    gq = load_packs()[key]["thresholds"]["gopher_quality"]
    lo, hi = gq["min_avg_word_length"], gq["max_avg_word_length"]
    docs = udhr_docs(udhr, lang, script)
    seg = GopherQuality(language_pack="shipped", drop=False)
    seg.process(docs, StepContext())
    after = [d.meta[seg.meta_key] for d in docs]
    old = GopherQuality(language_pack="shipped", drop=False, splitter="script")    # today's words
    old.process(docs, StepContext())
    before = [d.meta[old.meta_key] for d in docs]
    assert all(s["language_pack"] == key for s in after)
    for a, b in zip(after, before):
        assert lo + 0.5 <= a["avg_word_length"] <= hi - 1, a
        assert b["avg_word_length"] < lo + 0.3, b          # one character / one syllable cluster per word
        assert a["n_non_symbol_words"] < b["n_non_symbol_words"]
    assert sum(s["verdict"] == "keep" for s in after) >= len(docs) - 1      # one short 6-paragraph chunk at most


@pytest.mark.parametrize("udhr,lang,script,dropped_before", [
    ("jpn", "jpn", "Jpan", False), ("udhr_khm", "khm", "Khmr", True), ("udhr_lao", "lao", "Laoo", True),
    ("udhr_mya", "mya", "Mymr", False)])
def test_udhr_japanese_khmer_lao_burmese_in_range(udhr, lang, script, dropped_before):
    """Segmented UDHR prose lands inside FineWeb-2's word-length range of the language and is kept;
    Khmer and Lao in syllable clusters (the script splitter) were under the minimum of 2 and dropped whole."""
    gq = load_packs()[f"{lang}_{script}"]["thresholds"]["gopher_quality"]
    docs = udhr_docs(udhr, lang, script)
    step = GopherQuality(language_pack="shipped", drop=False)
    step.process(docs, StepContext())
    stats = [d.meta[step.meta_key] for d in docs]
    assert all(gq["min_avg_word_length"] + 0.5 <= s["avg_word_length"] <= gq["max_avg_word_length"] for s in stats)
    assert sum(s["verdict"] == "keep" for s in stats) >= len(docs) - 1
    old = GopherQuality(language_pack="shipped", drop=False, splitter="script")
    old.process(docs, StepContext())
    before = [d.meta[old.meta_key] for d in docs]
    assert all(a["n_words"] < b["n_words"] for a, b in zip(stats, before))
    assert all(b["verdict"] != "keep" for b in before) == dropped_before


def test_sudachi_long_document_in_chunks():
    """SudachiPy refuses inputs over 49,149 bytes: a long Japanese document is segmented in chunks of
    whole lines, each word where a document of that line alone puts it."""
    lines = news_texts("jpn", per_doc=1)[:40]
    text = "\n".join(lines * 20)
    assert len(text.encode()) > 2 * segmenters.SUDACHI_MAX_BYTES
    s, e = segmenters.spans(text, segmenter_mode(SUDACHI))
    words = [text[a:b] for a, b in zip(s, e)]
    per_line = {line: reference_words(line, SUDACHI) for line in lines}
    assert words == [w for line in lines * 20 for w in per_line[line]]


def test_gopher_quality_keeps_udhr_thai_it_dropped():
    docs = udhr_docs("tha", "tha", "Thai")
    assert len(docs) >= 10
    kept = GopherQuality(language_pack="shipped").process(list(docs), StepContext())
    assert [d.id for d in kept] == [d.id for d in docs]
    ctx = StepContext()      # syllable clusters (what auto gave before segmenters): every document dropped
    assert GopherQuality(language_pack="shipped", splitter="script").process(list(docs), ctx) == []
    assert {d.drop.reason for d in ctx.dropped} == {"gopher_below_avg_threshold"}


def test_no_language_pack_no_segmenter():
    """Without language_pack the words are exactly the script splitter's (golden releases unchanged)."""
    docs = udhr_docs("cmn_hans", "zho", "Hans")
    plain, forced = GopherRepetition(drop=False), GopherRepetition(drop=False, splitter="script")
    plain.process(docs, StepContext())
    a = [dict(d.meta[plain.meta_key]) for d in docs]
    forced.process(docs, StepContext())
    assert a == [d.meta[forced.meta_key] for d in docs]


def nulled_packs(tmp_path: Path) -> str:
    """The shipped packs with every segmenter removed: the values the quality steps used before."""
    packs = {k: dict(v, segmenter=None) for k, v in load_packs().items()}
    path = tmp_path / "packs.json"
    path.write_text(json.dumps({"packs": packs}, ensure_ascii=False), "utf-8")
    return str(path)


@pytest.mark.parametrize("cls", [GopherQuality, GopherRepetition, FineWebQuality])
def test_other_languages_get_identical_signals_and_verdicts(cls, tmp_path):
    rows = [json.loads(x) for x in gzip.open(PKG / "samples" / "multilingual.jsonl.gz", "rt", encoding="utf-8")]
    docs = [Document(str(i), r["text"]) for i, r in enumerate(rows)]
    docs += udhr_docs("cmn_hans", "zho", "Hans")[:3] + udhr_docs("tha", "tha", "Thai")[:3]
    LanguageId().process(docs, StepContext())
    with_seg, without = cls(drop=False, language_pack="shipped"), cls(drop=False, language_pack=nulled_packs(tmp_path))
    with_seg.process(docs, StepContext())
    a = [dict(d.meta[with_seg.meta_key]) for d in docs]
    without.process(docs, StepContext())
    b = [d.meta[without.meta_key] for d in docs]
    segmented = 0
    for d, x, y in zip(docs, a, b):
        pack_seg = load_packs()[x["language_pack"]].get("segmenter") if "language_pack" in x else None
        if pack_seg is None:
            assert x == y, d.meta.get("language")
        else:
            segmented += 1
            if cls is GopherQuality:        # (fineweb_quality's one word signal, newlines per word, is 0 on one line)
                assert x["n_words"] != y["n_words"]
    assert segmented >= 6 and len(docs) - segmented >= 60


def test_chain_segments_each_document_once(monkeypatch):
    calls = []
    real = segmenters.spans
    monkeypatch.setattr(segmenters, "spans", lambda text, mode: calls.append(text) or real(text, mode))
    docs = udhr_docs("cmn_hans", "zho", "Hans") + udhr_docs("deu", "deu", "Latn")
    ctx = StepContext()
    for step in (GopherRepetition(language_pack="shipped"), GopherQuality(language_pack="shipped"),
                 FineWebQuality(language_pack="shipped", drop=False)):
        docs = step.process(docs, ctx)
    zho = len(udhr_docs("cmn_hans", "zho", "Hans"))
    assert len(calls) == zho and len(set(calls)) == zho


def test_missing_or_unknown_segmenter_is_one_clear_error(monkeypatch, tmp_path):
    segmenter_mode.cache_clear()
    monkeypatch.setitem(sys.modules, "jieba", None)          # import jieba -> ImportError
    doc = Document("z", "人人生而自由，在尊严和权利上一律平等。", {}, {"language": "zho", "script": "Hans"})
    with pytest.raises(ConfigError, match="pip install jieba"):
        GopherQuality(language_pack="shipped").process([doc], StepContext())
    segmenter_mode.cache_clear()
    monkeypatch.delitem(sys.modules, "jieba")
    packs = {"bod_Tibt": dict(load_packs()["bod_Tibt"], segmenter="botok")}
    path = tmp_path / "bod.json"
    path.write_text(json.dumps({"packs": packs}), "utf-8")
    doc = Document("b", "འགྲོ་བ་མིའི་རིགས་རྒྱུད་ཡོངས་ལ་", {}, {"language": "bod", "script": "Tibt"})
    with pytest.raises(ConfigError, match="'botok': unknown"):
        GopherQuality(language_pack=str(path)).process([doc], StepContext())
    assert common.word_modes([doc], "script", "botok").tolist() == [SCRIPT]     # a forced splitter wins

"""Dedup: exact and MinHash near-duplicates on real fixtures (UDHR in many encodings, Clough-Stevenson
plagiarism corpus), against a brute-force exact-Jaccard oracle and the corpus' gold labels."""
from __future__ import annotations

import gzip
import hashlib
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from thresher.config import PipelineConfig
from thresher.dedup import ExactDedup, MinhashDedup, estimated_jaccard, signatures
from thresher.dedup import base as dedup_base
from thresher.dedup import minhash as minhash_mod
from thresher.dedup.plan import estimate
from thresher.errors import ConfigError
from thresher.pipeline import run
from thresher.release import Release

FIX = Path(__file__).parent / "fixtures" / "dedup"
UDHR = str(FIX / "udhr-*.jsonl.gz")
CS = str(FIX / "clough_stevenson.jsonl.gz")
# every pair of Jaccard >= 0.8 becomes a candidate with probability ~1 (1 - (1 - 0.8**2)**32), so
# with verification the clusters must equal the oracle's exactly
EXHAUSTIVE = {"num_perm": 64, "bands": 32, "rows": 2}


# -- oracle: the kernel's tokenisation written plainly in Python, sets of tuples, exact Jaccard ------
def _is_word(cp: int) -> bool:
    if cp < 0x80:
        return chr(cp).isalnum() or cp == 0x5F
    if cp < 0xC0:
        return cp in (0xAA, 0xB5, 0xBA)
    if cp in (0xD7, 0xF7) or 0x2000 <= cp <= 0x2BFF or 0x2E00 <= cp <= 0x2E7F or 0x3000 <= cp <= 0x303F:
        return False
    return not (0xFE30 <= cp <= 0xFE4F or 0xFF00 <= cp <= 0xFF0F or 0xFF1A <= cp <= 0xFF20)


def _no_space(cp: int) -> bool:
    return any(a <= cp <= b for a, b in ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
                                         (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0xFF66, 0xFF9F),
                                         (0x20000, 0x2FFFF)))


def _fold(cp: int) -> int:
    if 0x41 <= cp <= 0x5A or (0xC0 <= cp <= 0xDE and cp != 0xD7) or 0x391 <= cp <= 0x3AB or 0x410 <= cp <= 0x42F:
        return cp + 0x20
    if 0x400 <= cp <= 0x40F:
        return cp + 0x50
    return cp + 1 if 0x100 <= cp <= 0x17F and cp % 2 == 0 and cp != 0x138 else cp


def oracle_shingles(text: str, n: int = 5, cn: int = 5) -> set:
    cps = [ord(c) for c in text]
    word = [c for c in cps if _is_word(c)]
    if word and sum(map(_no_space, word)) * 2 > len(word):
        toks, n = [_fold(c) for c in word], cn
    else:
        toks, cur = [], []
        for c in cps + [0x20]:
            if _is_word(c):
                cur.append(_fold(c))
            elif cur:
                toks.append(tuple(cur))
                cur = []
    if not toks:
        return set()
    n = min(n, len(toks))
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def components(n: int, pairs: list[tuple[int, int]]) -> list[frozenset]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups = defaultdict(set)
    for i in range(n):
        groups[find(i)].add(i)
    return sorted((frozenset(g) for g in groups.values() if len(g) > 1), key=min)


def read_fixture(pattern: str) -> list[dict]:
    docs = []
    for f in sorted(FIX.glob(Path(pattern).name)):
        with gzip.open(f, "rt", encoding="utf-8") as fh:
            docs += [json.loads(line) for line in fh]
    return docs


def pipeline(tmp: Path, steps: list, inputs: str = UDHR, name: str = "dedup") -> PipelineConfig:
    return PipelineConfig(name=name, input={"path": inputs, "format": "jsonl"}, steps=steps,
                          output={"path": str(tmp)})


def clusters_of(release: Path, label: str) -> dict[str, list[dict]]:
    rows = pq.ParquetDataset(release / "clusters" / label).read().to_pylist()
    out: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        out[r["cluster_id"]].append(r)
    return out


# -- signatures ---------------------------------------------------------------------------------
def test_signature_estimates_track_exact_jaccard():
    docs = read_fixture(CS)
    texts = [d["text"] for d in docs]
    sets = [oracle_shingles(t) for t in texts]
    sig = signatures(texts, num_perm=256)
    assert sig.shape == (len(texts), 256) and sig.dtype == np.uint64
    errs = []
    for i, j in itertools.combinations(range(len(texts)), 2):
        true = jaccard(sets[i], sets[j])
        if true > 0.05:
            errs.append(float(estimated_jaccard(sig[i], sig[j])) - true)
    errs = np.array(errs)
    assert len(errs) > 100
    assert abs(errs.mean()) < 0.01                # unbiased
    assert np.sqrt((errs ** 2).mean()) < 0.035    # binomial sd at 256 permutations is <= 0.031
    assert (signatures(texts[:3], num_perm=256) == sig[:3]).all()     # deterministic, batch-independent


def test_char_shingles_for_scripts_without_spaces():
    docs = {d["id"]: d["text"] for d in read_fixture(UDHR)}
    zh = [docs["udhr.zip/Chinese_Mandarin-GB2312"], docs["udhr2/cmn_hans"]]
    auto = estimated_jaccard(*signatures(zh, num_perm=256))
    words = estimated_jaccard(*signatures(zh, num_perm=256, tokens="words"))
    assert abs(auto - jaccard(*map(oracle_shingles, zh))) < 0.08 and auto > 0.8
    assert words < 0.5      # without spaces a "word" is a whole clause: the copies look unrelated


# -- MinHash end to end ------------------------------------------------------------------------
def test_minhash_clusters_equal_exact_jaccard_oracle(tmp_path):
    docs = read_fixture(UDHR)
    sets = [oracle_shingles(d["text"]) for d in docs]
    pairs = [(i, j) for i, j in itertools.combinations(range(len(docs)), 2) if jaccard(sets[i], sets[j]) >= 0.8]
    want = {frozenset(docs[i]["id"] for i in g) for g in components(len(docs), pairs)}
    assert len(want) >= 8                     # the fixture really has near-duplicate groups

    out = run(pipeline(tmp_path / "r", [{"minhash_dedup": EXHAUSTIVE}]), workers=2, overwrite=True)
    got = clusters_of(out, "minhash_dedup")
    assert {frozenset(r["id"] for r in rows) for rows in got.values()} == want

    rel = Release(out)
    by_id = {d["id"]: i for i, d in enumerate(docs)}
    excluded = pq.ParquetDataset(out / "excluded").read().to_pylist()
    assert {r["id"] for r in excluded} == {r["id"] for rows in got.values() for r in rows if not r["kept"]}
    for rows in got.values():
        (kept,) = [r for r in rows if r["kept"]]
        assert kept["id"] == min((r["id"] for r in rows), key=by_id.get)     # keep: first (input order)
        for r in rows:
            if r["kept"]:
                assert json.loads(rel.find(r["id"])[1]["meta"])["cluster_id"] == r["cluster_id"]
                continue
            to_kept = jaccard(sets[by_id[r["id"]]], sets[by_id[kept["id"]]])
            assert r["similarity"] == pytest.approx(to_kept, abs=2e-3)
            matched = jaccard(sets[by_id[r["id"]]], sets[by_id[r["matched"]]])
            assert r["match_similarity"] == pytest.approx(matched, abs=2e-3) and matched >= 0.8
            why = rel.why(r["id"])
            assert why["status"] == "excluded"
            assert why["meta"]["duplicate_of"] == kept["id"]
            assert why["meta"]["cluster_id"] == r["cluster_id"]
            assert why["meta"]["minhash_dedup_v1"]["matched"] == r["matched"]
            assert why["dropped_by"]["reason"] == "near_duplicate"
            assert why["dropped_by"]["threshold"] == 0.8
            assert why["dropped_by"]["score"] == pytest.approx(matched, abs=2e-3)
    assert rel.manifest["documents"] == len(docs) - len(excluded)


def test_golden_clusters_default_pipeline(tmp_path):
    """Default settings (exact, then MinHash 14 x 8 with verification): the reviewed golden clusters."""
    out = run(pipeline(tmp_path / "r", ["exact_dedup", "minhash_dedup"]), workers=2, overwrite=True)
    got = {label: sorted([sorted(r["id"] for r in rows if r["kept"]) + sorted(r["id"] for r in rows if not r["kept"])
                          for rows in clusters_of(out, label).values()])
           for label in ("exact_dedup", "minhash_dedup")}
    golden = json.loads((FIX / "golden_udhr.json").read_text())
    assert got == golden
    stats = Release(out).stats.steps
    assert stats["exact_dedup"].drops["exact_duplicate"] == sum(len(c) - 1 for c in golden["exact_dedup"])
    assert stats["minhash_dedup"].drops["near_duplicate"] == sum(len(c) - 1 for c in golden["minhash_dedup"])


def test_clough_stevenson_cut_answers_found_non_answers_not(tmp_path):
    """Gold labels: "cut" answers are near-copies of a part of their Wikipedia source, "non" answers
    were written independently. A copied excerpt has low Jaccard with the whole source, so this is
    the containment setting (similarity within the smaller document)."""
    docs = read_fixture(CS)
    steps = [{"minhash_dedup": {"similarity": "containment", "threshold": 0.25, "keep": "longest",
                                "num_perm": 128, "bands": 64, "rows": 2}}]
    out = run(pipeline(tmp_path / "r", steps, CS), workers=2, overwrite=True)
    cluster_of = {r["id"]: cid for cid, rows in clusters_of(out, "minhash_dedup").items() for r in rows}

    def found(d: dict) -> bool:
        c = cluster_of.get(d["id"])
        return c is not None and c == cluster_of.get(f"orig_task{d['task']}")
    rate = {cat: [found(d) for d in docs if d["category"] == cat] for cat in ("cut", "light", "heavy", "non")}
    assert sum(rate["non"]) == 0 and len(rate["non"]) == 38
    # 18 of the 19 cut answers. g2pE_taskc copies another Wikipedia article (information retrieval,
    # not the vector space model source) and shares no 5-gram with its source. g4pD_taskb shares
    # none either, but copies the same part of the PageRank article as g1pD_taskb, which does
    # overlap the source: the cluster is transitive, and the pair is reported as its match.
    assert sum(rate["cut"]) == 18
    missed = {d["id"] for d in docs if d["category"] == "cut" and not found(d)}
    assert missed == {"g2pE_taskc"}
    frac = {k: sum(v) / len(v) for k, v in rate.items()}
    assert frac["cut"] > frac["light"] > frac["heavy"] > frac["non"]     # more rewriting, fewer found
    excluded = {r["id"]: r for r in pq.ParquetDataset(out / "excluded").read().to_pylist()}
    for d in docs:
        if d["category"] == "cut" and found(d):
            if d["id"] in excluded:     # (one per cluster is kept: the longest document)
                row = excluded[d["id"]]
                assert row["reason"] == "near_duplicate" and row["score"] >= 0.25 and row["threshold"] == 0.25


# -- exact ----------------------------------------------------------------------------------------
def test_exact_dedup_matches_normalised_hash_groups(tmp_path):
    docs = read_fixture(UDHR)
    groups = defaultdict(list)
    for d in docs:
        groups[hashlib.sha256(" ".join(d["text"].split()).encode()).hexdigest()].append(d["id"])
    want = {frozenset(g) for g in groups.values() if len(g) > 1}
    out = run(pipeline(tmp_path / "r", ["exact_dedup"]), workers=2, overwrite=True)
    got = clusters_of(out, "exact_dedup")
    assert {frozenset(r["id"] for r in rows) for rows in got.values()} == want
    assert all(r["similarity"] == 1.0 for rows in got.values() for r in rows)


def test_exact_normalisation_levels(tmp_path):
    text = next(d["text"] for d in read_fixture(UDHR) if d["id"] == "udhr2/eng")
    variants = [text, "  " + text.replace(" ", "  \t") + "\n", text.upper()]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"v{i}", "text": t}) + "\n" for i, t in enumerate(variants)))
    dropped = {}
    for level in ("none", "whitespace", "text"):
        out = run(pipeline(tmp_path / level, [{"exact_dedup": {"normalize": level}}], str(src)), workers=1, overwrite=True)
        dropped[level] = sorted(r["id"] for r in pq.ParquetDataset(out / "excluded").read().to_pylist())
    assert dropped == {"none": [], "whitespace": ["v1"], "text": ["v1", "v2"]}


def test_exact_dedup_by_url(tmp_path):
    src = tmp_path / "in.jsonl"
    rows = [("a", "http://Example.org/page/", "one"), ("b", "http://example.org/page#top", "two"),
            ("c", "http://example.org/other", "one"), ("d", None, "three")]
    src.write_text("".join(json.dumps({"id": i, "url": u, "text": t} if u else {"id": i, "text": t}) + "\n"
                           for i, u, t in rows))
    out = run(pipeline(tmp_path / "r", [{"exact_dedup": {"key": "url"}}], str(src)), workers=1, overwrite=True)
    why = Release(out).why("b")
    assert why["dropped_by"]["reason"] == "duplicate_url" and why["meta"]["duplicate_of"] == "a"
    assert Release(out).manifest["documents"] == 3


# -- keep rules, determinism, resume ---------------------------------------------------------------
def shortest_first(doc):
    doc.meta["score"] = {"brevity": -len(doc.text)}


def test_keep_rules(tmp_path):
    docs = {d["id"]: d["text"] for d in read_fixture(UDHR)}
    for keep, extra, pick in (("longest", {}, max), ("quality", {"quality_key": "score.brevity"}, min)):
        steps = ([shortest_first] if keep == "quality" else []) + [{"minhash_dedup": {**EXHAUSTIVE, "keep": keep, **extra}}]
        out = run(pipeline(tmp_path / keep, steps), workers=2, overwrite=True)
        size = (lambda i: len(docs[i].encode())) if keep == "longest" else (lambda i: len(docs[i]))
        for rows in clusters_of(out, "minhash_dedup").values():
            kept = [r["id"] for r in rows if r["kept"]]
            assert size(kept[0]) == pick(size(r["id"]) for r in rows)


@pytest.mark.parametrize("minhash", [{}, {"verify": False}], ids=["verify", "no-verify"])
def test_one_and_two_workers_give_identical_releases(tmp_path, minhash):
    manifests = []
    for w in (1, 2):
        out = run(pipeline(tmp_path / f"w{w}", ["exact_dedup", {"minhash_dedup": minhash}]), workers=w, overwrite=True)
        m = Release(out).manifest
        files = sorted((out / "clusters").rglob("*.parquet"))
        manifests.append((m["outputs"], m["merkle"]["root"],
                          [(f.relative_to(out).as_posix(), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files]))
    assert manifests[0] == manifests[1]
    assert len(manifests[0][2]) == 6


def test_arrow_row_path_equals_the_document_path(tmp_path, monkeypatch):
    """A stage that is one dedup step runs on Arrow batches (``decide_rows``); forced through the
    Document loop instead, it must write the very same release, byte for byte."""
    from thresher import runner
    steps = [shortest_first, "exact_dedup", {"minhash_dedup": EXHAUSTIVE}]
    fast = run(pipeline(tmp_path / "rows", steps), workers=1, overwrite=True)
    monkeypatch.setattr(runner, "columnar", lambda step: False)
    slow = run(pipeline(tmp_path / "docs", steps), workers=1, overwrite=True)
    a, b = Release(fast).manifest, Release(slow).manifest
    assert a["outputs"] == b["outputs"] and a["merkle"] == b["merkle"]

    def counts(release):
        st = Release(release).stats.to_json()
        return {k: {f: v for f, v in s.items() if f != "seconds"} for k, s in st["steps"].items()}, st["languages"]
    assert counts(fast) == counts(slow)
    assert counts(fast)[0]["minhash_dedup"]["drops"]["near_duplicate"] > 0
    assert {k for k in a["outputs"] if k.startswith("excluded/")} >= {"excluded/part-00000-1.parquet"}


def test_resume_after_a_crash_in_the_fit(tmp_path, monkeypatch):
    cfg = pipeline(tmp_path / "r", [{"minhash_dedup": EXHAUSTIVE}])
    real = dedup_base.run_decision_task

    def crash(index, job):
        if index == 2:
            raise RuntimeError("simulated crash")
        return real(index, job)
    monkeypatch.setattr(dedup_base, "run_decision_task", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(cfg, workers=1, overwrite=True)
    work = tmp_path / "r" / ".thresher" / "global" / "minhash_dedup"
    assert (work / "shards" / "part-00002" / "done.json").exists() and not (work / "fit.json").exists()
    monkeypatch.setattr(dedup_base, "run_decision_task", real)

    def no_reread(*a, **k):
        raise AssertionError("the keys stage ran again")
    monkeypatch.setattr(minhash_mod, "iter_batches", no_reread)
    out = run(cfg, workers=1)                       # resumes: finished fit stages are not redone
    assert not (work / "shards").exists()           # intermediates are cleaned once the fit is done
    assert json.loads((work / "fit.json").read_text())["documents"] == 49
    monkeypatch.undo()
    fresh = run(pipeline(tmp_path / "fresh", [{"minhash_dedup": EXHAUSTIVE}]), workers=1, overwrite=True)
    assert Release(out).manifest["outputs"] == Release(fresh).manifest["outputs"]


# -- options and plan -------------------------------------------------------------------------------
def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="bands x rows"):
        MinhashDedup(num_perm=64, bands=14, rows=8)
    with pytest.raises(ConfigError, match="quality_key"):
        ExactDedup(keep="quality")
    with pytest.raises(ConfigError, match="threshold"):
        MinhashDedup(threshold=0)


def test_plan_scales_linearly_and_covers_every_stage():
    small, big = estimate(50e6), estimate(200e6)
    assert [s.stage for s in small.stages] == ["keys", "buckets", "clusters", "decide", "filter"]
    assert big.disk_bytes == pytest.approx(4 * small.disk_bytes, rel=0.01)
    assert small.peak_ram_bytes < 2 * 2**30
    keys = next(s for s in big.stages if s.stage == "keys")
    assert keys.ram_bytes == next(s for s in small.stages if s.stage == "keys").ram_bytes   # per shard

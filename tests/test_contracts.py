"""Design contracts on real fixtures: unique step labels (two steps of one name keep separate stats
and fit folders), one request scope for builds and forget, plugin registrations that reach spawned
workers, and any object with the Executor protocol's three members running a pipeline."""
from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable, Sequence

import orjson
import pyarrow.parquet as pq

import thresher
from thresher.config import PipelineConfig
from thresher.governance import Ledger
from thresher.governance.forget import in_scope
from thresher.pipeline import run
from thresher.release import Release

FIX = Path(__file__).parent / "fixtures"
LINGUA = FIX / "io" / "lingua.jsonl"
SAMPLES = Path(str(files("thresher") / "samples"))


def _records() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in LINGUA.read_bytes().splitlines()]


def _kept(out: Path) -> list[str]:
    return [i for f in Release(out).files("data") for i in pq.read_table(f, columns=["id"])["id"].to_pylist()]


def test_two_steps_of_one_name_keep_separate_stats(tmp_path):
    cfg = PipelineConfig(name="two", input={"path": str(LINGUA), "format": "jsonl"},
                         steps=[{"length_filter": {"min_chars": 200}}, {"length_filter": {"max_chars": 400}}],
                         output={"path": str(tmp_path / "out")})
    out = run(cfg, workers=1, progress=False)
    lengths = [len(r["text"]) for r in _records()]
    st = Release(out).stats.steps
    assert list(st) == ["length_filter", "length_filter#2"]
    first, second = st["length_filter"], st["length_filter#2"]
    after_first = [n for n in lengths if n >= 200]
    assert (first.docs_in, first.docs_out) == (len(lengths), len(after_first))
    assert first.drops == {"too_short": len(lengths) - len(after_first)}
    assert (second.docs_in, second.docs_out) == (len(after_first), sum(n <= 400 for n in after_first))
    assert second.drops == {"too_long": sum(n > 400 for n in after_first)}
    assert 0 < second.docs_out < second.docs_in < first.docs_in


def test_exact_dedup_twice_by_url_then_by_text(tmp_path):
    """The second exact_dedup fits in its own folder: on today's main it found the first one's fit and
    stopped with 'exact_dedup: shard 1 changed since the fit'."""
    recs = _records()[:60]
    rows = []
    for i, r in enumerate(recs):      # real texts; every 5th page fetched twice, every 7th text mirrored
        rows.append({"id": f"d{i}", "text": r["text"], "url": f"https://example.org/{i}"})
        if i % 5 == 0:
            rows.append({"id": f"u{i}", "text": recs[(i + 1) % len(recs)]["text"][::-1], "url": f"https://example.org/{i}"})
        if i % 7 == 0:
            rows.append({"id": f"t{i}", "text": r["text"], "url": f"https://mirror.example.net/{i}"})
    src = tmp_path / "docs.jsonl"
    src.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in rows))
    cfg = PipelineConfig(name="twice", input={"path": str(src), "format": "jsonl", "shard_mb": 0.01},
                         steps=[{"exact_dedup": {"key": "url"}}, {"exact_dedup": {"key": "content"}}],
                         output={"path": str(tmp_path / "out")})
    out = run(cfg, workers=2, progress=False)
    # the oracle: first of each URL, then first of each text among those
    seen_url, seen_text, want = set(), set(), []
    for x in rows:
        if x["url"] in seen_url:
            continue
        seen_url.add(x["url"])
        if x["text"] in seen_text:
            continue
        seen_text.add(x["text"])
        want.append(x["id"])
    assert sorted(_kept(out)) == sorted(want)
    st = Release(out).stats.steps
    assert st["exact_dedup"].drops == {"duplicate_url": sum(i % 5 == 0 for i in range(60))}
    assert st["exact_dedup#2"].drops == {"exact_duplicate": sum(i % 7 == 0 for i in range(60))}
    m = Release(out).manifest
    assert any(k.startswith("clusters/exact_dedup/") for k in m["outputs"])
    assert any(k.startswith("clusters/exact_dedup#2/") for k in m["outputs"])
    assert thresher.governance.verify(out)["documents"] == len(want)


def test_a_build_and_forget_agree_on_which_requests_apply(tmp_path):
    """A release built into ``corpus@v2`` with a request scoped to ``corpus``: forget always applied it
    (base name of the folder), the build did not (it compared the folder name as it is)."""
    project = tmp_path / "project"
    project.mkdir()
    led = Ledger(project)
    rid = led.add("domain", "iana.org", scope="corpus")
    led.approve(rid, by="steward")
    y = tmp_path / "p.yaml"
    y.write_text(f"""
name: crawl
input: {{path: "{SAMPLES}/web/*.warc.gz", format: warc}}
steps:
  - extract_html: {{extractor: resiliparse}}
output: {{path: "{project}/corpus@v2"}}
""")
    out = run(y, workers=1, progress=False)
    m = Release(out).manifest
    assert in_scope(led.requests()[0], out, m)
    assert m["governance"]["requests"] == [rid] and m["governance"]["removed_documents"] > 0
    hosts = [orjson.loads(s).get("url", "") for f in Release(out).files("data")
             for s in pq.read_table(f, columns=["source"])["source"].to_pylist()]
    assert hosts and not any("iana.org" in h for h in hosts)


# -- plugins and executors ------------------------------------------------------------------------
def shout_names(text: str, language: str | None):
    """A NER detector (for the spawn test): every capitalised word after 'Mr.' is a PERSON."""
    import re

    return [("PERSON", m.start(1), m.end(1)) for m in re.finditer(r"\bMr\. ([A-Z][a-z]+)", text)]


class SpawnExecutor:
    """The Executor protocol on a spawn-context pool: workers import everything afresh."""

    def __init__(self, workers: int = 2):
        self.workers, self.progress = workers, False

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *args: Any, desc: str = "shards",
            meanwhile: Callable[[], Any] | None = None) -> list[Any]:
        with ProcessPoolExecutor(self.workers, mp_context=mp.get_context("spawn")) as pool:
            futures = [pool.submit(fn, item, *args) for item in items]
            if meanwhile is not None:
                meanwhile()
            return [f.result() for f in futures]


def test_a_registered_ner_detector_reaches_spawned_workers(tmp_path):
    from thresher.executors import Executor
    from thresher.pii import register_ner

    register_ner("shout_names", shout_names)
    recs = _records()[:40]
    src = tmp_path / "docs.jsonl"
    src.write_bytes(b"".join(orjson.dumps({"id": f"d{i}", "text": f"Mr. Zebedee wrote: {r['text']}"}) + b"\n"
                             for i, r in enumerate(recs)))
    cfg = PipelineConfig(name="ner", input={"path": str(src), "format": "jsonl", "shard_mb": 0.004},
                         steps=[{"pii_redact": {"ner": "shout_names"}}], output={"path": str(tmp_path / "out")})
    ex = SpawnExecutor()
    assert isinstance(ex, Executor)
    out = run(cfg, executor=ex)
    assert len(Release(out).manifest["outputs"]) >= 4          # several shards, each in a spawned worker
    texts = [t for f in Release(out).files("data") for t in pq.read_table(f, columns=["text"])["text"].to_pylist()]
    assert len(texts) == 40 and not any("Zebedee" in t for t in texts)
    assert Release(out).stats.steps["pii_redact"].counters["pii:PERSON"] == 40

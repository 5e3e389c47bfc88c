"""Runs of real pipelines: determinism across worker counts, crash + resume, loading the release."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import orjson
import pyarrow.parquet as pq

from thresher import Document, Drop, PipelineConfig, Release, run
from thresher.merkle import leaf_hash, root
from thresher.document import content_hash

IO = Path(__file__).parent / "fixtures" / "io"

PIPELINE = """
name: t
input:
  - {path: "io/*.warc*", format: warc}
  - {path: "io/*.arc*", format: warc}
  - {path: "io/big.jsonl", format: jsonl, shard_mb: %s}
steps:
  - extract_html: {}
  - length_filter: {min_chars: 120}
output: {path: out}
"""


def project(tmp_path: Path, copies: int = 1, shard_mb: float = 0.02) -> Path:
    """A project folder with the real WARC/ARC fixtures and the lingua JSONL repeated `copies` times."""
    (tmp_path / "io").mkdir(parents=True)
    for f in IO.iterdir():
        if f.suffix not in (".md", ".jsonl"):
            shutil.copy(f, tmp_path / "io" / f.name)
    lines = (IO / "lingua.jsonl").read_bytes().splitlines(keepends=True)
    with open(tmp_path / "io" / "big.jsonl", "wb") as f:
        for c in range(copies):
            for i, line in enumerate(lines):
                obj = orjson.loads(line)
                obj["id"] = f"{c}-{i}"
                f.write(orjson.dumps(obj) + b"\n")
    (tmp_path / "p.yaml").write_text(PIPELINE % shard_mb)
    return tmp_path / "p.yaml"


def data_bytes(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.glob("*/*.parquet")) if p.parts[-2] in ("data", "excluded")}


def test_one_and_two_workers_give_identical_releases(tmp_path):
    yaml_path = project(tmp_path)
    a = run(yaml_path, workers=1, progress=False)
    m1, files1 = Release(a).manifest, data_bytes(a)
    b = run(yaml_path, workers=2, progress=False, overwrite=True)
    m2, files2 = Release(b).manifest, data_bytes(b)
    assert files1 == files2 and len(files1) > 4
    assert m1["merkle"]["root"] == m2["merkle"]["root"]
    assert m1["outputs"] == m2["outputs"]
    # the Merkle root is the RFC 6962 root over sorted (id, sha256(text)) of the kept documents
    rows = pq.read_table(a / "data").to_pylist()
    assert len(rows) == m1["documents"] == Release(a).stats.steps["length_filter"].docs_out
    assert m1["merkle"]["root"] == root(leaf_hash(r["id"], content_hash(r["text"]))
                                        for r in sorted(rows, key=lambda r: r["id"]))


def test_release_is_complete_and_explained(tmp_path):
    out = run(project(tmp_path), workers=1, progress=False)
    rel = Release(out)
    st = rel.stats
    assert st.reader["docs_read"] == st.steps["extract_html"].docs_in
    assert st.reader["skipped_bad_record"] >= 3          # bad.arc
    lf = st.steps["length_filter"]
    assert lf.docs_in == lf.docs_out + lf.drops["too_short"]
    excluded = pq.read_table(out / "excluded").to_pylist()
    assert sum(r["step"] == "length_filter" for r in excluded) == lf.drops["too_short"]
    short = next(r for r in excluded if r["step"] == "length_filter")
    why = rel.why(short["id"])
    assert why["status"] == "excluded" and why["dropped_by"]["reason"] == "too_short"
    # excluded/ publishes a text-less trace by default (output.excluded: trace): the length is kept in meta
    assert short["text"] == "" and why["chars"] == orjson.loads(short["meta"])["excluded_text"]["chars"]
    assert why["dropped_by"]["threshold"] == 120 and why["dropped_by"]["score"] == why["chars"]
    kept = pq.read_table(out / "data").to_pylist()[0]
    assert rel.why(kept["id"])["status"] == "kept"
    for f, info in rel.manifest["outputs"].items():     # manifest hashes match the files
        import hashlib
        assert hashlib.sha256((out / f).read_bytes()).hexdigest() == info["sha256"]


def test_release_loads_in_pyarrow_duckdb_and_datasets(tmp_path):
    out = run(project(tmp_path), workers=1, progress=False)
    n = Release(out).manifest["documents"]
    assert pq.read_table(out / "data").num_rows == n
    con = duckdb.connect()
    got = con.execute(f"select count(*), count(distinct id) from read_parquet('{out}/data/*.parquet')").fetchone()
    assert got == (n, n)
    url = con.execute(f"select json_extract_string(source, '$.uri') from read_parquet('{out}/data/*.parquet') "
                      "where source like '%iana.org%' limit 1").fetchone()[0]
    assert url == "http://www.iana.org/"
    assert con.execute(f"select url from read_parquet('{out}/data/*.parquet') where url = 'http://www.iana.org/'"
                       ).fetchone()[0] == url
    import datasets

    ds = datasets.load_dataset("parquet", data_files=str(out / "data" / "*.parquet"), split="train",
                               cache_dir=str(tmp_path / "hf"))
    # the full source/meta JSON, and top-level columns to filter on (io/columns.py)
    assert len(ds) == n and set(ds.column_names) == {"id", "text", "source", "meta", "language", "script", "url",
                                                     "repo", "path", "license", "token_count"}


def test_kill_9_then_rerun_equals_uninterrupted_run(tmp_path):
    ref = run(project(tmp_path / "ref", copies=30, shard_mb=0.05), workers=2, progress=False)
    yaml_path = project(tmp_path / "crash", copies=30, shard_mb=0.05)
    out = tmp_path / "crash" / "out"
    proc = subprocess.Popen([sys.executable, "-m", "thresher.cli", "run", str(yaml_path), "-w", "2"],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done_dir = out / ".thresher" / "done"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(done_dir.glob("*.json"))) < 3:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(done_dir.glob("*.json")))
    total = len(orjson.loads((out / ".thresher" / "run.json").read_bytes())["shards"])
    assert 3 <= finished < total, "the kill must land mid-run"
    assert not (out / "manifest.json").exists()
    resumed = run(yaml_path, workers=2, progress=False)
    assert data_bytes(resumed) == data_bytes(ref)
    assert Release(resumed).manifest["merkle"]["root"] == Release(ref).manifest["merkle"]["root"]
    assert not list(out.rglob("*.tmp"))


def test_python_api_with_plain_function_steps(tmp_path):
    """The same pipeline built in Python, with a plain function as a step."""
    project(tmp_path)
    cfg = PipelineConfig(name="py", input={"path": "io/big.jsonl", "format": "jsonl"},
                         steps=[{"length_filter": {"min_chars": 10}}, drop_chinese],
                         output={"path": "out"}, base_dir=str(tmp_path))
    out = run(cfg, workers=1, progress=False)
    st = Release(out).stats
    assert st.steps["drop_chinese"].drops["chinese"] == 12
    assert Release(out).manifest["documents"] == 108


def drop_chinese(doc: Document):
    return Drop("chinese") if doc.source["fields"]["lang"] == "zh" else None


def test_config_round_trips_through_yaml(tmp_path):
    from thresher.config import load_config
    cfg = load_config(project(tmp_path))
    again = tmp_path / "again.yaml"
    again.write_text(cfg.to_yaml())
    assert load_config(again).config_hash() == cfg.config_hash()


def _square(x: int) -> int:
    return x * x


def test_map_runs_meanwhile_once_while_the_workers_work():
    from thresher.executors import LocalExecutor

    calls = []
    for workers in (1, 2):
        assert LocalExecutor(workers, False).map(_square, [1, 2, 3], meanwhile=lambda: calls.append(workers)) == [1, 4, 9]
    assert calls == [1, 2]


def test_a_global_step_is_prepared_during_the_stage_before_its_fit(tmp_path, monkeypatch):
    from thresher.dedup.base import DedupStep

    order = []
    fit = DedupStep.fit
    monkeypatch.setattr(DedupStep, "prepare", lambda self: order.append("prepare"))
    monkeypatch.setattr(DedupStep, "fit", lambda self, *a: (order.append("fit"), fit(self, *a))[1])
    cfg = PipelineConfig(name="t", input={"path": str(IO / "lingua.jsonl"), "format": "jsonl", "shard_mb": 0.02},
                         steps=["exact_dedup"], output={"path": str(tmp_path / "out")})
    out = run(cfg, workers=2, progress=False)
    assert len(list((out / "data").glob("*.parquet"))) > 1
    assert order[:2] == ["prepare", "fit"] and Release(out).manifest["documents"] > 0
    # one shard: no stage and no part of the fit starts workers, so nothing is loaded ahead for them
    # (kernels load when first called; issue 21), and the release is the same as with the pool
    order.clear()
    one = run(PipelineConfig(name="t", input={"path": str(IO / "lingua.jsonl"), "format": "jsonl"},
                             steps=["exact_dedup"], output={"path": str(tmp_path / "one")}), workers=2, progress=False)
    assert order == ["fit"]
    keys = ("merkle", "documents", "excluded_documents")
    assert [Release(one).manifest[k] for k in keys] == [Release(out).manifest[k] for k in keys]


def test_the_next_stages_steps_are_prepared_in_the_driver_while_a_stage_forks(tmp_path, monkeypatch):
    """Step.prepare of every step of the next stage (pii_redact's compiled scan and phone patterns, not
    only a global step's kernels) runs in the driver while the stage's workers run, so the next stage's
    forked workers inherit it; the release is the same as without it."""
    import os

    from thresher.pii.redact import PiiRedact

    calls = []
    prepare = PiiRedact.prepare
    monkeypatch.setattr(PiiRedact, "prepare", lambda self: (calls.append(os.getpid()), prepare(self))[1])
    cfg = PipelineConfig(name="t", input={"path": str(IO / "lingua.jsonl"), "format": "jsonl", "shard_mb": 0.02},
                         steps=["exact_dedup", "pii_redact"], output={"path": str(tmp_path / "out")})
    out = run(cfg, workers=2, progress=False)
    assert calls == [os.getpid()]
    monkeypatch.setattr(PiiRedact, "prepare", lambda self: None)
    same = run(cfg.model_copy(update={"output": cfg.output.model_copy(update={"path": str(tmp_path / "same")})}),
               workers=2, progress=False)
    assert Release(same).manifest["merkle"]["root"] == Release(out).manifest["merkle"]["root"]


def test_filter_columns_equal_the_definition_row_by_row():
    """``add_filter_columns`` parses only rows whose JSON can hold a filter value; every row gets what
    ``filter_values`` of its parsed source and meta gives (nulls where nothing applies)."""
    import pyarrow as pa

    from thresher.io.columns import FILTER_NAMES, _loads, add_filter_columns, filter_values
    from thresher.io.writer import json_text

    sources = [{"file": "a.jsonl", "offset": 0}, {"uri": "http://www.iana.org/", "record": "<urn:uuid:1>"},
               {"repo": "octo/cat", "path": "src/a.py", "license": {"spdx": "MIT"}},
               {"file": "b.jsonl", "offset": 9, "fields": {"url": "https://example.org/x"}},
               {"url": "not a url", "repository": ["o/r"]}, {}, {"license": ["MIT", "Apache-2.0"]}]
    metas = [{"modality": "text"}, {"language": "fra", "script": "Latn"}, {"license": "GPL-3.0-only"},
             {"modality": "text", "scores": {"language": "eng"}}, {"script": "Cyrl"}, {}, {"language": ""}]
    cols = {"source": [json_text(s) for s in sources] + [None, "not json"],
            "meta": [json_text(m) for m in metas] + ['{"language":"deu"}', None]}
    table = pa.table(cols, schema=pa.schema([("source", pa.string()), ("meta", pa.string())]))
    got = add_filter_columns(table).select(list(FILTER_NAMES)).to_pylist()
    want = [filter_values(_loads(s), _loads(m)) for s, m in zip(cols["source"], cols["meta"])]
    assert got == want
    assert [r["url"] for r in got][:4] == [None, "http://www.iana.org/", None, None]
    assert got[2] == {"language": None, "script": None, "url": None, "repo": "octo/cat", "path": "src/a.py",
                      "license": "GPL-3.0-only"}
    assert got[7]["language"] == "deu" and got[6]["license"] == "MIT AND Apache-2.0"

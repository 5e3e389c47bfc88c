"""A user's first hour (issue 20): search in every script, columns to filter on, `head`, `run --limit`,
progress off a terminal, `steps`, `lookup`, `serve`, `-w 0`, benchmarks on a fresh clone, stats order,
flagged words without spaces. Each test fails on the code before the issue.

The release: UDHR texts (Chinese, French, English, German) from the bundled sample, Thai news sentences
(lingua-py) and a web page record with a URL, through a gold-language annotator and a length filter.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import thresher
from thresher.config import InputConfig, OutputConfig, PipelineConfig
from thresher.document import Document
from thresher.steps import Annotator

ROOT = Path(__file__).resolve().parent.parent
TEXT = Path(__file__).parent / "fixtures" / "text"
SAMPLE = Path(str(files("thresher") / "samples" / "multilingual.jsonl.gz"))
CLI = [sys.executable, "-c", "from thresher.cli import main; main()"]
UDHR = {"udhr-cmn_hans": "zho", "udhr-fra": "fra", "udhr-eng": "eng", "udhr-deu": "deu"}


class Gold(Annotator):
    """``meta.language`` / ``meta.script`` from the record's gold label (what language_id writes)."""

    name = "gold"

    def annotate(self, doc: Document) -> None:
        lang = doc.source.get("fields", {}).get("lang")
        if lang:
            doc.meta["language"] = lang
            doc.meta["script"] = {"zho": "Hans", "tha": "Thai"}.get(lang, "Latn")

    def __repr__(self) -> str:
        return "Gold()"


def _records() -> list[dict]:
    out = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["id"] in UDHR:
                out.append({"id": o["id"], "text": o["text"], "lang": UDHR[o["id"]]})
    thai = (TEXT / "tha_news_sentences.txt").read_text(encoding="utf-8").splitlines()
    out.append({"id": "tha-news", "text": "\n".join(thai[:40]), "lang": "tha"})
    out.append({"id": "web-page", "text": "Example Domain. This domain is for use in illustrative examples in "
                "documents. You may use this domain in literature without prior coordination or asking for "
                "permission.", "lang": "eng", "url": "https://www.example.com/index.html"})
    out.append({"id": "short-1", "text": "too short", "lang": "eng"})
    out.append({"id": "short-2", "text": "also short", "lang": "fra"})
    return out


def _config(tmp: Path, out: Path, limit: int | None = None) -> PipelineConfig:
    from thresher.steps.basic import LengthFilter

    src = tmp / "input.jsonl"
    if not src.exists():
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _records()), encoding="utf-8")
    return PipelineConfig(name="first-hour", input=InputConfig(path=str(src), format="jsonl"),
                          steps=[Gold(), LengthFilter(min_chars=50)], output=OutputConfig(path=str(out)),
                          **({"limit": limit} if limit else {}))


@pytest.fixture(scope="module")
def rel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("first")
    return thresher.run(_config(tmp, tmp / "project" / "rel"), workers=1, progress=False)


def _app():
    from thresher.cli import COMMAND_MODULES, app
    import importlib

    for m in COMMAND_MODULES:
        importlib.import_module(m)
    return app


# --- search in every script -------------------------------------------------------------------------

def test_search_finds_chinese_and_thai_with_highlights(rel: Path) -> None:
    from thresher.governance import build_index, search

    build_index(rel)
    hits = search(rel, "人权")
    assert [h["id"] for h in hits] == ["udhr-cmn_hans"]
    h = hits[0]
    assert h["highlights"] and all(h["snippet"][a:b] == "人权" for a, b in h["highlights"])
    thai = search(rel, "ฮอตสเปอร์")          # "Hotspur", in the first Thai news sentence
    assert [x["id"] for x in thai] == ["tha-news"]
    assert search(rel, "权")[0]["id"] == "udhr-cmn_hans"     # one character: a prefix over the bigrams
    eng = search(rel, "dignity")
    assert {x["id"] for x in eng} >= {"udhr-eng"}
    assert any(eng[0]["snippet"][a:b].lower() == "dignity" for a, b in eng[0]["highlights"])


# --- columns to filter on -----------------------------------------------------------------------------

def test_parquet_has_filter_columns_for_duckdb_and_pyarrow(rel: Path) -> None:
    data = str(rel / "data" / "*.parquet")
    fra = pq.read_table(rel / "data", filters=[("language", "=", "fra")]).column("id").to_pylist()
    assert fra == ["udhr-fra"]
    rows = duckdb.sql(f"SELECT id, url, script FROM '{data}' WHERE url LIKE 'https://www.example.com/%'").fetchall()
    assert rows == [("web-page", "https://www.example.com/index.html", "Latn")]
    langs = dict(duckdb.sql(f"SELECT language, count(*) FROM '{data}' GROUP BY 1").fetchall())
    assert langs == {"zho": 1, "fra": 1, "eng": 2, "deu": 1, "tha": 1}
    excl = duckdb.sql(f"SELECT id, language, reason FROM '{rel / 'excluded' / '*.parquet'}' ORDER BY id").fetchall()
    assert excl == [("short-1", "eng", "too_short"), ("short-2", "fra", "too_short")]
    full = pq.read_table(rel / "data").to_pylist()
    for r in full:                              # the full JSON stays beside the columns
        assert json.loads(r["meta"])["language"] == r["language"]


# --- head and --limit -----------------------------------------------------------------------------------

def test_head_where_and_excluded_by_reason(rel: Path) -> None:
    from thresher.head import head

    rows = head(rel, 5, [("language", "fra")])
    assert [r["id"] for r in rows] == ["udhr-fra"]
    assert head(rel, 2, [("meta.script", "Thai")])[0]["id"] == "tha-news"
    assert len(head(rel, 3)) == 3
    gone = head(rel, 5, excluded=True, reason="too_short")
    assert sorted(r["id"] for r in gone) == ["short-1", "short-2"]
    runner = CliRunner()
    res = runner.invoke(_app(), ["head", str(rel), "-n", "1", "--where", "language=zho", "--json"])
    assert res.exit_code == 0, res.output
    row = json.loads(res.output.strip().splitlines()[0])
    assert row["id"] == "udhr-cmn_hans" and "人权" in row["text"]
    res = runner.invoke(_app(), ["head", str(rel), "--excluded", "--reason", "too_short"])
    assert res.exit_code == 0 and "short-1" in res.output and "too_short" in res.output


def test_run_limit_takes_the_first_documents(tmp_path: Path) -> None:
    out = thresher.run(_config(tmp_path, tmp_path / "lim", limit=3), workers=1, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    assert m["documents"] + m["excluded_documents"] == 3
    ids = [r["id"] for r in _records()[:3]]
    got = pq.read_table(out / "data").column("id").to_pylist()
    assert sorted(got) == sorted(ids)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["reader"]["docs_read"] == 3
    y = tmp_path / "p.yaml"
    y.write_text(f"name: lim\ninput: {{path: '{tmp_path / 'input.jsonl'}', format: jsonl}}\n"
                 f"output: {{path: '{tmp_path / 'cli'}'}}\n")
    res = CliRunner().invoke(_app(), ["run", str(y), "--limit", "2", "-w", "1"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "cli" / "manifest.json").read_text())["documents"] == 2


def test_workers_zero_is_rejected(tmp_path: Path) -> None:
    y = tmp_path / "x.yaml"
    y.write_text(f"name: w0\ninput: {{path: '{SAMPLE}', format: jsonl}}\noutput: {{path: '{tmp_path / 'out'}'}}\n")
    p = subprocess.run(CLI + ["run", str(y), "-w", "0"], capture_output=True, text=True,
                       env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert p.returncode == 2 and "Invalid value for '--workers' / '-w'" in p.stderr, p.stderr
    assert not (tmp_path / "out").exists()


# --- progress off a terminal ------------------------------------------------------------------------

def test_progress_log_lines_when_not_a_terminal(monkeypatch) -> None:
    from thresher.progress import Progress

    monkeypatch.delenv("THRESHER_PROGRESS", raising=False)
    buf = io.StringIO()                                  # not a terminal
    with Progress("index", total=4, unit="files", stream=buf, every=0) as p:
        for _ in range(4):
            p.advance(docs=1000, nbytes=2_000_000)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 4                               # one per step; the last one's is the closing line
    assert lines[-1].startswith("index: 4/4 files") and "ETA" not in lines[-1]
    assert lines[0].startswith("index: 1/4 files, 1,000 docs") and "MB/s" in lines[0] and "ETA" in lines[0]
    assert "done in" in lines[-1]


def test_commands_log_progress_off_a_terminal(rel: Path) -> None:
    env = {**os.environ, "THRESHER_PROGRESS": "log", "THRESHER_PROGRESS_EVERY": "0"}
    for cmd, want in ((["index", str(rel)], "index: "), (["verify", str(rel)], "verify: hashing documents: "),
                      (["card", str(rel)], "card: reading the release: ")):
        p = subprocess.run(CLI + cmd, capture_output=True, text=True, env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        assert want in p.stderr and "docs" in p.stderr, (cmd, p.stderr)
    res = subprocess.run(CLI + ["lookup", str(rel), "--text", "Everyone has the right to life, liberty and security"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0 and "near-duplicates of the text" in res.stderr, res.stderr


# --- steps, lookup, request command, serve ----------------------------------------------------------------

def test_steps_keeps_brackets_lists_choices_and_describes_one() -> None:
    env = {**os.environ, "COLUMNS": "80"}
    p = subprocess.run(CLI + ["steps"], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "[min_chars, max_chars]" in p.stdout                 # Rich markup ate it before
    assert "one of 'resiliparse', 'trafilatura'" in p.stdout    # a Literal's choices
    from thresher.steps import registry

    for name in registry():                                      # no name cut with an ellipsis
        assert name in p.stdout, name
    one = subprocess.run(CLI + ["steps", "length_filter"], capture_output=True, text=True, env=env, timeout=120)
    assert one.returncode == 0 and "min_chars" in one.stdout and "[min_chars, max_chars]" in one.stdout
    bad = subprocess.run(CLI + ["steps", "no_such_step"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: unknown step 'no_such_step'")


def test_lookup_by_content_hash_repo_and_account(rel: Path) -> None:
    from thresher.governance import lookup

    text = pq.read_table(rel / "data", filters=[("id", "=", "udhr-fra")]).column("text")[0].as_py()
    r = lookup(rel, content_hash=hashlib.sha256(text.encode()).hexdigest())
    assert r["matches"][0]["count"] == 1 and r["matches"][0]["ids"] == ["udhr-fra"]
    assert lookup(rel, repo="octocat/hello-world")["total"] == 0
    assert lookup(rel, account="octocat")["total"] == 0
    res = CliRunner().invoke(_app(), ["lookup", str(rel), "--content-hash", hashlib.sha256(text.encode()).hexdigest()])
    assert res.exit_code == 0 and "udhr-fra" in res.output


def test_prefilled_request_command_is_one_unwrapped_line(rel: Path) -> None:
    url = "https://www.example.com/a/very/long/path/that/does/not/fit/in/forty/columns/index.html"
    env = {**os.environ, "COLUMNS": "40"}
    p = subprocess.run(CLI + ["lookup", str(rel), "--url", url], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if "thresher request add" in ln)
    assert line.strip().endswith(url)


def test_serve_refuses_a_busy_port_before_serving(rel: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = subprocess.run(CLI + ["serve", str(rel), "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    assert "Serving" not in p.stdout
    assert p.stderr.startswith(f"Error: 127.0.0.1:{port}: cannot listen there")


def test_benchmark_without_its_corpus_says_so_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "corpus.jsonl"
    for script in ("io_bench.py", "dedup_bench.py", "langid_speed.py", "flagged_ngrams.py"):
        arg = "--data" if script == "flagged_ngrams.py" else "--corpus"
        p = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), arg, str(missing)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, (script, p.stderr)
        assert p.stderr.startswith(f"Error: {missing}: ") and len(p.stderr.strip().splitlines()) == 1, (script, p.stderr)


# --- stats order after the ledger --------------------------------------------------------------------------

def test_stats_keep_pipeline_order_after_the_ledger(tmp_path: Path) -> None:
    from thresher.governance import Ledger

    project = tmp_path / "project"
    project.mkdir()
    led = Ledger(project)
    led.approve(led.add("url", "https://www.example.com/index.html"), by="steward")
    out = thresher.run(_config(tmp_path, project / "rel"), workers=1, progress=False)
    steps = list(json.loads((out / "stats.json").read_text())["steps"])
    assert steps[:2] == ["gold", "length_filter"], steps        # alphabetical, "gold" came after "governance"
    assert len(steps) == 3 and steps[2].startswith("gov")


# --- flagged words without spaces -------------------------------------------------------------------------

def _flagged(texts: list[str], lang: str, ngrams: bool = True) -> list[str | None]:
    from thresher.steps.quality.bigscience import BigScienceQuality

    step = BigScienceQuality(flagged_ngrams=ngrams)
    docs = [Document(f"d{i}", t, {}, {"language": lang, "language_score": 1.0}) for i, t in enumerate(texts)]
    out = []
    for m in step.measure(docs):
        d = step.judge(m)
        out.append(d.reason if d is not None else None)
    return out


def test_flagged_words_in_chinese_japanese_thai() -> None:
    page = (TEXT / "zho_explicit_page.txt").read_text(encoding="utf-8")
    assert _flagged([page], "zho") == ["bigscience_flagged_words"]
    assert _flagged([page], "zho", ngrams=False) == [None]       # BigScience's rule as it was
    for lang in ("zho", "jpn", "tha"):                          # clean news: nothing flagged
        lines = (TEXT / f"{lang}_news_sentences.txt").read_text(encoding="utf-8").splitlines()
        docs = ["".join(lines[i:i + 10]) for i in range(0, len(lines), 10)]
        reasons = _flagged(docs, lang)
        assert "bigscience_flagged_words" not in reasons, lang
    from thresher.text import flagged

    assert flagged.count("他们在房间里口交了三次", "zho") == 1
    assert flagged.count("这是一本关于乳制品的书", "zho") == 0      # one character alone is not a term
    assert flagged.count("ข่าวกูเกิลวันนี้", "tha") == 0          # กู inside กูเกิล ("Google")


# --- the card ----------------------------------------------------------------------------------------

def test_card_bcp47_and_hub_language_tags() -> None:
    from thresher.card.render import bcp47, hub_language

    assert bcp47("zho") == "zh" and bcp47("fra") == "fr" and bcp47("cmn_hans") == "cmn-Hans"
    assert bcp47("por_br") == "pt-BR" and bcp47("yue") == "yue"
    assert hub_language("zho") == "zh" and hub_language("cmn_Hans") == "cmn"


def test_language_points_show_each_drop_at_its_step() -> None:
    from thresher.card.figures import language_points

    # 10 read, 3 dropped by length_filter, 2 by quality: entering [10, 7, 5] and 5 kept
    pts = dict(language_points([10, 10, 7, 5], ["extract", "length_filter", "quality"]))
    assert pts == {"read": 10, "after extract": 10, "after length_filter": 7, "after quality": 5}


class Counting(Annotator):
    """Counts (never drops) what it changed, as pii_redact counts ``modified`` and ``spans``."""

    name = "marker"

    def process(self, docs, ctx):
        for d in docs:
            if "ETHER" not in d.text:
                ctx.count(self.name, "modified", 1)
                ctx.count(self.name, "pii:EMAIL", 1)
                ctx.count(self.name, f"pii:EMAIL:{d.meta.get('language')}", 1)
        return docs

    def annotate(self, doc: Document) -> None:
        pass

    def __repr__(self) -> str:
        return "Counting()"


def test_card_counts_sections_and_no_local_path(tmp_path: Path) -> None:
    from thresher.card import write_card
    from thresher.steps.basic import LengthFilter

    cfg = _config(tmp_path, tmp_path / "cardrel")
    cfg.steps = [Gold(), LengthFilter(min_chars=50), Counting()]
    out = thresher.run(cfg, workers=1, progress=False)
    card = write_card(out).read_text(encoding="utf-8")
    stats = json.loads((out / "stats.json").read_text())["steps"]
    kept = stats["marker"]["docs_out"]
    # PII: pii:EMAIL once per document, not again per language
    assert f"| pii:EMAIL | {kept:,} |" in card and "pii:EMAIL:" not in card
    # a step that dropped nothing shows no drop reasons; its counts go to their own column
    row = next(ln for ln in card.splitlines() if ln.startswith("| `marker` |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[-2] == "-" and cells[-1] == f"modified={kept:,}"
    # the per-language table adds up to the funnel, column by column
    lines = card.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("| language | gold |"))
    rows = []
    for ln in lines[i + 2:]:
        if not ln.startswith("|"):
            break
        rows.append([c.strip() for c in ln.strip("|").split("|")])
    total = next(r for r in rows if r[0] == "all documents")
    assert [int(v.replace(",", "")) for v in total[1:4]] == [stats[s]["docs_in"] for s in ("gold", "length_filter", "marker")]
    for col in range(1, 5):
        assert sum(int(r[col].replace(",", "")) for r in rows if r[0] != "all documents") == int(total[col].replace(",", ""))
    assert "| fra | fr |" in card and "| zho | zh |" in card             # BCP-47 column
    assert str(out) not in card and str(out.resolve()) not in card and str(tmp_path) not in card
    # the Hugging Face template's sections, filled from the run
    assert "## Dataset summary" in card and f"{kept:,} documents" in card.split("## Dataset summary")[1][:400]
    assert "### Data fields" in card and "| `language` | string |" in card and "| `url` | string |" in card
    first = pq.read_table(sorted((out / "data").glob("*.parquet"))[0]).column("id")[0].as_py()
    inst = card.split("### Data instances")[1].split("```json")[1].split("```")[0]
    assert json.loads(inst)["id"] == first
    assert "## Citation" in card and "@misc{first_hour_" in card


def test_web_search_marks_the_query_words(rel: Path) -> None:
    import time
    import urllib.parse
    import urllib.request

    from thresher.governance import build_index

    build_index(rel)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(CLI + ["serve", str(rel), "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/search?q=" + urllib.parse.quote("人权")
        for _ in range(300):
            try:
                body = urllib.request.urlopen(url, timeout=5).read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "udhr-cmn_hans" in body and "<mark>人权</mark>" in body

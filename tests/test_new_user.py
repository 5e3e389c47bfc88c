"""A user's first hour (issue 20), what the last walk-through still found: the demo's MySQL error page
kept as German, no ``token_count`` column, ``zho_Hani`` in the card where the data says ``Hans``,
tables cut at 80 columns in a log, a piped run that logs only its first stage, no ``--version``, and
``datasets.load_dataset`` failing on a release folder. Each test fails on the code before the fix.

Real data only: the bundled 2020 multilingual crawl (resiliparse's test WARC, in the package samples)
and its UDHR texts, the fixture web pages (tests/fixtures/web, see their ATTRIBUTION).
"""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import Counter
from importlib.resources import files
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

import thresher
from thresher.config import InputConfig, OutputConfig, PipelineConfig
from thresher.document import Document
from thresher.io import ShardSpec
from thresher.steps.base import StepContext
from thresher.steps.basic import ExtractHtml, LengthFilter

SAMPLES = Path(str(files("thresher") / "samples"))
UDHR = Path(str(files("thresher") / "data" / "udhr"))
CLI = [sys.executable, "-c", "from thresher.cli import main; main()"]
MYSQL_PAGE = "http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html"


def _crawl_pages() -> list[Document]:
    from thresher.io.warc import read

    f = SAMPLES / "web" / "warcfile.warc.gz"
    docs = list(read(ShardSpec(0, "warc", (str(f),), str(f.parent)), Counter()))
    return [d for d in docs if "html" in d.source.get("content_type", "")]


# --- the MySQL error page ------------------------------------------------------------------------------

def test_extraction_drops_the_crawls_mysql_error_page_and_nothing_else() -> None:
    pages = _crawl_pages()
    ctx = StepContext()
    kept = ExtractHtml().process(pages, ctx)
    gone = [(d.doc.source.get("uri"), d.drop.reason, d.drop.score, d.drop.threshold) for d in ctx.dropped]
    assert gone == [(MYSQL_PAGE, "error_page:mysql", 26, 50)]
    assert len(kept) == len(pages) - 1
    assert ctx.dropped[0].doc.text.startswith("Table 'usr_web204-06_1.ranglisten_teams_2020' doesn't exist")
    # error_page_words: 0 keeps error pages (the page's language ID then says German, as before)
    assert len(ExtractHtml(error_page_words=0).process(_crawl_pages(), StepContext())) == len(pages)


def test_a_page_quoting_the_error_with_its_own_text_is_kept() -> None:
    from thresher.text.error_pages import error_page

    lines = (UDHR / "eng.txt").read_text(encoding="utf-8").splitlines()
    prose = next(ln for ln in lines if len(ln.split()) >= 60)         # a real paragraph of 60+ words
    quoted = "Table 'shop.orders' doesn't exist\n\n" + prose
    assert error_page(quoted) is None
    assert error_page("Table 'shop.orders' doesn't exist\n\nHome\nContact") == ("mysql", 2)
    assert error_page("Warning: mysql_connect(): Access denied for user 'web'@'localhost' in /var/www/x.php "
                      "on line 4\nMenu") == ("mysql", 1)
    assert error_page("404 Not Found\n\nnginx/1.18.0") == ("http", 1)
    # an error message further down the page is not where a server's error lands
    assert error_page("Rider profile\nTeams\nResults\nTable 'x.y' doesn't exist") is None


def test_the_crawl_loses_the_error_page_and_keeps_every_other_decision(tmp_path: Path) -> None:
    """The demo's web part (extract -> length -> language ID) with and without the rule: the error page,
    labelled German without it, is dropped at extraction; every other page is kept or dropped as before,
    with the same language."""
    from thresher.steps.langid import LanguageId

    def build(name: str, words: int) -> Path:
        return thresher.run(PipelineConfig(
            name=name, input=InputConfig(path=str(SAMPLES / "web" / "warcfile.warc.gz"), format="warc"),
            steps=[ExtractHtml(error_page_words=words), LengthFilter(min_chars=200), LanguageId()],
            output=OutputConfig(path=str(tmp_path / name))), workers=1, progress=False)

    new, old = build("new", 50), build("old", 0)
    q = "SELECT url, language FROM '{}/data/*.parquet' ORDER BY url"
    before, after = duckdb.sql(q.format(old)).fetchall(), duckdb.sql(q.format(new)).fetchall()
    assert (MYSQL_PAGE, "deu") in before
    assert after == [r for r in before if r[0] != MYSQL_PAGE]
    excl = f"'{new}/excluded/*.parquet'"
    assert duckdb.sql(f"SELECT step, reason FROM {excl} WHERE url = '{MYSQL_PAGE}'").fetchall() == \
        [("extract_html", "error_page:mysql")]
    stats = json.loads((new / "stats.json").read_text())["steps"]
    assert stats["extract_html"]["drops"] == {"error_page:mysql": 1}


# --- one spelling of Chinese script ------------------------------------------------------------------

def test_chinese_is_spelled_as_language_id_writes_it_in_packs_and_card(tmp_path: Path) -> None:
    from thresher.card import write_card
    from thresher.steps.langid import LanguageId
    from thresher.text.packs import find_pack, load_packs, pack_key

    text = (UDHR / "cmn_hans.txt").read_text(encoding="utf-8")
    doc = Document(id="udhr-cmn_hans", text=text, source={}, meta={})
    LanguageId().annotate(doc)
    assert (doc.meta["language"], doc.meta["script"]) == ("zho", "Hans")
    key = f"{doc.meta['language']}_{doc.meta['script']}"
    assert pack_key("zho", "Hans") == key and key in load_packs()       # the pack is named as the data says
    assert find_pack(doc.meta)[0] == key
    assert {k for k in load_packs() if k.startswith("zho")} == {"zho_Hans", "zho_Hant"}
    assert not [k for k, p in load_packs().items() if "_" in k and k != f"{p['language']}_{p['script']}"]
    src = tmp_path / "zh.jsonl"
    src.write_text(json.dumps({"id": "udhr-cmn_hans", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = thresher.run(PipelineConfig(name="zh", input=InputConfig(path=str(src), format="jsonl"),
                                      steps=[LanguageId()], output=OutputConfig(path=str(tmp_path / "zh"))),
                       workers=1, progress=False)
    assert pq.read_table(out / "data").column("script").to_pylist() == ["Hans"]
    card = write_card(out).read_text(encoding="utf-8")
    assert "| zho_Hans | 1 |" in card and "Hani" not in card


# --- token_count --------------------------------------------------------------------------------------

def test_token_count_column_is_null_then_filled_by_tokenize(tmp_path: Path) -> None:
    from token_release import read_texts, train_tokenizer
    from thresher.governance import verify
    from thresher.head import head
    from thresher.tokens.pack import tokenize

    docs = read_texts()[:40]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in docs), encoding="utf-8")
    out = thresher.run(PipelineConfig(name="tc", input=InputConfig(path=str(src), format="jsonl", shard_mb=0.02),
                                      steps=[LengthFilter(min_chars=1)], output=OutputConfig(path=str(tmp_path / "tc"))),
                       workers=1, progress=False)
    data = str(out / "data" / "*.parquet")
    assert len(list((out / "data").glob("*.parquet"))) >= 2
    assert duckdb.sql(f"SELECT count(*), count(token_count) FROM '{data}'").fetchall() == [(40, 0)]
    root = json.loads((out / "manifest.json").read_text())["merkle"]["root"]
    tok = train_tokenizer([t for _, t in docs], 512)
    tok.save(str(tmp_path / "tok.json"))
    tokenize(out, tmp_path / "tok.json", workers=1, progress=False)
    got = dict(duckdb.sql(f"SELECT id, token_count FROM '{data}'").fetchall())
    want = {i: len(tok.encode(t, add_special_tokens=False).ids) for i, t in docs}     # the reference: tokenizers
    assert got == want
    index = dict(duckdb.sql(f"SELECT id, n_tokens FROM '{out / 'tokens' / 'index.parquet'}'").fetchall())
    assert index == {i: n + 1 for i, n in want.items()}          # the index counts the end-of-document token
    m = json.loads((out / "manifest.json").read_text())
    assert m["merkle"]["root"] == root and verify(out)["documents"] == 40       # shard hashes re-recorded, signed
    longest = max(want, key=want.get)
    assert [r["id"] for r in head(out, 1, [("token_count", str(want[longest]))])] == [longest]
    assert duckdb.sql(f"SELECT count(*) FROM '{data}' WHERE token_count > 100").fetchall() == \
        [(sum(n > 100 for n in want.values()),)]


# --- the command line off a terminal ------------------------------------------------------------------

def _env(**kw: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "THRESHER_PROGRESS", "THRESHER_PROGRESS_EVERY")}
    return {**env, **kw}


def test_version() -> None:
    p = subprocess.run(CLI + ["--version"], capture_output=True, text=True, timeout=60, env=_env())
    assert p.returncode == 0 and p.stdout.strip() == f"thresher {thresher.__version__}", p.stdout + p.stderr


def test_piped_output_is_not_cut_at_80_columns_and_a_piped_run_logs_every_stage(tmp_path: Path) -> None:
    y = tmp_path / "p.yaml"
    rows = [json.loads(ln) for ln in gzip.open(SAMPLES / "multilingual.jsonl.gz", "rt", encoding="utf-8")][:30]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    y.write_text("name: piped\ninput: {path: in.jsonl, format: jsonl}\nsteps:\n  - length_filter: {min_chars: 200}\n"
                 "  - exact_dedup: {}\n  - minhash_dedup: {}\noutput: {path: out}\n")
    p = subprocess.run(CLI + ["run", str(y), "-w", "1"], capture_output=True, text=True, timeout=600, env=_env())
    assert p.returncode == 0, p.stderr
    for k in (1, 2, 3):                         # stages 2 and 3 take well under a second: still logged
        assert f"piped stage {k}/3: 1/1 shards" in p.stderr, p.stderr
    assert "exact_dedup: keys" in p.stderr and "minhash_dedup: decisions" in p.stderr
    s = subprocess.run(CLI + ["stats", str(tmp_path / "out")], capture_output=True, text=True, timeout=120, env=_env())
    assert s.returncode == 0, s.stderr
    assert "minhash_dedup " in s.stdout and "length_filter " in s.stdout and "…" not in s.stdout
    reader = next(ln for ln in s.stdout.splitlines() if ln.startswith("reader: "))
    assert reader.endswith(f"docs_read={len(rows)}")             # one line, not wrapped


# --- datasets.load_dataset on a release folder --------------------------------------------------------

def test_load_dataset_reads_a_release_folder(tmp_path: Path) -> None:
    import datasets

    rows = [json.loads(ln) for ln in gzip.open(SAMPLES / "multilingual.jsonl.gz", "rt", encoding="utf-8")][:30]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = thresher.run(PipelineConfig(name="hf", input=InputConfig(path=str(tmp_path / "in.jsonl"), format="jsonl"),
                                      steps=[LengthFilter(min_chars=300), {"exact_dedup": {}}],
                                      output=OutputConfig(path=str(tmp_path / "hf"))), workers=1, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    ds = datasets.load_dataset(str(out), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.num_rows == m["documents"] and "token_count" in ds.column_names
    assert sorted(ds["id"]) == sorted(pq.read_table(out / "data").column("id").to_pylist())
    ex = datasets.load_dataset(str(out), "excluded", split="train", cache_dir=str(tmp_path / "cache"))
    assert ex.num_rows == m["excluded_documents"] > 0

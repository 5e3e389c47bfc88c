"""Fault injection: each broken input is built from a real fixture (tests/faults.py) and read or run.

For each: the read or run finishes, the counters name what was lost (reason, file, offset; summed in
stats.json for a run), no document carries bytes of another record, memory stays bounded, and every
other document is exactly what a read of the unbroken input gives.
"""
import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import faults as F
from thresher.errors import ReleaseError
from thresher.io import ReaderCounts, ShardSpec, read_shard
from thresher.lock import output_lock
from thresher.pipeline import run
from thresher.release import Release


CLI = [sys.executable, "-c", "from thresher.cli import main; main()"]


def read(fmt: str, path: Path, root: Path | None = None, **options):
    counts = ReaderCounts()
    spec = ShardSpec(0, fmt, (str(path),), str(root or path.parent.parent), options=options)
    docs = list(read_shard(spec, counts))
    return docs, counts


def same_docs(a, b):
    return [(d.id, d.text, d.source) for d in a] == [(d.id, d.text, d.source) for d in b]


def no_foreign_bytes(docs):
    for d in docs:
        assert "WARC/1.0" not in d.text and "WARC-Type:" not in d.text, d.id


@pytest.fixture
def io_dir(tmp_path):
    d = tmp_path / "io"
    d.mkdir()
    return d


# ---------------------------------------------------------------------------------------------- WARC

def test_warc_cut_mid_record_is_counted_truncated(io_dir):
    src = F.CLUEWEB.read_bytes()
    (io_dir / "a.warc.gz").write_bytes(F.cut_warc_gz(src))
    (io_dir / "whole.warc.gz").write_bytes(src)
    docs, counts = read("warc", io_dir / "a.warc.gz")
    whole, _ = read("warc", io_dir / "whole.warc.gz")
    last = F.gzip_members(src)[-1]
    assert counts["skipped_truncated"] == 1
    assert counts.losses == [{"file": "io/a.warc.gz", "offset": last, "reason": "skipped_truncated",
                              "detail": "gzip member cut by the end of the file"}]
    assert len(docs) == 28
    assert [(d.text, d.source["offset"]) for d in docs] == [(d.text, d.source["offset"]) for d in whole[:28]]


@pytest.mark.parametrize("delta", [200, -200])
def test_warc_wrong_content_length_costs_that_record_only(io_dir, delta):
    src = F.PYWB.read_bytes()
    (io_dir / "a.warc").write_bytes(F.wrong_content_length(src, delta))
    docs, counts = read("warc", io_dir / "a.warc")
    start, *_ = F.response_at(src)
    assert any(x["offset"] == start and x["reason"] == "skipped_bad_record" for x in counts.losses), counts.losses
    no_foreign_bytes(docs)
    # the other response (a 404 from iana.org, counted by status) is still read
    assert counts["skipped_http_status"] == 1
    assert counts["docs_read"] == 0


def test_warc_header_without_body_does_not_swallow_the_next_record(io_dir):
    src = F.PYWB.read_bytes()
    broken = F.header_without_body(src)
    (io_dir / "a.warc").write_bytes(broken)
    docs, counts = read("warc", io_dir / "a.warc")
    start, *_ = F.response_at(src)
    assert [x["offset"] for x in counts.losses if x["reason"] == "skipped_bad_record"][0] == start
    assert counts["skipped_non_html"] == 0          # not mistaken for a non-HTML record
    assert counts["skipped_http_status"] == 1       # the record after it is read
    no_foreign_bytes(docs)


def test_warc_framing_check_keeps_good_records_byte_identical(io_dir):
    """A broken record in the middle of a real crawl: all the other 28 documents are unchanged."""
    src = F.CLUEWEB.read_bytes()
    starts = F.gzip_members(src)
    import zlib
    k = 5
    member = zlib.decompress(src[starts[k]:starts[k + 1]], 31)
    i = member.index(b"Content-Length: ") + len(b"Content-Length: ")
    j = member.index(b"\r\n", i)
    bad = member[:i] + str(int(member[i:j]) + 50).encode() + member[j:]
    (io_dir / "a.warc.gz").write_bytes(src[:starts[k]] + gzip.compress(bad) + src[starts[k + 1]:])
    (io_dir / "whole.warc.gz").write_bytes(src)
    docs, counts = read("warc", io_dir / "a.warc.gz")
    whole, _ = read("warc", io_dir / "whole.warc.gz")
    assert counts["skipped_bad_record"] == 1 and counts.losses[0]["offset"] == starts[k]
    shift = len(gzip.compress(bad)) - (starts[k + 1] - starts[k])
    kept = [d for d in whole if d.source["offset"] != starts[k]]
    assert [d.text for d in docs] == [d.text for d in kept]
    assert len(docs) == 28
    assert all(d.source["offset"] == (w.source["offset"] if w.source["offset"] < starts[k] else w.source["offset"] + shift)
               for d, w in zip(docs, kept))


def test_utf8_page_labelled_latin1_is_read_as_utf8(io_dir):
    german = orjson.loads(F.LINGUA.read_bytes().splitlines()[12])["text"]
    assert not german.isascii()
    (io_dir / "a.warc").write_bytes(F.mislabelled_utf8_warc(german))
    docs, _ = read("warc", io_dir / "a.warc")
    assert german in docs[0].text and docs[0].source["charset"] == "utf-8"
    # a real Latin-1 page (not valid UTF-8) still decodes by its label
    (io_dir / "b.warc").write_bytes(F.warc_record("http://example.org/l1", "<p>Grüße</p>".encode("latin-1"),
                                                   "text/html; charset=ISO-8859-1"))
    docs, _ = read("warc", io_dir / "b.warc")
    assert "Grüße" in docs[0].text and docs[0].source["charset"] == "iso-8859-1"


# --------------------------------------------------------------------------------- compressed JSONL

def lingua_docs(io_dir):
    (io_dir / "clean.jsonl").write_bytes(F.LINGUA.read_bytes())
    return read("jsonl", io_dir / "clean.jsonl")[0]


def test_truncated_jsonl_gz_keeps_every_complete_line(io_dir):
    raw = F.LINGUA.read_bytes()
    (io_dir / "a.jsonl.gz").write_bytes(F.truncated_gz(raw))
    docs, counts = read("jsonl", io_dir / "a.jsonl.gz")
    clean = lingua_docs(io_dir)
    assert counts["skipped_truncated"] == 1
    loss = counts.losses[0]
    assert loss["reason"] == "skipped_truncated" and loss["file"] == "io/a.jsonl.gz"
    assert 0 < len(docs) < 120
    assert loss["offset"] == sum(len(x) for x in raw.splitlines(keepends=True)[:len(docs)])   # the cut line
    assert [(d.text, d.source["offset"]) for d in docs] == [(d.text, d.source["offset"]) for d in clean[:len(docs)]]


def test_bad_crc_and_fake_gz_are_counted_not_fatal(io_dir):
    raw = F.LINGUA.read_bytes()
    (io_dir / "crc.jsonl.gz").write_bytes(F.bad_crc(gzip.compress(raw)))
    docs, counts = read("jsonl", io_dir / "crc.jsonl.gz")
    assert counts["skipped_bad_compression"] == 1 and "CRC" in counts.losses[0]["detail"]
    assert len(docs) <= 120
    (io_dir / "plain.jsonl.gz").write_bytes(raw)        # not gzip at all
    docs, counts = read("jsonl", io_dir / "plain.jsonl.gz")
    assert docs == [] and counts["skipped_bad_compression"] == 1
    assert counts.losses[0]["offset"] == 0


def test_utf8_bom_costs_nothing(io_dir):
    raw = F.LINGUA.read_bytes()
    (io_dir / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + raw)
    docs, counts = read("jsonl", io_dir / "bom.jsonl")
    clean = lingua_docs(io_dir)
    assert len(docs) == 120 and counts["skipped_bad_record"] == 0
    assert [d.text for d in docs] == [d.text for d in clean]


def test_ids_must_be_strings_or_integers(io_dir):
    lines = F.LINGUA.read_bytes().splitlines()[:5]
    ids = [{"a": 1}, 7, "x-1", [1], True]
    out = []
    for line, i in zip(lines, ids):
        obj = orjson.loads(line)
        obj["id"] = i
        out.append(orjson.dumps(obj))
    (io_dir / "ids.jsonl").write_bytes(b"\n".join(out) + b"\n")
    docs, counts = read("jsonl", io_dir / "ids.jsonl")
    assert [d.id for d in docs] == ["7", "x-1"]
    assert counts["skipped_bad_id"] == 3
    offsets = [0] + [sum(len(x) + 1 for x in out[:k]) for k in range(1, 5)]
    assert sorted(x["offset"] for x in counts.losses) == [offsets[0], offsets[3], offsets[4]]


def test_overlong_line_is_skipped_while_streaming(io_dir):
    lines = F.LINGUA.read_bytes().splitlines(keepends=True)
    big = orjson.dumps({"text": "word " * 400_000}) + b"\n"          # 2 MB line
    (io_dir / "a.jsonl").write_bytes(lines[0] + big + lines[1])
    docs, counts = read("jsonl", io_dir / "a.jsonl", max_document_bytes=1 << 20)
    assert len(docs) == 2 and counts["skipped_too_large"] == 1
    assert counts.losses[0]["offset"] == len(lines[0])
    assert docs[1].source["offset"] == len(lines[0]) + len(big)


# ------------------------------------------------------------------------------------------ Parquet

def test_corrupt_parquet_page_costs_its_row_group_only(io_dir):
    rows = [orjson.loads(x) for x in F.LINGUA.read_bytes().splitlines()]
    t = pa.table({"text": [r["text"] for r in rows]})
    pq.write_table(t, io_dir / "clean.parquet", row_group_size=30, compression="zstd")
    data = bytearray((io_dir / "clean.parquet").read_bytes())
    md = pq.ParquetFile(io_dir / "clean.parquet").metadata
    col = md.row_group(1).column(0)
    start = col.dictionary_page_offset if col.has_dictionary_page else col.data_page_offset
    mid = start + col.total_compressed_size // 2
    data[mid:mid + 64] = os.urandom(64)
    (io_dir / "bad.parquet").write_bytes(bytes(data))
    docs, counts = read("parquet", io_dir / "bad.parquet")
    clean, _ = read("parquet", io_dir / "clean.parquet")
    assert counts["skipped_bad_row_group"] == 1 and counts["skipped_rows"] == 30
    assert counts.losses[0]["offset"] == 30
    assert [d.text for d in docs] == [d.text for d in clean[:30] + clean[60:]]


# --------------------------------------------------------------------------------------------- text

def test_gzip_bomb_text_is_skipped_in_bounded_memory(io_dir):
    (io_dir / "bomb.txt.gz").write_bytes(F.gzip_bomb(256))
    assert (io_dir / "bomb.txt.gz").stat().st_size < 2 << 20
    (io_dir / "ok.txt").write_text("a real small file\n")
    spec = ShardSpec(0, "text", (str(io_dir / "bomb.txt.gz"), str(io_dir / "ok.txt")), str(io_dir.parent))
    counts = ReaderCounts()
    tracemalloc.start()
    docs = list(read_shard(spec, counts))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [d.source["file"] for d in docs] == ["io/ok.txt"]
    assert counts["skipped_too_large"] == 1 and counts.losses[0]["file"] == "io/bomb.txt.gz"
    assert peak < 160 * 2**20, peak          # 64 MiB limit (+ the join); 256 MiB without it


def test_invalid_utf8_in_text_is_replaced_and_said(io_dir):
    german = orjson.loads(F.LINGUA.read_bytes().splitlines()[12])["text"].encode()
    (io_dir / "a.txt").write_bytes(german[:50] + b"\xff" + german[50:])
    docs, counts = read("text", io_dir / "a.txt")
    assert docs[0].source["encoding"] == "utf-8+replaced"
    assert docs[0].text == german[:50].decode() + "\ufffd" + german[50:].decode()
    assert counts["invalid_utf8_replaced"] == 1


# ----------------------------------------------------------------------------------------- archives

def read_code(archive: Path):
    """Every shard the code reader plans for one archive, read."""
    from thresher.config import InputConfig
    from thresher.io import code as code_reader

    counts, docs = ReaderCounts(), []
    for p in code_reader.plan([archive], archive.parent, InputConfig(path=str(archive), format="code")):
        spec = ShardSpec(0, "code", p["files"], str(archive.parent), p.get("start", 0), p.get("end"))
        docs += list(read_shard(spec, counts))
    return docs, counts


def code_files():
    return {f"repo/{p.name}": p.read_bytes() for p in sorted((F.FIXTURES / "code" / "headers").glob("*.py"))}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archive_links_and_escaping_paths_are_counted_never_read(tmp_path, kind):
    import io as _io
    import tarfile
    import zipfile
    (tmp_path / "in").mkdir()
    (tmp_path / "clean").mkdir()
    buf = _io.BytesIO()
    if kind == "zip":
        (tmp_path / "in" / "r.zip").write_bytes(F.zip_with_links(code_files()))
        with zipfile.ZipFile(buf, "w") as z:
            for k, v in code_files().items():
                z.writestr(k, v)
    else:
        (tmp_path / "in" / "r.tar.gz").write_bytes(F.tar_with_links(code_files()))
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            for k, v in code_files().items():
                info = tarfile.TarInfo(k)
                info.size = len(v)
                t.addfile(info, _io.BytesIO(v))
    (tmp_path / "clean" / f"r.{kind}").write_bytes(buf.getvalue())
    docs, counts = read_code(tmp_path / "in" / f"r.{kind}")
    clean, _ = read_code(tmp_path / "clean" / f"r.{kind}")
    assert counts["skipped_link"] == (1 if kind == "zip" else 2) and counts["skipped_unsafe_path"] == 2
    paths = [d.source["path"] for d in docs]
    assert not any(".." in p or p.startswith("/") or "passwd" in p for p in paths)
    assert all("root:" not in d.text for d in docs)
    assert [(d.source["path"], d.text) for d in docs] == [(d.source["path"], d.text) for d in clean]


def test_text_folder_symlink_is_not_followed(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "secret.txt").write_text("outside the input folder\n")
    (tmp_path / "in" / "a.txt").write_text("a real file inside\n")
    (tmp_path / "in" / "link.txt").symlink_to(tmp_path / "secret.txt")
    from thresher.io import resolve_files
    files, _ = resolve_files(str(tmp_path / "in"), tmp_path)
    assert [f.name for f in files] == ["a.txt"]


def test_cut_arc_gz_is_counted(io_dir):
    raw = (F.IO / "example.arc").read_bytes()
    (io_dir / "a.arc.gz").write_bytes(gzip.compress(raw)[:-300])
    docs, counts = read("warc", io_dir / "a.arc.gz")
    assert docs == [] and counts["skipped_truncated"] == 1
    assert counts.losses[0]["file"] == "io/a.arc.gz"


def test_zip_member_whose_header_lies_is_judged_by_real_size(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r.zip").write_bytes(F.lying_zip(code_files(), "repo/huge.py", 64 << 20))
    tracemalloc.start()
    docs, counts = read_code(tmp_path / "in" / "r.zip")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # zipfile stops at the size the header gives and then finds the CRC wrong: counted as unreadable
    assert counts["skipped_unreadable"] == 1
    assert "huge.py" not in {Path(d.source["path"]).name for d in docs}
    assert len(docs) == 6
    assert peak < 48 * 2**20, peak           # 64 MiB member: never decompressed past the limit


# ------------------------------------------------------------------------------- whole runs (stats)

PIPE = """name: faults
input:
  - {path: "good/*.jsonl", format: jsonl}
%s
steps:
  - length_filter: {min_chars: 10}
output: {path: out}
"""


def project(root: Path, broken: dict[str, bytes] | None, fmt: str = "jsonl") -> Path:
    (root / "good").mkdir(parents=True)
    lines = F.LINGUA.read_bytes().splitlines(keepends=True)
    (root / "good" / "a.jsonl").write_bytes(b"".join(lines[:60]))
    (root / "good" / "b.jsonl").write_bytes(b"".join(lines[60:]))
    extra = ""
    if broken:
        (root / "bad").mkdir()
        for name, data in broken.items():
            (root / "bad" / name).write_bytes(data)
        extra = f'  - {{path: "bad/*", format: {fmt}}}'
    (root / "p.yaml").write_text(PIPE % extra)
    return root / "p.yaml"


def kept(out: Path) -> dict[str, tuple[str, str]]:
    t = pa.concat_tables([pq.read_table(p) for p in sorted((out / "data").glob("*.parquet"))])
    return {i: (x, s) for i, x, s in zip(t["id"].to_pylist(), t["text"].to_pylist(), t["source"].to_pylist())}


BROKEN = {
    "truncated_gz": ({"t.jsonl.gz": F.truncated_gz(F.LINGUA.read_bytes())}, "jsonl", "skipped_truncated"),
    "bad_crc": ({"c.jsonl.gz": F.bad_crc(gzip.compress(F.LINGUA.read_bytes()))}, "jsonl", "skipped_bad_compression"),
    "fake_gz": ({"f.jsonl.gz": F.LINGUA.read_bytes()}, "jsonl", "skipped_bad_compression"),
    "cut_warc": ({"w.warc.gz": F.cut_warc_gz(F.CLUEWEB.read_bytes())}, "warc", "skipped_truncated"),
    "bad_length_warc": ({"w.warc": F.wrong_content_length(F.PYWB.read_bytes(), 200)}, "warc", "skipped_bad_record"),
    "gzip_bomb": ({"b.txt.gz": F.gzip_bomb(80)}, "text", "skipped_too_large"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_run_with_a_broken_file_finishes_and_keeps_the_rest_identical(tmp_path, case):
    files, fmt, reason = BROKEN[case]
    ref = run(project(tmp_path / "ref", None), workers=1, progress=False)
    out = run(project(tmp_path / "bad", files, fmt), workers=2, progress=False)
    stats = orjson.loads((out / "stats.json").read_bytes())
    assert stats["reader"][reason] >= 1
    assert any(x["reason"] == reason and x["file"].startswith("bad/") for x in stats["losses"])
    good, got = kept(ref), kept(out)
    assert {k: v for k, v in got.items() if '"bad/' not in v[1]} == good
    for text, _ in got.values():
        assert "WARC/1.0" not in text


def test_clean_run_stats_have_no_losses_key(tmp_path):
    out = run(project(tmp_path, None), workers=1, progress=False)
    assert "losses" not in orjson.loads((out / "stats.json").read_bytes())


# ------------------------------------------------------------------------------------ duplicate ids

def dup_project(root: Path, policy: str) -> Path:
    (root / "good").mkdir(parents=True)
    lines = F.LINGUA.read_bytes().splitlines()
    out = []
    for i, line in enumerate(lines[:40]):
        obj = orjson.loads(line)
        obj["id"] = f"d{i % 30}"            # ten ids twice, across two files
        out.append(orjson.dumps(obj))
    (root / "good" / "a.jsonl").write_bytes(b"\n".join(out[:20]) + b"\n")
    (root / "good" / "b.jsonl").write_bytes(b"\n".join(out[20:]) + b"\n")
    (root / "p.yaml").write_text(PIPE.replace("output: {path: out}", f"output: {{path: out, duplicate_ids: {policy}}}") % "")
    return root / "p.yaml"


@pytest.mark.parametrize("workers", [1, 2])
def test_duplicate_ids_suffix(tmp_path, workers):
    out = run(dup_project(tmp_path, "suffix"), workers=workers, progress=False)
    got = kept(out)
    assert len(got) == 40
    assert sorted(k for k in got if "#" in k) == sorted(f"d{i}#2" for i in range(10))
    assert orjson.loads((out / "stats.json").read_bytes())["reader"]["renamed_duplicate_id"] == 10
    m = Release(out).manifest
    assert m["documents"] == 40
    from thresher.governance.verify import verify
    verify(out)                                   # shards, leaves and root agree after the rewrite


def test_duplicate_ids_keep_first_and_refuse(tmp_path):
    out = run(dup_project(tmp_path / "k", "keep_first"), workers=2, progress=False)
    got = kept(out)
    assert len(got) == 30
    lines = F.LINGUA.read_bytes().splitlines()
    assert got["d0"][0] == orjson.loads(lines[0])["text"]          # the first in input order
    assert orjson.loads((out / "stats.json").read_bytes())["reader"]["skipped_duplicate_id"] == 10
    assert Release(out).manifest["documents"] == 30
    with pytest.raises(ReleaseError, match="occur more than once"):
        run(dup_project(tmp_path / "r", "refuse"), workers=1, progress=False)


# ------------------------------------------------------------------------ resume, locks, kill -9

def test_resume_refuses_a_changed_input_naming_it(tmp_path):
    yaml_path = project(tmp_path, None)
    run(yaml_path, workers=1, progress=False)
    f = tmp_path / "good" / "a.jsonl"
    f.write_bytes(f.read_bytes().replace(b"golf", b"gulf", 1))
    with pytest.raises(ReleaseError, match=r"a\.jsonl: input changed"):
        run(yaml_path, workers=1, progress=False)
    r = subprocess.run([*CLI, "run", str(yaml_path)], capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("Error: ") and "a.jsonl" in r.stderr


def test_second_run_on_one_output_folder_names_the_holder(tmp_path):
    yaml_path = project(tmp_path, None)
    with output_lock(tmp_path / "out"):
        r = subprocess.run([*CLI, "run", str(yaml_path)],
                           capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "another thresher run" in r.stderr and f"pid {os.getpid()}" in r.stderr
    assert run(yaml_path, workers=1, progress=False).exists()      # free again once released


def big_project(root: Path, files: int = 12, copies: int = 20) -> Path:
    (root / "good").mkdir(parents=True)
    lines = F.LINGUA.read_bytes().splitlines(keepends=True)
    for k in range(files):
        (root / "good" / f"{k:02d}.jsonl").write_bytes(b"".join(lines) * copies)
    (root / "p.yaml").write_text(PIPE % "")
    return root / "p.yaml"


def test_two_concurrent_runs_one_wins_the_other_says_so(tmp_path):
    yaml_path = big_project(tmp_path / "p", files=16, copies=40)
    cmd = [*CLI, "run", str(yaml_path), "-w", "2"]
    a = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    b = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    errs = [p.communicate(timeout=300)[1] for p in (a, b)]
    codes = sorted(p.returncode for p in (a, b))
    assert codes == [0, 1], errs                  # both started together: one ran, the other was refused
    loser = errs[[a.returncode, b.returncode].index(1)]
    assert "Traceback" not in loser
    assert "another thresher run is writing this output folder (pid" in loser
    assert loser.startswith("Error: ") and len(loser.strip().splitlines()) == 1
    ref = run(big_project(tmp_path / "ref", files=16, copies=40), workers=2, progress=False)
    assert kept(tmp_path / "p" / "out") == kept(ref)


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        p = task / "children"
        if p.exists():
            out += [int(x) for x in p.read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux-only")
def test_kill_9_of_the_parent_alone_leaves_no_orphans(tmp_path):
    root = tmp_path / "p"
    big_project(root)
    proc = subprocess.Popen([*CLI, "run", str(root / "p.yaml"), "-w", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.time() + 60
    while time.time() < deadline and len(workers) < 2:
        workers = [c for c in _children(proc.pid) if _alive(c)]
        time.sleep(0.01)
    assert len(workers) >= 2, "the run must have started its workers"
    os.kill(proc.pid, signal.SIGKILL)           # the parent alone
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "workers outlived their parent"
    out = run(root / "p.yaml", workers=2, progress=False)          # resumes: nothing half-written is trusted
    assert not list(out.rglob("*.tmp"))
    assert Release(out).manifest["documents"] == 12 * 120 * 20


# -------------------------------------------------------------------- malformed arguments: one line

def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd)


def test_malformed_arguments_end_in_one_line_naming_the_file(tmp_path):
    out = run(project(tmp_path, None), workers=1, progress=False)
    (tmp_path / "r.json").write_text("[1, 2]")
    bad = tmp_path / "trunc"
    shutil.copytree(out, bad)
    (bad / "manifest.json").write_bytes((out / "manifest.json").read_bytes()[:100])
    nomerkle = tmp_path / "nomerkle"
    shutil.copytree(out, nomerkle)
    m = orjson.loads((out / "manifest.json").read_bytes())
    del m["merkle"]
    (nomerkle / "manifest.json").write_bytes(orjson.dumps(m))
    cases = [
        (("request", "add", str(tmp_path), "--url", "https://x.org:99999/a"), "99999"),
        (("request", "add", str(tmp_path), "--url", "http://[::1/a"), "[::1/a"),
        (("lookup", str(out), "--url", "https://x.org:99999/a"), "99999"),
        (("lookup", str(out), "--url", "http://[::1/a"), "[::1/a"),
        (("verify", str(out), "--receipt", str(tmp_path / "r.json")), "r.json"),
        (("verify", str(bad)), "manifest.json"),
        (("stats", str(bad)), "manifest.json"),
        (("verify", str(nomerkle)), "manifest.json"),
        (("card", str(nomerkle)), "manifest.json"),
        (("run", str(tmp_path / "missing.yaml")), "missing.yaml"),
    ]
    for args, name in cases:
        r = _cli(*args, cwd=tmp_path)
        assert r.returncode != 0, args
        assert "Traceback" not in r.stderr, (args, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and name in lines[0], (args, r.stderr)


def test_web_lookup_with_a_bad_url_is_a_400_not_a_500(tmp_path):
    from starlette.testclient import TestClient

    from thresher.web.app import create_app

    out = run(project(tmp_path, None), workers=1, progress=False)
    client = TestClient(create_app(out), base_url="http://localhost", raise_server_exceptions=False)
    page = client.get("/lookup").text          # the form's session cookie and token (the web form's CSRF guard)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    for url in ("https://x.org:99999/a", "http://[::1/a"):
        r = client.post("/lookup", data={"url": url, "csrf_token": token}, headers={"origin": "http://localhost"})
        assert r.status_code < 500, (url, r.status_code)
        assert "not a valid URL" in r.text

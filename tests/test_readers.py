"""Each reader on real files, including broken WARC/ARC files: bad records are skipped and counted."""
import gzip
import shutil
from collections import Counter
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from thresher.config import InputConfig
from thresher.document import stable_id
from thresher.io import ShardSpec, read_shard
from thresher.io import jsonl as jsonl_reader
from thresher.io import warc as warc_reader
from thresher.io import arc as arc_reader

IO = Path(__file__).parent / "fixtures" / "io"


def read(fmt: str, path: Path, **kw):
    counts = Counter()
    docs = list(read_shard(ShardSpec(0, fmt, (str(path),), str(path.parent.parent), **kw), counts))
    return docs, counts


# file -> (documents, counters, first target URI): checked by hand against the files' records
WARC_GOLD = {
    "warcfile.warc.lz4": (16, {"docs_read": 16}, "http://003338.cn/l41/481397.html"),
    "clueweb-quirk.warc.gz": (29, {"docs_read": 29}, "http://www.uraharajuku.st/shopdetail/001005000005/019/000/order/"),
    "example.warc.gz": (1, {"docs_read": 1}, "http://example.com/"),
    "example-iana.org-chunked.warc": (1, {"docs_read": 1}, "http://www.iana.org/"),
    # its response record's Content-Length is 2 bytes short of its block (a request record follows):
    # the record is counted, not kept with a cut body
    "example-trunc.warc": (0, {"docs_read": 0, "skipped_bad_record": 1}, None),
    # a 302 response is skipped and counted, the 200 kept
    "pywb-example.warc": (1, {"docs_read": 1, "skipped_http_status": 1}, "http://example.com?example=1"),
    "example.arc": (1, {"docs_read": 1}, "http://example.com/"),
    "example.arc.gz": (1, {"docs_read": 1}, "http://example.com/"),
    # three corrupt ARC headers (length -1, 18-digit date, length 'abc'); one text/plain record
    "bad.arc": (0, {"skipped_bad_record": 3, "skipped_non_html": 1}, None),
}


@pytest.mark.parametrize("name", sorted(WARC_GOLD))
def test_warc_and_arc_files(name):
    n, counters, uri = WARC_GOLD[name]
    docs, counts = read("warc", IO / name)
    assert len(docs) == n
    for k, v in counters.items():
        assert counts[k] == v, (k, dict(counts))
    if uri:
        assert docs[0].source["uri"] == uri
        assert docs[0].source["content_type"] == "text/html"
        assert "<" in docs[0].text                      # decoded HTML, extraction is a step
    for d in docs:                                      # id derives from file + record offset
        assert d.id == stable_id(f"io/{name}:{d.source['offset']}")


def test_warc_resyncs_after_corrupt_record(tmp_path):
    """Zeroes over the middle of one gzip member: that record is skipped and counted, the other 28 read."""
    src = IO / "clueweb-quirk.warc.gz"
    data = src.read_bytes()
    start = 27509                                     # offset of the 5th record's gzip member
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(data[:start + 30] + b"\0" * 200 + data[start + 230:])
    counts = Counter()
    docs = list(read_shard(ShardSpec(0, "warc", (str(broken),), str(tmp_path)), counts))
    whole, _ = read("warc", src)
    assert counts["skipped_bad_record"] >= 1
    assert len(docs) == 28
    assert {d.source["uri"] for d in docs} < {d.source["uri"] for d in whole}


def test_chunked_transfer_encoding_is_decoded():
    docs, _ = read("warc", IO / "example-iana.org-chunked.warc")
    assert docs[0].text.startswith("<!doctype html>")


def test_warc_record_ranges_cover_file_once(tmp_path):
    """A large WARC split at record boundaries yields every record exactly once."""
    src = IO / "clueweb-quirk.warc.gz"
    cfg = InputConfig(path=str(src), format="warc", shard_mb=0.05)
    plans = warc_reader.plan([src], IO.parent, cfg)
    assert len(plans) > 2
    ids = []
    for p in plans:
        spec = ShardSpec(0, "warc", p["files"], str(IO.parent), p.get("start", 0), p.get("end"))
        ids += [d.id for d in read_shard(spec, Counter())]
    whole, _ = read("warc", src)
    assert ids == [d.id for d in whole]


def test_jsonl_plain_gz_zst_and_ranges(tmp_path):
    src = IO / "lingua.jsonl"
    raw = src.read_bytes()
    (tmp_path / "io").mkdir()
    shutil.copy(src, tmp_path / "io" / "lingua.jsonl")
    (tmp_path / "io" / "lingua.jsonl.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "io" / "lingua.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    plain, counts = read("jsonl", tmp_path / "io" / "lingua.jsonl")
    assert len(plain) == 120 and counts["docs_read"] == 120 and counts["bytes_read"] == len(raw)
    first = orjson.loads(raw.splitlines()[0])
    assert plain[0].text == first["text"] and plain[0].source["url"] == first["url"]
    assert plain[0].source["fields"]["lang"] == "en"
    for ext in ("gz", "zst"):
        docs, _ = read("jsonl", tmp_path / "io" / f"lingua.jsonl.{ext}")
        assert [(d.source["offset"], d.text) for d in docs] == [(d.source["offset"], d.text) for d in plain]
    # byte ranges: every line exactly once, whatever the cut points
    cfg = InputConfig(path="x", format="jsonl", shard_mb=3000 / 2**20)
    plans = jsonl_reader.plan([tmp_path / "io" / "lingua.jsonl"], tmp_path, cfg)
    assert len(plans) > 10
    ranged = []
    for p in plans:
        spec = ShardSpec(0, "jsonl", p["files"], str(tmp_path), p["start"], p["end"])
        ranged += [d.id for d in read_shard(spec, Counter())]
    assert ranged == [d.id for d in plain]


def test_jsonl_bad_lines_are_skipped_and_counted(tmp_path, caplog):
    lines = (IO / "lingua.jsonl").read_bytes().splitlines(keepends=True)
    (tmp_path / "io").mkdir()
    bad = tmp_path / "io" / "bad.jsonl"
    bad.write_bytes(lines[0] + lines[1][:40] + b"\n" + b'{"no_text": 1}\n' + lines[2])
    docs, counts = read("jsonl", bad)
    assert len(docs) == 2 and counts["skipped_bad_record"] == 2
    assert "bad.jsonl at offset" in caplog.text


def test_parquet_reader_row_groups(tmp_path):
    rows = [orjson.loads(x) for x in (IO / "lingua.jsonl").read_bytes().splitlines()]
    (tmp_path / "io").mkdir()
    path = tmp_path / "io" / "lingua.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=10)
    docs, counts = read("parquet", path)
    assert [d.text for d in docs] == [r["text"] for r in rows]
    assert docs[3].source["fields"]["url"] == rows[3]["url"]
    part, _ = read("parquet", path, start=2, end=4)
    assert [d.id for d in part] == [d.id for d in docs[20:40]]


def test_text_folder(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    rows = [orjson.loads(x) for x in (IO / "lingua.jsonl").read_bytes().splitlines()[:5]]
    for i, r in enumerate(rows):
        (folder / f"{i}.txt").write_text(r["text"], encoding="utf-8")
    (folder / "latin1.txt").write_bytes("Déclaration universelle des droits de l'homme".encode("latin-1"))
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    counts = Counter()
    spec = ShardSpec(0, "text", tuple(str(p) for p in sorted(folder.iterdir())), str(tmp_path))
    docs = list(read_shard(spec, counts))
    assert counts["skipped_binary"] == 1 and len(docs) == 6
    assert any(d.text.startswith("Déclaration") for d in docs)


def test_bundled_iana_crawl_keeps_headers_of_decoded_bodies():
    """iana.org records say 'Transfer-Encoding: chunked' over bodies stored already de-chunked: none lost."""
    from importlib.resources import files
    path = Path(str(files("thresher") / "samples" / "web" / "iana.warc.gz"))
    docs, counts = read("warc", path)
    assert len(docs) == 16 and counts["skipped_bad_record"] == 0 and counts["skipped_non_html"] == 28
    assert all(d.text.lstrip().lower().startswith("<!doctype html") for d in docs)


def _warc_response(uri: bytes, payload: bytes, extra: bytes) -> bytes:
    http = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" + extra + b"\r\n" + payload
    head = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:1>\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            b"WARC-Target-URI: " + uri + b"\r\nContent-Type: application/http; msgtype=response\r\n"
            b"Content-Length: %d\r\n\r\n" % len(http))
    return head + http + b"\r\n\r\n"


@pytest.mark.parametrize("chunked", [False, True])
def test_warc_brotli_body_is_decoded(tmp_path, chunked):
    """A ``Content-Encoding: br`` body (alone, and inside chunked transfer encoding) comes out as the
    page's HTML, never as still-compressed bytes."""
    import brotli

    html = "<html><body><p>" + "Une page encodée en brotli, l'été. " * 40 + "</p></body></html>"
    body = brotli.compress(html.encode())
    if chunked:
        payload, extra = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n", b"Content-Encoding: br\r\nTransfer-Encoding: chunked\r\n"
    else:
        payload, extra = body, b"Content-Encoding: br\r\nContent-Length: %d\r\n" % len(body)
    path = tmp_path / "br.warc"
    path.write_bytes(_warc_response(b"http://example.org/br", payload, extra))
    counts: Counter = Counter()
    docs = list(read_shard(ShardSpec(0, "warc", (str(path),), str(tmp_path)), counts))
    assert counts["docs_read"] == 1 and docs[0].text == html and docs[0].source["uri"] == "http://example.org/br"


def test_arc_reader_streams_in_pieces(tmp_path, monkeypatch):
    """The ARC reader works on a window of the decompressed stream: the first document comes out after
    a couple of chunks of a many-chunk file, and every record is still read, with its offset."""
    src = (IO / "example.arc").read_bytes()
    head, _, rec = src.partition(b"\n\nhttp://")
    rec = b"http://" + rec.rstrip(b"\n") + b"\n"
    n = 8000                                  # ~13 MB: many 1 MiB chunks
    big = tmp_path / "big.arc"
    with open(big, "wb") as f:
        f.write(head + b"\n\n")
        for i in range(n):
            f.write(rec.replace(b"http://example.com/", b"http://example.com/%06d" % i, 1))
    pulled = []
    real = arc_reader.read_chunks

    def counting(*a, **k):
        for chunk in real(*a, **k):
            pulled.append(len(chunk))
            yield chunk
    monkeypatch.setattr(arc_reader, "read_chunks", counting)
    counts: Counter = Counter()
    it = read_shard(ShardSpec(0, "warc", (str(big),), str(tmp_path)), counts)
    first = next(it)
    assert first.source["uri"] == "http://example.com/000000" and len(pulled) <= 2
    rest = list(it)
    assert len(rest) + 1 == n == counts["docs_read"] and len(pulled) >= 10
    assert rest[-1].source["uri"] == "http://example.com/%06d" % (n - 1)
    assert big.read_bytes()[rest[-1].source["offset"]:].startswith(b"http://example.com/%06d" % (n - 1))

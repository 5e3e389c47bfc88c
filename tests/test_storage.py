"""Object storage through the S3 protocol, against moto's S3 server started here on the loopback
interface (the protocol check, not a cloud run): inputs read from s3://, the release written there
file by file with its completion marker last, ``verify`` and ``forget`` on s3:// paths, each step
from a fresh local mirror, so everything it needs really came from the server."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from moto.server import ThreadedMotoServer

from thresher.config import PipelineConfig
from thresher.governance import Ledger
from thresher.pipeline import run
from thresher.storage import is_remote, mirror_of, push, url_of

FIX = Path(__file__).parent / "fixtures" / "dedup"
BUCKET = "corpus"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3 server on 127.0.0.1 (a free port), credentials and endpoint from the environment
    only, as a user's would be; yields an s3fs filesystem on it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir(BUCKET)
    for p in sorted(FIX.glob("udhr-*.jsonl.gz")):
        fs.put_file(str(p), f"{BUCKET}/in/{p.name}")
    yield fs
    mp.undo()
    server.stop()


def cli(*args: str, mirror: Path) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", "from thresher.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "THRESHER_MIRROR": str(mirror)})


def test_urls_and_mirror_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("THRESHER_MIRROR", str(tmp_path))
    assert url_of("s3://b/k/") == "s3://b/k" and url_of(Path("s3://b/k")) == "s3://b/k"
    assert not is_remote("/data/x.jsonl") and not is_remote("file:///x") and not is_remote("c:/x")
    assert mirror_of("s3://b/k/../x") == tmp_path / "s3" / "b" / "k" / "x"


def test_s3_round_trip_run_verify_forget(s3, tmp_path):
    # 1. run: inputs from s3://, release to s3://
    y = tmp_path / "p.yaml"
    cfg = PipelineConfig(name="udhr", input={"path": f"s3://{BUCKET}/in/udhr-*.jsonl.gz", "format": "jsonl"},
                         steps=["exact_dedup", "minhash_dedup"], output={"path": f"s3://{BUCKET}/proj/udhr"})
    y.write_text(cfg.to_yaml())
    r = cli("run", str(y), mirror=tmp_path / "m1")
    assert r.returncode == 0, r.stderr
    keys = sorted(k.split("/proj/udhr/", 1)[1] for k in s3.find(f"{BUCKET}/proj/udhr"))
    assert "manifest.json" in keys and ".thresher/complete" in keys and "stats.json" in keys
    assert any(k.startswith("data/part-") for k in keys) and any(k.startswith("clusters/") for k in keys)
    assert not any(k.endswith((".tmp", ".part", "lock", "pushed.json")) for k in keys)
    # the same release as a local run of the same inputs, byte for byte
    (tmp_path / "in").mkdir()           # provenance names the file by its folder: the same "in/" as on S3
    for p in FIX.glob("udhr-*.jsonl.gz"):
        (tmp_path / "in" / p.name).write_bytes(p.read_bytes())
    local = run(PipelineConfig(name="udhr", input={"path": str(tmp_path / "in" / "udhr-*.jsonl.gz"), "format": "jsonl"},
                               steps=["exact_dedup", "minhash_dedup"], output={"path": str(tmp_path / "local")}))
    for k in keys:
        if k.startswith(("data/", "excluded/", "clusters/")):
            assert hashlib.sha256(s3.cat_file(f"{BUCKET}/proj/udhr/{k}")).hexdigest() == \
                hashlib.sha256((local / k).read_bytes()).hexdigest(), k
    root = orjson.loads(s3.cat_file(f"{BUCKET}/proj/udhr/manifest.json"))["merkle"]["root"]
    assert root == orjson.loads((local / "manifest.json").read_bytes())["merkle"]["root"]
    m = orjson.dumps(orjson.loads(s3.cat_file(f"{BUCKET}/proj/udhr/manifest.json"))).decode()
    assert "testing" not in m and "AWS" not in m        # no credentials in the manifest

    # 2. verify from a fresh mirror
    r = cli("verify", f"s3://{BUCKET}/proj/udhr", mirror=tmp_path / "m2")
    assert r.returncode == 0 and "OK" in r.stdout, r.stderr

    # 3. a removal request filed in the project's ledger, then forget on the s3:// project
    led_dir = tmp_path / "ledger"
    ledger = Ledger(led_dir)
    doc = orjson.loads(__import__("gzip").open(FIX / "udhr-0.jsonl.gz").readline())
    rid = ledger.add("content_hash", hashlib.sha256(doc["text"].encode()).hexdigest())
    ledger.approve(rid, by="steward")
    push(led_dir, f"s3://{BUCKET}/proj")          # uploads governance/ (the project has no manifest of its own)
    r = cli("forget", f"s3://{BUCKET}/proj", mirror=tmp_path / "m3")
    assert r.returncode == 0 and "udhr@v2" in r.stdout, r.stderr
    assert s3.exists(f"{BUCKET}/proj/udhr@v2/.thresher/complete")
    assert s3.exists(f"{BUCKET}/proj/udhr/manifest.json")          # v1 stays
    receipt = f"s3://{BUCKET}/proj/governance/receipts/{rid}-1.json"
    assert s3.exists(receipt)

    # 4. verify the new version and its receipt, again from a fresh mirror
    r = cli("verify", f"s3://{BUCKET}/proj/udhr@v2", "--receipt", receipt, mirror=tmp_path / "m4")
    assert r.returncode == 0 and "receipt for" in r.stdout and "1 documents removed" in r.stdout, r.stdout + r.stderr

    # 5. a release whose upload stopped before its completion marker is refused, in one line
    s3.rm_file(f"{BUCKET}/proj/udhr@v2/.thresher/complete")
    r = cli("verify", f"s3://{BUCKET}/proj/udhr@v2", mirror=tmp_path / "m5")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "upload incomplete" in r.stderr


def test_push_puts_each_file_once_markers_then_manifest_then_complete(tmp_path, monkeypatch):
    """Order of the puts (fsspec's in-memory filesystem, recorded): data, shard markers, manifest,
    complete; a second push puts nothing unchanged; a changed release loses `complete` while it
    changes and gets its stale files removed; files outside a release folder are never removed."""
    import fsspec

    monkeypatch.setenv("THRESHER_MIRROR", str(tmp_path / "mirror"))
    rel = tmp_path / "rel"
    for name, body in {"data/part-00000.parquet": b"d0", "data/part-00001.parquet": b"d1", "stats.json": b"{}",
                       ".thresher/done/s0-part-00000.json": b"{}", "manifest.json": b"{}",
                       ".thresher/lock": b"pid", ".thresher/complete": b"ok"}.items():
        (rel / name).parent.mkdir(parents=True, exist_ok=True)
        (rel / name).write_bytes(body)
    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/other/keep.txt", b"not ours")
    puts: list[str] = []
    real_open = fs.open             # every write (put_file too) opens the object for writing once
    monkeypatch.setattr(fs, "open", lambda p, mode="rb", **kw: (puts.append(p.split("/rel/")[1]) if "w" in mode else None,
                                                               real_open(p, mode, **kw))[1])
    monkeypatch.setattr("thresher.storage.filesystem", lambda url: (fs, "/" + url.split("://", 1)[1]))
    assert push(rel, "memory://bucket/rel") == 6
    assert puts[:2] == ["data/part-00000.parquet", "data/part-00001.parquet"] and "stats.json" in puts[:3]
    assert puts[3:] == [".thresher/done/s0-part-00000.json", "manifest.json", ".thresher/complete"]
    assert not fs.exists("/bucket/rel/.thresher/lock") and not fs.exists("/bucket/rel/.thresher/pushed.json")
    puts.clear()
    assert push(rel, "memory://bucket/rel") == 0 and puts == []          # nothing changed: nothing put
    puts.clear()
    (rel / "data" / "part-00001.parquet").unlink()
    (rel / "manifest.json").write_bytes(b'{"v": 2}')
    push(rel, "memory://bucket/rel")
    assert puts == ["manifest.json", ".thresher/complete"]
    assert not fs.exists("/bucket/rel/data/part-00001.parquet") and fs.exists("/bucket/other/keep.txt")

"""Trust (issue 14): nothing private is published, no one files a removal in another's name, a receipt
cannot lie. Personal data comes from the Presidio synthetic PII sample (tests/fixtures/pii, real
published test data with gold spans); the web text from the bundled crawl samples."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

import thresher
from thresher.errors import InputError, ReleaseError
from thresher.governance import Ledger, build_index, forget, verify
from thresher.pii import find_pii

FIX = Path(__file__).parent / "fixtures"
TYPES = {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS"}
CLI = [sys.executable, "-c", "from thresher.cli import main; main()"]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def _covered(text: str, start: int, end: int) -> bool:
    return any(s.start <= start and end <= s.end for s in find_pii(text))


def pii_corpus(tmp: Path) -> tuple[Path, set[str]]:
    """A JSONL of Presidio sentences: long documents (four sentences) that pass the length filter and
    short ones (one sentence) dropped *before* ``pii_redact``; extra fields ``author_email``, ``phone``
    and ``notes`` carry more values. Returns the file and the raw values the detector finds in place
    (the contract is "the same redaction as the text", so those are the ones that must never leave)."""
    recs = [r for r in json.loads((FIX / "pii" / "presidio_synth_v2_sample.json").read_text())
            if any(s["entity_type"] in TYPES for s in r["spans"])]
    vals = {t: [v for r in recs for s in r["spans"] if s["entity_type"] == t
                for v in [r["full_text"][s["start_position"]:s["end_position"]]] if _covered(v, 0, len(v))]
            for t in ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD")}
    rows, secret = [], set()
    for k in range(0, 60, 4):                        # 15 long documents
        sents = [r["full_text"] for r in recs[k:k + 4]]
        text = " ".join(sents)
        rows.append({"id": f"long-{k:03d}", "text": text + " " + text})
        for r in recs[k:k + 4]:
            for s in r["spans"]:
                if s["entity_type"] in TYPES:
                    v = r["full_text"][s["start_position"]:s["end_position"]]
                    at = text.find(v)
                    if at >= 0 and _covered(text + " " + text, at, at + len(v)):
                        secret.add(v)
    for k in range(60, 80):                          # 20 short documents: dropped before pii_redact
        r = recs[k]
        rows.append({"id": f"short-{k:03d}", "text": r["full_text"]})
        for s in r["spans"]:
            if s["entity_type"] in TYPES and _covered(r["full_text"], s["start_position"], s["end_position"]):
                secret.add(r["full_text"][s["start_position"]:s["end_position"]])
    for n, row in enumerate(rows):                   # extra fields on every document
        email = vals["EMAIL_ADDRESS"][n % len(vals["EMAIL_ADDRESS"])]
        phone = vals["PHONE_NUMBER"][n % len(vals["PHONE_NUMBER"])]
        card = vals["CREDIT_CARD"][n % len(vals["CREDIT_CARD"])]
        row.update({"url": f"https://people.example.org/profile/{n}", "author_email": email, "phone": phone,
                    "notes": f"paid with card {card} last week"})
        secret |= {email, phone, card}
    path = tmp / "people.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, {s for s in secret if len(s) >= 7}


def pii_pipeline(tmp: Path, src: Path, out: Path, excluded: str = "trace") -> thresher.PipelineConfig:
    return thresher.PipelineConfig(name="people", input={"path": str(src), "format": "jsonl"},
                                   steps=[{"length_filter": {"min_chars": 200}}, {"pii_redact": {}}, {"exact_dedup": {}}],
                                   output={"path": str(out), "excluded": excluded})


def dump(path: Path) -> str:
    """Everything a file holds, as text: Parquet and Arrow cells, SQLite rows (zstd values unpacked)."""
    name = path.name
    if name.endswith(".parquet"):
        return json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False)
    if name.endswith(".arrow"):
        return json.dumps(pa.ipc.open_file(str(path)).read_all().to_pylist(), default=str, ensure_ascii=False)
    raw = path.read_bytes()
    if raw.startswith(b"SQLite format 3"):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        out = []
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for v in row:
                    if isinstance(v, bytes):
                        try:
                            v = zstandard.ZstdDecompressor().decompress(v)
                        except zstandard.ZstdError:
                            pass
                        v = v.decode("utf-8", "replace")
                    out.append(str(v))
        db.close()
        return "\n".join(out)
    return raw.decode("utf-8", "replace")


def leaks(root: Path, secret: set[str]) -> dict[str, list[str]]:
    found = {}
    for f in sorted(root.rglob("*")):
        if f.is_file():
            text = dump(f)
            hit = sorted(s for s in secret if s in text)
            if hit:
                found[str(f.relative_to(root))] = hit[:3]
    return found


@pytest.fixture(scope="module")
def people(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("people")
    src, secret = pii_corpus(tmp)
    project = tmp / "project"
    rel = thresher.run(pii_pipeline(tmp, src, project / "people"), workers=1)
    from thresher.card import write_card

    write_card(rel)
    build_index(rel)
    return {"tmp": tmp, "src": src, "secret": secret, "project": project, "release": rel}


def test_no_raw_pii_in_any_file_a_release_writes_or_publishes(people):
    rel, secret = people["release"], people["secret"]
    assert len(secret) >= 30 and any("@" in s for s in secret)
    m = thresher.Release(rel).manifest
    assert m["excluded_documents"] >= 15 and m["documents"] >= 10
    assert leaks(rel, secret) == {}
    # the trace keeps what "why" needs: the drop, the length and hash of the text, the redacted provenance
    row = next(r for f in thresher.Release(rel).files("excluded") for r in pq.read_table(f).to_pylist()
               if r["step"] == "length_filter")
    meta, src = orjson.loads(row["meta"]), orjson.loads(row["source"])
    assert row["text"] == "" and row["step"] == "length_filter" and meta["excluded_text"]["chars"] > 0
    assert src["url"].startswith("https://people.example.org/") and src["fields"]["author_email"] == "<EMAIL>"
    # thresher publish: the public part, Hub-ready, loadable by datasets offline
    dest = people["tmp"] / "hub"
    r = cli("publish", rel, dest)
    assert r.returncode == 0, r.stderr
    assert leaks(dest, secret) == {}
    assert not (dest / "index").exists() and not (dest / ".thresher").exists() and (dest / "custodian.pub").is_file()
    readme = (dest / "README.md").read_text()
    assert readme.startswith("---\n") and "config_name: default" in readme and "data/*.parquet" in readme
    named = set(re.findall(r"card/[a-z_]+\.(?:json|png)", readme))      # every file the card points to is published
    assert named and all((dest / f).is_file() for f in named), [f for f in named if not (dest / f).is_file()]
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets

    ds = datasets.load_dataset(str(dest), split="train", cache_dir=str(people["tmp"] / "hf-cache"))
    assert len(ds) == m["documents"] and set(ds.column_names) == {"id", "text", "source", "meta", "language", "script",
                                                                  "url", "repo", "path", "license", "token_count"}
    assert cli("publish", rel, dest).returncode == 1          # never into a non-empty folder


def test_excluded_redacted_mode_keeps_text_through_the_same_redaction(people, tmp_path):
    rel = thresher.run(pii_pipeline(tmp_path, people["src"], tmp_path / "p" / "people", "redacted"), workers=1)
    texts = [r["text"] for f in thresher.Release(rel).files("excluded") for r in pq.read_table(f).to_pylist()]
    assert texts and all(texts) and any("<EMAIL>" in t for t in texts)
    assert leaks(rel, people["secret"]) == {}
    assert thresher.Release(rel).manifest["config"]["excluded"] == "redacted"


def test_no_raw_pii_in_any_web_page(people):
    from test_web import ThreadServer, get

    from thresher.web import create_app

    rel, secret = people["release"], people["secret"]
    ids = [r["id"] for kind in ("data", "excluded") for f in thresher.Release(rel).files(kind)
           for r in pq.read_table(f, columns=["id"]).to_pylist()]
    with ThreadServer(create_app(rel)) as base:
        pages = ["/", "/search?q=card", "/search?q=email", "/search?q=phone", "/lookup", "/remove"]
        pages += [f"/doc/{i}" for i in ids]
        for p in pages:
            status, body = get(base + p)
            assert status == 200, p
            assert not [s for s in secret if s in body], p
        # a removal request by the author's address: the page of that document still shows no address
        row = pq.read_table(thresher.Release(rel).files("data")[0]).to_pylist()[0]
        email = json.loads((people["src"]).read_text().splitlines()[int(row["id"].split("-")[1]) // 4])["author_email"]
        status, body = get(base + "/remove", {"matcher": "email", "value": email})
        assert status == 200 and "pending" in body and email not in body
        status, body = get(base + f"/doc/{row['id']}")
        assert status == 200 and email not in body


# --- the web form: nobody files in another's name -------------------------------------------------------
def test_form_refuses_requests_from_elsewhere(people, tmp_path):
    from test_web import ThreadServer, fetch, get, session

    from thresher.web import create_app

    import shutil

    project = tmp_path / "proj"
    rel = project / "people"
    shutil.copytree(people["release"], rel)
    form = {"matcher": "domain", "value": "people.example.org"}
    with ThreadServer(create_app(rel, build_missing=False)) as base:
        cookie, token = session(base)
        good = {"Origin": base, "Cookie": cookie}
        for headers, data in [({**good, "Origin": "null"}, {**form, "csrf_token": token}),
                              ({"Cookie": cookie}, {**form, "csrf_token": token}),          # no Origin
                              ({**good, "Host": "evil.example:80", "Origin": "http://evil.example:80"},
                               {**form, "csrf_token": token}),                              # DNS rebinding
                              (good, form),                                                 # no token
                              ({"Origin": base}, {**form, "csrf_token": token}),            # token, no session
                              ({**good, "Origin": "http://evil.example"}, {**form, "csrf_token": token})]:
            status, body, _ = fetch(base + "/remove", data, headers)
            assert status == 403, headers
        # a multipart upload in the value field: refused before anything is read into a request
        boundary = "xyz"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"value\"; filename=\"a.bin\"\r\n\r\n"
                + "A" * 200_000 + f"\r\n--{boundary}--\r\n").encode()
        import urllib.request

        req = urllib.request.Request(base + "/remove", data=body, headers={
            **good, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        try:
            urllib.request.urlopen(req, timeout=30)
            status = 200
        except urllib.error.HTTPError as e:
            status = e.code
        assert status == 415
        status, _, _ = fetch(base + "/remove", {**form, "csrf_token": token, "value": "x" * 100_000}, good)
        assert status == 413
        assert not Ledger(project).path.exists()                  # nothing was filed
        # the site's own page files, pending, and the confirmation repeats what was asked
        status, body = get(base + "/remove", {**form, "reason": "my site", "contact": "me@people.example.org"})
        assert status == 200 and "req-00001" in body and "pending" in body and "people.example.org" in body
        assert "my site" in body and "me@people.example.org" not in body
        (r,) = Ledger(project).list()
        assert r["status"] == "pending" and r["contact"].startswith("salted-sha256:") and r["reason"] == "my site"
        # rate limit: a flood from one address is cut off
        codes = [fetch(base + "/lookup", {"domain": "example.org", "csrf_token": token}, good)[0] for _ in range(25)]
        assert 429 in codes


def test_search_runs_off_the_event_loop_with_a_budget(people):
    from thresher.governance import search

    with pytest.raises(InputError, match="took longer"):
        search(people["release"], "card OR email OR phone OR paid OR week", 10, budget_s=0.0)
    assert search(people["release"], "card", 3, budget_s=5.0)


# --- the request life cycle ------------------------------------------------------------------------------
def crawl(tmp: Path, project: Path, name: str = "c") -> Path:
    from test_governance import _pipeline

    return thresher.run(_pipeline(tmp, project, name), workers=1)


def _ids(release: Path) -> set[str]:
    return {i for f in thresher.Release(release).files("data") for i in pq.read_table(f, columns=["id"])["id"].to_pylist()}


def test_request_life_cycle_end_to_end(tmp_path):
    from thresher.governance import lookup, removed_ids

    project = tmp_path / "p"
    v1 = crawl(tmp_path, project)
    led = Ledger(project)
    a = led.add("url_prefix", "http://www.iana.org/domains/", reason="my pages", contact="Me@Example.org")
    b = led.add("domain", "live-radsport.ch")
    c = led.add("domain", "003338.cn")
    d = led.add("url_prefix", "http://www.iana.org/about/")
    assert [a, b, c, d] == ["req-00001", "req-00002", "req-00003", "req-00004"]
    iana = {i for i in _ids(v1) if i in removed_ids(v1) and "req-00001" in removed_ids(v1)[i]}
    assert iana and all(removed_ids(v1)[i] == [a] for i in iana)           # pending: hidden at once ...
    assert iana <= _ids(v1)                                                   # ... but not removed
    r = lookup(v1, domain="live-radsport.ch")
    assert r["total"] and r["already_requested"]
    led.approve(a, by="steward")
    led.reject(b, by="steward", note="not the site owner")
    led.withdraw(c, by="requester")
    assert led.get(a).status == "approved" and led.get(b).status == "rejected" and led.get(c).status == "withdrawn"
    with pytest.raises(InputError, match="rejected, not pending"):
        led.approve(b, by="steward")
    hidden = removed_ids(v1)
    assert not any(b in v or c in v for v in hidden.values())               # rejected/withdrawn: shown again
    res = forget(project, workers=1)
    (v2,) = res["versions"]
    assert not iana & _ids(v2)
    host_ids = lambda rel, host: {k for k, v in _docs_hosts(rel).items() if v.endswith(host)}
    assert host_ids(v2, "live-radsport.ch") and host_ids(v2, "003338.cn")   # not removed
    assert [p.name for p in res["receipts"]] == [f"{a}-1.json"]             # only the approved one
    assert led.get(a).status == "applied" and led.get(d).status == "pending"
    assert verify(v2, res["receipts"][0])["receipt"]["ledger"].startswith("request and receipt recorded")
    # every transition is a signed line of the chain
    kinds = [(e["type"], e.get("decision")) for e in led.entries()]
    assert kinds == [("request", None)] * 4 + [("decision", "approved"), ("decision", "rejected"),
                                               ("decision", "withdrawn"), ("applied", None)]
    assert led.verify()["entries"] == 8
    due = led.list(due=True)
    assert [r["id"] for r in due] == [d] and due[0]["due"] > due[0]["received_at"]
    # the next build applies approved requests only
    led.approve(d, by="steward")
    v_new = crawl(tmp_path, project, "fresh")
    assert not iana & _ids(v_new) and host_ids(v_new, "live-radsport.ch")
    assert not {i for i in _ids(v_new) if _docs_hosts(v_new, full=True)[i].startswith("http://www.iana.org/about/")}
    # the CLI: list --due, approve, and a wrong transition is one error line
    r = cli("request", "list", project, "--due", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = cli("request", "reject", project, a, "--by", "x")
    assert r.returncode == 1 and r.stderr.startswith("Error:") and "applied, not pending" in r.stderr


def _docs_hosts(release: Path, full: bool = False) -> dict[str, str]:
    from thresher.governance.matchers import doc_url, url_host

    out = {}
    for f in thresher.Release(release).files("data"):
        for r in pq.read_table(f, columns=["id", "source"]).to_pylist():
            u = doc_url(orjson.loads(r["source"])) or ""
            out[r["id"]] = u if full else url_host(u)
    return out


def test_broad_requests_need_broad(tmp_path):
    project = tmp_path / "p"
    crawl(tmp_path, project)
    led = Ledger(project)
    for matcher, value in [("domain", "co.uk"), ("domain", "github.io"), ("domain", "pvt.k12.ma.us"),
                           ("url_prefix", "https://"), ("url_prefix", "http://github.io/")]:
        with pytest.raises(InputError, match="broad"):
            led.add(matcher, value)
    with pytest.raises(InputError, match="more than the limit of 5"):
        led.add("domain", "iana.org", max_documents=5)
    assert not led.path.exists() or not led.list()
    assert led.add("domain", "co.uk", broad=True) == "req-00001" and led.get("req-00001").broad
    assert led.add("domain", "iana.org", max_documents=1000) == "req-00002"
    r = cli("request", "add", project, "--domain", "github.io")
    assert r.returncode == 1 and "--broad" in r.stderr
    assert cli("request", "add", project, "--domain", "github.io", "--broad").returncode == 0


# --- receipts that cannot lie -------------------------------------------------------------------------------
STEPS = ("journal", "version-written", "version-renamed", "receipts-written", "ledger-recorded")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A built project with two approved requests, before any forget (copied by each crash test)."""
    tmp = tmp_path_factory.mktemp("crash")
    project = tmp / "p"
    crawl(tmp, project)
    led = Ledger(project)
    for m, v in [("domain", "iana.org"), ("domain", "003338.cn")]:
        led.approve(led.add(m, v), by="steward")
    return project


@pytest.mark.parametrize("step", STEPS)
def test_kill_forget_at_every_step_then_rerun(pristine, tmp_path, step):
    import shutil

    project = tmp_path / "p"
    shutil.copytree(pristine, project, symlinks=True)
    r = cli("forget", project, env={"THRESHER_TEST_KILL_AT": step})
    assert r.returncode == -9, (step, r.stderr)
    r = cli("forget", project)
    assert r.returncode == 0, r.stderr
    assert "unchanged" not in r.stdout
    v2 = project / "c@v2"
    assert not (project / "c@v3").exists() and not list(project.glob(".*partial"))
    assert not (project / "governance" / "forget-journal.json").exists()
    before, after = _ids(project / "c"), _ids(v2)
    gone = before - after
    hosts = _docs_hosts(project / "c")
    assert gone == {i for i, h in hosts.items() if h.endswith(("iana.org", "003338.cn"))}
    receipts = sorted((project / "governance" / "receipts").glob("*.json"))
    assert [p.name for p in receipts] == ["req-00001-1.json", "req-00002-1.json"]
    total = 0
    for p in receipts:
        rc = verify(v2, p)["receipt"]
        total += rc["matched"]
        body = orjson.loads(p.read_bytes())["releases"][0]
        assert body["documents_before"] == len(before) and body["documents_after"] == len(after)
        assert body["merkle_root_before"] != body["merkle_root_after"]
    gov = thresher.Release(v2).manifest["governance"]
    assert total == gov["removed_documents"] and len(gone) == gov["removed_from_data"]   # data + excluded rows
    applied = [e for e in Ledger(project).entries() if e["type"] == "applied"]
    assert len(applied) == 1


@pytest.fixture(scope="module")
def forgotten(pristine, tmp_path_factory):
    import shutil

    project = tmp_path_factory.mktemp("forgotten") / "p"
    shutil.copytree(pristine, project, symlinks=True)
    build_index(project / "c")
    res = forget(project, workers=1)
    return project, res


def _tamper(project: Path, tmp: Path) -> Path:
    import shutil

    dst = tmp / "p"
    shutil.copytree(project, dst, symlinks=True)
    return dst


def test_edited_receipt_fails_alone(forgotten, tmp_path):
    project, res = forgotten
    alone = tmp_path / "alone"            # the requester: the release and the receipt, no ledger
    import shutil

    shutil.copytree(project / "c@v2", alone / "c@v2")
    receipt = alone / "r.json"
    shutil.copy(res["receipts"][0], receipt)
    assert verify(alone / "c@v2", receipt)["receipt"]["signature"] == "verified"
    body = orjson.loads(receipt.read_bytes())
    body["releases"][0]["matched"] += 5
    rest = {k: v for k, v in body.items() if k not in ("receipt_sha256", "signature")}
    body["receipt_sha256"] = hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()
    receipt.write_bytes(orjson.dumps(body))
    with pytest.raises(ReleaseError, match="signature does not verify"):
        verify(alone / "c@v2", receipt)
    r = cli("verify", alone / "c@v2", "--receipt", receipt)
    assert r.returncode == 1 and "signature" in r.stderr


@pytest.mark.parametrize("field,edit", [("config", lambda m: m["config"].update(name="other")),
                                        ("tools", lambda m: m["tools"].update(thresher="9.9")),
                                        ("inputs", lambda m: m["inputs"][0].update(xxh3_128="0" * 32)),
                                        ("governance", lambda m: m["governance"].update(removed_documents=0)),
                                        ("parent", lambda m: m["parent"].update(version=7))])
def test_edited_manifest_field_fails(forgotten, tmp_path, field, edit):
    project = _tamper(forgotten[0], tmp_path)
    mp = project / "c@v2" / "manifest.json"
    m = orjson.loads(mp.read_bytes())
    edit(m)
    mp.write_bytes(orjson.dumps(m))
    with pytest.raises(ReleaseError, match="signature"):
        verify(project / "c@v2")


def test_deleted_shard_stats_and_temp_files_fail(forgotten, tmp_path):
    project = _tamper(forgotten[0], tmp_path)
    v2 = project / "c@v2"
    gov = sorted((v2 / "excluded").glob("*governance*"))[0]
    gov.unlink()
    with pytest.raises(ReleaseError, match="missing"):
        verify(v2)
    project = _tamper(forgotten[0], tmp_path / "b")
    (project / "c@v2" / "data" / "part-00000.parquet.tmp").write_bytes(b"removed text")
    with pytest.raises(ReleaseError, match="temporary file"):
        verify(project / "c@v2")
    project = _tamper(forgotten[0], tmp_path / "c")
    st = project / "c@v2" / "stats.json"
    st.write_text(st.read_text().replace("governance", "gov"))
    with pytest.raises(ReleaseError, match="stats.json"):
        verify(project / "c@v2")


def test_swapped_index_fails(forgotten, tmp_path):
    import shutil

    project = _tamper(forgotten[0], tmp_path)
    assert verify(project / "c@v2")["documents"]
    (project / "c@v2" / "index" / "search.sqlite").unlink()
    shutil.copy(project / "c" / "index" / "search.sqlite", project / "c@v2" / "index" / "search.sqlite")
    with pytest.raises(ReleaseError, match="search index"):
        verify(project / "c@v2")


def test_recomputed_ledger_chain_fails(forgotten, tmp_path):
    from thresher.governance.ledger import GENESIS, entry_hash

    project = _tamper(forgotten[0], tmp_path)
    lp = project / "governance" / "ledger.jsonl"
    entries = [orjson.loads(x) for x in lp.read_bytes().splitlines()]
    entries[0]["value"] = "example.com"
    prev = GENESIS
    for e in entries:                     # the whole chain recomputed: every hash is consistent again
        e["prev"] = prev
        e["hash"] = entry_hash(e)
        prev = e["hash"]
    lp.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))
    with pytest.raises(ReleaseError, match="signature"):
        Ledger(project).verify()
    with pytest.raises(ReleaseError, match="signature|ledger_head"):
        verify(project / "c@v2")


# --- the salt ------------------------------------------------------------------------------------------
def test_eight_processes_file_the_first_request_at_once(tmp_path):
    project = tmp_path / "fresh"
    project.mkdir()
    code = ("import sys; from thresher.governance import Ledger; "
            "print(Ledger(sys.argv[1]).add('email', f'user{sys.argv[2]}@example.org'))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(project), str(k)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(8)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert sorted(o.strip() for o, _ in outs) == [f"req-{k:05d}" for k in range(1, 9)]
    led = Ledger(project)
    assert len(led.salt) == 32 and led.verify()["entries"] == 8
    values = {r["value"] for r in led.list()}
    assert values == {led.hash_value(f"user{k}@example.org") for k in range(8)}
    empty = "salted-sha256:" + hashlib.sha256(b"user0@example.org").hexdigest()
    assert empty not in values


# --- versions are immutable -------------------------------------------------------------------------------
def test_demo_and_overwrite_never_delete_a_folder_that_is_not_a_release(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    r = cli("demo", mine)
    assert r.returncode == 1 and "not written by `thresher demo`" in r.stderr and (mine / "thesis.tex").exists()
    y = tmp_path / "p.yaml"
    y.write_text(f"name: x\ninput: {{path: '{people_free(tmp_path)}', format: jsonl}}\noutput: {{path: '{mine}'}}\n")
    r = cli("run", y, "--overwrite")
    assert r.returncode == 1 and "not a thresher release" in r.stderr and (mine / "thesis.tex").exists()


def people_free(tmp: Path) -> Path:
    src = tmp / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{k}", "text": f"document number {k} " * 20}) + "\n" for k in range(5)))
    return src


def test_rerun_demo_after_forget_keeps_every_version_verifying(tmp_path):
    project = tmp_path / "demo"
    assert cli("demo", project, "-w", "1").returncode == 0
    led = Ledger(project)
    led.approve(led.add("domain", "iana.org"), by="steward")
    r = cli("forget", project)
    assert r.returncode == 0 and "demo@v2" in r.stdout, r.stderr
    r = cli("demo", project, "-w", "1")
    assert r.returncode == 0, r.stderr
    for v in ("demo", "demo@v2"):
        assert verify(project / v)["documents"]
    r = cli("run", project / "x.yaml")       # a missing file: one error line, nothing rebuilt
    assert r.returncode == 1
    from thresher.config import load_config
    from importlib.resources import files

    cfg = load_config(Path(str(files("thresher") / "samples" / "demo.yaml")), str(project / "demo"))
    with pytest.raises(ReleaseError, match="newer version"):
        thresher.run(cfg, workers=1, overwrite=True)
    assert verify(project / "demo@v2")["parent"].endswith("(manifest matches)")

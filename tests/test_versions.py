"""Incremental updates, diffs and changelogs (issue 24) on real text: the Clough-Stevenson plagiarism corpus
(5 source texts and 95 answers, many of them cut-and-paste or lightly edited copies of a source), split into
an old part X and a new part Y, plus exact and edited copies of old documents."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

import thresher
from thresher.governance import Ledger, verify
from thresher.paths import dedup_index_dir
from thresher.versions import diff, update
from thresher.versions.diff import is_empty

FIX = Path(__file__).parent / "fixtures" / "governance" / "clough_stevenson.jsonl"
STEPS = """
  - exact_dedup: {}
  - minhash_dedup: {}
  - pii_redact: {}
"""


def _records() -> list[dict]:
    return sorted((json.loads(line) for line in FIX.read_text().splitlines()), key=lambda r: r["id"])


def _edit(text: str) -> str:
    """A near copy: one word changed and a sentence added (Jaccard of 5-gram shingles well above 0.8)."""
    words = text.split(" ")
    words[len(words) // 2] = "remarkably"
    return " ".join(words) + " This copy was edited."


def _write(path: Path, recs: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in recs))
    return path


def _yaml(tmp: Path, name: str, inputs: list[Path], out: Path, steps: str = STEPS) -> Path:
    y = tmp / f"{name}.yaml"
    ins = "\n".join(f'  - {{path: "{p}", format: jsonl}}' for p in inputs)
    y.write_text(f"name: corpus\ninput:\n{ins}\nsteps:{steps}output: {{path: \"{out}\"}}\n")
    return y


def _kept(release: Path) -> dict[str, dict]:
    out = {}
    for f in thresher.Release(release).files("data"):
        for r in pq.read_table(f, columns=["id", "meta"]).to_pylist():
            out[r["id"]] = orjson.loads(r["meta"])
    return out


def _excluded(release: Path) -> dict[str, dict]:
    out = {}
    for f in thresher.Release(release).files("excluded"):
        for r in pq.read_table(f).to_pylist():
            out[r["id"]] = {"step": r["step"], "reason": r["reason"], "meta": orjson.loads(r["meta"])}
    return out


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("versions")
    recs = _records()
    x, y = recs[:60], recs[60:]
    y = y + [{"id": "y-exact-copy", "text": x[3]["text"]},              # exact copy of an old document
             {"id": "y-near-copy", "text": _edit(x[7]["text"])},        # near copy of an old document
             {"id": "y-near-of-new", "text": _edit(y[2]["text"])}]      # near copy of a new document
    return tmp, _write(tmp / "x.jsonl", x), _write(tmp / "y.jsonl", y), x, y


@pytest.fixture(scope="module")
def updated(parts):
    tmp, xf, yf, x, y = parts
    project = tmp / "project"
    v1 = thresher.run(_yaml(tmp, "x", [xf], project / "corpus"), workers=1)
    report = update(v1, _yaml(tmp, "y", [yf], tmp / "ignored"), workers=1)
    whole = thresher.run(_yaml(tmp, "xy", [xf, yf], tmp / "whole" / "corpus"), workers=1)
    return {"v1": v1, "v2": project / "corpus@v2", "report": report, "whole": whole, "x": x, "y": y}


def test_update_equals_building_everything_at_once(updated):
    v1, v2, whole = updated["v1"], updated["v2"], updated["whole"]
    assert updated["report"]["version"] == "corpus@v2" and v2.is_dir()
    kept2, kept_all = _kept(v2), _kept(whole)
    # keep-first ordered by version: X's documents come first in the single build too
    assert set(kept2) == set(kept_all)
    assert thresher.Release(v2).manifest["documents"] == thresher.Release(whole).manifest["documents"] == len(kept2)
    # the near and exact copies of old documents are excluded, pointing into the old version
    ex = _excluded(v2)
    old_ids = set(_kept(v1))
    assert ex["y-exact-copy"]["reason"] == "exact_duplicate"
    assert ex["y-exact-copy"]["meta"]["duplicate_of"] == updated["x"][3]["id"] in old_ids
    assert ex["y-near-copy"]["reason"] == "near_duplicate"
    assert ex["y-near-copy"]["meta"]["duplicate_of"] == updated["x"][7]["id"] in old_ids
    assert ex["y-near-of-new"]["meta"]["duplicate_of"] == updated["y"][2]["id"]
    dups = updated["report"]["duplicates_of_parent"]
    assert dups["exact_dedup"] == 1 and dups["minhash_dedup"] >= 2       # the edited copy + source texts of X's copies
    # a Clough-Stevenson source text (in Y) is a near-duplicate of a cut-and-paste answer in X
    assert ex["cs-orig_taska"]["meta"]["duplicate_of"] in old_ids
    assert ex["cs-orig_taska"]["meta"]["minhash_dedup_v1"]["similarity_to_kept"] >= 0.8
    # the old version is never rewritten: every shard of v1 is the same file (a hard link) in v2
    m1, m2 = thresher.Release(v1).manifest, thresher.Release(v2).manifest
    for rel, v in m1["outputs"].items():
        assert m2["outputs"][rel] == v and (v1 / rel).stat().st_ino == (v2 / rel).stat().st_ino
    assert m2["parent"]["path"] == "../corpus" and m2["parent"]["merkle_root"] == m1["merkle"]["root"]
    assert m2["merkle"]["root"] != m1["merkle"]["root"]
    # the index is extended: v1's kept documents plus v2's new kept ones
    for label in ("exact_dedup", "minhash_dedup"):
        n1 = orjson.loads((dedup_index_dir(v1, label) / "meta.json").read_bytes())["documents"]
        n2 = orjson.loads((dedup_index_dir(v2, label) / "meta.json").read_bytes())["documents"]
        assert n2 > n1 > 0


def test_verify_passes_on_every_version(updated):
    for rel in (updated["v1"], updated["v2"], updated["whole"]):
        r = verify(rel)
        assert r["documents"] == thresher.Release(rel).manifest["documents"]
    assert "manifest matches" in verify(updated["v2"])["parent"]


def test_diff_self_is_empty_and_parent_diff_equals_the_update_report(updated):
    v1, v2, report = updated["v1"], updated["v2"], updated["report"]
    assert is_empty(diff(v2, v2)) and is_empty(diff(v1, v1))
    d = diff(v1, v2)
    assert d["counts"]["added"] == report["added"] == len(d["added"]) > 0
    assert d["counts"]["removed"] == 0 and d["counts"]["changed"] == 0
    assert set(d["added"]) == set(_kept(v2)) - set(_kept(v1))
    for step, reasons in report["excluded"].items():
        got = {k.split(":", 1)[1]: n for k, n in d["by_step"][step].items() if k.startswith("excluded:")}
        assert got == reasons
    assert sum(v.get("added", 0) for v in d["by_source"].values()) == report["added"]
    assert [Path(k).name for k in d["by_source"]] == ["y.jsonl"]


def test_cluster_size_kept_per_document(updated):
    kept = _kept(updated["whole"])
    clustered = {i: m for i, m in kept.items() if "cluster_size" in m}
    assert clustered
    for m in clustered.values():
        inner = m.get("minhash_dedup_v1") or m.get("exact_dedup_v1")
        assert m["cluster_size"] >= 2 and inner["kept"]


def test_card_changelog_of_the_new_version(updated):
    from thresher.card.changes import parent_changes

    ch = parent_changes(thresher.Release(updated["v2"]))
    assert ch["exact"] and ch["added"] == updated["report"]["added"] and ch["removed"] == 0
    assert ch["diff"]["by_step"]["minhash_dedup"]["excluded"] >= 2
    from thresher.card import write_card

    write_card(updated["v2"])
    text = (updated["v2"] / "card" / "README.md").read_text()
    section = text[text.index("Changes since the parent version"):text.index("## Reproducibility")]
    assert f"{ch['added']} added" in section and "An update (`thresher update`)" in section
    assert "| `minhash_dedup` | 0 |" in section and "y.jsonl" in section


def test_update_of_only_near_copies_adds_nothing(parts, tmp_path):
    tmp, xf, _, x, _ = parts
    project = tmp_path / "p"
    v1 = thresher.run(_yaml(tmp_path, "x", [xf], project / "corpus"), workers=1)
    copies = _write(tmp_path / "copies.jsonl", [{"id": f"copy-{i}", "text": _edit(r["text"])}
                                                 for i, r in enumerate(x[:10]) if len(r["text"]) > 900])
    r = update(v1, _yaml(tmp_path, "c", [copies], tmp_path / "ignored"), workers=1)
    assert r["version"] is None and r["added"] == 0 and "nothing added" in r["message"]
    assert sum(r["duplicates_of_parent"].values()) == r["read"] > 0
    assert not (project / "corpus@v2").exists()
    assert [p.name for p in project.iterdir() if p.name.startswith(".")] == []


def test_removal_request_filed_before_the_update_is_honoured(parts, tmp_path):
    tmp, xf, yf, x, y = parts
    project = tmp_path / "p"
    v1 = thresher.run(_yaml(tmp_path, "x", [xf], project / "corpus"), workers=1)
    ledger = Ledger(project)
    gone_old = x[10]["text"]
    gone_new = y[5]["text"]
    for text in (gone_old, gone_new):
        rid = ledger.add("content_hash", hashlib.sha256(text.encode()).hexdigest())
        ledger.approve(rid, by="steward")
    r = update(v1, _yaml(tmp_path, "y", [yf], tmp_path / "ignored"), workers=1)
    head = project / r["version"]
    kept = _kept(head)
    assert x[10]["id"] not in kept and y[5]["id"] not in kept
    assert r["forget"]["versions"] == ["corpus@v2"] and r["version"] == "corpus@v3"
    assert r["removed_by_ledger_from_new"] == 1
    for rel in (v1, project / "corpus@v2", head):
        verify(rel)
    d = diff(project / "corpus@v2", head)
    assert d["counts"]["removed"] == 0 and d["counts"]["added"] == r["added"]
    d1 = diff(v1, head)
    assert d1["counts"]["removed"] == 1 and d1["removed_by"][0]["step"] == "governance"


def test_cli_update_and_diff(parts, tmp_path):
    from typer.testing import CliRunner

    from thresher.cli import app
    import thresher.versions.commands  # noqa: F401  (registers the commands)

    tmp, xf, yf, *_ = parts
    v1 = thresher.run(_yaml(tmp_path, "x", [xf], tmp_path / "p" / "corpus"), workers=1)
    runner = CliRunner()
    res = runner.invoke(app, ["update", str(v1), str(_yaml(tmp_path, "y", [yf], tmp_path / "ignored")), "--json",
                              "-w", "1"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.output)
    res = runner.invoke(app, ["diff", str(v1), str(tmp_path / "p" / "corpus@v2"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["counts"]["added"] == rep["added"]
    res = runner.invoke(app, ["diff", str(v1), str(tmp_path / "p" / "corpus@v2")])
    assert res.exit_code == 0 and "added" in res.output and "minhash_dedup" in res.output
    # the old version has a newer one: it is never updated again (one line, no traceback)
    with pytest.raises(thresher.errors.ReleaseError, match="has a newer version"):
        update(v1, _yaml(tmp_path, "y", [yf], tmp_path / "ignored"), workers=1)


def test_update_with_signature_estimates_equals_building_at_once(parts, tmp_path):
    """MinHash without exact verification: the index keeps signatures, similarity is the same estimate."""
    tmp, xf, yf, *_ = parts
    steps = "\n  - minhash_dedup: {verify: false, threshold: 0.7}\n"
    v1 = thresher.run(_yaml(tmp_path, "x", [xf], tmp_path / "p" / "corpus", steps), workers=1)
    r = update(v1, _yaml(tmp_path, "y", [yf], tmp_path / "ignored", steps), workers=1)
    whole = thresher.run(_yaml(tmp_path, "xy", [xf, yf], tmp_path / "w" / "corpus", steps), workers=1)
    assert r["duplicates_of_parent"]["minhash_dedup"] >= 2
    assert set(_kept(tmp_path / "p" / "corpus@v2")) == set(_kept(whole))
    meta = orjson.loads((dedup_index_dir(tmp_path / "p" / "corpus@v2", "minhash_dedup") / "meta.json").read_bytes())
    assert meta["similarity"] == "signatures" and [s["version"] for s in meta["segments"]] == ["corpus", "corpus@v2"]


def test_measurements_of_the_new_version_cover_every_document(updated):
    """The parent's shard sketches are carried and the new shards' added: v2 measures what a build of
    X+Y at once measures (sketches merge by addition)."""
    from thresher.measurements import merged, summary

    v2, whole = merged(updated["v2"]), merged(updated["whole"])
    assert v2 is not None and whole is not None
    assert summary(v2) == summary(whole)
    assert summary(v2)["documents"] == thresher.Release(updated["v2"]).manifest["documents"]


def test_update_spreads_its_new_inputs_over_the_workers(parts, tmp_path, monkeypatch):
    """New inputs smaller than workers x shard_mb are planned into one shard per worker (byte ranges
    of the file, in order): the same documents are kept as with one worker and as a build of X+Y."""
    import importlib

    from thresher.config import load_config
    from thresher.io import plan_shards

    upd = importlib.import_module("thresher.versions.update")     # the module (the package exports the function)

    tmp, xf, yf, *_ = parts
    monkeypatch.setattr(upd, "MIN_SHARD_MB", 0.001)
    cfg = load_config(_yaml(tmp_path, "y", [yf], tmp_path / "ignored"))
    assert len(plan_shards(cfg)) == 1
    spread = plan_shards(upd._spread(cfg, 3))
    sizes = [s.end - s.start for s in spread]
    assert len(spread) == 3 and max(sizes) - min(sizes) <= 1 and sum(sizes) == yf.stat().st_size
    assert upd._spread(cfg, 1) is cfg
    v1 = thresher.run(_yaml(tmp_path, "x", [xf], tmp_path / "p" / "corpus"), workers=1)
    r = update(v1, _yaml(tmp_path, "y", [yf], tmp_path / "ignored"), workers=2)
    v2 = tmp_path / "p" / "corpus@v2"
    m = thresher.Release(v2).manifest
    assert len([k for k in m["outputs"] if k.startswith("data/")]) == len(thresher.Release(v1).files("data")) + 2
    assert m["update"]["config"]["input"][0]["shard_mb"] < 16
    whole = thresher.run(_yaml(tmp_path, "xy", [xf, yf], tmp_path / "w" / "corpus"), workers=1)
    assert set(_kept(v2)) == set(_kept(whole)) and r["added"] == len(_kept(v2)) - len(_kept(v1))
    verify(v2)


def test_index_reads_the_sets_of_the_rows_asked_for(updated, tmp_path):
    """An update reads the shingle sets of the old documents it compares with, from where they lie in
    the index's sets.bin (not a map of the whole file): the same sets as the file holds; a file shorter
    than its offsets say is an error naming it."""
    import shutil

    import numpy as np

    from thresher.dedup.index import Index
    from thresher.errors import ReleaseError

    seg = Index(dedup_index_dir(updated["v2"], "minhash_dedup")).segments[0]
    offs, whole = np.load(seg.path / "offs.npy"), np.fromfile(seg.path / "sets.bin", np.uint32)
    rows = np.array([0, 3, 4, seg.n - 1])
    got, got_offs = seg.sets_of(rows)
    assert [got[got_offs[r]:got_offs[r + 1]].tolist() for r in range(len(rows))] == \
        [whole[offs[i]:offs[i + 1]].tolist() for i in rows]
    assert seg.sets_of(rows[:0])[0].size == 0
    cut = tmp_path / "seg"
    shutil.copytree(seg.path, cut)
    (cut / "sets.bin").write_bytes((seg.path / "sets.bin").read_bytes()[:int(offs[-2]) * 4])
    seg.path = cut
    with pytest.raises(ReleaseError, match="sets.bin: shorter"):
        seg.sets_of(rows)

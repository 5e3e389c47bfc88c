"""The code reader on real repositories: a git repository built here from real files (HEAD and a tagged
commit, read without a checkout), archives, plain folders, a folder of repositories; skip counters;
notebooks; and examples/code.yaml run end to end on the fixture repositories."""
import json
import shutil
import subprocess
import tarfile
from collections import Counter
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from thresher import run
from thresher.code.languages import LANGUAGES, language_of, notebook_to_text, skip_reason
from thresher.config import load_config
from thresher.io import ShardSpec, reader, resolve_files

FX = Path(__file__).parent / "fixtures" / "code"
EXAMPLE = Path(__file__).parent.parent / "examples" / "code.yaml"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t",
                           "-c", "commit.gpgsign=false", *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def read_input(path: Path, shard_mb: float = 64.0, revision: str | None = None) -> tuple[list, Counter]:
    class Cfg:
        pass
    cfg = Cfg()
    cfg.shard_mb = shard_mb
    cfg.revision = revision
    files, root = resolve_files(str(path), Path("."))
    mod = reader("code")
    docs, counts = [], Counter()
    for i, s in enumerate(mod.plan(files, root, cfg)):
        spec = ShardSpec(i, "code", s["files"], str(root), s.get("start", 0), s.get("end"), s.get("options", {}))
        docs.extend(mod.read(spec, counts))
    return docs, counts


@pytest.fixture
def idna_tree(tmp_path) -> Path:
    with tarfile.open(FX / "repos" / "idna-3.13.tar.gz") as t:
        t.extractall(tmp_path / "x", filter="data")
    return tmp_path / "x" / "idna-3.13"


@pytest.fixture
def git_repo(tmp_path, idna_tree) -> Path:
    repo = tmp_path / "myrepo"
    shutil.copytree(idna_tree, repo)
    (repo / "node_modules" / "left-pad").mkdir(parents=True)
    shutil.copy(idna_tree / "idna" / "codec.py", repo / "node_modules" / "left-pad" / "index.js")
    (repo / "static").mkdir()
    (repo / "static" / "app.min.js").write_text("var a=1;\n")
    (repo / "package-lock.json").write_text('{"lockfileVersion": 3}\n')
    shutil.copy(FX / "repos" / "certifi-2026.5.20.zip", repo / "static" / "bundle.zip")       # binary
    (repo / "tools").mkdir()
    (repo / "tools" / "run").write_text("#!/usr/bin/env python3\nimport idna\nprint(idna.encode('ü.de'))\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    git(repo, "tag", "v1")
    with open(repo / "idna" / "compat.py", "a") as f:
        f.write("\n# second commit\n")
    git(repo, "commit", "-qam", "second")
    return repo


def test_git_repository_at_head(git_repo):
    docs, counts = read_input(git_repo)
    head = git(git_repo, "rev-parse", "HEAD")
    by_path = {d.source["path"]: d for d in docs}
    assert sorted(by_path) == ["LICENSE.md", "idna/__init__.py", "idna/codec.py", "idna/compat.py",
                               "idna/core.py", "idna/intranges.py", "idna/package_data.py", "tools/run"]
    for path, d in by_path.items():
        assert d.source["repo"] == "myrepo" and d.source["commit"] == head and d.source["kind"] == "git"
        blob = subprocess.run(["git", "-C", str(git_repo), "cat-file", "blob", f"HEAD:{path}"],
                              check=True, capture_output=True).stdout
        assert d.text.encode() == blob
        assert d.source["size"] == len(d.text.encode())
        assert d.source["blob"] == git(git_repo, "rev-parse", f"HEAD:{path}")
    assert by_path["tools/run"].source["language"] == "Python"          # from the shebang
    assert by_path["idna/core.py"].meta["language"] == "Python"
    assert by_path["idna/compat.py"].text.endswith("# second commit\n")
    assert by_path["idna/core.py"].source["license_evidence"][0]["spdx"] == "BSD-3-Clause"
    assert counts["skipped_vendored"] == 1 and counts["skipped_minified"] == 1
    assert counts["skipped_generated"] == 1 and counts["skipped_binary"] == 1
    assert counts["docs_read"] == 8 and counts["files_seen"] == 12
    ids = [d.id for d in docs]
    assert len(set(ids)) == len(ids) and ids == [d.id for d in read_input(git_repo)[0]]   # stable


def test_git_ref_file_reads_that_commit(git_repo):
    docs, _ = read_input(git_repo / ".git" / "refs" / "tags" / "v1")
    v1 = git(git_repo, "rev-parse", "v1")
    compat = next(d for d in docs if d.source["path"] == "idna/compat.py")
    assert compat.source["commit"] == v1 and "second commit" not in compat.text
    assert v1 != git(git_repo, "rev-parse", "HEAD")


def test_revision_option_reads_that_commit(git_repo, tmp_path):
    """`input: {format: code, revision: v1}` in YAML reads the tagged commit through a real pipeline."""
    import pyarrow.parquet as pq
    from thresher import PipelineConfig, run
    v1 = git(git_repo, "rev-parse", "v1")
    cfg = PipelineConfig(name="rev", input={"path": str(git_repo), "format": "code", "revision": "v1"},
                         steps=[], output={"path": str(tmp_path / "out")})
    rows = pq.read_table(run(cfg, workers=1, progress=False) / "data").to_pylist()
    compat = next(r for r in rows if '"idna/compat.py"' in r["source"])
    assert f'"commit":"{v1}"' in compat["source"] and "second commit" not in compat["text"]


def test_git_shards_split_one_repository(git_repo):
    whole, _ = read_input(git_repo)
    parts, _ = read_input(git_repo, shard_mb=0.005)          # ~5 KB shards: several per repository
    assert [d.id for d in parts] == [d.id for d in whole]


def test_folder_of_archives(tmp_path, idna_tree):
    docs, counts = read_input(FX / "repos")
    repos = Counter(d.source["repo"] for d in docs)
    assert repos == {"repos/idna-3.13.tar.gz": 7, "repos/certifi-2026.5.20.zip": 3}
    lic = {d.source["repo"]: d.source["license_evidence"][0]["spdx"] for d in docs}
    assert lic == {"repos/idna-3.13.tar.gz": "BSD-3-Clause", "repos/certifi-2026.5.20.zip": "MPL-2.0"}
    core = next(d for d in docs if d.source["path"] == "idna/core.py")    # the archive's top folder is dropped
    assert core.text == (idna_tree / "idna" / "core.py").read_text()
    # the same project as a plain folder gives the same texts
    plain, _ = read_input(idna_tree)
    assert sorted(d.text for d in plain) == sorted(d.text for d in docs if "idna" in d.source["repo"])
    assert {d.source["kind"] for d in plain} == {"folder"}


def test_folder_of_git_repositories(tmp_path, git_repo):
    root = tmp_path / "many"
    root.mkdir()
    shutil.move(str(git_repo), root / "myrepo")
    shutil.copy(FX / "repos" / "idna-3.13.tar.gz", root)
    docs, _ = read_input(root)
    assert Counter(d.source["kind"] for d in docs) == {"git": 8, "archive": 7}
    assert {d.source["repo"] for d in docs} == {"many/myrepo", "many/idna-3.13.tar.gz"}


def test_language_table_and_skips():
    programming = [k for k, (kind, _) in LANGUAGES.items() if kind == "programming"]
    assert len(programming) >= 30
    assert [language_of(p) for p in ("a.py", "b.tsx", "c.rs", "Makefile", "d.ipynb", "e.unknownext")] == [
        "Python", "TypeScript", "Rust", "Makefile", "Jupyter Notebook", None]
    assert skip_reason("vendor/github.com/x/y.go") == "vendored"
    assert skip_reason("web/jquery-3.7.1.min.js") == "minified"
    assert skip_reason("api/service_pb2.py") == "generated"
    assert skip_reason("docs/logo.png") == "binary"
    assert skip_reason("src/main.py") is None


def test_notebook_to_text():
    nb = {"nbformat": 4, "metadata": {"kernelspec": {"language": "python"}},
          "cells": [{"cell_type": "markdown", "source": ["# Title\n", "Some text"]},
                    {"cell_type": "code", "source": "import idna\nidna.encode('a')", "outputs": [{"data": "x"}]}]}
    text, lang = notebook_to_text(json.dumps(nb))
    assert lang == "python"
    assert text == "# %% [markdown]\n# # Title\n# Some text\n\n# %%\nimport idna\nidna.encode('a')\n"
    with pytest.raises(ValueError):
        notebook_to_text('{"not": "a notebook"}')


def test_example_pipeline_on_fixture_repositories(tmp_path):
    cfg = load_config(EXAMPLE, output=str(tmp_path / "out"))
    out = run(cfg, workers=2, overwrite=True)
    kept = [r for f in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    gone = [r for f in sorted((out / "excluded").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert sorted(orjson.loads(r["source"])["path"] for r in kept) == [
        "LICENSE.md", "idna/__init__.py", "idna/codec.py", "idna/compat.py", "idna/core.py",
        "idna/intranges.py", "idna/package_data.py"]
    assert {orjson.loads(r["meta"])["license"] for r in kept} == {"BSD-3-Clause"}
    assert {(r["step"], r["reason"]) for r in gone} == {("license_filter", "license_not_allowed:MPL-2.0")}
    assert len(gone) == 3
    stats = json.loads((out / "stats.json").read_text())
    assert stats["reader"]["docs_read"] == 10
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["documents"] == 7


def test_folder_of_plain_repositories_named_like_project_files(tmp_path, idna_tree):
    """Child FOLDERS named like project files (``Unlicense``, ``makefile-tools``, ``license-checker``) do
    not make the parent one repository: each child is its own, with its own license (on main the parent
    was one repository and no repository license was found)."""
    from thresher.code.repos import classify

    root = tmp_path / "projects"
    names = ["Unlicense", "makefile-tools", "license-checker"]
    for n in names:
        shutil.copytree(idna_tree, root / n)
    assert classify(str(root)) == "multi"
    assert classify(str(root / "Unlicense")) == "single"
    docs, _ = read_input(root)
    assert {d.source["repo"] for d in docs} == {f"projects/{n}" for n in names}
    for d in docs:
        assert d.source["license_evidence"][0]["spdx"] == "BSD-3-Clause", d.source

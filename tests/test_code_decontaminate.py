"""Decontamination: real HumanEval / MBPP items planted in a real repository are dropped with their ids;
reformatted copies are caught as near duplicates; real code that is not a benchmark item is kept."""
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest

from thresher import run
from thresher.code.decontaminate import Decontaminate, benchmark_items
from thresher.config import PipelineConfig

FX = Path(__file__).parent / "fixtures" / "code"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.org", "-c", "user.name=t",
                    "-c", "commit.gpgsign=false", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def items() -> dict:
    return {it.id: it for name in ("humaneval", "mbpp") for it in benchmark_items(name)}


def test_shipped_benchmarks(items):
    assert len(benchmark_items("humaneval")) == 164 and len(benchmark_items("mbpp")) == 974
    assert items["HumanEval/12"].parts[0].startswith("from typing import List, Optional\n\n\ndef longest(")
    assert items["MBPP/2"].parts[0] == "Write a function to find the similar elements from the given two tuple lists."


def test_planted_solution_is_dropped_with_its_id(tmp_path, items):
    repo = tmp_path / "repo"
    with tarfile.open(FX / "repos" / "idna-3.13.tar.gz") as t:
        t.extractall(tmp_path, filter="data")
    shutil.move(tmp_path / "idna-3.13", repo)
    he = items["HumanEval/12"]
    (repo / "idna" / "strings.py").write_text('"""String helpers."""\nimport os\n\n\n' + he.parts[1] +
                                              "\n\nif __name__ == '__main__':\n    print(longest(['a', 'bb']))\n")
    # a reformatted copy (2-space indent, renamed argument) of another problem
    other = items["HumanEval/29"].parts[1]
    (repo / "idna" / "filters.py").write_text(other.replace("    ", "  ").replace("strings", "words"))
    mbpp = items["MBPP/2"]
    (repo / "tests_mbpp.py").write_text("import unittest\n\n" + mbpp.parts[2] + "\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "planted")
    cfg = PipelineConfig(name="decon", input={"path": str(repo), "format": "code"},
                         steps=[{"license_detect": {}}, {"license_filter": {}}, {"decontaminate": {}}],
                         output={"path": str(tmp_path / "out")})
    out = run(cfg, workers=1, overwrite=True)
    gone = {orjson.loads(r["source"])["path"]: r for f in (out / "excluded").glob("*.parquet")
            for r in pq.read_table(f).to_pylist()}
    assert gone["idna/strings.py"]["reason"] == "HumanEval/12" and gone["idna/strings.py"]["score"] == 1.0
    assert gone["tests_mbpp.py"]["reason"] == "MBPP/2"
    near = gone["idna/filters.py"]
    assert near["reason"] == "HumanEval/29" and near["threshold"] == 0.8 and 0.8 <= near["score"] < 1.0
    assert set(gone) == {"idna/strings.py", "idna/filters.py", "tests_mbpp.py"}
    kept = [orjson.loads(r["source"])["path"] for f in (out / "data").glob("*.parquet")
            for r in pq.read_table(f).to_pylist()]
    assert "idna/core.py" in kept and len(kept) == 7
    stats = orjson.loads((out / "stats.json").read_bytes())
    assert stats["steps"]["decontaminate"]["counters"] == {"exact": 2, "near": 1}
    assert stats["steps"]["decontaminate"]["drops"] == {"HumanEval/12": 1, "HumanEval/29": 1, "MBPP/2": 1}


def test_near_threshold_and_partial_copies(items):
    d = Decontaminate()
    sol = items["HumanEval/0"].parts[1]
    assert d.match(sol) == ("HumanEval/0", "exact", 1.0)
    assert d.match(sol.replace("    ", "\t")) == ("HumanEval/0", "exact", 1.0)     # whitespace-insensitive
    edited = re.sub(r"\bnumbers\b", "values", sol)                 # one argument renamed everywhere
    got = d.match(edited)
    assert got is not None and got[:2] == ("HumanEval/0", "near") and 0.8 <= got[2] < 0.9
    assert Decontaminate(near_threshold=0.9).match(edited) is None
    # renaming both arguments changes most lines: below the bar (a limit of line/5-gram matching)
    assert d.match(edited.replace("threshold", "limit")) is None
    assert Decontaminate(benchmarks=["mbpp"]).match(sol) is None


def test_real_code_is_not_flagged(tmp_path):
    d = Decontaminate()
    with tarfile.open(FX / "licensee_fixtures.tar.xz") as t:
        t.extractall(tmp_path, filter="data")
    with tarfile.open(FX / "repos" / "idna-3.13.tar.gz") as t:
        t.extractall(tmp_path, filter="data")
    texts = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert len(texts) > 100
    assert [d.match(t) for t in texts] == [None] * len(texts)

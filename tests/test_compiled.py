"""Compiled kernels: the cache location of a read-only install, and compile time reported apart from
the step that triggered it (a first run's compile is never a step's time)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from thresher.compiled import cache_dir
from thresher.stats import Stats

LINGUA = Path(__file__).parent / "fixtures" / "io" / "lingua.jsonl"


def test_cache_dir_writable_install_uses_numbas_default(tmp_path):
    assert cache_dir(tmp_path, {}) is None


def test_cache_dir_read_only_install_falls_back_to_the_users_cache(tmp_path):
    ro = tmp_path / "site-packages" / "thresher"
    ro.mkdir(parents=True)
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):      # root writes anywhere: then the writable rule applies
            assert cache_dir(ro, {}) is None
        else:
            assert cache_dir(ro, {"XDG_CACHE_HOME": str(tmp_path / "xdg")}) == str(tmp_path / "xdg" / "thresher" / "numba")
            assert cache_dir(ro, {"HOME": "/nowhere"}).endswith("/.cache/thresher/numba")
    finally:
        ro.chmod(0o755)
    # explicit settings win, in this order
    assert cache_dir(ro, {"NUMBA_CACHE_DIR": "/a", "THRESHER_CACHE_DIR": "/b"}) == "/a"
    assert cache_dir(ro, {"THRESHER_CACHE_DIR": "/b"}) == "/b/numba"


def test_stats_jit_is_additive_and_round_trips():
    a, b = Stats(), Stats()
    a.jit.update({"compile_seconds": 1.5})
    b.jit.update({"compile_seconds": 0.5, "load_seconds": 0.25})
    s = Stats.from_json((a + b).to_json())
    assert s.jit == {"compile_seconds": 2.0, "load_seconds": 0.25}
    assert "jit" not in Stats().to_json()        # a run without kernels: stats.json as before


def _run(tmp_path: Path, cache: Path, name: str) -> dict:
    (tmp_path / f"{name}.yaml").write_text(
        f"name: {name}\ninput: {{path: \"{LINGUA}\", format: jsonl}}\nsteps:\n  - fineweb_quality: {{}}\n"
        f"output: {{path: \"{tmp_path / name}\"}}\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    subprocess.run([sys.executable, "-m", "thresher", "run", str(tmp_path / f"{name}.yaml"), "-w", "1"],
                   check=True, env=env, capture_output=True)
    return json.loads((tmp_path / name / "stats.json").read_text())


@pytest.mark.slow          # compiles one step's kernels from scratch (~15 CPU-seconds)
def test_first_run_compile_time_is_reported_apart_and_cached(tmp_path):
    cache = tmp_path / "numba-cache"             # a fresh install: nothing compiled yet
    first = _run(tmp_path, cache, "first")
    compiled = first["jit"]["compile_seconds"]
    assert compiled > 0.2
    assert first["steps"]["fineweb_quality"]["seconds"] < compiled   # not counted as the step's time
    assert any(cache.rglob("*.nbi"))             # written to the cache NUMBA_CACHE_DIR names
    second = _run(tmp_path, cache, "second")
    assert second["jit"].get("compile_seconds", 0.0) == 0.0          # loaded from the cache, not compiled
    assert second["jit"]["load_seconds"] > 0
    assert second["steps"]["fineweb_quality"]["docs_out"] == first["steps"]["fineweb_quality"]["docs_out"]


@pytest.mark.slow          # compiles the word-count kernels from scratch (~10 CPU-seconds)
def test_warm_kernels_compile_what_a_large_shards_measurements_use(tmp_path):
    """The pipelines of `thresher warmup` measure their small shards in Python (measurements.SMALL), so
    it compiles the word-count kernels itself: a shard above SMALL then compiles nothing."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    subprocess.run([sys.executable, "-c", "from thresher.measurements import warm_kernels; warm_kernels()"],
                   check=True, env=env)
    code = ("import json, thresher.measurements as M\nfrom thresher.compiled import JitClock\n"
            "M.SMALL = 0\nimport thresher.text.wordcount\nJitClock.install()\n"
            "sk = M.Sketch(terms=tuple(M.identity_terms()))\nsk.add(['She said: a larger shard.'] * 50, ['eng'] * 50)\n"
            "print(json.dumps([JitClock.snapshot(), sk.languages['eng'].docs]))")
    r = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True)
    jit, docs = json.loads(r.stdout)
    assert docs == 50 and jit["compile_seconds"] == 0.0 and jit["load_seconds"] > 0


@pytest.mark.slow          # runs `thresher warmup` (seconds with numba's cache warm, ~1.5 min from scratch)
def test_warmup_compiles_the_update_kernel():
    """``thresher warmup`` runs an update too: the kernel matching new documents against a release's
    dedup index (index_match._cross_similarity) is loaded, with the argument types of a real update."""
    code = ("from thresher.warmup import warmup; warmup(1); "
            "from thresher.dedup.index_match import _cross_similarity as k; print(len(k.signatures))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert int(out.stdout.split()[-1]) == 1

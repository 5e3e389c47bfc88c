"""The Ray executor on a real local Ray instance (loopback, 2 CPUs, started once for the module): the
same releases as the local process pool, byte for byte, also when a worker is killed mid-shard or the
driver is killed and the command re-run; a task that keeps failing stops the run naming its shard."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from importlib.resources import files
from pathlib import Path

from ray import cloudpickle
import orjson
import pytest
import ray

from thresher.config import PipelineConfig, load_config, with_executor
from thresher.executors import Executor, LocalExecutor, make_executor
from thresher.executors.ray import RayExecutor, TaskFailed
from thresher.io import ShardSpec
from thresher.paths import markers_dir
from thresher.pipeline import run

SAMPLES = Path(str(files("thresher") / "samples"))
UDHR = Path(__file__).parent / "fixtures" / "dedup" / "udhr-*.jsonl.gz"
DEDUP_STEPS = ["exact_dedup", {"minhash_dedup": {}}]

cloudpickle.register_pickle_by_value(sys.modules[__name__])     # Ray workers get this module's functions by value


@pytest.fixture(scope="module")
def cluster():
    """A private Ray instance of this machine (2 CPUs; Ray 2.60 names it by the host's own address and
    requires its session token); the tests' drivers connect to its address."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def release_files(out: Path) -> dict[str, str]:
    """sha256 of every published data file (data, excluded, clusters) and the Merkle root."""
    got = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
           for d in ("data", "excluded", "clusters") for p in sorted((out / d).rglob("*")) if p.is_file()}
    got["merkle_root"] = orjson.loads((out / "manifest.json").read_bytes())["merkle"]["root"]
    return got


def dedup_config(out: Path, steps: list = DEDUP_STEPS) -> PipelineConfig:
    # small shards: 9 shards of UDHR translations, so every stage and fit has several tasks
    return PipelineConfig(name="dedup", input={"path": str(UDHR), "format": "jsonl", "shard_mb": 0.1},
                          steps=steps, output={"path": str(out)})


@pytest.fixture(scope="module")
def local_dedup(tmp_path_factory) -> dict[str, str]:
    out = run(dedup_config(tmp_path_factory.mktemp("local") / "r"), workers=2, overwrite=True)
    files_ = release_files(out)
    assert len([k for k in files_ if k.startswith("data/")]) >= 3      # several shards
    assert any(k.startswith("clusters/minhash_dedup/") for k in files_)
    return files_


@pytest.mark.slow
def test_demo_release_identical_to_local(cluster, tmp_path):
    cfg = load_config(SAMPLES / "demo.yaml", str(tmp_path / "local"))
    local = release_files(run(cfg, workers=2, overwrite=True, progress=False))
    cfg = with_executor(load_config(SAMPLES / "demo.yaml", str(tmp_path / "ray")), "ray", cluster)
    assert cfg.executor.kind == "ray" and cfg.config_hash() == load_config(SAMPLES / "demo.yaml").config_hash()
    assert release_files(run(cfg, progress=False)) == local


def test_dedup_release_identical_to_local(cluster, local_dedup, tmp_path):
    ex = make_executor({"kind": "ray", "address": cluster, "cpus": 1, "memory_mb": 256})
    assert isinstance(ex, RayExecutor) and isinstance(ex, Executor) and ex.workers == 2
    assert release_files(run(dedup_config(tmp_path / "r"), executor=ex)) == local_dedup


def _kill_once(flag: str):
    """A pass-through step whose first call, in whichever worker, SIGKILLs that worker mid-shard."""
    def kill_once(doc):
        try:
            os.close(os.open(flag, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return True
        os.kill(os.getpid(), signal.SIGKILL)
    return kill_once


def test_killed_worker_is_retried_and_release_identical(cluster, local_dedup, tmp_path):
    flag = tmp_path / "killed"
    cfg = dedup_config(tmp_path / "r", [_kill_once(str(flag))] + DEDUP_STEPS)
    out = run(cfg, executor=RayExecutor(cluster, retries=2))
    assert flag.exists()                    # a worker really died: its task ran again elsewhere
    assert release_files(out) == local_dedup


@pytest.mark.slow
def test_killed_driver_resumes_on_rerun(cluster, local_dedup, tmp_path):
    out = tmp_path / "r"
    yaml_path = tmp_path / "dedup.yaml"
    yaml_path.write_text(dedup_config(out).to_yaml())
    cmd = [sys.executable, "-c", "from thresher.cli import main; main()", "run", str(yaml_path),
           "--executor", "ray", "--ray-address", cluster]
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not (markers_dir(out).is_dir() and any(markers_dir(out).iterdir())) and time.time() < deadline:
        assert driver.poll() is None, driver.stderr.read().decode()
        time.sleep(0.02)
    driver.kill()                            # the driver dies between two shards' markers
    driver.wait()
    assert not (out / "manifest.json").exists()
    before = {p.name: p.stat().st_mtime_ns for p in markers_dir(out).iterdir()}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert release_files(out) == local_dedup
    after = {p.name: p.stat().st_mtime_ns for p in markers_dir(out).iterdir()}
    assert all(after[k] == v for k, v in before.items())        # finished shards were not run again


def _always_fails(spec, *args):
    raise RuntimeError(f"disk full while writing {spec.index}")


def test_task_that_keeps_failing_names_its_shard_and_input(cluster):
    ex = RayExecutor(cluster, retries=1, progress=False)
    specs = [ShardSpec(i, "jsonl", (f"in/part-{i}.jsonl",), "/data", 0, None, {}) for i in range(3)]
    with pytest.raises(TaskFailed) as e:
        ex.map(_always_fails, specs, desc="demo stage 1/2")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("demo stage 1/2: shard part-0000")
    assert "(input in/part-" in msg and "failed after 2 tries: RuntimeError: disk full while writing" in msg


def test_cli_unknown_executor_is_one_line(tmp_path):
    yaml_path = tmp_path / "dedup.yaml"
    yaml_path.write_text(dedup_config(tmp_path / "r").to_yaml())
    r = subprocess.run([sys.executable, "-c", "from thresher.cli import main; main()", "run", str(yaml_path),
                        "--executor", "nope"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and r.stderr.startswith("Error: --executor")


def test_map_keeps_item_order_and_runs_meanwhile(cluster):
    ex = RayExecutor(cluster, progress=False)
    seen = []
    assert ex.map(pow, list(range(20)), 2, meanwhile=lambda: seen.append(1)) == [i * i for i in range(20)]
    assert seen == [1] and LocalExecutor(2, False).map(pow, list(range(20)), 2) == [i * i for i in range(20)]

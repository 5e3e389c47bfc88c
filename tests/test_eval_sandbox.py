"""The code sandbox: canonical solutions pass, stubs fail, hostile programs are contained."""
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import orjson
import pytest

from thresher.errors import ConfigError
from thresher.eval.code import evaluate_samples, read_samples, summary_path
from thresher.eval.sandbox import Limits, Sandbox, require_permission
from thresher.eval.tasks import load_tasks

# MBPP/123's reference solution (amicable numbers below 9999 by trial division) runs far longer than
# any harness's time limit: ~10^8 modulo operations in CPython.
MBPP_TOO_SLOW = {"MBPP/123"}


def _run_all(sb, programs, workers=4):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(sb.run, programs))


def test_refuses_without_permission():
    with pytest.raises(ConfigError, match="--allow-code-execution"):
        require_permission(False)


def test_refuses_without_bwrap(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(ConfigError, match="bwrap"):
        Sandbox()
    weaker = Sandbox(isolation="process")        # only when asked, and it says so
    assert weaker.describe()["statement"].startswith("WEAKER")
    assert weaker.run("assert 1 + 1 == 2").status == "passed"


def test_isolation_is_recorded():
    d = Sandbox().describe()
    assert d["isolation"] == "bwrap" and d["bwrap"].startswith("bubblewrap")
    assert "no network" in d["statement"] and d["limits"]["timeout"] == 3.0


def test_pass_needs_the_program_to_run_to_its_end():
    sb = Sandbox(Limits(timeout=2))
    assert sb.run("print('ok')").status == "passed"
    for early in ("import os; os._exit(0)", "import sys; sys.exit(0)", "raise SystemExit", "assert False"):
        assert sb.run(early + "\nassert False").status == "failed", early


def test_humaneval_first_problems():
    tasks = list(load_tasks("humaneval").values())[:12]
    sb = Sandbox()
    assert [o.status for o in _run_all(sb, [t.program(t.canonical) for t in tasks])] == ["passed"] * 12
    assert [o.status for o in _run_all(sb, [t.program(t.stub()) for t in tasks])] == ["failed"] * 12


@pytest.mark.slow
def test_humaneval_canonical_164_pass_and_stubs_fail():
    tasks = list(load_tasks("humaneval").values())
    assert len(tasks) == 164
    sb = Sandbox()
    good = _run_all(sb, [t.program(t.canonical) for t in tasks])
    assert [t.task_id for t, o in zip(tasks, good) if o.status != "passed"] == []
    bad = _run_all(sb, [t.program(t.stub()) for t in tasks])
    assert [t.task_id for t, o in zip(tasks, bad) if o.status == "passed"] == []


@pytest.mark.slow
def test_mbpp_canonical_pass_and_stubs_fail():
    tasks = list(load_tasks("mbpp-full").values())
    assert len(tasks) == 974 and len(load_tasks("mbpp")) == 500
    sb = Sandbox()
    good = _run_all(sb, [t.program(t.canonical) for t in tasks])
    # MBPP/123's reference solution is ~1e8 trial divisions: it passes on a quiet machine, times out on a busy one
    assert {t.task_id for t, o in zip(tasks, good) if o.status != "passed"} <= MBPP_TOO_SLOW
    assert all(o.status in ("passed", "timeout") for t, o in zip(tasks, good) if t.task_id in MBPP_TOO_SLOW)
    bad = _run_all(sb, [t.program(t.stub()) for t in tasks])
    assert [t.task_id for t, o in zip(tasks, bad) if o.status == "passed"] == []


def _sandboxed_pids(tag: str) -> list[int]:
    """Processes still running with this sandbox's tag in their environment."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if f"THRESHER_SANDBOX={tag}\0".encode() in (p / "environ").read_bytes():
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def test_straggler_check_sees_a_running_program():
    """The check the hostile suite ends with does see sandboxed processes while they run."""
    sb = Sandbox(Limits(timeout=1.5, startup=2))
    th = threading.Thread(target=sb.run, args=("import os, time\nif os.fork() == 0:\n    os.setsid()\ntime.sleep(30)",))
    th.start()
    seen = []
    for _ in range(30):
        time.sleep(0.1)
        seen = _sandboxed_pids(sb.tag)
        if len(seen) >= 2:
            break
    th.join()
    assert len(seen) >= 2
    time.sleep(0.2)
    assert _sandboxed_pids(sb.tag) == []


def test_hostile_programs_are_contained(tmp_path, monkeypatch):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    secret = tmp_path / "home" / ".ssh" / "id_rsa"
    secret.parent.mkdir(parents=True)
    secret.write_text("PRIVATE KEY")
    os.chmod(tmp_path, 0o777)       # permissions alone would not stop the sandbox's uid: isolation must
    monkeypatch.setenv("THRESHER_TEST_SECRET", "s3cret")
    decoy = subprocess.Popen(["sleep", "60"])
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections = []

    def accept():
        end = time.time() + 60
        while time.time() < end and not connections:
            try:
                connections.append(server.accept())
            except (socket.timeout, OSError):
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    home = Path.home()
    hostile = {
        "fork bomb": "import os\nwhile True:\n    os.fork()",
        "fork bomb, fork errors ignored": "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
        "memory bomb": "x = []\nwhile True:\n    x.append(bytearray(10**7))",
        "infinite loop": "while True:\n    pass",
        "sleeps past the limit": "import time\ntime.sleep(60)",
        "writes outside its dir": f"open({str(tmp_path / 'pwned')!r}, 'w').write('x')",
        "writes into /usr": "open('/usr/lib/pwned', 'w').write('x')",
        "deletes files": f"import os\nos.remove({str(victim)!r})",
        "network connection": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)",
        "network to the internet": "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=1)",
        "kills its parent": "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(0.3)\n"
                            "os.kill(os.getppid(), 0)\nassert False, 'parent survived'",
        "kills the harness": f"import os, signal\nos.kill({os.getpid()}, signal.SIGTERM)",
        "kills a host process": f"import os, signal\nos.kill({decoy.pid}, signal.SIGKILL)",
        "kills everything": "import os, signal\nos.kill(-1, signal.SIGKILL)\nassert False",
        "reads the user's home": f"print(open({str(secret)!r}).read())",
        "lists the real home": f"import os\nassert os.listdir({str(home)!r})",
        "reads the environment": "import os\nprint(os.environ['THRESHER_TEST_SECRET'])",
        "output bomb": "while True:\n    print('x' * 100000)",
        "escapes the session": "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nelse:\n"
                               "    time.sleep(60)",
    }
    sb = Sandbox(Limits(timeout=1, startup=2))
    t0 = time.perf_counter()
    outcomes = dict(zip(hostile, _run_all(sb, list(hostile.values()), workers=8)))
    elapsed = time.perf_counter() - t0
    try:
        assert {n: o.status for n, o in outcomes.items() if o.status == "passed"} == {}
        assert victim.read_text() == "keep me" and not (tmp_path / "pwned").exists()
        assert not Path("/usr/lib/pwned").exists()
        assert decoy.poll() is None, "a host process was killed"
        time.sleep(0.3)
        assert connections == [], "a sandboxed program reached a host socket"
        assert "s3cret" not in outcomes["reads the environment"].output
        assert "PRIVATE KEY" not in outcomes["reads the user's home"].output
        assert outcomes["infinite loop"].status == "timeout"
        assert len(outcomes["output bomb"].output) <= 2000
        assert elapsed < 3.0 * len(hostile) / 8 + 3.0, elapsed     # every program bounded by timeout + startup
        time.sleep(0.2)
        assert _sandboxed_pids(sb.tag) == [], "sandboxed processes outlived their run"
        assert Sandbox().run("assert sum(range(10)) == 45").status == "passed"     # the harness still works
    finally:
        decoy.kill()
        server.close()


def test_evaluate_samples_resumes_and_counts(tmp_path):
    tasks = list(load_tasks("humaneval").values())[:3]
    gen = tmp_path / "samples.jsonl"
    lines = []
    for t in tasks:
        lines += [{"task_id": t.task_id, "completion": t.canonical}, {"task_id": t.task_id, "completion": t.stub()},
                  {"task_id": t.task_id, "completion": t.canonical}]
    gen.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in lines) + b"{broken\n"
                    + orjson.dumps({"task_id": "HumanEval/9999", "completion": ""}) + b"\n")
    read = read_samples(gen, "humaneval")
    assert len(read.samples) == 9 and dict(read.skipped) == {"bad_line": 1, "unknown_task": 1}
    out = tmp_path / "res" / "code.jsonl"
    s = evaluate_samples(read.samples, "humaneval", out, ks=(1, 2, 3, 10))
    assert s["executed_now"] == 9 and s["statuses"] == {"passed": 6, "failed": 3}
    assert s["pass@1"] == pytest.approx(2 / 3) and s["pass@2"] == pytest.approx(1.0) and "pass@10" not in s
    assert s["sandbox"]["isolation"] == "bwrap" and s["energy"]["kwh"] >= 0 and s["energy"]["method"]
    # a crash leaves a cut last line: that sample (and only it) runs again
    data = out.read_bytes().splitlines()
    out.write_bytes(b"\n".join(data[:-1]) + b"\n" + data[-1][:20])
    s2 = evaluate_samples(read.samples, "humaneval", out, ks=(1,))
    assert s2["executed_now"] == 1 and s2["resumed"] == 8 and s2["pass@1"] == pytest.approx(2 / 3)
    assert len(out.read_bytes().splitlines()) == 9
    assert orjson.loads(summary_path(out).read_bytes())["pass@1"] == pytest.approx(2 / 3)

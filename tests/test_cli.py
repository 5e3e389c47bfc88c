"""The CLI: user errors end in one line `Error: ...` and a non-zero exit; commands print what they promise."""
import subprocess
import sys
from pathlib import Path

import pytest

IO = Path(__file__).parent / "fixtures" / "io"


def thresher(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "thresher.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(text)
    return p


GOOD = f"""name: t
input: {{path: "{IO}/lingua.jsonl", format: jsonl}}
steps:
  - length_filter: {{min_chars: 100}}
output: {{path: out}}
"""


@pytest.mark.parametrize("text, expected", [
    ("name: t\ninput: {path: x, format: jsonl\nsteps: []\n", "invalid YAML"),
    (GOOD.replace("length_filter", "no_such_step"), ":4: unknown step 'no_such_step'"),
    (GOOD.replace("min_chars: 100", "min_char: 100"), ":4: step 'length_filter': option 'min_char'"),
    (GOOD.replace("min_chars: 100", "min_chars: lots"), "option 'min_chars': Input should be a valid integer"),
    (GOOD.replace("format: jsonl", "format: jsnol"), ":2: 'input.format': unknown format 'jsnol'"),
    (GOOD.replace("name: t\n", ""), "'name': Field required"),
    (GOOD.replace("output:", "outptu:"), "'outptu': Extra inputs are not permitted"),
    (GOOD.replace(f"{IO}/lingua.jsonl", "/nonexistent/x.jsonl"), "/nonexistent/x.jsonl: input not found"),
])
def test_user_errors_are_one_line(tmp_path, text, expected):
    r = thresher("run", write(tmp_path, text))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert expected in lines[0]


def test_missing_pipeline_and_release(tmp_path):
    r = thresher("run", tmp_path / "nope.yaml")
    assert r.returncode == 1 and r.stderr.strip() == f"Error: {tmp_path / 'nope.yaml'}: pipeline file not found"
    r = thresher("stats", tmp_path)
    assert r.returncode == 1 and "not a thresher release" in r.stderr


def test_run_stats_why_steps(tmp_path):
    r = thresher("run", write(tmp_path, GOOD), "-w", "1")
    assert r.returncode == 0, r.stderr
    assert "Release written" in r.stdout
    r = thresher("stats", tmp_path / "out")
    assert "length_filter" in r.stdout and "too_short" in r.stdout
    import pyarrow.parquet as pq
    dropped = pq.read_table(tmp_path / "out" / "excluded").to_pylist()[0]
    r = thresher("why", tmp_path / "out", dropped["id"])
    assert '"status": "excluded"' in r.stdout and '"reason": "too_short"' in r.stdout
    r = thresher("why", tmp_path / "out", "no-such-id")
    assert r.returncode == 1 and "no document with id 'no-such-id'" in r.stderr
    r = thresher("steps")
    assert r.returncode == 0 and "length_filter" in r.stdout and "min_chars" in r.stdout


def test_rerun_with_changed_config_is_refused(tmp_path):
    assert thresher("run", write(tmp_path, GOOD)).returncode == 0
    r = thresher("run", write(tmp_path, GOOD.replace("100", "50")))
    assert r.returncode == 1 and "different pipeline config" in r.stderr
    assert thresher("run", tmp_path / "p.yaml", "--overwrite").returncode == 0


def test_demo_runs_on_bundled_sample(tmp_path):
    r = thresher("demo", tmp_path / "demo", "-w", "2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "demo" / "demo" / "manifest.json").exists() and "Release written" in r.stdout
    assert (tmp_path / "demo" / "governance" / "custodian.pub").is_file()     # beside the release, not in the cwd


def test_the_script_leaves_without_teardown_but_like_a_normal_exit(tmp_path):
    """``main()`` ends the process with os._exit after the command (no interpreter teardown): the exit
    status is the command's, everything printed reaches a pipe, atexit handlers still run."""
    prog = ("import atexit, sys\n"
            "atexit.register(lambda: print('atexit ran', file=sys.stderr))\n"
            "from thresher.cli import main\nmain()\n")
    ok = subprocess.run([sys.executable, "-c", prog, "steps"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "atexit ran" in ok.stderr
    assert ok.stdout == thresher("steps").stdout and "pii_redact" in ok.stdout     # the whole table, flushed
    bad = subprocess.run([sys.executable, "-c", prog, "stats", str(tmp_path / "nothing")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: ") and "atexit ran" in bad.stderr
    usage = subprocess.run([sys.executable, "-c", prog, "no-such-command"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "No such command" in usage.stderr

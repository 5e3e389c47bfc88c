"""The public surface as documented: the README's Python example runs as written, the package is typed."""
from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import orjson

ROOT = Path(__file__).parents[1]
FIX = Path(__file__).parent / "fixtures"


def test_readme_python_example_runs_and_run_returns_the_release_path(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "run(cfg" in b)
    code = code.replace("dump/*.jsonl.zst", str(FIX / "io" / "lingua.jsonl")).replace("out/demo", str(tmp_path / "demo"))
    code = code.replace("workers=2", "workers=1")
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    import thresher

    assert scope["path"] == tmp_path / "demo" and isinstance(scope["release"], thresher.Release)
    assert scope["release"].manifest["documents"] > 0
    # the example's filter acts: language_id labels the Chinese documents, no_chinese drops them
    stats = orjson.loads((tmp_path / "demo" / "stats.json").read_bytes())
    assert stats["steps"]["no_chinese"]["drops"].get("chinese", 0) > 0, stats["steps"]["no_chinese"]


def test_package_is_typed() -> None:
    assert files("thresher").joinpath("py.typed").is_file()
    assert '"py.typed"' in (ROOT / "pyproject.toml").read_text()

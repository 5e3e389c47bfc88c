"""Typed pipeline config. YAML round-trips to Python; errors name the bad key and its line."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import orjson
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from . import plugins
from .errors import ConfigError
from .steps import Step, make_step
from .steps.base import label_steps
from .storage import is_remote

# Input options added after releases were built: at their defaults they stay out of the config hash.
INPUT_DEFAULTS = {"max_document_mb": 64.0, "max_member_mb": 16384.0, "language": None, "per_page": False,
                  "min_page_chars": 32, "dpi": 300, "ocr": True, "asr": None}


class AsrConfig(BaseModel):
    """Speech recognition for ``format: audio`` (see thresher.media.asr)."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["pocketsphinx", "whisper"] = "pocketsphinx"
    model_path: str | None = Field(None, description="local model folder (whisper: required; nothing downloads)")
    language: str | None = Field(None, description="spoken language (default: the input's language)")


class InputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | list[str] = Field(description="file, folder or glob (relative to the YAML file)")
    format: str = Field(description="warc | jsonl | parquet | text | code | pdf | image | audio (and any a plugin registers)")
    text_key: str = "text"
    id_key: str = "id"
    shard_mb: float = Field(16.0, gt=0, description="split files larger than this into several shards")
    revision: str | None = Field(None, description="code: the git commit, tag or branch to read (default HEAD)")
    max_document_mb: float = Field(64.0, gt=0, description="a record or file larger than this is skipped and "
                                   "counted (skipped_too_large), checked while it streams")
    max_member_mb: float = Field(16384.0, gt=0, description="stop reading a compressed file or member once it "
                                 "decompresses past this (skipped_member_too_large)")
    # pdf / image / audio (thresher.media)
    language: str | None = Field(None, description="pdf/image/audio: declared language (picks the OCR pack)")
    per_page: bool = Field(False, description="pdf/image: one document per page instead of per file")
    min_page_chars: int = Field(32, ge=0, description="pdf: OCR pages whose text layer has fewer characters")
    dpi: int = Field(300, gt=0, le=1200, description="pdf: resolution pages are rendered at for OCR")
    ocr: bool = Field(True, description="pdf: OCR pages without a usable text layer")
    asr: AsrConfig | None = Field(None, description="audio: {backend, model_path, language}")
    _base_dir: str = PrivateAttr(".")      # the YAML file's folder: asr.model_path resolves against it

    @field_validator("format")
    @classmethod
    def _known_format(cls, v: str) -> str:
        from .io import READERS

        if v not in READERS:
            raise ValueError(f"unknown format '{v}' (known: {', '.join(sorted(READERS))})")
        return v

    def paths(self) -> list[str]:
        return [self.path] if isinstance(self.path, str) else list(self.path)


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    compression: str = "zstd"
    row_group_rows: int = Field(10_000, gt=0)
    duplicate_ids: Literal["suffix", "keep_first", "refuse"] = Field(
        "suffix", description="two kept documents with one id: rename the later ones id#2, id#3 ... (suffix), "
                              "drop them and count (keep_first), or stop the run naming the id (refuse)")
    order: Literal["input", "source"] = Field(
        "input", description="how documents are cut into shards: as the input came (input), or in "
                             "source-key ranges (source), so removals by URL, prefix or domain touch few shards")
    excluded: Literal["trace", "redacted"] = Field(
        "trace", description="what excluded/ publishes of a dropped document: id, provenance and reason only "
                             "(trace), or also its text through the PII and secrets redaction (redacted)")


class ExecutorConfig(BaseModel):
    """Where the shards run: ``local`` (a process pool) or ``ray`` (thresher.executors.ray)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "ray"] = "local"
    address: str | None = Field("auto", description="ray: auto (a running cluster), HOST:PORT, ray://HOST:PORT, or local")
    workers: int | None = Field(None, gt=0, description="local: worker processes; ray: tasks planned per fit (default: the cluster's CPUs)")
    cpus: float = Field(1.0, gt=0, description="ray: CPUs reserved per task")
    memory_mb: int | None = Field(None, gt=0, description="ray: memory reserved per task")
    retries: int = Field(3, ge=0, description="ray: further tries of a task whose worker died or that failed")


class PipelineConfig(BaseModel):
    """A pipeline: inputs, an ordered list of steps, and where the release goes."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str
    input: InputConfig | list[InputConfig]
    steps: list[Any] = Field(default_factory=list)
    output: OutputConfig
    card: dict[str, Any] = Field(default_factory=dict,
                                 description="data card options (target_shares, license, pretty_name)")
    executor: ExecutorConfig | None = Field(None, description="where shards run (not part of the config hash)")
    base_dir: str = Field(".", exclude=True, description="relative paths resolve against this folder")
    plugins: dict[str, dict[str, str]] = Field(default_factory=plugins.registered, exclude=True,
                                               description="Python registrations (thresher.plugins) the workers need")
    limit: int | None = Field(None, ge=1, description="read only the first N documents of the inputs (a trial "
                              "run: `thresher run PIPELINE --limit N`)")

    @field_validator("steps")
    @classmethod
    def _check_steps(cls, steps: list[Any]) -> list[Any]:
        out = []
        for i, s in enumerate(steps):
            if isinstance(s, Step) or callable(s):
                out.append(s)
                continue
            if isinstance(s, str):
                s = {s: {}}
            if not (isinstance(s, dict) and len(s) == 1):
                raise ValueError(f"step #{i + 1} must be a step name or a one-key mapping {{name: {{options}}}}")
            (name, opts), = s.items()
            if opts is not None and not isinstance(opts, dict):
                raise ValueError(f"options of step '{name}' must be a mapping")
            out.append({name: opts or {}})
        return out

    @model_validator(mode="after")
    def _inputs_know_base_dir(self) -> "PipelineConfig":
        for inp in self.inputs():
            inp._base_dir = self.base_dir
        return self

    def inputs(self) -> list[InputConfig]:
        return [self.input] if isinstance(self.input, InputConfig) else list(self.input)

    def resolve(self, p: str) -> Path:
        path = Path(p).expanduser()
        return path if path.is_absolute() else Path(self.base_dir) / path

    def output_dir(self) -> Path:
        return self.resolve(self.output.path)

    def build_steps(self) -> list[Step]:
        """The pipeline's steps, each with its unique label (``name``, ``name#2`` ...)."""
        return label_steps([build_step(s, self.base_dir) for s in self.steps])

    def recipe(self) -> dict[str, Any]:
        """The config as data (what the hash covers: inputs and steps, not where the output goes)."""
        d = self.model_dump(mode="json", exclude={"output", "steps", "executor"})
        if d.get("limit") is None:         # unset, the hash is what it was before the option existed
            d.pop("limit", None)
        for inp in d["input"] if isinstance(d["input"], list) else [d["input"]]:
            for k, v in INPUT_DEFAULTS.items():          # at their defaults, the hash is what it was before
                if k in inp and inp[k] == v:
                    inp.pop(k)
        d["steps"] = [_step_entry(s) for s in self.steps]
        if self.output.order != "input":       # decides which shard holds what (and which copy is kept)
            d["order"] = self.output.order
        if self.output.excluded != "trace":    # decides what excluded/ publishes
            d["excluded"] = self.output.excluded
        if self.output.duplicate_ids != "suffix":
            d["duplicate_ids"] = self.output.duplicate_ids
        return d

    def config_hash(self) -> str:
        """Hash of what decides the data: card options are documentation, so they are left out."""
        recipe = {k: v for k, v in self.recipe().items() if k != "card"}
        return hashlib.sha256(orjson.dumps(recipe, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def to_yaml(self) -> str:
        d = self.model_dump(mode="json", exclude={"steps"})
        d["steps"] = [_step_entry(s) for s in self.steps]
        keys = ("name", "input", "steps", "output") + (("card",) if self.card else ()) + (("limit",) if self.limit else ())
        keys += ("executor",) if self.executor is not None else ()
        return yaml.safe_dump({k: d[k] for k in keys}, sort_keys=False)


def _step_entry(s: Any) -> Any:
    """A step as config data; a Python object is named by its import path (stable across runs)."""
    if isinstance(s, dict):
        return s
    obj = s if callable(s) and not isinstance(s, Step) else type(s)
    return {"python": f"{obj.__module__}.{obj.__qualname__}"}


def build_step(spec: Any, base_dir: str | None = None) -> Step:
    """A step from its config entry: ``{name: options}``, a Step instance, or a plain function.

    Options named ``*_file`` are paths: relative ones resolve against the YAML file's folder, like inputs.
    """
    from .steps.base import FunctionStep

    if isinstance(spec, Step):
        return spec
    if isinstance(spec, dict):
        (name, opts), = spec.items()
        if base_dir is not None:
            opts = {k: str(Path(base_dir) / v) if k.endswith("_file") and isinstance(v, str)
                    and not Path(v).expanduser().is_absolute() else v for k, v in opts.items()}
        return make_step(name, opts)
    return FunctionStep(spec)


def _lines(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Map every key path in a YAML document to its 1-based line number."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out[path + (k.value,)] = k.start_mark.line + 1
            _lines(v, path + (k.value,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, path + (i,), out)
    return out


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    loc = tuple(x for x in loc if not (isinstance(x, str) and x in ("InputConfig", "list[InputConfig]")))
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return lines[loc[:n]]
    return None


def load_config(path: str | Path, output: str | None = None) -> PipelineConfig:
    """Read and validate a pipeline YAML; any problem is a ConfigError naming file, key and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: pipeline file not found")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{mark.line + 1}" if mark else "?"
        raise ConfigError(f"{path}:{where}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a pipeline must be a mapping with name, input, steps, output")
    lines = _lines(node) if node is not None else {}
    if output is not None:
        data.setdefault("output", {})["path"] = output if is_remote(output) else str(Path(output).resolve())
    try:
        cfg = PipelineConfig(**data, base_dir=str(path.parent.resolve()))
    except pydantic.ValidationError as e:
        errs = e.errors()    # a misspelt key explains the "missing" error it causes: report it first
        err = next((x for x in errs if x["type"] == "extra_forbidden"), errs[0])
        loc = tuple(err["loc"])
        key = ".".join(str(x) for x in loc if x not in ("InputConfig", "list[InputConfig]"))
        line = _line_of(lines, loc)
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}:{line or '?'}: '{key}': {msg}") from None
    for i, s in enumerate(cfg.steps):   # build once now so an unknown step or bad option fails early
        try:
            build_step(s, cfg.base_dir)
        except ConfigError as e:
            raise ConfigError(f"{path}:{_line_of(lines, ('steps', i)) or '?'}: {e}") from None
    return cfg


def with_executor(cfg: PipelineConfig, kind: str | None = None, address: str | None = None) -> PipelineConfig:
    """The config with ``--executor`` / ``--ray-address`` from the command line over its ``executor:``."""
    if kind is None and address is None:
        return cfg
    spec = cfg.executor.model_dump() if cfg.executor is not None else {}
    spec["kind"] = kind or ("ray" if address else spec.get("kind", "local"))
    if address is not None:
        spec["address"] = address
    try:
        cfg.executor = ExecutorConfig(**spec)
    except pydantic.ValidationError as e:
        raise ConfigError(f"--executor: {e.errors()[0]['msg']}") from None
    return cfg

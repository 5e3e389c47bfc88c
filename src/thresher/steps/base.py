"""Step kinds. A step is a callable over Documents; thin bases hold the shared loop.

- ``Annotator.annotate(doc)`` writes scores into ``doc.meta[self.meta_key]`` (a versioned name).
- ``Filter.decide(doc)`` returns keep (``True``/``None``) or ``Drop(reason, score, threshold)``.
- ``Modifier.modify(doc)`` returns new text (or ``None`` when unchanged); the change is recorded.
- ``GlobalStep`` must see the whole corpus first: ``fit`` runs between stages (a barrier) over the
  shard files the previous stage wrote, then ``process`` filters each shard with the fitted state.

The shard runner hands steps batches (lists) so compiled kernels can work on many documents at once.
Options are keyword arguments of ``__init__`` with type hints and defaults; the registry validates
YAML options against them and ``thresher steps`` lists them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator

from ..document import Document

if TYPE_CHECKING:
    from ..executors import Executor


@dataclass(frozen=True, slots=True)
class Drop:
    """Why a filter dropped a document: the rule, the measured score and the threshold it failed."""

    reason: str
    score: float | None = None
    threshold: float | None = None


@dataclass
class Dropped:
    """A dropped document on its way to ``excluded/``."""

    doc: Document
    step: str
    drop: Drop


@dataclass
class StepContext:
    """What a step sees of the run: the shard, a scratch dir for fitted state, drop sink, counters."""

    shard: int = 0
    row: int = 0            # index of the batch's first document in shard ``shard``'s input file
    workdir: Path | None = None
    dropped: list[Dropped] = field(default_factory=list)
    counters: dict[str, Counter] = field(default_factory=dict)

    def drop(self, doc: Document, step: str, drop: Drop) -> None:
        self.dropped.append(Dropped(doc, step, drop))

    def count(self, step: str, key: str, n: int = 1) -> None:
        self.counters.setdefault(step, Counter())[key] += n


class Step:
    """Base of every step. Subclasses set ``name`` (the registry key) and ``version``. ``label`` is
    the step's identity in a pipeline (``name``, or ``name#2`` for the second step of that name ...):
    its stats, its fit folder and its clusters table go by it (``step_labels``)."""

    name: ClassVar[str] = "step"
    version: ClassVar[int] = 1
    is_global: ClassVar[bool] = False
    label: str | None = None

    @property
    def meta_key(self) -> str:
        return f"{self.name}_v{self.version}"

    def prepare(self) -> None:
        """Set-up the step's workers would each repeat on their first documents (imports, compiled
        kernels, compiled patterns). The pipeline calls it in its own process while the previous
        stage's workers run, so it costs no wall time and the forked workers of the step's stage (and
        of a global step's fit) inherit it. Not called when the previous stage forks no workers (one
        shard, one worker): what the step uses then loads when first used."""

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        raise NotImplementedError

    def __call__(self, docs: Iterable[Document], batch_size: int = 1000) -> Iterator[Document]:
        """Use a step directly from Python: drops are discarded (a pipeline run keeps them)."""
        ctx = StepContext()
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self.process(batch, ctx)
                ctx.row += len(batch)           # a global step finds its decisions by row
                batch, ctx.dropped = [], []
        if batch:
            yield from self.process(batch, ctx)


class Annotator(Step):
    def annotate(self, doc: Document) -> None:
        raise NotImplementedError

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        for doc in docs:
            self.annotate(doc)
        return docs


class Filter(Step):
    def decide(self, doc: Document) -> bool | Drop | None:
        raise NotImplementedError

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        kept = []
        for doc in docs:
            verdict = self.decide(doc)
            if verdict is None or verdict is True:
                kept.append(doc)
            else:
                ctx.drop(doc, self.name, verdict if isinstance(verdict, Drop) else Drop(self.name))
        return kept


class Modifier(Step):
    def modify(self, doc: Document) -> str | None:
        raise NotImplementedError

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        for doc in docs:
            new = self.modify(doc)
            if new is not None and new != doc.text:
                ctx.count(self.name, "modified")
                ctx.count(self.name, "chars_removed", max(0, len(doc.text) - len(new)))
                doc.meta.setdefault("modified_by", []).append(self.meta_key)
                doc.text = new
        return docs


class GlobalStep(Filter):
    """A filter whose decisions need the whole corpus (dedup, decontamination against a release).

    ``fit`` runs once, after the previous stage has written all its shards, and must leave its state
    under ``workdir`` (deterministically: same shards, same state, whatever the worker count).
    ``load`` reads the state back in a worker; then the next stage filters each shard with
    ``process`` (Documents), or, when the step implements ``decide_rows`` and is alone in its stage,
    the runner applies ``decide_rows`` to Arrow batches of the shard file and never builds
    Documents at all (the same release, several times faster).
    """

    is_global = True

    def fit(self, shards: list[Path], workdir: Path, executor: "Executor") -> None:
        raise NotImplementedError

    def load(self, workdir: Path) -> None:
        """Read the fitted state in a worker process (called once per shard before ``process``)."""

    def decide_rows(self, start: int, ids: list[str], ctx: StepContext) -> dict[int, tuple[dict[str, Any], Drop | None]]:
        """Decisions for documents ``start .. start + len(ids) - 1`` of shard ``ctx.shard``, in the
        order the fit saw them (``ids`` lets a step check that): ``{k: (keys to add to meta, Drop or
        None to keep)}`` for the k-th of them; documents not listed pass unchanged."""
        raise NotImplementedError

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        decided = self.decide_rows(ctx.row, [d.id for d in docs], ctx)
        kept = []
        for k, doc in enumerate(docs):
            meta, drop = decided.get(k, (None, None))
            if meta:
                doc.meta.update(meta)
            if drop is None:
                kept.append(doc)
            else:
                ctx.drop(doc, self.name, drop)
        return kept


def columnar(step: Step) -> bool:
    """Whether a global step filters Arrow batches itself (``GlobalStep.decide_rows``)."""
    return getattr(step, "is_global", False) and type(step).decide_rows is not GlobalStep.decide_rows


class FunctionStep(Step):
    """Wraps a plain function ``f(doc) -> Document | bool | Drop | None`` as a step.

    ``None``/``True`` keep the document, ``False``/``Drop`` drop it, a Document replaces it.
    """

    def __init__(self, fn: Callable[[Document], Any], name: str | None = None):
        self.fn = fn
        self.step_name = name or getattr(fn, "__name__", "function")

    @property
    def meta_key(self) -> str:
        return self.step_name

    def process(self, docs: list[Document], ctx: StepContext) -> list[Document]:
        kept = []
        for doc in docs:
            r = self.fn(doc)
            if r is None or r is True:
                kept.append(doc)
            elif isinstance(r, Document):
                kept.append(r)
            else:
                ctx.drop(doc, self.step_name, r if isinstance(r, Drop) else Drop(self.step_name))
        return kept


def step_name(step: Step) -> str:
    return step.step_name if isinstance(step, FunctionStep) else step.name


def step_label(step: Step) -> str:
    """The step's unique label in its pipeline (set by ``label_steps``), else its name."""
    return step.label or step_name(step)


def label_steps(steps: list[Step]) -> list[Step]:
    """Give every step of a pipeline its unique label: the first of a name is ``name``, the next
    ``name#2``, ``name#3`` ... (two ``length_filter``s keep separate stats; two ``exact_dedup``s, one by
    URL and one by text, fit in separate folders)."""
    seen: Counter = Counter()
    for s in steps:
        name = step_name(s)
        seen[name] += 1
        s.label = name if seen[name] == 1 else f"{name}#{seen[name]}"
    return steps

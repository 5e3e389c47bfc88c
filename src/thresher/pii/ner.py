"""Plug-in point for named-entity detectors (person names, addresses, organisations).

Names cannot be found by pattern and checksum: they need a trained model, and thresher downloads
none at run time. A detector is any callable ``detector(text, language) -> iterable of
(type, start, end)`` — for example a wrapper around a spaCy or GLiNER model the user has installed.
Register it either in Python::

    from thresher.pii import register_ner
    register_ner("spacy_en", my_detector)

or from another package through the ``thresher.pii_ner`` entry-point group::

    [project.entry-points."thresher.pii_ner"]
    spacy_en = "my_package.ner:detect"

and name it in the pipeline: ``pii_redact: {ner: spacy_en}``. Its spans go through the same
overlap resolution, redaction, pseudonyms (a generic shape-keeping one) and counters as built-in types.
"""
from __future__ import annotations

from importlib.metadata import entry_points
from typing import Callable, Iterable

from .. import plugins
from ..errors import ConfigError

NerDetector = Callable[[str, "str | None"], Iterable[tuple[str, int, int]]]

_REGISTERED: dict[str, NerDetector] = {}


def register_ner(name: str, detector: NerDetector) -> None:
    """Make ``detector`` available to ``pii_redact`` under ``name``: in this process, and, when it can
    be imported by name (a module-level function), in every worker of a pipeline (thresher.plugins)."""
    if not callable(detector):
        raise ConfigError(f"NER detector '{name}' is not callable")
    _REGISTERED[name] = detector
    plugins.record("ner", name, detector)


def load_ner(name: str) -> NerDetector:
    """A registered detector by name: Python registrations first, then entry points."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    carried = plugins.lookup("ner", name)      # registered in the process that planned the run
    if carried is not None:
        _REGISTERED[name] = carried
        return carried
    eps = {ep.name: ep for ep in entry_points(group="thresher.pii_ner")}
    if name not in eps:
        known = ", ".join(sorted(set(_REGISTERED) | set(eps))) or "none installed"
        raise ConfigError(f"unknown NER detector '{name}' (known: {known}); see thresher.pii.ner")
    detector = eps[name].load()
    if not callable(detector):
        raise ConfigError(f"NER detector '{name}' ({eps[name].value}) is not callable")
    _REGISTERED[name] = detector
    return detector

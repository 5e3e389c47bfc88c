"""``quality_classifier``: score every document with a trained linear classifier (``thresher classifier
train``) into ``meta["quality_classifier_v1"]`` and drop those below a threshold.

Like the other quality steps it measures first and judges from config: the score of every document is
kept (``drop: false`` only annotates), so a different threshold can be re-applied from ``meta`` later
without re-running the model. The model's digest is stored with the score, so a release says which
model judged it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ...document import Document
from ...errors import ConfigError, InputError
from ...text.linear import LinearModel
from ..base import Drop
from .common import QualityStep


class QualityClassifier(QualityStep):
    """Score with a trained classifier (`thresher classifier train`); drop documents scoring below `threshold`.

    ``model`` is the folder ``thresher classifier train -o`` wrote. ``threshold`` is on the probability
    of the positive (reference-like) class.
    """

    name = "quality_classifier"
    version = 1

    def __init__(self, model: str, threshold: float = 0.5, drop: bool = True):
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"quality_classifier.threshold must be in [0, 1], got {threshold}")
        self.model = model
        self.threshold = threshold
        self.drop = drop
        try:
            self._model = LinearModel.load(Path(model).expanduser())
        except InputError as e:
            raise ConfigError(f"quality_classifier.model: {e}") from None
        self._digest = self._model.digest()

    def measure(self, docs: list[Document]) -> list[dict[str, Any]]:
        scores = self._model.score([d.text for d in docs])
        return [{"score": round(float(s), 6), "model": self._digest} for s in scores]

    def judge(self, signals: dict[str, Any]) -> Drop | None:
        if signals["score"] < self.threshold:
            return Drop("classifier_score", signals["score"], self.threshold)
        return None

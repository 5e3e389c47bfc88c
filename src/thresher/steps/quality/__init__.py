"""Quality signals and filters for web text: Gopher, C4, FineWeb and BigScience rules.

Each step is an annotator (signals under ``meta["<name>_v<version>"]``) and a filter (thresholds
from the config, ``Drop(rule, score, threshold)``); see ``common.QualityStep``.
"""
from .bigscience import BigScienceQuality
from .c4 import C4Quality
from .fineweb import FineWebQuality
from .gopher import GopherQuality, GopherRepetition

__all__ = ["BigScienceQuality", "C4Quality", "FineWebQuality", "GopherQuality", "GopherRepetition"]

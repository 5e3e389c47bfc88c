"""Who the filters removed: per step, the share of documents and characters each group lost, with
Wilson intervals, and the groups whose drop rate differs from the rest beyond chance.

Example::

    from thresher.audit import audit
    report = audit("out/web", by=["language", "region"])
    report["flagged"]          # [{step, dimension, group, rate, ci, p_adjusted, ...}, ...]
"""
from ..lazy import exports

DIMENSIONS = ("language", "script", "region", "register", "source")   # the groups an audit compares

__getattr__, __dir__, _lazy = exports(__name__, {k: ".core" for k in ("audit", "fisher_exact", "holm", "two_proportion_z",
                                                                      "wilson")})
__all__ = sorted(_lazy + ["DIMENSIONS"])

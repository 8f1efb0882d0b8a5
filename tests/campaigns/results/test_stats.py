"""Significance tests against textbook values (two-proportion z-test, Welch's t-test, the t distribution)."""

from __future__ import annotations

import math

import pytest

from campaigns.results.stats import student_t_two_sided_p, t_quantile_975, two_proportions, welch


@pytest.mark.parametrize(("df", "quantile"), [(1, 12.706), (5, 2.571), (10, 2.228), (30, 2.042), (120, 1.980)])
def test_the_t_quantile_matches_the_table(df, quantile):
    assert t_quantile_975(df) == pytest.approx(quantile, abs=5e-4)
    assert student_t_two_sided_p(quantile, df) == pytest.approx(0.05, abs=2e-4)


def test_two_proportions_pooled_z_test():
    # 120/1000 vs 100/1000: pooled p = 0.11, se = sqrt(0.11*0.89*(2/1000)) = 0.013993, z = 1.4293, p = 0.1529
    result = two_proportions(120, 1000, 100, 1000)
    assert result.difference == pytest.approx(0.02)
    assert result.p_value == pytest.approx(math.erfc(1.4293 / math.sqrt(2)), abs=1e-4)
    assert not result.significant
    assert two_proportions(300, 1000, 100, 1000).significant
    assert two_proportions(0, 0, 5, 10).p_value is None  # no data: no verdict, never "significant"


def test_welch_from_sums_matches_the_direct_computation():
    a = [0, 0, 0, 120, 0, 80, 0, 0, 200, 0]
    b = [0, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0, 0]
    result = welch(len(a), sum(a), sum(x * x for x in a), len(b), sum(b), sum(x * x for x in b))
    mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
    var_a = sum((x - mean_a) ** 2 for x in a) / (len(a) - 1)
    var_b = sum((x - mean_b) ** 2 for x in b) / (len(b) - 1)
    se = math.sqrt(var_a / len(a) + var_b / len(b))
    va, vb = var_a / len(a), var_b / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    assert result.difference == pytest.approx(mean_a - mean_b)
    assert result.high - result.difference == pytest.approx(t_quantile_975(df) * se)
    assert result.p_value == pytest.approx(student_t_two_sided_p((mean_a - mean_b) / se, df))
    assert welch(1, 5, 25, 10, 0, 0).p_value is None  # one person: no variance, no verdict

"""Significance for reports: is a difference between two groups more than chance?

Conversion and click rates are proportions: a two-proportion z-test. Revenue per recipient is a mean
of very skewed values (most recipients buy nothing): Welch's t-test, which does not assume the two
groups have the same variance. Both two-sided, at the 95% level the reports print. Pure Python (the
math module): the inputs are a handful of sums computed in SQL, never the rows themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE_Z = 1.959963984540054  # two-sided 95%
ALPHA = 0.05
P_SHOWN = 6  # decimals of a p-value as the reports write it


@dataclass(frozen=True)
class Difference:
    """Group a minus group b, with a 95% confidence interval and a two-sided p-value."""

    difference: float
    low: float
    high: float
    p_value: float | None  # None when there is not enough data to test

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < ALPHA

    def to_dict(self) -> dict[str, float | str | bool | None]:
        # p to six significant digits, not six decimals: 1.8e-7 rounded to decimals would read as a certain 0.0
        return {"difference": round(self.difference, 6), "low": round(self.low, 6), "high": round(self.high, 6),
                "p_value": None if self.p_value is None else float(f"{self.p_value:.6g}"),
                "p_value_text": p_value_text(self.p_value), "significant": self.significant}


def p_value_text(p: float | None) -> str | None:
    """A p-value as the page and the exports write it: to 6 decimals, trailing zeros dropped, and below
    what 6 decimals can show as "< 0.000001" (never "0.0", which would claim certainty)."""
    if p is None:
        return None
    floor = 10.0 ** -P_SHOWN
    if round(p, P_SHOWN) < floor:
        return f"< {floor:.{P_SHOWN}f}"
    return f"{p:.{P_SHOWN}f}".rstrip("0").rstrip(".")


def normal_two_sided_p(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportions(hits_a: int, n_a: int, hits_b: int, n_b: int) -> Difference:
    """Rate a − rate b. The test uses the pooled rate (z-test); the interval the unpooled standard error."""
    if n_a == 0 or n_b == 0:
        return Difference(0.0, 0.0, 0.0, None)
    p_a, p_b = hits_a / n_a, hits_b / n_b
    diff = p_a - p_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    pooled = (hits_a + hits_b) / (n_a + n_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p_value = None if se_pooled == 0 else normal_two_sided_p(diff / se_pooled)
    return Difference(diff, diff - CONFIDENCE_Z * se, diff + CONFIDENCE_Z * se, p_value)


def mean_and_variance(n: int, total: float, total_of_squares: float) -> tuple[float, float]:
    """Mean and sample variance from n, Σx and Σx² (the sums SQL returns)."""
    if n == 0:
        return 0.0, 0.0
    mean = total / n
    if n < 2:
        return mean, 0.0
    return mean, max(0.0, (total_of_squares - n * mean * mean) / (n - 1))


def welch(n_a: int, sum_a: float, squares_a: float, n_b: int, sum_b: float, squares_b: float) -> Difference:
    """Mean a − mean b (Welch's t-test; the interval uses the t quantile at the Welch–Satterthwaite df)."""
    if n_a < 2 or n_b < 2:
        mean_a, _ = mean_and_variance(n_a, sum_a, squares_a)
        mean_b, _ = mean_and_variance(n_b, sum_b, squares_b)
        diff = mean_a - mean_b
        return Difference(diff, diff, diff, None)
    mean_a, var_a = mean_and_variance(n_a, sum_a, squares_a)
    mean_b, var_b = mean_and_variance(n_b, sum_b, squares_b)
    diff = mean_a - mean_b
    va, vb = var_a / n_a, var_b / n_b
    se = math.sqrt(va + vb)
    if se == 0:
        return Difference(diff, diff, diff, None)
    df = (va + vb) ** 2 / ((va * va / (n_a - 1) if va else 0.0) + (vb * vb / (n_b - 1) if vb else 0.0))
    t = diff / se
    quantile = t_quantile_975(df)
    return Difference(diff, diff - quantile * se, diff + quantile * se, student_t_two_sided_p(t, df))


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| > |t|) for Student's t with `df` degrees of freedom: I_x(df/2, 1/2), x = df/(df+t²)."""
    return regularized_beta(df / (df + t * t), df / 2, 0.5)


def t_quantile_975(df: float) -> float:
    """The t value with 2.5% above it, by bisection on the p-value (df large: the normal 1.96)."""
    if df > 1e6:
        return CONFIDENCE_Z
    low, high = 0.0, 1000.0
    for _ in range(100):
        mid = (low + high) / 2
        if student_t_two_sided_p(mid, df) > ALPHA:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b) by its continued fraction (modified Lentz), as in Numerical Recipes §6.4."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this point: use the symmetry
        return 1.0 - regularized_beta(1 - x, b, a)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    fraction = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            fraction *= c * d
        if abs(c * d - 1.0) < 1e-15:
            break
    return math.exp(log_front) * fraction / a

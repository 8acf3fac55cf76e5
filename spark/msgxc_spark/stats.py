"""Statistics of the experiment read-out, in plain Python (the numbers are few: one row per variant).

- Rates carry 95 % Wilson score intervals (sound for small counts and rates near 0 or 1).
- Lift is relative to control; the 95 % interval is on the absolute difference (unpooled normal).
- p_fixed: the two-sided two-proportion z-test (pooled), valid for one look at a planned sample size.
- p_always_valid: the mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis and
  Walsh, "Always Valid Inference" (2017/2022), normal mixture over the difference θ ~ N(0, τ²): with
  d the observed difference and s² its variance, Λ = sqrt(s²/(s²+τ²)) · exp(τ²d² / (2s²(s²+τ²))), and
  the always-valid p-value after looks 1…n is min(1, min_k 1/Λ_k). Rejecting when it falls below α keeps
  the false-positive rate at α however often people look."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def difference_interval(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    if n1 == 0 or n2 == 0:
        return (-1.0, 1.0)
    p1, p2 = x1 / n1, x2 / n2
    half = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return (p1 - p2 - half, p1 - p2 + half)


def msprt_log_likelihood_ratio(x1: int, n1: int, x2: int, n2: int, tau: float) -> float:
    """ln Λ of the normal-mixture SPRT for H0: p1 = p2 at one look (in logs: Λ overflows a float for
    large samples with a clear difference)."""
    if n1 == 0 or n2 == 0:
        return 0.0
    p1, p2 = x1 / n1, x2 / n2
    variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    if variance == 0:
        return 0.0
    t2 = tau * tau
    d = p1 - p2
    return 0.5 * math.log(variance / (variance + t2)) + t2 * d * d / (2 * variance * (variance + t2))


def msprt_likelihood_ratio(x1: int, n1: int, x2: int, n2: int, tau: float) -> float:
    log_ratio = msprt_log_likelihood_ratio(x1, n1, x2, n2, tau)
    return math.inf if log_ratio > 700 else math.exp(log_ratio)


def always_valid_p(looks: list[tuple[int, int, int, int]], tau: float) -> float:
    """The always-valid p-value after a sequence of looks (cumulative x1, n1, x2, n2 at each)."""
    p = 1.0
    for x1, n1, x2, n2 in looks:
        p = min(p, math.exp(-msprt_log_likelihood_ratio(x1, n1, x2, n2, tau)))
    return p


@dataclass(frozen=True)
class Comparison:
    lift: float | None
    diff_low: float
    diff_high: float
    p_fixed: float
    p_always_valid: float


def compare(treated: tuple[int, int], control: tuple[int, int], looks: list[tuple[int, int, int, int]], tau: float) -> Comparison:
    """treated and control are (conversions, recipients) at the end; looks are the daily cumulative counts."""
    (x1, n1), (x2, n2) = treated, control
    p_control = x2 / n2 if n2 else 0.0
    lift = ((x1 / n1) - p_control) / p_control if n1 and p_control > 0 else None
    low, high = difference_interval(x1, n1, x2, n2)
    return Comparison(lift, low, high, two_proportion_p(x1, n1, x2, n2), always_valid_p(looks, tau))

"""The read-out's statistics against numbers worked out by hand (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import pytest

from msgxc_spark import sketch, stats


def test_wilson_interval_of_100_in_1000():
    # p = 0.1, z² = 3.8415: centre = (0.1 + 3.8415/2000) / (1 + 3.8415/1000) = 0.101921 / 1.0038415 = 0.101531
    # half = 1.96/1.0038415 · sqrt(0.09/1000 + 3.8415/4e6) = 1.952461 · 0.0095375 = 0.018622
    low, high = stats.wilson(100, 1000)
    assert low == pytest.approx(0.082909, abs=2e-6)
    assert high == pytest.approx(0.120153, abs=2e-6)


def test_fixed_horizon_and_always_valid_p_values():
    # b: 130/1000, control: 100/1000. Pooled p = 0.115, se = sqrt(0.115 · 0.885 · 2/1000) = 0.0142671,
    # z = 0.03 / 0.0142671 = 2.10274, two-sided p = erfc(2.10274/√2) = 0.035490.
    assert stats.two_proportion_p(130, 1000, 100, 1000) == pytest.approx(0.035490, abs=5e-6)
    # mSPRT, τ = 0.05: s² = 0.13·0.87/1000 + 0.1·0.9/1000 = 0.0002031, τ² = 0.0025,
    # Λ = sqrt(0.0002031/0.0027031) · exp(0.0025 · 0.0009 / (2 · 0.0002031 · 0.0027031))
    #   = 0.274109 · exp(2.049182) = 0.274109 · 7.761548 = 2.127513, so p = 1/Λ = 0.470032.
    assert stats.msprt_likelihood_ratio(130, 1000, 100, 1000, 0.05) == pytest.approx(2.127513, abs=5e-6)
    assert stats.always_valid_p([(130, 1000, 100, 1000)], 0.05) == pytest.approx(0.470032, abs=1e-6)


def test_always_valid_p_is_the_smallest_over_the_looks():
    # First look 80/500 vs 50/500: d = 0.06, s² = 0.16·0.84/500 + 0.1·0.9/500 = 0.0004488,
    # Λ = sqrt(0.0004488/0.0029488) · exp(0.0025 · 0.0036 / (2 · 0.0004488 · 0.0029488))
    #   = 0.390125 · exp(3.400277) = 0.390125 · 29.97241 = 11.692987 → 1/Λ = 0.085521.
    # The second look (130/1000 vs 100/1000) gives 0.470032; the p-value keeps the smaller.
    looks = [(80, 500, 50, 500), (130, 1000, 100, 1000)]
    assert stats.always_valid_p(looks, 0.05) == pytest.approx(0.085521, abs=1e-6)


def test_comparison_lift_and_difference_interval():
    # lift = (0.13 - 0.10) / 0.10 = +30 %; difference 0.03 ± 1.96 · sqrt(0.0002031) = 0.03 ± 0.027932
    comparison = stats.compare((130, 1000), (100, 1000), [(130, 1000, 100, 1000)], 0.05)
    assert comparison.lift == pytest.approx(0.30)
    assert comparison.diff_low == pytest.approx(0.002068, abs=2e-6)
    assert comparison.diff_high == pytest.approx(0.057932, abs=2e-6)


def test_an_overwhelming_difference_gives_p_zero_not_an_overflow():
    # 900k of 1M against 100k of 1M: ln Λ is about 1.6e6, far past what exp() can hold.
    assert stats.always_valid_p([(900_000, 1_000_000, 100_000, 1_000_000)], 0.05) == 0.0
    assert stats.msprt_likelihood_ratio(900_000, 1_000_000, 100_000, 1_000_000, 0.05) == float("inf")


def test_empty_and_degenerate_arms_do_not_claim_anything():
    assert stats.two_proportion_p(0, 100, 0, 100) == 1.0
    assert stats.always_valid_p([(0, 0, 0, 0)], 0.05) == 1.0
    assert stats.wilson(0, 0) == (0.0, 1.0)


def test_sketch_quantiles_are_within_two_percent_and_merge_by_adding():
    values = list(range(1, 10_001))
    a = {}
    b = {}
    for v in values:
        target = a if v % 2 else b
        bucket = sketch.bucket_of(v)
        target[bucket] = target.get(bucket, 0) + 1
    merged = sketch.merge(a, b)
    assert sketch.count(merged) == 10_000
    for q, exact in ((0.5, 5000.5), (0.9, 9000.1), (0.99, 9900.01)):
        assert math.isclose(sketch.quantile(merged, q), exact, rel_tol=0.02)
    assert sketch.quantile({}, 0.5) is None

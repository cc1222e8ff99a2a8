"""Trial statistics against independent references (SciPy, lifelines' own estimator, hand counts)."""

import numpy as np
import pytest
from scipy import stats as sps

from neuroplast.trials import stats


def test_contrast_matches_scipy_welch():
    rng = np.random.default_rng(0)
    a, b = rng.normal(-15, 9, 60), rng.normal(-8, 7, 45)
    c = stats.contrast(a, b, a < -12, b < -12)
    ci = sps.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)  # oracle: SciPy's Welch CI
    assert c["mean_difference"] == pytest.approx(a.mean() - b.mean())
    assert c["ci95"] == pytest.approx([ci.low, ci.high], rel=1e-10)
    pooled = np.sqrt(((59 * a.var(ddof=1)) + 44 * b.var(ddof=1)) / 103)
    assert c["cohens_d"] == pytest.approx((b.mean() - a.mean()) / pooled)  # positive: first arm improved more
    ra, rb = (a < -12).sum(), (b < -12).sum()
    assert c["odds_ratio_response"] == pytest.approx((ra / (60 - ra)) / (rb / (45 - rb)))


def test_odds_ratio_with_an_empty_cell_is_finite():
    c = stats.contrast(
        np.array([-20.0, -18, -25]), np.array([-1.0, 0, -2]), np.array([1, 1, 1], bool), np.zeros(3, bool)
    )
    assert np.isfinite(c["odds_ratio_response"]) and c["odds_ratio_response"] > 1


def test_arm_timepoint_counts():
    base = np.array([30.0, 30, 20, 40])
    score = np.array([15.0, 16, 8, 10])
    r = stats.arm_timepoint(base, score, response=0.5, remission=10)
    assert r["response_rate"] == 0.75 and r["remission_rate"] == 0.5
    assert r["mean_change"] == pytest.approx(-17.75)


def test_relapse_median_kaplan_meier():
    """Oracle: hand-computed KM median; censored patients leave the risk set without an event."""
    days = np.array([5.0, 10, 15, 20, 30, 30, 30])
    observed = np.array([1, 1, 1, 1, 0, 0, 0], bool)
    # S = 6/7, 5/7, 4/7, then 3/7 at day 20: the first time S falls below 1/2 (no tie at exactly 1/2)
    assert stats.relapse(days, observed) == 20.0
    assert stats.relapse(np.array([30.0, 30]), np.array([0, 0], bool)) is None

"""Honest uncertainty: on virtual patients drawn from the model with known parameters, the forecast bands
hold new scores about as often as they claim."""

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.forecast.validation import coverage_study


@pytest.mark.slow
def test_band_coverage_on_virtual_patients():
    """40 virtual patients x 4 weekly visits after a 10-visit history (160 scores), MAP + Laplace.

    Oracle: the nominal 50% and 90% levels. Tolerance: binomial SE with 160 points is 0.024 at 90%
    and 0.040 at 50%; scores of one patient are correlated (a design effect of ~2 widens these by
    ~1.4), and the Laplace approximation is not exact. We accept 0.80-0.97 and 0.38-0.64
    (about 3 inflated SEs either side), which still fails a forecast whose bands ignore
    parameter uncertainty (coverage of the rating error alone is ~0.6 at 90% here).
    """
    r = coverage_study(npl.default_model(), n_patients=40, n_scores=10, n_future=4, n_draws=100, seed=11)
    assert r["n_points"] == 160
    assert 0.80 <= r["coverage_90"] <= 0.97, r
    assert 0.38 <= r["coverage_50"] <= 0.64, r


@pytest.mark.slow
def test_error_shrinks_with_more_scores():
    """Forecast error of the 4 weeks after visit 10 (day 28): more history → smaller median error.
    Same 20 virtual patients (same seed) with 4 vs 10 scores; a 10% margin absorbs Monte-Carlo noise."""
    few = coverage_study(
        npl.default_model(), n_patients=20, n_scores=4, n_future=4, n_draws=40, seed=5, future_start=10
    )
    many = coverage_study(
        npl.default_model(), n_patients=20, n_scores=10, n_future=4, n_draws=40, seed=5, future_start=10
    )
    assert many["z_error_rms"] < few["z_error_rms"]
    assert np.isfinite(few["mae_median"]) and np.isfinite(many["mae_median"])

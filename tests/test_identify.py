"""Identifiability: the Fisher-information intervals against SciPy's curve_fit, the status rules, and the committed
analysis as ``neuroplast params --json`` prints it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.optimize

from neuroplast import parameters
from neuroplast.calibration.identify import MAX_FOLD, PARAMETERS, Z95, classify, covariance, jacobian

from .cli_run import invoke


def test_interval_is_curve_fits_covariance():
    """Oracle: scipy.optimize.curve_fit with absolute_sigma=True, whose covariance of a weighted nonlinear fit is
    (J^T J)^-1 at its optimum, J the Jacobian of the weighted residuals. The model is fitted in log parameters,
    as the calibration is. Tolerance 1e-4 relative: central differences (step 1e-3, error ~1e-6) against
    curve_fit's own forward-difference Jacobian (error ~1e-8 relative at its default step)."""
    t = np.linspace(0.0, 5.0, 12)
    sigma = 0.05 + 0.02 * t
    y = 2.0 * np.exp(-0.7 * t) + np.array([0.03, -0.05, 0.02, 0.04, -0.01, 0.0, 0.02, -0.03, 0.01, 0.0, -0.02, 0.01])

    def model(t, log_a, log_k):
        return np.exp(log_a) * np.exp(-np.exp(log_k) * t)

    popt, pcov = scipy.optimize.curve_fit(model, t, y, p0=[0.5, -0.5], sigma=sigma, absolute_sigma=True, xtol=1e-14)
    z0, jac, sides = jacobian(lambda x: (model(t, *x) - y) / sigma, popt, step=1e-3, log=lambda *_: None)
    np.testing.assert_allclose(covariance(jac), pcov, rtol=1e-4)
    # at the optimum the objective rises on both sides of every coordinate
    assert (sides > z0 @ z0).all()


def test_a_direction_the_data_do_not_see_has_no_end():
    """Two parameters that enter only through their product: J has rank 1; both get an infinite variance. A third,
    seen on its own, keeps a finite one: the closed form 1 / sum(J[:, 2]^2)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 1))
    jac = np.hstack([x, x, rng.normal(size=(20, 1))])
    jac[:, 2] -= jac[:, 2] @ x[:, 0] / (x[:, 0] @ x[:, 0]) * x[:, 0]  # orthogonal to the product's column
    cov = covariance(jac)
    assert math.isinf(cov[0, 0]) and math.isinf(cov[1, 1])
    assert cov[2, 2] == pytest.approx(1.0 / (jac[:, 2] @ jac[:, 2]), rel=1e-10)
    assert classify(0.3, cov[0, 0], (0.01, 10.0))["status"] == "weakly_identified"


def test_status_threshold_bounds_and_cut():
    """The threshold is a 95% interval spanning MAX_FOLD: exactly at it the parameter counts as fitted; an interval
    past both search bounds is flat within them."""
    sd_at = math.log(MAX_FOLD) / (2 * Z95)
    at = classify(1.0, sd_at * (1 - 1e-9), None)
    assert at["status"] == "fitted" and at["interval"][1] / at["interval"][0] == pytest.approx(MAX_FOLD)
    assert classify(1.0, sd_at * 1.01, None)["status"] == "weakly_identified"
    # at the upper search bound: said so, and the interval is cut there
    c = classify(14.0, 0.1, (7.0, 14.0))
    assert (
        c["at_bound"] == "upper"
        and c["interval"][1] == 14.0
        and c["interval"][0] == pytest.approx(14 * math.exp(-Z95 * 0.1))
    )
    assert classify(10.0, 0.1, (7.0, 14.0))["at_bound"] is None
    # an interval past both search bounds: the data do not narrow the range, however narrow the range is
    assert classify(13.5, 0.6, (7.0, 14.0))["status"] == "weakly_identified"
    # on the linear scale (condition parameters): cut at the bounds, flat only when past both
    lin = classify(2.2, 1.3, (0.0, 8.0), log_scale=False)
    assert lin["interval"] == [0.0, pytest.approx(2.2 + Z95 * 1.3)] and lin["status"] == "fitted"
    assert classify(2.2, 5.0, (0.0, 8.0), log_scale=False)["status"] == "weakly_identified"
    assert classify(0.0, 0.5, (0.0, 6.0), log_scale=False)["at_bound"] == "lower"


def test_the_committed_analysis_is_of_the_committed_fit():
    """identifiability.json covers every fitted parameter at the value fitted.json (or conditions_fitted.json)
    holds, to the last digit: a refit without rerunning ``calibrate --stage identify`` fails here."""
    data = json.loads(parameters.IDENTIFIABILITY_PATH.read_text())
    rows = {r["name"]: r for r in data["parameters"]}
    fitted = [p for p in parameters.all_parameters() if p.source == "fit"]
    assert {p.name for p in fitted} == set(rows)
    assert set(PARAMETERS) <= set(rows)
    for p in fitted:
        r = rows[p.name]
        assert r["value"] == p.value, p.name
        assert r["status"] in ("fitted", "weakly_identified"), p.name
        lo, hi = r["interval"]
        assert lo <= p.value and (hi is None or p.value <= hi), p.name
        if r["status"] == "fitted" and r["scale"] == "log":
            assert hi is not None and lo > 0 and hi / lo <= MAX_FOLD * (1 + 1e-9), p.name


def test_params_json():
    r = invoke("params", "--json")
    assert r.exit_code == 0, r.stderr
    rows = json.loads(r.stdout)
    assert len(rows) == len(parameters.all_parameters())
    for row in rows:
        assert set(row) == {"name", "scale", "value", "unit", "source", "status", "interval", "at_bound"}
        assert row["status"] in parameters.STATUSES
        assert (row["interval"] is not None) == (row["status"] in ("fitted", "weakly_identified")), row["name"]
        if row["status"] == "literature":
            assert row["source"] not in ("fit", "assumption")
    assert {row["status"] for row in rows} >= {"literature", "assumption", "fitted"}
    one = json.loads(invoke("params", "--json", "--scale", "receptors").stdout)
    assert one and {row["scale"] for row in one} == {"receptors"}
    table = invoke("params", "--scale", "plasticity")
    assert table.exit_code == 0 and "spine_lifetime" in table.stdout and "(" in table.stdout

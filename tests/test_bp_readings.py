"""Blood pressure as the clinic measures it (oracle: the closed-form noise-only probability, by quadrature, and
the esketamine label's placebo rows, I03)."""

import math

import numpy as np
import pytest

from neuroplast.calibration.evaluate import CALIBRATION_TRIALS
from neuroplast.trials import bp_readings, parse_spec, run_trial


def test_the_within_session_sds_give_the_placebo_rows_of_the_label(model):
    # oracle: I03 (esketamine label Table 6), placebo arm: 0.5 % with a systolic rise >= 40 mmHg, 3 % with a
    # diastolic rise >= 25 mmHg, over 8 sessions. Tolerance: the table's SDs are rounded to 0.1 mmHg, which moves
    # the shares by up to 0.0006 and 0.0025.
    values = model.values
    assert bp_readings.noise_only_share(values["sbp_within_sd"], 40.0) == pytest.approx(0.005, abs=0.001)
    assert bp_readings.noise_only_share(values["dbp_within_sd"], 25.0) == pytest.approx(0.03, abs=0.003)


def test_noise_only_share_limits():
    # oracle: closed form -- with one reading and one session the rise is the difference of two independent
    # N(0, sd^2) errors, so P(rise >= r) = 1 - Phi(r / (sd sqrt 2)); more sessions: 1 - (1 - p)^n
    p = 0.5 * math.erfc(10.0 / (5.0 * math.sqrt(2.0)) / math.sqrt(2.0))
    assert bp_readings.noise_only_share(5.0, 10.0, readings=1, n_sessions=1) == pytest.approx(p, rel=1e-9)
    assert bp_readings.noise_only_share(5.0, 10.0, readings=1, n_sessions=3) == pytest.approx(
        1 - (1 - p) ** 3, rel=1e-9
    )


@pytest.fixture(scope="module")
def placebo():
    """The daly2018 placebo spray arm (two sessions, no pressor drive), 4,000 patients."""
    spec = parse_spec(CALIBRATION_TRIALS["esketamine"])
    return run_trial(spec, n_per_arm=4000, only_arms=("placebo",))


def test_a_placebo_arm_shows_the_noise_only_share(placebo, model):
    # oracle: noise_only_share at the arm's two sessions (the pressure itself does not move without ketamine).
    # Tolerance: 4 binomial SEs at n = 4,000 (the share is near 0.01, SE about 0.0016).
    p = placebo.patients
    p = p[p["status"] == "ok"]
    for col, sd, rise in (("sbp_rise_measured", "sbp_within_sd", 40.0), ("dbp_rise_measured", "dbp_within_sd", 25.0)):
        expected = bp_readings.noise_only_share(model.values[sd], rise, n_sessions=2)
        se = math.sqrt(expected * (1 - expected) / len(p))
        assert abs((p[col] >= rise).mean() - expected) < 4 * se + 1e-4, col
    assert placebo.summary.arms["placebo"].safety.share_dbp_rise_25 == pytest.approx(
        (p["dbp_rise_measured"] >= 25).mean()
    )


def test_readings_do_not_depend_on_the_arm_size(placebo):
    # oracle: the stream rule -- each session's draws go to the patients in order
    small = run_trial(parse_spec(CALIBRATION_TRIALS["esketamine"]), n_per_arm=50, only_arms=("placebo",)).patients
    big = placebo.patients.iloc[:50]
    np.testing.assert_array_equal(small["dbp_rise_measured"].to_numpy(), big["dbp_rise_measured"].to_numpy())


def test_an_arm_without_a_monitored_session_has_no_readings():
    # oracle: the definition -- no clinic session, no cuff reading: the rises are NaN and no one has a large one
    spec = parse_spec(CALIBRATION_TRIALS["ssri"])
    res = run_trial(spec, n_per_arm=4, only_arms=("placebo",))
    assert res.patients["sbp_rise_measured"].isna().all()
    assert res.summary.arms["placebo"].safety.share_sbp_rise_40 == 0.0

"""Trial statistics against independent references (SciPy, lifelines' own estimator, hand counts), and the
typed summary that carries them (``trials.summary``)."""

import json
from pathlib import Path

import numpy as np
import pydantic
import pytest
from scipy import stats as sps

from neuroplast.trials import Contrast, TrialSummary, stats
from neuroplast.trials.summary import Baseline

GOLDEN = Path(__file__).parent / "golden"


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


def test_contrast_reversed_is_the_contrast_of_the_swapped_arms():
    """Sign conventions: mean_difference first minus second, cohens_d positive when the first improved more,
    odds ratio first over second. Oracle: the statistics recomputed with the arms swapped."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(-15, 9, 30), rng.normal(-8, 7, 25)
    ab = Contrast(arms=("a", "b"), time="1 d", **stats.contrast(a, b, a < -12, b < -12))
    ba = Contrast(arms=("b", "a"), time="1 d", **stats.contrast(b, a, b < -12, a < -12))
    assert ab.mean_difference < 0 and ab.cohens_d > 0 and ab.odds_ratio_response > 1  # a improved more
    r = ab.reversed()
    assert r.arms == ba.arms and r.time == ba.time
    for k in ("mean_difference", "odds_ratio_response", "cohens_d"):  # round-off of one subtraction / division
        assert getattr(r, k) == pytest.approx(getattr(ba, k), rel=1e-12), k
    assert r.ci95 == pytest.approx(ba.ci95, rel=1e-12)
    summary = TrialSummary(trial="t", scale="MADRS", seed=1, neuroplast_version="0", arms={}, contrasts=[ab])
    assert summary.contrast("a", "b", "1 d") is ab and summary.contrast("b", "a", "1 d") == r
    with pytest.raises(KeyError):
        summary.contrast("a", "b", "2 d")


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.summary.json")), ids=lambda p: p.name.split(".")[0])
def test_summary_json_round_trips(path):
    """Every key of every shipped example's summary.json has a typed field, and the JSON form of the model
    read from it is the same document (optional keys absent where they were absent, null where null)."""
    doc = json.loads(path.read_text())
    summary = TrialSummary.model_validate(doc)
    assert summary.to_json_dict() == doc
    assert json.dumps(summary.to_json_dict(), indent=1) + "\n" == path.read_text()  # key order too


def test_undefined_means_are_nan_here_and_null_in_json():
    """No finished patient: the mean is NaN in the model, null in summary.json, NaN again when read back;
    unknown keys are rejected (nothing is silently dropped)."""
    b = Baseline(mean=float("nan"), sd=0.0)
    assert np.isnan(b.mean) and b.to_json_dict() == {"mean": None, "sd": 0.0}
    assert np.isnan(Baseline.model_validate({"mean": None, "sd": 0.0}).mean)
    with pytest.raises(pydantic.ValidationError):
        Baseline(mean=1.0, sd=0.0, median=1.0)

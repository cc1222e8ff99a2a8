"""The between-study random effect of the calibration objective (oracle: the source's numbers and the
random-effects weighting of a meta-analysis, closed form)."""

import math

import pytest

from neuroplast.calibration.evaluate import CALIBRATION_TRIALS
from neuroplast.evidence import heterogeneity as het
from neuroplast.evidence import source_ids
from neuroplast.evidence.targets import POOLED, SCALES, TARGETS


def test_tau_is_the_sourced_heterogeneity_on_each_scale():
    # oracle: munkholm2019_heterogeneity's Table 1 (tau^2 0.038 SMD, 1.896 HAM-D17 points^2), leucht2018's 1.3 MADRS
    # per HAM-D17 point and chinn2000's pi/sqrt(3) = 1.81 log odds per SMD; exact arithmetic (1e-12)
    assert {"munkholm2019_heterogeneity", "chinn2000_smd_logor", "leucht2018_madrs_hamd"} <= source_ids()
    assert het.between_study_sd("cohens_d", "MADRS", 0.5) == pytest.approx(math.sqrt(0.038), rel=1e-12)
    assert het.between_study_sd("mean_change", "HAMD17", -8.0) == pytest.approx(math.sqrt(1.896), rel=1e-12)
    assert het.between_study_sd("mean_difference", "MADRS", -8.0) == pytest.approx(1.3 * math.sqrt(1.896), rel=1e-12)
    logit = math.sqrt(0.038) * math.pi / math.sqrt(3)
    assert het.between_study_sd("odds_ratio_response", "MADRS", 2.0) == pytest.approx(logit, rel=1e-12)
    assert het.between_study_sd("response_rate", "QIDS_SR16", 0.4) == pytest.approx(logit * 0.4 * 0.6, rel=1e-12)
    for metric in ("sbp_largest_mean_rise", "sd_change", "relapsed_fraction", "median_days_to_relapse"):
        assert het.between_study_sd(metric, "MADRS", 1.0) == 0.0
    with pytest.raises(ValueError, match="QIDS_SR16"):
        het.between_study_sd("mean_change", "QIDS_SR16", -5.0)


def test_single_trials_carry_tau_and_pooled_estimates_do_not():
    # oracle: the random-effects rule -- a pooled estimate over trials is the mean the model predicts (no tau of
    # its own); a single trial's efficacy statistic gets the between-study SD
    for t in TARGETS:
        if t.study in POOLED and POOLED[t.study].across_trials:
            assert t.tau == 0.0, t
        elif t.metric in het.RATES + het.RATIOS + het.SCORES + het.EFFECT_SIZES:
            assert t.tau > 0.0, t
    assert {t.tau > 0 for t in TARGETS if t.study == "murrough2013_biolpsych" and t.metric == "response_rate"} == {True}


def test_z_is_on_the_random_effects_sd():
    # oracle: z = (simulated - published) / sqrt(se^2 + tau^2), the random-effects weight; STAR*D (n = 2,876) now
    # weighs like a trial of its kind, not like 2,876 patients of the simulated design
    stard = next(t for t in TARGETS if t.study == "trivedi2006_stard_level1" and t.metric == "response_rate")
    assert stard.z(stard.value + 0.1) == pytest.approx(0.1 / math.hypot(stard.se, stard.tau), rel=1e-12)
    assert stard.sd > 5 * stard.se


def test_scales_match_the_calibration_trials():
    # oracle: the calibration trials' own declarations
    assert SCALES == {name: spec["trial"]["scale"] for name, spec in CALIBRATION_TRIALS.items()}

"""Between-study heterogeneity: the random effect a meta-analysis adds to each study's own error.

A single trial's statistic differs from the population value the model predicts by its sampling error (a target's
``se``) and by what makes one trial unlike another (sites, raters, population, conduct): the between-study SD
``tau``. The calibration objective compares each single-trial target on ``sqrt(se^2 + tau^2)``, as a
random-effects meta-analysis weighs its studies, so no trial (large or small) counts beyond what trials of its
kind agree on. A target that is itself a pooled, across-trial estimate carries no ``tau``: its CI is that of the
mean over trials, which is what the model predicts.

``tau`` comes from the antidepressant-vs-placebo comparisons of the trials of cipriani2018_nma
(munkholm2019_heterogeneity): an SMD tau of sqrt(0.038) and a HAM-D17 tau of sqrt(1.896) points. It is the
heterogeneity of *contrasts*; an arm's own statistic (a response rate, a mean change) varies more between trials,
so using it for arms is a lower bound (assumption). It is put on other scales by:

- MADRS points: x 1.3 per HAM-D17 point (leucht2018_madrs_hamd);
- log odds (and log risk ratios, where it is an upper bound): the SMD tau x pi/sqrt(3) (chinn2000_smd_logor);
- a rate ``p``: the logit tau x p(1 - p) at the published rate (the delta method).

Statistics outside the efficacy scale (safety, dissociation, SDs of change, relapse times and fractions,
percent change) have no sourced between-study SD and get none.
"""

from __future__ import annotations

import math

TAU_SMD = math.sqrt(0.038)  # munkholm2019_heterogeneity
TAU_HAMD17 = math.sqrt(1.896)  # munkholm2019_heterogeneity, HAM-D17 points
MADRS_PER_HAMD17 = 1.3  # leucht2018_madrs_hamd: MADRS ~ 1.3 x HAM-D17
TAU_LOGIT = TAU_SMD * math.pi / math.sqrt(3.0)  # chinn2000_smd_logor

POINTS = {"HAMD17": TAU_HAMD17, "MADRS": TAU_HAMD17 * MADRS_PER_HAMD17}
"""Between-study SD of a mean change or difference, in points of each scale with a sourced value."""

RATES = ("response_rate", "remission_rate")
RATIOS = ("odds_ratio_response", "risk_ratio_response")
SCORES = ("mean_change", "mean_difference")
EFFECT_SIZES = ("cohens_d", "within_effect_size")


def between_study_sd(metric: str, scale: str, value: float) -> float:
    """``tau`` of one trial's ``metric`` (published ``value``, on the trial's rating ``scale``); 0 where none is
    sourced. Ratios are on the log scale, as their targets are compared."""
    if metric in RATES:
        return TAU_LOGIT * value * (1.0 - value)
    if metric in RATIOS:
        return TAU_LOGIT
    if metric in EFFECT_SIZES:
        return TAU_SMD
    if metric in SCORES:
        if scale not in POINTS:
            raise ValueError(f"no between-study SD in {scale} points (sourced: {', '.join(POINTS)})")
        return POINTS[scale]
    return 0.0


__all__ = ["POINTS", "TAU_HAMD17", "TAU_LOGIT", "TAU_SMD", "between_study_sd"]

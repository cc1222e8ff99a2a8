"""Trial statistics: per-arm summaries, contrasts between arms, relapse (Kaplan-Meier).

Sign conventions (docs/outputs.md): ``mean_difference`` is first arm minus second (in
change from baseline, which equals the baseline-adjusted score difference under
randomisation); ``cohens_d`` is positive when the first arm improved more;
``odds_ratio_response`` is the odds of response in the first arm over the second.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def arm_timepoint(baseline, score, *, response: float, remission: float) -> dict:
    change = score - baseline
    return {
        "mean_score": float(np.mean(score)),
        "mean_change": float(np.mean(change)),
        "sd_change": float(np.std(change, ddof=1)) if change.size > 1 else 0.0,
        "response_rate": float(np.mean(change <= -response * baseline)),
        "remission_rate": float(np.mean(score <= remission)),
    }


def contrast(change_a, change_b, resp_a, resp_b) -> dict:
    """Mean difference (a - b) with a Welch 95% CI, odds ratio of response, Cohen's d."""
    na, nb = change_a.size, change_b.size
    diff = float(np.mean(change_a) - np.mean(change_b))
    va, vb = np.var(change_a, ddof=1), np.var(change_b, ddof=1)
    se = math.sqrt(va / na + vb / nb)
    dof = (va / na + vb / nb) ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1)) if se > 0 else na + nb - 2
    half = float(stats.t.ppf(0.975, dof) * se) if se > 0 else 0.0
    pooled = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    a, b = float(np.sum(resp_a)), float(np.sum(resp_b))
    if min(a, na - a, b, nb - b) == 0:  # Haldane-Anscombe correction for empty cells
        a, b, na_, nb_ = a + 0.5, b + 0.5, na + 1.0, nb + 1.0
    else:
        na_, nb_ = float(na), float(nb)
    odds = (a / (na_ - a)) / (b / (nb_ - b))
    return {
        "mean_difference": diff,
        "ci95": [diff - half, diff + half],
        "odds_ratio_response": float(odds),
        "cohens_d": float(-diff / pooled) if pooled > 0 else 0.0,
    }


def relapse(days_to_relapse: np.ndarray, observed: np.ndarray) -> float | None:
    """Median days to relapse (Kaplan-Meier, censored at the end of follow-up); None if not reached."""
    from lifelines import KaplanMeierFitter

    if days_to_relapse.size == 0:
        return None
    km = KaplanMeierFitter().fit(days_to_relapse, event_observed=observed)
    med = km.median_survival_time_
    return None if not np.isfinite(med) else float(med)

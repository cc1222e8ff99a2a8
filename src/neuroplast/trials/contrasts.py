"""Contrasts between arms as published trials analyse them (``[trial.analysis]``; docs/analysis.md).

For every pair of arms (in spec order) and every timepoint: the difference in change from baseline by the
trial's analysis (Welch's t-test, ANCOVA on baseline or MMRM, on the observed, LOCF or completers data set),
and response and remission by logistic regression on the same data. Without dropout and with the default
analysis the numbers of the earlier summaries are unchanged: ``mean_difference``, ``ci95``,
``odds_ratio_response`` and ``cohens_d`` come from :func:`.stats.contrast` on every patient.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats as sps

from . import analysis, stats
from .design import MODELS
from .summary import BinaryContrast, Contrast

_DATA = {"observed": analysis.observed, "locf": analysis.locf, "completers": analysis.completers}


@dataclasses.dataclass(frozen=True)
class ArmScores:
    """What an analysis needs of one arm: the observed ``baseline`` (n,) and ``scores`` (n, K) at the spec's K
    timepoints, NaN where the patient was not observed; finished patients only."""

    baseline: np.ndarray
    scores: np.ndarray


def analysed_set(scores: np.ndarray, times_h, data: str) -> np.ndarray:
    """The (n, K) data set ``data`` (observed, locf, completers) of ``scores`` whose columns are at ``times_h``
    (spec order): the helpers of :mod:`.analysis` see the visits in time order."""
    order = np.argsort(np.asarray(times_h, float), kind="stable")
    out = np.empty_like(scores, dtype=float)
    out[:, order] = _DATA[data](scores[:, order]).scores
    return out


def n_analysed(arm: ArmScores, times_h, method: str) -> int:
    """Patients of the arm in its primary analysis at the last timepoint: for MMRM, every patient with an
    observed visit after time 0; otherwise those with a value at the last timepoint in the data set."""
    model, data = MODELS[method]
    times_h = np.asarray(times_h, float)
    if model == "mmrm":
        return int(np.isfinite(arm.scores[:, times_h > 0]).any(axis=1).sum())
    s = analysed_set(arm.scores, times_h, data)
    return int(np.isfinite(s[:, int(np.argmax(times_h))]).sum())


def pair_contrasts(
    first: str,
    second: str,
    a: ArmScores,
    b: ArmScores,
    labels: list[str],
    times_h,
    *,
    method: str,
    response: float,
    remission: float,
) -> list[Contrast]:
    """``first`` against ``second`` at every timepoint where each arm has at least two patients analysed."""
    model, data = MODELS[method]
    times_h = np.asarray(times_h, float)
    sa, sb = analysed_set(a.scores, times_h, data), analysed_set(b.scores, times_h, data)
    baseline = np.concatenate([a.baseline, b.baseline])
    scores = np.concatenate([sa, sb])
    arm = np.array([first] * len(a.baseline) + [second] * len(b.baseline), dtype=object)
    fits = _mmrm(baseline, scores, arm, labels, times_h, first, second) if model == "mmrm" else {}
    out = []
    for j, label in enumerate(labels):
        seen = np.isfinite(scores[:, j])
        in_a, in_b = seen & (arm == first), seen & (arm == second)
        if in_a.sum() < 2 or in_b.sum() < 2:
            continue
        change = scores[:, j] - baseline
        responded = change <= -response * baseline
        remitted = scores[:, j] <= remission
        c = stats.contrast(change[in_a], change[in_b], responded[in_a], responded[in_b])
        keys: dict = {"method": "welch", "data": data}
        if model == "welch":
            p = sps.ttest_ind(change[in_a], change[in_b], equal_var=False).pvalue
            keys["p_value"] = float(p) if np.isfinite(p) else math.nan
            keys["n_analysed"] = (int(in_a.sum()), int(in_b.sum()))
        else:
            # the MMRM's visit, else ANCOVA at this visit (method "ancova": a single visit after time 0)
            fit = fits[j] if j in fits else _ancova(baseline[seen], scores[seen, j], arm[seen], first, second)
            keys.update(fit)
            c = {**c, "mean_difference": keys.pop("difference"), "ci95": keys.pop("ci95")}
        keys["response"] = _logistic(responded[seen], arm[seen], first, second)
        keys["remission"] = _logistic(remitted[seen], arm[seen], first, second)
        out.append(Contrast(arms=(first, second), time=label, **c, **keys))
    return out


def _nan_fit(method: str, note: str, n: tuple[int, int]) -> dict:
    return {"method": method, "difference": math.nan, "ci95": [math.nan, math.nan], "p_value": math.nan,
            "n_analysed": n, "note": note}  # fmt: skip


def _ancova(baseline, score, arm, first, second) -> dict:
    n = (int(np.sum(arm == first)), int(np.sum(arm == second)))
    try:
        r = analysis.ancova(baseline, score, arm, first=first, second=second)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return _nan_fit("ancova", f"ANCOVA not estimable: {exc}", n)
    return {"method": "ancova", "difference": r["difference"], "ci95": r["ci95"], "p_value": r["p_value"],
            "n_analysed": n}  # fmt: skip


def _mmrm(baseline, scores, arm, labels, times_h, first, second) -> dict[int, dict]:
    """The MMRM of the pair on every visit after time 0, fitted once: {column: fit keys}. With one such visit
    the MMRM is ANCOVA (the same numbers): nothing here, and the caller's ANCOVA says ``ancova``. A fit that
    fails gives every visit NaN and the reason."""
    cols = [int(j) for j in np.argsort(times_h, kind="stable") if times_h[j] > 0]
    if len(cols) < 2:
        return {}  # one visit (or none): ANCOVA at each, method "ancova"
    s = scores[:, cols]
    keep = np.isfinite(s).any(axis=1)
    n = (int(np.sum(keep & (arm == first))), int(np.sum(keep & (arm == second))))
    try:
        r = analysis.mmrm(baseline, s, arm, [labels[j] for j in cols], first=first, second=second)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return {j: _nan_fit("mmrm", f"MMRM not estimable: {exc}", n) for j in cols}
    n = (r["n_first"], r["n_second"])
    return {
        j: {
            "method": "mmrm",
            "difference": v["difference"],
            "ci95": v["ci95"],
            "p_value": v["p_value"],
            "n_analysed": n,
        }
        for j, v in zip(cols, r["visits"])
    }


def _logistic(outcome, arm, first, second) -> BinaryContrast:
    r = analysis.logistic(outcome, arm, first=first, second=second)
    return BinaryContrast(odds_ratio=r["odds_ratio"], ci95=tuple(r["ci95"]), p_value=r["p_value"], method=r["method"])


__all__ = ["ArmScores", "analysed_set", "n_analysed", "pair_contrasts"]

"""The analyses published trials report: MMRM, ANCOVA on baseline, logistic regression, Cox regression.

Each function takes per-patient arrays, compares two arms (``first`` and ``second``; patients of other arms
are left out, so a contrast does not depend on which other arms were run) and returns a plain dict with
at least ``method``, ``p_value`` and ``ci95``. Sign conventions as in :mod:`.stats`: differences are first
minus second in change from baseline (negative: the first arm improved more), odds and hazard ratios are
the first arm's over the second's. The helpers :func:`observed`, :func:`completers` and :func:`locf` turn a
(patients x visits) matrix with NaN for missed visits into the data set an analysis uses. Models,
assumptions and the check against R are described in docs/analysis.md.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize
from scipy import stats as sps

# --- missing data --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnalysisSet:
    """Post-baseline scores (patients x visits) as an analysis uses them; NaN: not analysed."""

    method: str  # "observed", "completers" or "locf"
    scores: np.ndarray


def observed(scores) -> AnalysisSet:
    """Every observed value as it is (observed cases). The MMRM uses them all; an analysis at one visit
    uses the patients observed at that visit."""
    return AnalysisSet("observed", np.array(scores, dtype=float))


def completers(scores) -> AnalysisSet:
    """Only the patients observed at every visit (their rows unchanged); every other row all NaN."""
    s = np.array(scores, dtype=float)
    s[~np.isfinite(s).all(axis=1)] = np.nan
    return AnalysisSet("completers", s)


def locf(scores) -> AnalysisSet:
    """Last observation carried forward: a missed visit takes the patient's last observed post-baseline
    value before it. Visits before a patient's first observed value stay NaN (the baseline is not
    carried forward; that would be BOCF)."""
    s = np.array(scores, dtype=float)
    for j in range(1, s.shape[1]):
        gap = np.isnan(s[:, j])
        s[gap, j] = s[gap, j - 1]
    return AnalysisSet("locf", s)


# --- shared pieces -------------------------------------------------------------------------------------


def _two_arms(arm, first, second) -> tuple[np.ndarray, np.ndarray]:
    """(rows in either arm, is-first among them); a clear error when an arm is empty."""
    arm = np.asarray(arm)
    if first == second:
        raise ValueError(f"first and second are the same arm ({first!r})")
    for a in (first, second):
        if not np.any(arm == a):
            raise ValueError(f"no patient in arm {a!r}")
    keep = (arm == first) | (arm == second)
    return keep, (arm[keep] == first)


def _outcome(outcome: str) -> None:
    if outcome not in ("change", "score"):
        raise ValueError(f"outcome must be 'change' or 'score', not {outcome!r}")


def _t_result(est: float, se: float, df: float) -> dict:
    half = float(sps.t.ppf(0.975, df) * se)
    return {
        "difference": est,
        "se": se,
        "ci95": [est - half, est + half],
        "p_value": float(2 * sps.t.sf(abs(est / se), df)) if se > 0 else float("nan"),
        "df": df,
    }


def _z_ratio(log_ratio: float, se: float) -> tuple[list[float], float]:
    """95 % Wald interval on the log scale, exponentiated, and the two-sided p-value."""
    z = float(sps.norm.ppf(0.975))
    return [math.exp(log_ratio - z * se), math.exp(log_ratio + z * se)], float(2 * sps.norm.sf(abs(log_ratio / se)))


# --- ANCOVA --------------------------------------------------------------------------------------------


def ancova(baseline, score, arm, *, first, second, outcome: str = "change") -> dict:
    """``outcome ~ arm + baseline`` by ordinary least squares, patients with a missing score left out.

    ``outcome`` is ``"change"`` (score - baseline) or ``"score"``; the arm difference is the same for both.
    Returns the difference first - second with its SE, t-based 95 % CI and p on n - 3 degrees of
    freedom, and the least-squares mean of each arm at the mean baseline of the analysed patients.
    """
    import statsmodels.api as sm

    _outcome(outcome)
    keep, is_first = _two_arms(arm, first, second)
    b, s = np.asarray(baseline, float)[keep], np.asarray(score, float)[keep]
    ok = np.isfinite(s) & np.isfinite(b)
    b, s, is_first = b[ok], s[ok], is_first[ok]
    n1, n2 = int(is_first.sum()), int((~is_first).sum())
    if min(n1, n2) == 0 or n1 + n2 < 4:
        raise ValueError(f"ANCOVA needs observed scores in both arms and 4 patients (have {n1} and {n2})")
    y = s - b if outcome == "change" else s
    X = np.column_stack([np.ones_like(b), is_first.astype(float), b])
    if np.linalg.matrix_rank(X) < 3:
        raise ValueError("singular ANCOVA design: the baseline is constant or confounded with the arm")
    fit = sm.OLS(y, X).fit()
    at = float(b.mean())
    lsm = fit.t_test(np.array([[1.0, 1.0, at], [1.0, 0.0, at]]))
    out = _t_result(float(fit.params[1]), float(fit.bse[1]), float(fit.df_resid))
    return {
        "method": "ancova",
        "outcome": outcome,
        **out,
        "ls_mean_first": float(lsm.effect[0]),
        "ls_mean_second": float(lsm.effect[1]),
        "baseline_at": at,
        "n_first": n1,
        "n_second": n2,
    }


# --- MMRM ----------------------------------------------------------------------------------------------


def _cov_from(theta: np.ndarray, v: int) -> tuple[np.ndarray, np.ndarray]:
    """Unstructured covariance from its Cholesky factor: log diagonal, then the lower triangle."""
    L = np.zeros((v, v))
    L[np.diag_indices(v)] = np.exp(theta[:v])
    L[np.tril_indices(v, -1)] = theta[v:]
    return L @ L.T, L


def _reml(theta: np.ndarray, patterns: list, v: int, with_grad: bool = True):
    """-2 x REML log-likelihood (less its constant) of GLS with an unstructured covariance, and its
    gradient in ``theta``. ``patterns``: (visit indices, X (m, k, p), y (m, k)) per missingness pattern."""
    sigma, L = _cov_from(theta, v)
    p = patterns[0][1].shape[2]
    A, c, f = np.zeros((p, p)), np.zeros(p), 0.0
    inv = []
    for obs, X, y in patterns:
        W = linalg.cho_solve(linalg.cho_factor(sigma[np.ix_(obs, obs)]), np.eye(len(obs)))
        inv.append(W)
        f += len(y) * np.linalg.slogdet(sigma[np.ix_(obs, obs)])[1]
        A += np.einsum("mkp,kl,mlq->pq", X, W, X)
        c += np.einsum("mkp,kl,ml->p", X, W, y)
        f += np.einsum("mk,kl,ml->", y, W, y)
    A_inv = np.linalg.inv(A)
    beta = A_inv @ c
    f += np.linalg.slogdet(A)[1] - c @ beta
    if not with_grad:
        return f, beta, A_inv, sigma
    G = np.zeros((v, v))  # d f / d sigma
    for (obs, X, y), W in zip(patterns, inv):
        r = y - X @ beta
        inner = len(y) * sigma[np.ix_(obs, obs)] - r.T @ r - np.einsum("mkp,pq,mlq->kl", X, A_inv, X)
        G[np.ix_(obs, obs)] += W @ inner @ W
    dL = 2 * G @ L
    return f, np.concatenate([np.diag(dL) * np.diag(L), dL[np.tril_indices(v, -1)]])


def mmrm(baseline, scores, arm, visits, *, first, second, outcome: str = "change") -> dict:
    """Mixed model for repeated measures: ``outcome ~ arm * visit + baseline * visit`` by generalised
    least squares with an unstructured covariance across visits, fitted by REML, on every observed visit.

    ``scores`` is (patients x visits) post-baseline scores, NaN where missed (missing at random); a patient
    with at least one observed visit is analysed. ``visits`` labels the columns. The same model as
    ``nlme::gls(change ~ arm*visit + baseline*visit, correlation = corSymm(form = ~ visit_index | id),
    weights = varIdent(form = ~ 1 | visit), method = "REML")``. Degrees of freedom: residual (observations
    minus coefficients), as nlme's gls. Returns one entry per visit in ``"visits"``
    (least-squares means of each arm at the mean baseline of the analysed patients, each patient counted
    once; the difference first - second, SE, 95 % CI, p) and the last visit's contrast at the top level.
    """
    _outcome(outcome)
    keep, is_first = _two_arms(arm, first, second)
    b = np.asarray(baseline, float)[keep]
    s = np.asarray(scores, float)
    s = (s[:, None] if s.ndim == 1 else s)[keep]
    visits = list(visits)
    v = s.shape[1]
    if len(visits) != v:
        raise ValueError(f"{len(visits)} visit labels for {v} columns of scores")
    if not np.isfinite(b).all():
        raise ValueError("a baseline is missing: every analysed patient needs one")
    seen = np.isfinite(s)
    has_any = seen.any(axis=1)
    b, s, seen, is_first = b[has_any], s[has_any], seen[has_any], is_first[has_any]
    y = s - b[:, None] if outcome == "change" else s
    for j, label in enumerate(visits):
        for a, in_arm in ((first, is_first), (second, ~is_first)):
            if not seen[in_arm, j].any():
                raise ValueError(
                    f"visit {label}: no observed value in arm {a!r}; the arm effect there cannot be estimated"
                )
        if seen[:, j].sum() < 4:
            raise ValueError(f"visit {label}: {seen[:, j].sum()} observed values, at least 4 are needed")
    # coefficients per visit j: intercept, first arm, baseline (the cell-means form of arm*visit + baseline*visit)
    X = np.zeros((len(b), v, 3 * v))
    for j in range(v):
        X[:, j, 3 * j : 3 * j + 3] = np.column_stack([np.ones_like(b), is_first, b])
    if np.linalg.matrix_rank(X[seen]) < 3 * v:
        raise ValueError("singular MMRM design: at some visit the baseline is constant or confounded with the arm")
    patterns = []
    for mask in np.unique(seen, axis=0):
        rows = (seen == mask).all(axis=1)
        obs = np.flatnonzero(mask)
        patterns.append((obs, X[rows][:, obs, :], y[rows][:, obs]))

    # start from the per-visit residual SDs of ordinary least squares, uncorrelated
    ols = np.linalg.lstsq(X[seen], y[seen], rcond=None)[0]
    res = np.where(seen, y - X @ ols, np.nan)
    sd0 = np.sqrt(np.nanmean(res**2, axis=0))
    if not (sd0 > 1e-8 * (1.0 + np.nanmax(np.abs(y)))).all():
        raise ValueError("singular MMRM data: no residual variation at some visit")
    theta0 = np.concatenate([np.log(sd0), np.zeros(v * (v - 1) // 2)])
    fit = optimize.minimize(_reml, theta0, args=(patterns, v), jac=True, method="BFGS", options={"gtol": 1e-9})
    f, beta, cov, sigma = _reml(fit.x, patterns, v, with_grad=False)
    grad = _reml(fit.x, patterns, v)[1]
    if np.linalg.cond(sigma) > 1e8:
        raise ValueError("singular MMRM data: the visits' residuals are (nearly) perfectly correlated")
    if not np.all(np.isfinite(grad)) or np.max(np.abs(grad)) > 1e-4 * max(1.0, abs(f)):
        raise ValueError(f"MMRM REML fit did not converge ({fit.message}); are the data singular?")

    at = float(b.mean())
    df = float(seen.sum() - 3 * v)
    per_visit = []
    for j, label in enumerate(visits):
        rows = np.zeros((3, 3 * v))
        rows[:, 3 * j : 3 * j + 3] = [[1.0, 1.0, at], [1.0, 0.0, at], [0.0, 1.0, 0.0]]
        est, se = rows @ beta, np.sqrt(np.einsum("ip,pq,iq->i", rows, cov, rows))
        per_visit.append(
            {
                "visit": label,
                **_t_result(float(est[2]), float(se[2]), df),
                "ls_mean_first": float(est[0]),
                "ls_mean_second": float(est[1]),
                "ls_mean_se_first": float(se[0]),
                "ls_mean_se_second": float(se[1]),
                "n_first": int(seen[is_first, j].sum()),
                "n_second": int(seen[~is_first, j].sum()),
            }
        )
    last = per_visit[-1]
    return {
        "method": "mmrm",
        "outcome": outcome,
        "covariance": "unstructured",
        "estimation": "REML",
        "dof_method": "residual",
        **{k: last[k] for k in ("visit", "difference", "se", "ci95", "p_value", "df")},
        "visits": per_visit,
        "baseline_at": at,
        "n_first": int(is_first.sum()),
        "n_second": int((~is_first).sum()),
        "reml_loglik": float(-0.5 * f - 0.5 * (seen.sum() - 3 * v) * math.log(2 * math.pi)),
    }


# --- logistic regression -------------------------------------------------------------------------------


def _firth(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firth's penalised logistic regression (log-likelihood + 0.5 log|information|): estimates and the
    inverse information at them."""

    def info(beta):
        p = 1.0 / (1.0 + np.exp(-X @ beta))
        return (X * (p * (1 - p))[:, None]).T @ X, p

    def neg(beta):
        eta = X @ beta
        i, _ = info(beta)
        return -(y @ eta - np.logaddexp(0.0, eta).sum() + 0.5 * np.linalg.slogdet(i)[1])

    fit = optimize.minimize(neg, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-10})
    return fit.x, np.linalg.inv(info(fit.x)[0])


def logistic(responded, arm, baseline=None, *, first, second) -> dict:
    """Logistic regression of a binary outcome (response, remission) on the arm (+ the baseline score).

    Odds ratio of the first arm over the second, Wald 95 % CI on the log scale, Wald p. When an arm has
    no responders or only responders (separation), the maximum likelihood estimate does not exist; then
    without a covariate the Haldane-corrected 2x2 odds ratio is given (0.5 added to every cell, Woolf's
    CI; ``method`` "haldane"), with one Firth's penalised likelihood (``method`` "firth", Wald CI).
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    keep, is_first = _two_arms(arm, first, second)
    r = np.asarray(responded)[keep].astype(float)
    cols = [np.ones_like(r), is_first.astype(float)]
    if baseline is not None:
        cols.append(np.asarray(baseline, float)[keep])
    X = np.column_stack(cols)
    a, n1 = float(r[is_first].sum()), int(is_first.sum())
    c, n2 = float(r[~is_first].sum()), int((~is_first).sum())
    counts = {"n_first": n1, "n_second": n2, "responders_first": int(a), "responders_second": int(c)}
    separated = min(a, n1 - a, c, n2 - c) == 0
    if separated and baseline is None:
        log_or = math.log(((a + 0.5) / (n1 - a + 0.5)) / ((c + 0.5) / (n2 - c + 0.5)))
        se = math.sqrt(1 / (a + 0.5) + 1 / (n1 - a + 0.5) + 1 / (c + 0.5) + 1 / (n2 - c + 0.5))
        method = "haldane"
    else:
        fitted = None
        if not separated:
            with warnings.catch_warnings():
                warnings.simplefilter("error", PerfectSeparationWarning)
                try:
                    fitted = sm.GLM(r, X, family=sm.families.Binomial()).fit(tol=1e-12)
                except (PerfectSeparationWarning, np.linalg.LinAlgError):
                    fitted = None
            if fitted is not None and not (fitted.converged and np.all(np.isfinite(fitted.bse))):
                fitted = None
        if fitted is not None:
            log_or, se, method = float(fitted.params[1]), float(fitted.bse[1]), "logistic"
        else:  # separation (by the arm or by the baseline): Firth
            beta, cov = _firth(r, X)
            log_or, se, method = float(beta[1]), float(math.sqrt(cov[1, 1])), "firth"
    ci, p = _z_ratio(log_or, se)
    return {
        "method": method,
        "odds_ratio": math.exp(log_or),
        "log_odds_ratio": log_or,
        "se": se,
        "ci95": ci,
        "p_value": p,
        "covariate": None if baseline is None else "baseline",
        **counts,
    }


# --- Cox regression and Kaplan-Meier -------------------------------------------------------------------


def cox(time, event, arm, *, first, second) -> dict:
    """Cox proportional hazards regression on the arm (lifelines, Efron's ties): hazard ratio of the
    first arm over the second with its Wald 95 % CI and p, and the Kaplan-Meier curve of each arm.

    ``time`` is the time to the event or to censoring, ``event`` True when the event was observed. When an
    arm has no events the hazard ratio does not exist: ``hazard_ratio`` and ``ci95`` are None and the
    p-value is the log-rank test's (``method`` "logrank").
    """
    import pandas as pd
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test

    keep, is_first = _two_arms(arm, first, second)
    t = np.asarray(time, float)[keep]
    e = np.asarray(event, bool)[keep]
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError("times must be finite and non-negative")
    curves = {}
    for name, rows in (("first", is_first), ("second", ~is_first)):
        km = KaplanMeierFitter().fit(t[rows], event_observed=e[rows])
        curves[name] = {
            "time": [float(x) for x in km.survival_function_.index],
            "survival": [float(x) for x in km.survival_function_.iloc[:, 0]],
            "median": float(km.median_survival_time_) if np.isfinite(km.median_survival_time_) else None,
        }
    d1, d2 = int(e[is_first].sum()), int(e[~is_first].sum())
    out = {
        "n_first": int(is_first.sum()),
        "n_second": int((~is_first).sum()),
        "events_first": d1,
        "events_second": d2,
        "km_first": curves["first"],
        "km_second": curves["second"],
    }
    if min(d1, d2) == 0:
        if d1 + d2 == 0:
            raise ValueError("no events in either arm")
        lr = logrank_test(t[is_first], t[~is_first], e[is_first], e[~is_first])
        none = {"hazard_ratio": None, "log_hazard_ratio": None, "se": None, "ci95": None}
        return {"method": "logrank", **none, "p_value": float(lr.p_value), **out}
    df = pd.DataFrame({"time": t, "event": e, "first": is_first.astype(float)})
    fit = CoxPHFitter().fit(df, duration_col="time", event_col="event")
    log_hr, se = float(fit.params_["first"]), float(fit.standard_errors_["first"])
    ci, p = _z_ratio(log_hr, se)
    return {
        "method": "cox",
        "hazard_ratio": math.exp(log_hr),
        "log_hazard_ratio": log_hr,
        "se": se,
        "ci95": ci,
        "p_value": p,
        **out,
    }

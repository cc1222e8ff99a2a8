"""The crossover analysis: a linear mixed model on the change from each period's baseline (docs/analysis.md).

Model, one row per patient and period observed::

    change = intercept + treatment + period + sequence + u_patient + e,   Var(u) = s2_u,  Var(e) = s2_e

treatment, period and sequence fixed factors, a patient effect shared by the patient's periods, fitted by REML:
``nlme::lme(change ~ treatment + period + sequence, random = ~ 1 | patient, method = "REML")``. The patient
variance is estimated without the restriction ``s2_u >= 0`` (compound symmetry: the periods' correlation may be
negative, as ``nlme::gls(..., correlation = corCompSymm(form = ~ 1 | patient))`` allows), so that with complete
data the fit is the classic analysis of variance of the crossover whatever the sign; where the estimate is
positive it is nlme::lme's. Treatment differences are estimated within patients; a patient observed in one
period only (who left) adds to the between-patient information and to the period and sequence effects. The
REML criterion is profiled over ``s2_e``, leaving one parameter, the ratio ``lam = s2_u / s2_e``, found from the
roots of the criterion's analytic derivative (brentq), so the fit is converged to round-off.

Degrees of freedom are nlme's for effects that vary within patients (treatment, period): observations minus
patients minus the treatment and period coefficients. For a complete, balanced 2x2 crossover this is
``n1 + n2 - 2`` and the fit equals the classic within-patient analysis (tests/test_crossover.py).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize
from scipy import stats as sps

LOG_LAM = (-30.0, 20.0)
"""The positive variance ratios searched, as ln(s2_u / s2_e): up to a patient variance 5e8 times the residual."""


def _design(treatment, period, sequence, levels) -> tuple[np.ndarray, list[str]]:
    """Treatment-contrast coding: intercept, treatments but the first of ``levels``, periods but the first,
    sequences but the first."""
    cols, names = [np.ones(len(treatment))], ["intercept"]
    for lv in levels[1:]:
        cols.append((treatment == lv).astype(float))
        names.append(f"treatment[{lv}]")
    for name, x in (("period", period), ("sequence", sequence)):
        for lv in sorted(set(x.tolist()))[1:]:
            cols.append((x == lv).astype(float))
            names.append(f"{name}[{lv}]")
    return np.column_stack(cols), names


class _Fit:
    """GLS at a variance ratio ``lam``: per patient ``V = s2_e (I + lam J)``; its inverse is
    ``(I - c J) / s2_e`` with ``c = lam / (1 + m lam)``."""

    def __init__(self, X, y, groups):
        self.X, self.y = X, y
        self.idx = [np.flatnonzero(groups == g) for g in np.unique(groups)]
        self.m = np.array([len(i) for i in self.idx], float)
        self.z = np.array([X[i].sum(axis=0) for i in self.idx])  # X_i' 1
        self.sy = np.array([y[i].sum() for i in self.idx])  # 1' y_i
        self.XtX, self.Xty = X.T @ X, X.T @ y
        self.n, self.p = X.shape

    def at(self, lam: float):
        c = lam / (1.0 + self.m * lam)
        A = self.XtX - (self.z * c[:, None]).T @ self.z
        b = self.Xty - self.z.T @ (c * self.sy)
        beta = np.linalg.solve(A, b)
        r = self.y - self.X @ beta
        s = np.array([r[i].sum() for i in self.idx])
        rss = float(r @ r - c @ s**2)
        return c, A, beta, rss, s

    def criterion(self, lam: float) -> float:
        """-2 REML log-likelihood, profiled over s2_e, less its constant."""
        _, A, _, rss, _ = self.at(lam)
        k = self.n - self.p
        return k * math.log(rss / k) + float(np.log1p(self.m * lam).sum()) + float(np.linalg.slogdet(A)[1])

    def slope(self, lam: float) -> float:
        """d criterion / d lam (envelope theorem for the GLS residuals)."""
        c, A, _, rss, s = self.at(lam)
        dc = 1.0 / (1.0 + self.m * lam) ** 2
        quad = np.einsum("ip,pq,iq->i", self.z, np.linalg.inv(A), self.z)
        return (
            -(self.n - self.p) * float(dc @ s**2) / rss + float((self.m / (1 + self.m * lam)).sum()) - float(dc @ quad)
        )


def _reml_lambda(fit: _Fit) -> float:
    """The REML variance ratio: the lowest criterion among the roots of its slope over the whole admissible range
    ``lam > -1 / (most periods of a patient)`` (every patient's covariance positive definite)."""
    lo = -1.0 / float(fit.m.max())
    grid = np.unique(
        np.concatenate([lo * (1.0 - np.logspace(-12, 0, 49)), np.exp(np.linspace(*LOG_LAM, 101))])
    )  # from just above lo through 0 to a patient variance 5e8 times the residual
    g = np.array([fit.slope(x) for x in grid])
    candidates = [float(grid[0]), float(grid[-1])]
    for k in np.flatnonzero((g[:-1] < 0) & (g[1:] >= 0)):
        candidates.append(optimize.brentq(fit.slope, grid[k], grid[k + 1], xtol=1e-15, rtol=1e-15))
    return min(candidates, key=fit.criterion)


def crossover_mixed(change, patient, treatment, period, sequence, *, levels) -> dict:
    """Fit the crossover mixed model (module docstring) to one visit's observations.

    Arrays of one row per patient and period observed: ``change`` (from the period's baseline), ``patient``
    (an id), ``treatment``, ``period`` and ``sequence`` (labels); rows with a NaN change are left out. ``levels``:
    the treatments in the order contrasts are taken. Returns ``method`` "crossover_mixed", the REML variances
    ``var_patient`` (negative when the periods of a patient are negatively correlated) and ``var_residual``,
    ``df`` (within patients), the fixed-effect ``coef`` by name, their ``se``, ``n_obs``, ``n_patients`` and
    ``differences``: a dict ``(first, second) -> {difference, se, ci95, p_value, df}`` (first minus second) for
    every pair in ``levels`` order, the first pair's also at the top level (``difference``, ``se``, ``ci95``,
    ``p_value``). Raises ``ValueError`` when a treatment has no observation or the design is
    singular.
    """
    y = np.asarray(change, float)
    keep = np.isfinite(y)
    y = y[keep]
    patient, treatment = np.asarray(patient)[keep], np.asarray(treatment, dtype=object)[keep]
    period, sequence = np.asarray(period)[keep], np.asarray(sequence)[keep]
    for lv in levels:
        if not np.any(treatment == lv):
            raise ValueError(f"no observation on {lv!r}")
    X, names = _design(treatment, period, sequence, list(levels))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError("singular crossover design: treatment, period and sequence are confounded in the data")
    n_patients = len(np.unique(patient))
    n_within = (len(levels) - 1) + len(set(period.tolist())) - 1
    df = float(len(y) - n_patients - n_within)
    if df < 1 or len(y) <= X.shape[1]:
        raise ValueError(f"too few observations within patients ({len(y)} rows of {n_patients} patients)")
    fit = _Fit(X, y, patient)
    lam = _reml_lambda(fit)
    _, A, beta, rss, _ = fit.at(lam)
    s2 = rss / (fit.n - fit.p)
    cov = s2 * np.linalg.inv(A)
    index = {lv: (None if i == 0 else i) for i, lv in enumerate(levels)}
    differences = {}
    for i, a in enumerate(levels):
        for b in levels[i + 1 :]:
            c = np.zeros(len(beta))
            for lv, sign in ((a, 1.0), (b, -1.0)):
                if index[lv] is not None:
                    c[index[lv]] = sign
            est, se = float(c @ beta), float(math.sqrt(c @ cov @ c))
            half = float(sps.t.ppf(0.975, df) * se)
            p = float(2 * sps.t.sf(abs(est / se), df)) if se > 0 else math.nan
            differences[(a, b)] = {
                "difference": est,
                "se": se,
                "ci95": [est - half, est + half],
                "p_value": p,
                "df": df,
            }
    top = differences[(levels[0], levels[1])] if len(levels) > 1 else {}
    return {
        "method": "crossover_mixed",
        **{k: top[k] for k in ("difference", "se", "ci95", "p_value") if k in top},
        "estimation": "REML",
        "dof_method": "within (nlme)",
        "var_patient": float(lam * s2),
        "var_residual": float(s2),
        "df": df,
        "coef": dict(zip(names, beta.tolist())),
        "se": dict(zip(names, np.sqrt(np.diag(cov)).tolist())),
        "reml_criterion": fit.criterion(lam),
        "n_obs": int(len(y)),
        "n_patients": n_patients,
        "differences": differences,
    }


__all__ = ["crossover_mixed"]

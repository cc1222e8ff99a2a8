"""The trial analyses (``trials.analysis``) against independent oracles: R's nlme::gls run live for the MMRM,
NumPy least squares and statsmodels' formula interface for ANCOVA, statsmodels' GLM and the 2x2 table for
logistic regression, the exponential model for Cox regression, hand-written matrices for missing data."""

import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroplast.trials import analysis as an

DATA = Path(__file__).parent / "data"


def _example():
    """tests/data/mmrm_example.csv (written by make_mmrm_example.py) as wide arrays."""
    d = pd.read_csv(DATA / "mmrm_example.csv")
    wide = d.pivot(index="id", columns="visit", values="change")
    first = d.groupby("id").first().loc[wide.index]
    return first.baseline.to_numpy(), wide.to_numpy(), first.arm.to_numpy(), list(wide.columns)


def _r_with_nlme() -> str | None:
    """Why the R oracle cannot run here, or None when it can."""
    if shutil.which("Rscript") is None:
        return "Rscript is not installed"
    probe = subprocess.run(["Rscript", "-e", "library(nlme)"], capture_output=True, text=True, timeout=60)
    return None if probe.returncode == 0 else "R's nlme package does not load"


def test_mmrm_matches_r_nlme_gls():
    # Oracle: nlme::gls(change ~ arm*visit + baseline*visit, corSymm(~visit_index|id), varIdent(~1|visit), REML)
    # run live by tests/data/mmrm_nlme.R (written against R 4.2.2, nlme 3.1.162), LS means by hand from coef()
    # and vcov(). Both optimisers are converged far past the compared digits (the REML log-likelihoods agree to
    # 1e-10; the estimates to ~2e-8), so LS means and differences are held to 1e-6 absolute and SEs to 1e-4
    # relative as asked; what remains is the optimisers' stopping points, not a difference of model.
    why = _r_with_nlme()
    if why:
        pytest.skip(f"R oracle unavailable: {why}")
    run = subprocess.run(
        ["Rscript", str(DATA / "mmrm_nlme.R"), str(DATA / "mmrm_example.csv"), "drug", "placebo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    r = pd.read_csv(StringIO(run.stdout), comment="#")
    baseline, change, arm, visits = _example()
    # the scores themselves are passed: the model on change and the one on score give the same contrasts
    res = an.mmrm(baseline, change + baseline[:, None], arm, visits, first="drug", second="placebo")
    assert res["method"] == "mmrm" and res["dof_method"] == "residual"
    assert len(res["visits"]) == 4
    for v in res["visits"]:
        rows = r[r.visit == v["visit"]].set_index("term")
        for ours, term in (("ls_mean_first", "drug"), ("ls_mean_second", "placebo"), ("difference", "difference")):
            assert v[ours] == pytest.approx(rows.loc[term, "estimate"], abs=1e-6)
        assert v["ls_mean_se_first"] == pytest.approx(rows.loc["drug", "se"], rel=1e-4)
        assert v["ls_mean_se_second"] == pytest.approx(rows.loc["placebo", "se"], rel=1e-4)
        assert v["se"] == pytest.approx(rows.loc["difference", "se"], rel=1e-4)
        assert v["df"] == rows.loc["difference", "df"]  # nlme's gls: observations - coefficients
        assert v["p_value"] == pytest.approx(rows.loc["difference", "p_value"], abs=1e-6)
    assert res["difference"] == res["visits"][-1]["difference"] and res["visit"] == 42
    r_loglik = float(re.search(r"REML log-likelihood (\S+),", run.stdout).group(1))
    assert res["reml_loglik"] == pytest.approx(r_loglik, abs=1e-6)  # the same likelihood, constant included


def test_mmrm_with_one_visit_is_ancova():
    # Oracle: ancova() (statsmodels OLS). With one visit the unstructured covariance is one variance and the
    # REML estimate is RSS / (n - 3), so every number is OLS's; 1e-8 leaves room for the optimiser only.
    baseline, change, arm, _ = _example()
    score = change[:, 0] + baseline
    m = an.mmrm(baseline, score[:, None], arm, ["7 d"], first="drug", second="placebo")["visits"][0]
    a = an.ancova(baseline, score, arm, first="drug", second="placebo")
    for k in ("difference", "se", "df", "p_value", "ls_mean_first", "ls_mean_second"):
        assert m[k] == pytest.approx(a[k], rel=1e-8, abs=1e-10), k
    assert m["ci95"] == pytest.approx(a["ci95"], rel=1e-8)


def test_mmrm_on_complete_data_is_per_visit_ancova():
    # Oracle: ancova() at each visit. With complete data and the same regressors at every visit, GLS equals
    # OLS visit by visit whatever the covariance (Zellner's seemingly unrelated regressions), so the point
    # estimates agree to 1e-8 (rounding); the REML covariance is the residual cross-product / (n - 3), so
    # the SEs agree too, to 1e-6 relative (the optimiser's stopping point). Only the df differ (pooled).
    rng = np.random.default_rng(3)
    n = 50
    arm = np.repeat(["a", "b"], n // 2)
    baseline = rng.normal(28.0, 4.0, n)
    cov = 25.0 * (0.5 + 0.5 * np.eye(3))  # equal variances, exchangeable correlation
    change = np.array([-4.0, -7.0, -9.0]) - 2.0 * (arm == "a")[:, None] + rng.multivariate_normal(np.zeros(3), cov, n)
    res = an.mmrm(baseline, change + baseline[:, None], arm, [1, 2, 3], first="a", second="b")
    for j, v in enumerate(res["visits"]):
        a = an.ancova(baseline, change[:, j] + baseline, arm, first="a", second="b")
        for k in ("difference", "ls_mean_first", "ls_mean_second"):
            assert v[k] == pytest.approx(a[k], abs=1e-8), k
        assert v["se"] == pytest.approx(a["se"], rel=1e-6)
    assert res["visits"][0]["df"] == 3 * n - 9


def test_mmrm_outcome_score_or_change_same_contrast():
    # Oracle: algebra. score = change + baseline and baseline is a covariate: the arm contrast is unchanged and
    # each LS mean moves by the mean baseline.
    baseline, change, arm, visits = _example()
    c = an.mmrm(baseline, change + baseline[:, None], arm, visits, first="drug", second="placebo")
    s = an.mmrm(baseline, change + baseline[:, None], arm, visits, first="drug", second="placebo", outcome="score")
    for vc, vs in zip(c["visits"], s["visits"]):
        assert vs["difference"] == pytest.approx(vc["difference"], abs=1e-6)
        assert vs["ls_mean_first"] == pytest.approx(vc["ls_mean_first"] + c["baseline_at"], abs=1e-6)
    # first and second swapped: the contrast changes sign
    sw = an.mmrm(baseline, change + baseline[:, None], arm, visits, first="placebo", second="drug")
    assert sw["difference"] == pytest.approx(-c["difference"], abs=1e-6)


def test_mmrm_refuses_what_it_cannot_estimate():
    rng = np.random.default_rng(1)
    n = 40
    arm = np.repeat(["a", "b"], n // 2)
    baseline = rng.normal(30.0, 4.0, n)
    scores = baseline[:, None] + rng.normal(-5.0, 5.0, (n, 3))
    kw = {"first": "a", "second": "b"}
    gone = scores.copy()
    gone[arm == "a", 2] = np.nan
    with pytest.raises(ValueError, match="visit 3: no observed value in arm 'a'"):
        an.mmrm(baseline, gone, arm, [1, 2, 3], **kw)
    with pytest.raises(ValueError, match="singular MMRM design"):
        an.mmrm(np.full(n, 30.0), scores, arm, [1, 2, 3], **kw)
    twin = scores.copy()
    twin[:, 1] = twin[:, 0] + 1.0  # visit 2 a copy of visit 1: the covariance is singular
    with pytest.raises(ValueError, match="singular MMRM data"):
        an.mmrm(baseline, twin, arm, [1, 2, 3], **kw)
    with pytest.raises(ValueError, match="2 visit labels for 3 columns"):
        an.mmrm(baseline, scores, arm, [1, 2], **kw)
    with pytest.raises(ValueError, match="no patient in arm 'c'"):
        an.mmrm(baseline, scores, arm, [1, 2, 3], first="a", second="c")


def test_ancova_matches_least_squares_and_statsmodels_formula():
    # Oracles: closed-form OLS (NumPy lstsq, SE from sigma^2 (X'X)^-1) and statsmodels' formula interface
    # with placebo as the reference level. Same model, so to rounding (1e-10 relative).
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(7)
    n = 80
    arm = np.where(rng.uniform(size=n) < 0.5, "ketamine", "placebo")
    baseline = rng.normal(30.0, 5.0, n)
    score = baseline - 6.0 - 4.0 * (arm == "ketamine") - 0.2 * (baseline - 30) + rng.normal(0, 6.0, n)
    score[[3, 11]] = np.nan  # missed: left out
    res = an.ancova(baseline, score, arm, first="ketamine", second="placebo")
    ok = np.isfinite(score)
    X = np.column_stack([np.ones(ok.sum()), arm[ok] == "ketamine", baseline[ok]]).astype(float)
    y = score[ok] - baseline[ok]
    beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
    se = np.sqrt(rss[0] / (ok.sum() - 3) * np.linalg.inv(X.T @ X)[1, 1])
    assert res["difference"] == pytest.approx(beta[1], rel=1e-10)
    assert res["se"] == pytest.approx(se, rel=1e-10)
    assert res["ls_mean_first"] - res["ls_mean_second"] == pytest.approx(beta[1], rel=1e-10)
    assert res["ls_mean_second"] == pytest.approx(beta[0] + beta[2] * baseline[ok].mean(), rel=1e-10)
    df = pd.DataFrame({"change": score - baseline, "arm": arm, "baseline": baseline}).dropna()
    f = smf.ols("change ~ C(arm, Treatment('placebo')) + baseline", df).fit()
    term = "C(arm, Treatment('placebo'))[T.ketamine]"
    assert res["ci95"] == pytest.approx(list(f.conf_int().loc[term]), rel=1e-10)
    assert res["p_value"] == pytest.approx(f.pvalues[term], rel=1e-8)
    assert (res["method"], res["n_first"] + res["n_second"], res["df"]) == ("ancova", 78, 75)


def test_logistic_matches_statsmodels_glm():
    # Oracle: statsmodels GLM Binomial from its formula interface (second arm the reference), Wald CI of
    # the log odds ratio exponentiated. Same likelihood, both IRLS/Newton converged: 1e-6 relative.
    import statsmodels.formula.api as smf
    from statsmodels.genmod.families import Binomial

    rng = np.random.default_rng(11)
    n = 120
    arm = np.repeat(["drug", "placebo"], n // 2)
    baseline = rng.normal(30.0, 5.0, n)
    eta = -0.5 + 0.9 * (arm == "drug") - 0.08 * (baseline - 30.0)
    responded = rng.uniform(size=n) < 1 / (1 + np.exp(-eta))
    res = an.logistic(responded, arm, baseline, first="drug", second="placebo")
    df = pd.DataFrame({"r": responded.astype(float), "arm": arm, "baseline": baseline})
    g = smf.glm("r ~ C(arm, Treatment('placebo')) + baseline", df, family=Binomial()).fit()
    term = "C(arm, Treatment('placebo'))[T.drug]"
    assert res["method"] == "logistic"
    assert res["odds_ratio"] == pytest.approx(np.exp(g.params[term]), rel=1e-6)
    assert res["ci95"] == pytest.approx(list(np.exp(g.conf_int().loc[term])), rel=1e-6)
    assert res["p_value"] == pytest.approx(g.pvalues[term], rel=1e-6)


def test_logistic_without_covariate_is_the_cross_product_ratio():
    # Oracle: the 2x2 table. With the arm alone the model is saturated: OR = (a d) / (b c) and the Wald SE of
    # log OR is Woolf's sqrt(1/a + 1/b + 1/c + 1/d), exactly (1e-8 for Newton's last step).
    arm = np.array(["t"] * 30 + ["c"] * 25)
    responded = np.array([1] * 17 + [0] * 13 + [1] * 8 + [0] * 17, bool)
    res = an.logistic(responded, arm, first="t", second="c")
    assert res["method"] == "logistic"
    assert res["odds_ratio"] == pytest.approx((17 * 17) / (13 * 8), rel=1e-8)
    assert res["se"] == pytest.approx(np.sqrt(1 / 17 + 1 / 13 + 1 / 8 + 1 / 17), rel=1e-8)
    assert (res["responders_first"], res["n_first"], res["responders_second"], res["n_second"]) == (17, 30, 8, 25)


def test_logistic_separation_falls_back():
    # Every first-arm patient responds: no maximum likelihood estimate. Oracle without a covariate: the
    # Haldane table (0.5 added to every cell), exactly. With the baseline: Firth's estimate, finite; and
    # Firth's estimate for the arm alone equals Haldane's odds ratio (a known identity for 2x2 tables).
    arm = np.array(["t"] * 12 + ["c"] * 12)
    responded = np.array([1] * 12 + [1] * 4 + [0] * 8, bool)
    h = an.logistic(responded, arm, first="t", second="c")
    assert h["method"] == "haldane"
    assert h["odds_ratio"] == pytest.approx((12.5 / 0.5) / (4.5 / 8.5), rel=1e-12)
    assert h["ci95"][0] < h["odds_ratio"] < h["ci95"][1]
    baseline = np.random.default_rng(2).normal(30.0, 5.0, 24)
    f = an.logistic(responded, arm, baseline, first="t", second="c")
    assert f["method"] == "firth" and np.isfinite(f["odds_ratio"]) and f["odds_ratio"] > 1
    assert 0 < f["p_value"] < 1 and all(np.isfinite(f["ci95"]))
    by_baseline = an.logistic(baseline < 30.0, arm, baseline, first="t", second="c")  # separated by the baseline
    assert by_baseline["method"] == "firth" and np.isfinite(by_baseline["odds_ratio"])
    X = np.column_stack([np.ones(24), arm == "t"]).astype(float)
    beta, _ = an._firth(responded.astype(float), X)
    assert np.exp(beta[1]) == pytest.approx(h["odds_ratio"], rel=1e-6)


def test_cox_recovers_an_exponential_hazard_ratio():
    # Oracle: the two-group exponential model. Hazards 0.10 and 0.05 per day (true HR 2), administrative
    # censoring at 15 days, 1500 patients per arm (fixed seed). The estimate must lie within 3 of its own
    # SEs of log 2 and agree with the exponential MLE (d1/T1)/(d2/T2) to 0.5 SE (both estimate the same HR).
    rng = np.random.default_rng(5)
    n = 1500
    arm = np.repeat(["ket", "pbo"], n)
    t = rng.exponential(np.where(arm == "ket", 10.0, 20.0))
    event = t < 15.0
    t = np.minimum(t, 15.0)
    res = an.cox(t, event, arm, first="ket", second="pbo")
    assert res["method"] == "cox"
    assert abs(res["log_hazard_ratio"] - np.log(2.0)) < 3 * res["se"]
    assert res["ci95"][0] < 2.0 < res["ci95"][1]
    rate = [event[arm == a].sum() / t[arm == a].sum() for a in ("ket", "pbo")]
    assert abs(res["log_hazard_ratio"] - np.log(rate[0] / rate[1])) < 0.5 * res["se"]
    assert res["p_value"] < 1e-10
    assert res["events_first"] == int(event[:n].sum())


def test_cox_kaplan_meier_lists_and_an_arm_without_events():
    # Oracle: Kaplan-Meier by hand on five patients; an arm without events has no hazard ratio, the log-rank
    # p-value is given instead.
    t = np.array([1.0, 2, 2, 3, 4, 1, 2, 3, 5, 6])
    e = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0], bool)
    arm = np.array(["a"] * 5 + ["b"] * 5)
    res = an.cox(t, e, arm, first="a", second="b")
    assert res["km_first"]["time"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert res["km_first"]["survival"] == pytest.approx([1.0, 0.8, 0.6, 0.3, 0.3], abs=1e-12)
    assert res["km_first"]["median"] == 3.0 and res["km_second"]["median"] is None
    assert res["method"] == "logrank" and res["hazard_ratio"] is None and 0 < res["p_value"] < 1
    with pytest.raises(ValueError, match="no events"):
        an.cox(t, np.zeros(10, bool), arm, first="a", second="b")


def test_missing_data_helpers():
    nan = np.nan
    s = np.array(
        [
            [10.0, 8.0, 7.0, 6.0],  # complete
            [12.0, 9.0, nan, nan],  # dropped out after visit 2
            [nan, 11.0, nan, 5.0],  # missed visits 1 and 3
            [nan, nan, nan, nan],  # no post-baseline value
        ]
    )
    o = an.observed(s)
    assert o.method == "observed" and np.array_equal(o.scores, s, equal_nan=True)
    c = an.completers(s)
    expect_c = np.full_like(s, nan)
    expect_c[0] = s[0]
    assert c.method == "completers" and np.array_equal(c.scores, expect_c, equal_nan=True)
    lo = an.locf(s)
    expect_l = np.array([[10.0, 8, 7, 6], [12, 9, 9, 9], [nan, 11, 11, 5], [nan, nan, nan, nan]])
    assert lo.method == "locf" and np.array_equal(lo.scores, expect_l, equal_nan=True)
    assert np.array_equal(s[1], [12.0, 9.0, nan, nan], equal_nan=True)  # the input is not modified

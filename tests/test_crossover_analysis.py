"""The crossover mixed model (``trials.crossover_analysis``) against three oracles.

1. The closed form of the balanced 2x2 crossover (Jones & Kenward, ch. 2; Grizzle 1965): with d the period 1
   minus period 2 difference of each patient, the treatment effect is half the difference between the
   sequences' mean d, its SE ``sqrt(s2_d / 4 * (1/n1 + 1/n2))`` with ``s2_d`` the pooled within-sequence
   variance of d, tested by t on ``n1 + n2 - 2`` df. With complete data the mixed model's treatment estimate
   is purely within patients and its residual variance is the within-patient mean square, so the two agree
   to round-off: tolerance 1e-8 (the REML ratio is a brentq root to 1e-14; the rest is linear algebra).
2. Ordinary least squares with patient fixed effects (statsmodels): with complete data every patient's mean
   carries no treatment information, so the mixed model equals it, for any number of arms; tolerance 1e-8.
3. R's ``nlme::lme`` run live (tests/data/crossover_lme.R) on incomplete data (patients who left after the
   first period), where the between-patient information counts: estimates and SEs to 1e-6, the variance
   ratio found by nlme's optimiser (tightened tolerances) agrees to about that; and ``nlme::gls`` with compound
   symmetry where the patient variance is negative (lme stops at 0 there). Skipped without R or nlme.
"""

from __future__ import annotations

import itertools
import math
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from neuroplast.trials.crossover_analysis import crossover_mixed


def synthetic(sequences, n_per_sequence, *, seed=3, drop=0.0):
    """A long data set: patient effects (SD 4) much larger than the residual (SD 2), as in real crossovers, so
    the REML variance ratio is inside its range; treatment effects -5, 0, 2 and period effects 0, 1.5, 3
    (arbitrary). ``drop``: the share of patients observed in the first period only."""
    rng = np.random.default_rng(seed)
    effect = {"a": -5.0, "b": 0.0, "c": 2.0}
    rows, pid = [], 0
    for s, seq in enumerate(sequences):
        for _ in range(n_per_sequence[s]):
            u = rng.normal(0, 4.0)
            left = rng.random() < drop
            for k, arm in enumerate(seq):
                if left and k > 0:
                    continue
                y = 1.0 + effect[arm] + 1.5 * k + u + rng.normal(0, 2.0)
                rows.append({"patient": pid, "sequence": "".join(seq), "period": k + 1, "treatment": arm, "change": y})
            pid += 1
    return pd.DataFrame(rows)


def fit(df, levels):
    return crossover_mixed(df["change"], df["patient"], df["treatment"], df["period"], df["sequence"], levels=levels)


def test_two_by_two_equals_the_closed_form():
    df = synthetic([("a", "b"), ("b", "a")], [7, 6])
    wide = df.pivot(index="patient", columns="period", values="change")
    seq = df.groupby("patient")["sequence"].first()
    d = wide[1] - wide[2]
    d1, d2 = d[seq == "ab"], d[seq == "ba"]
    n1, n2 = len(d1), len(d2)
    est = (d1.mean() - d2.mean()) / 2
    s2 = ((n1 - 1) * d1.var(ddof=1) + (n2 - 1) * d2.var(ddof=1)) / (n1 + n2 - 2)
    se = math.sqrt(s2 / 4 * (1 / n1 + 1 / n2))
    p = 2 * sps.t.sf(abs(est / se), n1 + n2 - 2)

    r = fit(df, ["a", "b"])
    got = r["differences"][("a", "b")]
    assert got["df"] == n1 + n2 - 2
    assert got["difference"] == pytest.approx(est, abs=1e-8)
    assert got["se"] == pytest.approx(se, abs=1e-8)
    assert got["p_value"] == pytest.approx(p, abs=1e-8)
    half = sps.t.ppf(0.975, n1 + n2 - 2) * se
    assert got["ci95"] == pytest.approx([est - half, est + half], abs=1e-8)
    assert r["var_residual"] == pytest.approx(s2 / 2, abs=1e-8)  # Var(d) = 2 s2_e


def test_three_arms_equal_ols_with_patient_effects():
    import statsmodels.formula.api as smf

    seqs = list(itertools.permutations("abc"))
    df = synthetic(seqs, [3, 2, 3, 3, 2, 3], seed=5)
    r = fit(df, ["a", "b", "c"])
    ols = smf.ols("change ~ C(treatment) + C(period) + C(patient)", data=df).fit()
    assert r["df"] == ols.df_resid
    for first, second in (("a", "b"), ("a", "c"), ("b", "c")):
        c = np.zeros(len(ols.params))
        for lv, sign in ((first, 1.0), (second, -1.0)):
            name = f"C(treatment)[T.{lv}]"
            if name in ols.params.index:
                c[ols.params.index.get_loc(name)] = sign
        t = ols.t_test(c)
        got = r["differences"][(first, second)]
        assert got["difference"] == pytest.approx(float(t.effect[0]), abs=1e-8)
        assert got["se"] == pytest.approx(float(t.sd[0, 0]), abs=1e-8)
        assert got["p_value"] == pytest.approx(float(t.pvalue), abs=1e-8)


def test_signs_and_reversal():
    """A large effect of a is found with its sign: a - b negative (a lowers the change), p small."""
    df = synthetic([("a", "b"), ("b", "a")], [10, 10])
    r = fit(df, ["b", "a"])["differences"][("b", "a")]
    assert r["difference"] > 0 and r["p_value"] < 1e-3 and r["ci95"][0] < r["difference"] < r["ci95"][1]


def test_singular_or_empty_is_a_value_error():
    df = synthetic([("a", "b")], [6])  # one sequence: treatment is period
    with pytest.raises(ValueError, match="confounded"):
        fit(df, ["a", "b"])
    df = synthetic([("a", "b"), ("b", "a")], [4, 4])
    with pytest.raises(ValueError, match="no observation"):
        fit(df, ["a", "b", "c"])


def _r_missing() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript is not installed"
    probe = subprocess.run(["Rscript", "-e", "library(nlme)"], capture_output=True, text=True, timeout=60)
    return None if probe.returncode == 0 else "the R package nlme is not installed"


def _r(df, tmp_path, mode: str) -> dict:
    why = _r_missing()
    if why:
        pytest.skip(f"R oracle unavailable: {why}")
    path = tmp_path / "xo.csv"
    df.to_csv(path, index=False)
    script = __file__.replace("test_crossover_analysis.py", "data/crossover_lme.R")
    out = subprocess.run(["Rscript", script, str(path), mode], capture_output=True, text=True, timeout=120, check=True)
    return {row[0]: row[1:] for row in (line.split(",") for line in out.stdout.strip().splitlines()[1:])}


def test_incomplete_patients_agree_with_nlme_lme(tmp_path):
    df = synthetic([("a", "b"), ("b", "a")], [9, 9], seed=11, drop=0.3)
    assert df.groupby("patient").size().min() == 1  # some patients left after period 1
    r_tab = _r(df, tmp_path, "lme")
    r = fit(df, ["a", "b"])
    assert r["coef"]["treatment[b]"] == pytest.approx(float(r_tab["treatmentb"][0]), abs=1e-6)
    assert r["se"]["treatment[b]"] == pytest.approx(float(r_tab["treatmentb"][1]), rel=1e-5)
    assert r["df"] == float(r_tab["treatmentb"][2])
    assert r["coef"]["period[2]"] == pytest.approx(float(r_tab["period2"][0]), abs=1e-6)
    assert r["coef"]["sequence[ba]"] == pytest.approx(float(r_tab["sequenceba"][0]), abs=1e-6)
    assert r["var_patient"] == pytest.approx(float(r_tab["var_patient"][0]), rel=1e-5)
    assert r["var_residual"] == pytest.approx(float(r_tab["var_residual"][0]), rel=1e-5)
    ab = r["differences"][("a", "b")]
    assert ab["p_value"] == pytest.approx(float(r_tab["treatmentb"][3]), abs=1e-6)


def test_negative_patient_variance_agrees_with_nlme_gls_compound_symmetry(tmp_path):
    """Changes from a period baseline often vary less between patients than within: the REML patient variance
    is then negative, where nlme::lme stops at 0 but compound symmetry (nlme::gls, corCompSymm) goes on; the
    estimates and SEs agree with gls (its df are N - p, not compared), with incomplete patients too."""
    rng = np.random.default_rng(2)
    df = synthetic([("a", "b"), ("b", "a")], [8, 7], seed=4, drop=0.2)
    df["change"] += rng.normal(0, 1.0, len(df)) - df.groupby("patient")["change"].transform("mean") * 0.9
    r = fit(df, ["a", "b"])
    assert r["var_patient"] < 0
    r_tab = _r(df, tmp_path, "gls")
    for name, r_name in (("treatment[b]", "treatmentb"), ("period[2]", "period2"), ("sequence[ba]", "sequenceba")):
        assert r["coef"][name] == pytest.approx(float(r_tab[r_name][0]), abs=1e-6)
        assert r["se"][name] == pytest.approx(float(r_tab[r_name][1]), rel=1e-5)
    assert r["var_patient"] == pytest.approx(float(r_tab["var_patient"][0]), rel=1e-4)
    assert r["var_residual"] == pytest.approx(float(r_tab["var_residual"][0]), rel=1e-5)


def test_two_by_two_with_a_negative_patient_variance_is_still_the_closed_form():
    df = synthetic([("a", "b"), ("b", "a")], [6, 6], seed=8)
    df["change"] -= df.groupby("patient")["change"].transform("mean") * 0.95  # patients' means nearly equal
    r = fit(df, ["a", "b"])
    assert r["var_patient"] < 0
    wide = df.pivot(index="patient", columns="period", values="change")
    seq = df.groupby("patient")["sequence"].first()
    d = wide[1] - wide[2]
    d1, d2 = d[seq == "ab"], d[seq == "ba"]
    est = (d1.mean() - d2.mean()) / 2
    s2 = (5 * d1.var(ddof=1) + 5 * d2.var(ddof=1)) / 10
    got = r["differences"][("a", "b")]
    assert got["difference"] == pytest.approx(est, abs=1e-8)
    assert got["se"] == pytest.approx(math.sqrt(s2 / 4 * (2 / 6)), abs=1e-8)

"""Populations as trials enrol them: the presets' covariates against their sources, inpatient trials, and the age
covariate of ketamine clearance.

Oracles, test by test: the published design facts in the evidence table (``extra_sources.yaml``: means and SDs of
age and baseline MADRS, shares of women, settings), with a tolerance from the sampling error of the draw (and of the
published proportion where one is compared); the closed-form moments of a normal clipped to a range; the
well-stirred liver of the esketamine population PK written out from its published parameters.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import neuroplast as npl
from neuroplast._errors import NeuroplastInputError
from neuroplast.cohort import PRESETS, Cohort, Inclusion, sample_cohort
from neuroplast.evidence import extra
from neuroplast.instruments import INSTRUMENTS
from neuroplast.model import Model
from neuroplast.scales.pk import age_clearance_factor
from neuroplast.trials import parse_spec, run_trial

N = 4000  # patients per preset draw: the SE of a mean is SD / 63
Z = 4.0  # tolerance in standard errors (a false alarm about 1 in 16,000 per check)


def source(sid: str) -> dict:
    return next(s for s in extra()["sources"] if s["id"] == sid)["value"]


def clipped_normal_moments(mu: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """Mean and SD of ``clip(N(mu, sd), lo, hi)`` in closed form (how ``cohort._truncnormal`` draws)."""
    a, b = (lo - mu) / sd, (hi - mu) / sd
    inside = norm.cdf(b) - norm.cdf(a)
    m1 = lo * norm.cdf(a) + hi * norm.sf(b) + mu * inside + sd * (norm.pdf(a) - norm.pdf(b))
    m2 = (
        lo * lo * norm.cdf(a)
        + hi * hi * norm.sf(b)
        + (mu * mu + sd * sd) * inside
        + 2 * mu * sd * (norm.pdf(a) - norm.pdf(b))
        + sd * sd * (a * norm.pdf(a) - b * norm.pdf(b))
    )
    return m1, math.sqrt(m2 - m1 * m1)


def assert_mean_sd(x: np.ndarray, mean: float, sd: float, what: str) -> None:
    """Sample mean and SD within Z standard errors of the published ones (SE of an SD: sd / sqrt(2n))."""
    n = len(x)
    assert abs(x.mean() - mean) < Z * sd / math.sqrt(n), (what, x.mean(), mean)
    assert abs(x.std(ddof=1) - sd) < Z * sd / math.sqrt(2 * n), (what, x.std(ddof=1), sd)


def assert_share(x: np.ndarray, p: float, what: str, published_n: int | None = None) -> None:
    """A drawn share within Z binomial SEs of ``p`` (plus the published share's own SE when it comes from
    ``published_n`` patients)."""
    se = math.sqrt(p * (1 - p) / len(x)) + (math.sqrt(p * (1 - p) / published_n) if published_n else 0.0)
    assert abs(x.mean() - p) <= Z * se + 1e-12, (what, x.mean(), p)


@pytest.fixture(scope="module")
def draws(model):
    return {name: sample_cohort(model.values, model.cvs, name, N, seed=0).table for name in PRESETS}


def test_suicidal_ideation_preset_matches_aspire(draws):
    """Oracle: ASPIRE I/II pooled baseline (aspire_pooled_baseline, N 451): age 40.1 (13.00), 274 women, MADRS 40.4
    (5.82); ages 18-64 and all hospitalised (ionescu2021_aspire2, fu2020_aspire1)."""
    src = source("aspire_pooled_baseline")
    t = draws["mdd_suicidal_ideation"]
    assert_mean_sd(t["age_y"].to_numpy(), src["age_y"]["mean"], src["age_y"]["sd"], "age")
    assert t["age_y"].between(18, 64).all()
    assert_mean_sd(t["baseline_madrs_true"].to_numpy(), src["madrs"]["mean"], src["madrs"]["sd"], "MADRS")
    assert_share(t["female"].to_numpy(), src["female"] / src["n"], "women", published_n=src["n"])
    assert t["inpatient"].all()
    assert (t["failed_antidepressants"] >= 0).all()


def test_older_preset_matches_transform3(draws):
    """Oracle: TRANSFORM-3's baseline (ochsross2020_transform3_design, N 137): age 70.0 (4.52), at least 65, 21 of
    137 aged 75 or more, 85 women, MADRS 35.2 (6.16), >= 2 failed antidepressants, all on one at entry. The share
    aged >= 75 is not fitted (only the mean and SD are): it checks the shape of the age distribution."""
    src = source("ochsross2020_transform3_design")
    t = draws["trd_older"]
    age = t["age_y"].to_numpy()
    assert_mean_sd(age, src["age_y"]["mean"], src["age_y"]["sd"], "age")
    assert age.min() >= src["age_y"]["min"]
    assert_share(age >= 75, src["age_75_up"] / src["n"], "aged 75+", published_n=src["n"])
    assert_mean_sd(t["baseline_madrs_true"].to_numpy(), src["madrs"]["mean"], src["madrs"]["sd"], "MADRS")
    assert_share(t["female"].to_numpy(), src["female"] / src["n"], "women", published_n=src["n"])
    assert (t["failed_antidepressants"] >= src["failed_antidepressants_min"]).all()
    assert t["on_antidepressant"].all()


@pytest.mark.parametrize(
    "name, sid", [("mdd_suicidal_ideation", "aspire_pooled_baseline"), ("trd_older", "ochsross2020_transform3_design")]
)
def test_age_parameters_are_solved_for_the_published_moments(name, sid):
    """Oracle: closed-form moments of the clipped normal. The preset's normal is not the published mean and SD:
    it is solved so that, clipped to the inclusion range, it has them (to the 2 decimals the preset keeps)."""
    mu, sd, lo, hi = PRESETS[name].age_y
    mean, sdev = clipped_normal_moments(mu, sd, lo, hi)
    src = source(sid)["age_y"]
    assert mean == pytest.approx(src["mean"], abs=0.01)
    assert sdev == pytest.approx(src["sd"], abs=0.01)


def test_trd_inpatient_share_from_the_calibration_trials(draws):
    """Oracle: wilkinson2018_ketamine_si_ipd_settings: zarate2006's 18 inpatients and murrough2013_ajp's 73
    outpatients (admitted only for the infusion day), 18 / 91; mdd: STAR*D's outpatients, none."""
    assert_share(draws["trd"]["inpatient"].to_numpy(), 18 / 91, "trd inpatients")
    assert not draws["mdd"]["inpatient"].any()


def test_inpatient_inclusion_admits_the_hospitalised_population(model):
    """Oracle: the presets' settings. ``inpatient = true`` admits every suicidal-ideation patient; on ``mdd``
    (outpatients) it admits nobody and the run stops with an error naming ``trial.inclusion``."""
    c = sample_cohort(
        model.values, model.cvs, "mdd_suicidal_ideation", 50, seed=1, arm="a", inclusion=Inclusion(inpatient=True)
    )
    assert len(c) == 50 and c.table["inpatient"].all()
    with pytest.raises(NeuroplastInputError) as e:
        sample_cohort(model.values, model.cvs, "mdd", 5, seed=1, arm="a", inclusion=Inclusion(inpatient=True))
    assert e.value.field == "trial.inclusion"


def test_depression_scales_fit_the_new_presets():
    """Oracle: the instruments' populations. The depression scales rate the new presets; a PTSD scale does not."""
    for name in ("mdd_suicidal_ideation", "trd_older"):
        for scale in ("MADRS", "HAMD17", "HAMD6", "QIDS_SR16", "PHQ9"):
            assert name in INSTRUMENTS[scale].populations
        assert name not in INSTRUMENTS["CAPS5"].populations


def test_small_inpatient_trial_runs_end_to_end():
    """Oracle: invariants (every patient solved, finite, inpatient; MADRS within 0-60; no drug, no ketamine). A
    4-per-arm, 1-day version of canuso2018's design (one esketamine 84 mg dose or a placebo spray, each with escitalopram
    10 mg a day) on the suicidal-ideation preset with ``inpatient = true``."""
    soc = {"drug": "escitalopram", "route": "oral", "amount": "10 mg", "start": "0 d", "every": "1 d", "count": 2}
    spray = {"route": "intranasal", "at": ["0 d"]}
    spec = parse_spec(
        {
            "trial": {
                "id": "si",
                "population": "mdd_suicidal_ideation",
                "scale": "MADRS",
                "n_per_arm": 4,
                "inclusion": {"inpatient": True},
                "endpoints": {"timepoints": ["4 h", "1 d"]},
            },
            "arm": [
                {"name": "esketamine", "dose": [{"drug": "esketamine", "amount": "84 mg", **spray}, soc]},
                {"name": "placebo", "dose": [{"drug": "saline", "amount": "0 mg", **spray}, soc]},
            ],
        }
    )
    r = run_trial(spec)
    for name, arm in r.arms.items():
        assert arm.simulation.ok.all(), name
        assert np.isfinite(arm.simulation.states).all(), name
        assert arm.simulation.cohort.table["inpatient"].all(), name
        assert ((arm.scores >= 0) & (arm.scores <= 60)).all(), name
    assert (r.arms["esketamine"].simulation.readouts["ketamine_plasma"].max(axis=1) > 0).all()
    assert np.abs(r.arms["placebo"].simulation.readouts["ketamine_plasma"]).max() < 1e-12


def hepatic_clearance_ratio(age_y: float) -> float:
    """Perez-Ruixo's well-stirred liver written out from the evidence table's numbers: CL = Qh CLint / (Qh + CLint),
    CLint = Vh (kel + kmet), Qh falling by the published slope above 60; the ratio to CL at 60 or younger."""
    s = source("perezruixo2021_esketamine_hepatic")
    clint = s["vh_L"] * (s["kel_per_h"] + s["kmet_per_h"])
    qh0 = s["qh_L_per_h"]
    qh = qh0 + s["age_on_qh_L_per_h_per_year_above_60"] * max(age_y - 60.0, 0.0)
    return (qh * clint / (qh + clint)) / (qh0 * clint / (qh0 + clint))


def test_age_factor_is_the_published_hepatic_model():
    """Oracle: the closed form above, from the source's own numbers (not the registry's): 0.891 at 70, 0.772 at 80;
    exactly 1 at 60 or younger, so patients up to 60 keep their clearance bit for bit."""
    v = npl.default_model().values
    kw = dict(qh=v["qh_ket"], clint=v["clint_ket"], slope=v["qh_age_slope"], from_y=v["qh_age_from"])
    ages = np.array([18.0, 45.0, 60.0, 65.0, 70.0, 80.0, 86.0])
    got = age_clearance_factor(ages, **kw)
    assert np.all(got[ages <= 60] == 1.0)
    np.testing.assert_allclose(got, [hepatic_clearance_ratio(a) for a in ages], rtol=1e-12)
    assert got[ages == 70][0] == pytest.approx(0.891, abs=5e-4)
    assert got[ages == 80][0] == pytest.approx(0.772, abs=5e-4)


def test_age_moves_ketamine_clearance_and_nothing_else(model):
    """Oracle: the closed form (hepatic_clearance_ratio). Built for typical patients aged 45, 60 and 75 who are alike
    otherwise, both enantiomers' clearances scale by the factor, 1 at 45 and 60; norketamine clearance and every
    ketamine volume do not change with age (the popPK found no age effect on them)."""
    rows = [npl.typical_patient(model.values, age_y=a).table for a in (45.0, 60.0, 75.0)]
    m = Model.build(model.values, Cohort("trd", pd.concat(rows, ignore_index=True)))
    k = m.ketamine
    want = np.array([1.0, 1.0, hepatic_clearance_ratio(75.0)])
    np.testing.assert_allclose(np.asarray(k.cl_s) / float(k.cl_s[0]), want, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(k.cl_r) / float(k.cl_r[0]), want, rtol=1e-12)
    assert np.asarray(k.cl_s)[1] == np.asarray(k.cl_s)[0]
    for leaf in (k.cl_nk, k.v1, k.v2, k.v3, k.q2, k.q3):
        assert np.ptp(np.asarray(leaf)) == 0.0

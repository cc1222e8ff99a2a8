"""PK oracles: closed form vs the integrated model for every route, SciPy reference, mass balance,
back-to-back infusions, steady state, and published values with their spread."""

import math

import jax
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import neuroplast as npl
from neuroplast._units import NG_PER_UMOL
from neuroplast.catalog import METABOLITES, ORAL_DRUGS, ORAL_SPECIES
from neuroplast.model import DRUG_CODES, KETAMINE_FAMILY, STATE_NAMES, Model
from neuroplast.scales.pk import ROUTE_CODES, closed_form_linear
from neuroplast.scales.pk.antidepressants import SHORT
from neuroplast.scales.pk.ketamine import AMOUNT_STATES
from neuroplast.scales.pk.nca import nca

from .conftest import one_patient

MW = 237.73
UMOL_PER_MG = 1000.0 / MW
TIGHT = npl.engine.Tsit5(rtol=1e-10, atol=1e-12)


def _scalar(module):
    return jax.tree_util.tree_map(lambda x: np.asarray(x)[0], module)


def _patient(model, **kw):
    return _scalar(Model.build(model.values, one_patient(model, **kw)))


def _augmented(m, drug, route):
    """Exact linear system of the ketamine family with the route's depot as an explicit state 0.

    Input u (umol/h) enters the depot (or the central compartments for IV); what leaves the
    depot is split into parent (F), first-pass norketamine (f_nk) and lost, by enantiomer.
    """
    a, bk = m.ketamine.system()  # bk: (17, 5) for inputs (S, R, S-nk, R-nk, lost)
    s, r = KETAMINE_FAMILY[drug]
    rc = ROUTE_CODES[route]
    f = float((m.absorption.f_esketamine if drug == "esketamine" else m.absorption.f_racemic)[rc])
    fnk = float(m.absorption.f_nk[rc])
    split = bk @ np.array([f * s, f * r, fnk * s, fnk * r, 1.0 - f - fnk])
    n = a.shape[0]
    if route == "iv":
        return a, split, 0
    ka = float(m.absorption.ka[rc])
    big = np.zeros((n + 1, n + 1))
    big[0, 0] = -ka
    big[1:, 1:] = a
    big[1:, 0] = split * ka
    b = np.zeros(n + 1)
    b[0] = 1.0
    return big, b, 1


CASES = [
    ("ketamine", "iv", "0.5 mg/kg", "40 min"),
    ("ketamine", "im", "0.5 mg/kg", None),
    ("ketamine", "intranasal", "0.5 mg/kg", None),
    ("ketamine", "oral", "0.5 mg/kg", None),
    ("ketamine", "sublingual", "25 mg", None),
    ("esketamine", "intranasal", "56 mg", None),
    ("esketamine", "iv", "0.25 mg/kg", "40 min"),
    ("esketamine", "oral", "84 mg", None),
    ("arketamine", "iv", "0.5 mg/kg", "40 min"),
]


def _regimen(drug, route, amount, duration, at=("0 h",)):
    d = {"drug": drug, "route": route, "amount": amount, "at": list(at)}
    if duration:
        d["duration"] = duration
    return npl.build_regimen([d], allow_high_dose=True)  # a second dose within 24 h tests superposition, not a protocol


def _infusions(regimen, weight):
    return [
        (d.time_h, d.time_h + d.duration_h, float(d.amount_mg(weight)) * UMOL_PER_MG / d.duration_h)
        for d in regimen.doses
    ]


@pytest.mark.parametrize("drug,route,amount,duration", CASES)
def test_integrated_model_matches_closed_form_every_route(model, drug, route, amount, duration):
    """Oracle: the exact (Van Loan) solution of the linear system with the depot as a state.
    The model integrates the depot's outflow in closed form instead; they agree to 1e-6 of each
    state's peak (the solver runs at rtol 1e-10)."""
    reg = _regimen(drug, route, amount, duration, at=("0 h", "12 h"))
    ts = np.array([0.0, 0.1, 0.3, 0.7, 1.0, 2.0, 6.0, 12.2, 13.0, 24.0, 72.0])
    sim = npl.simulate(model, reg, one_patient(model, weight_kg=82.0), saveat=ts, engine=TIGHT)
    a, b, off = _augmented(_patient(model, weight_kg=82.0), drug, route)
    exact = closed_form_linear(a, b, _infusions(reg, 82.0), ts)[:, off:]
    got = sim.states[0, :, :17]
    scale = np.abs(exact).max(axis=0) + 1e-12
    assert np.max(np.abs(got - exact) / scale) < 1e-6


def test_closed_form_matches_scipy_reference(model):
    """Oracle: SciPy LSODA (rtol 1e-11) on the same linear system, oral route with its depot;
    tolerance 1e-7 relative, both converged far below it."""
    a, b, _ = _augmented(_patient(model), "ketamine", "oral")
    rate, t_end = 35 * UMOL_PER_MG / (1 / 60), 1 / 60
    ts = np.array([0.1, 0.5, 1.0, 3.0, 12.0, 48.0])
    exact = closed_form_linear(a, b, [(0.0, t_end, rate)], ts)
    x0 = closed_form_linear(a, b, [(0.0, t_end, rate)], [t_end])[0]
    sol = solve_ivp(lambda t, x: a @ x, (t_end, ts[-1]), x0, method="LSODA", t_eval=ts, rtol=1e-11, atol=1e-13)
    scale = np.abs(exact).max(axis=0) + 1e-12
    assert np.max(np.abs(exact - sol.y.T) / scale) < 1e-7


@pytest.mark.parametrize("drug,route,amount,duration", CASES)
def test_mass_balance_every_route(model, drug, route, amount, duration):
    """Conservation: every umol given is in a depot, a compartment, or was eliminated. The depot
    holds its outflow / ka (closed form); effect sites hold concentrations and are excluded."""
    cohort = npl.sample_cohort(model.values, model.cvs, "trd", 8, seed=3)
    reg = _regimen(drug, route, amount, duration)
    ts = np.array([0.005, 0.3, 40 / 60, 2.0, 24.0, 96.0])
    sim = npl.simulate(model, reg, cohort, saveat=ts, engine=npl.engine.Tsit5(rtol=1e-9, atol=1e-12))
    w = cohort.table["weight_kg"].to_numpy()
    ind = Model.build(model.values, cohort)
    given = np.zeros((len(w), ts.size))
    depot = np.zeros_like(given)
    rc = ROUTE_CODES[route]
    ka = np.asarray(ind.absorption.ka)[:, rc]
    for d in reg.doses:
        rate = np.asarray(d.amount_mg(w)) * UMOL_PER_MG / d.duration_h
        given += rate[:, None] * np.clip(ts - d.time_h, 0.0, d.duration_h)[None, :]
        if route != "iv":
            t1 = np.maximum(ts - d.time_h, 0.0)[None, :]
            t2 = np.maximum(ts - d.time_h - d.duration_h, 0.0)[None, :]
            depot += rate[:, None] * (np.exp(-ka[:, None] * t2) - np.exp(-ka[:, None] * t1)) / ka[:, None]
    total = sim.states[..., list(AMOUNT_STATES)].sum(-1) + depot
    np.testing.assert_allclose(total, given, rtol=1e-7)


def test_two_back_to_back_infusions_equal_one_long(model):
    """Pharmacology invariant: 20 + 20 min at the same rate is one 40-min infusion — exactly in
    closed form, and to the solver tolerance (1e-6 of peak at rtol 1e-10) in the integrated model. The integrated
    model runs with the stress coupling off: the split dose keeps the patient longer in clinic, which changes
    expectancy, and with the coupling on expectancy's relief reaches the spines."""
    model = model.with_values(stress_relief_coupling=0.0)
    a, b, _ = _augmented(_patient(model), "ketamine", "iv")
    ts = np.linspace(0.0, 6.0, 13)
    one = closed_form_linear(a, b, [(0.0, 2 / 3, 10.0)], ts)
    two = closed_form_linear(a, b, [(0.0, 1 / 3, 10.0), (1 / 3, 2 / 3, 10.0)], ts)
    np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)
    long = _regimen("ketamine", "iv", "0.5 mg/kg", "40 min")
    split = npl.build_regimen(
        [{"drug": "ketamine", "amount": "0.25 mg/kg", "duration": "20 min", "at": ["0 min", "20 min"]}]
    )
    # every state but expectancy, which counts clinic time (a split dose keeps the patient longer)
    keep = [i for i, n in enumerate(STATE_NAMES) if n != "expectancy"]
    s1 = npl.simulate(model, long, one_patient(model), saveat=ts, engine=TIGHT).states[0][:, keep]
    s2 = npl.simulate(model, split, one_patient(model), saveat=ts, engine=TIGHT).states[0][:, keep]
    scale = np.abs(s1).max(axis=0) + 1e-9
    assert np.max(np.abs(s1 - s2) / scale) < 1e-6


def test_steady_state_under_constant_infusion(model):
    """Oracle independent of the distribution terms: at steady state each enantiomer's Css = R/CL,
    each norketamine's f_nk R / CL_nk, and the effect sites equal plasma."""
    pk = _patient(model).ketamine
    a, b = pk.system()
    rate = 50.0  # umol/h of racemate
    amounts = [i for i in range(17) if i != 16]  # the eliminated accumulator does not feed back
    x = np.linalg.solve(a[np.ix_(amounts, amounts)], -(b[amounts] @ np.array([0.5, 0.5, 0, 0, 0])) * rate)
    assert x[0] / float(pk.v1) == pytest.approx(0.5 * rate / float(pk.cl_s), rel=1e-10)
    assert x[3] / float(pk.v1) == pytest.approx(0.5 * rate / float(pk.cl_r), rel=1e-10)
    assert x[8] / float(pk.v1_nk) == pytest.approx(float(pk.f_nk) * 0.5 * rate / float(pk.cl_nk), rel=1e-10)
    assert x[11] == pytest.approx(x[0] / float(pk.v1), rel=1e-10)


def _nca(model, reg, key, end=96.0, **kw):
    ts = np.unique(np.concatenate([np.arange(0, 6, 1 / 120), np.arange(0, end + 1e-9, 0.25)]))
    sim = npl.simulate(model, reg, one_patient(model, **kw), saveat=ts, engine=npl.engine.Tsit5(rtol=1e-9, atol=1e-12))
    return nca(ts, sim.readouts[key][0]), sim


def test_published_peak_racemic_iv(model, single_infusion):
    """0.5 mg/kg over 40 min peaks at the published 185 ng/mL (A34) at the end of the infusion.
    The calibration anchors this value (closed form); 0.5% covers the 30-s sampling."""
    r, _ = _nca(model, single_infusion, "ketamine_plasma")
    assert r["cmax"] == pytest.approx(185.0, rel=0.005)
    assert r["tmax_h"] == pytest.approx(40 / 60, abs=1 / 60)


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the central volume is anchored to the 40-min infusion peak (A34); "
    "the 2-min peak after a bolus needs a front-end mixing model (Kamp's venous delay compartments, A03)",
)
def test_bolus_peak_within_published_spread(model):
    """10 mg IV bolus (60-s push): peak within the published geometric mean 296 ng/mL x/÷ GSD^2
    (1.71^2; about 95% of patients), ketamine_intranasal_iv_pk_pharmacotherapy2022 / A38. Not fitted.
    The model gives ~85 ng/mL (10 mg / V1): strict xfail, so a model that mends it is noticed."""
    r, _ = _nca(model, _regimen("ketamine", "iv", "10 mg", "1 min"), "ketamine_plasma")
    assert 296 / 1.71**2 <= r["cmax"] <= 296 * 1.71**2


def test_clearance_and_volume_against_kamp_and_the_label(model, single_infusion):
    """Racemic clearance = dose / AUC(0-inf) within Kamp 2020's 95% CI 69-90 L/h (A02); the
    esketamine steady-state volume within 15% of the label's 709 L (A28, spravato_swiss_fachinfo_pk;
    Perez-Ruixo's 752 L is 6% above it). Kamp's racemic Vss of 252 L (A01) is NOT reproduced:
    the peripheral volumes follow the esketamine popPK (see docs/model.md)."""
    r, _ = _nca(model, single_infusion, "ketamine_plasma", end=240.0)
    dose_ug = 0.5 * 70 * 1000
    assert 69.0 <= dose_ug / r["auc"] <= 90.0  # ug / (ng h / mL) = L/h
    pk = _patient(model).ketamine
    assert float(pk.v1 + pk.v2 + pk.v3) == pytest.approx(709.0, rel=0.15)


def test_esketamine_intranasal_against_the_label(model):
    """Spravato label (spravato_label_esketamine_pk, A25, A27, A30): Tmax 20-40 min after the last
    spray; terminal half-life 7-12 h; absolute bioavailability 48% (AUC ratio vs IV, exact in the
    model up to the NCA's extrapolation: 1%)."""
    nasal, sim = _nca(model, _regimen("esketamine", "intranasal", "84 mg", None), "s_ketamine_plasma", end=120.0)
    last_spray = max(d.time_h for d in sim.regimen.doses)
    assert 20.0 <= (nasal["tmax_h"] - last_spray) * 60 <= 40.0
    assert 7.0 <= nasal["terminal_half_life_h"] <= 12.0
    iv, _ = _nca(model, _regimen("esketamine", "iv", "28 mg", "40 min"), "s_ketamine_plasma", end=120.0)
    assert (nasal["auc"] / 84.0) / (iv["auc"] / 28.0) == pytest.approx(0.48, rel=0.01)


@pytest.mark.parametrize(
    "route,amount,f", [("oral", "0.5 mg/kg", 0.20), ("sublingual", "25 mg", 0.29), ("im", "0.5 mg/kg", 0.93)]
)
def test_extravascular_bioavailability(model, route, amount, f):
    """AUC(route)/AUC(IV) per mg = the registry bioavailability (A41/A42, A40): the closed-form depot
    delivers exactly F to the circulation; 1% covers the NCA's tail extrapolation."""
    ext, _ = _nca(model, _regimen("ketamine", route, amount, None), "ketamine_plasma", end=150.0)
    iv, _ = _nca(model, _regimen("ketamine", "iv", amount, "40 min"), "ketamine_plasma", end=150.0)
    assert ext["auc"] / iv["auc"] == pytest.approx(f, rel=0.01)


def test_oral_and_sublingual_against_published_values(model):
    """Oral 0.5 mg/kg peaks within 45 +/- 2 SD (10) ng/mL (A37, Grant 1981) with norketamine above
    ketamine (first pass, ketamine_route_bioavailability: ~3x); sublingual 25 mg peaks within the
    published Tmax range 0.25-1 h (A40)."""
    oral, sim = _nca(model, _regimen("ketamine", "oral", "0.5 mg/kg", None), "ketamine_plasma")
    assert 25.0 <= oral["cmax"] <= 65.0
    assert sim.readouts["norketamine_plasma"][0].max() > 1.5 * oral["cmax"]
    sl, _ = _nca(model, _regimen("ketamine", "sublingual", "25 mg", None), "ketamine_plasma")
    assert 0.25 <= sl["tmax_h"] <= 1.0


def test_hnk_is_formed_from_r_norketamine_only(model):
    """(2R,6R)-HNK comes from (R)-norketamine: present after the racemate, absent after esketamine."""
    ts = np.linspace(0, 24, 97)
    rac = npl.simulate(model, _regimen("ketamine", "iv", "0.5 mg/kg", "40 min"), one_patient(model), saveat=ts)
    esk = npl.simulate(model, _regimen("esketamine", "iv", "0.25 mg/kg", "40 min"), one_patient(model), saveat=ts)
    assert rac.readouts["hnk_plasma"].max() > 0.1
    assert esk.readouts["hnk_plasma"].max() == 0.0


def _daily(drug, mg, days):
    return npl.build_regimen([{"drug": drug, "route": "oral", "amount": f"{mg} mg", "every": "1 d", "count": days}])


def test_escitalopram_accumulates_to_the_closed_form_steady_state(model):
    """Daily escitalopram 10 mg: the mean concentration over a dosing interval at steady state is
    dose / (CL/F x tau) (closed form; 1% for the trapezoid); steady state is reached within 10 days
    (sogaard2005: trough day 10 within 5% of day 20); SERT occupancy 6 h after a dose is within
    81.5 +/- 2 x 5.4% and 54 h after the last dose within 63.3 +/- 2 x 12.1% (klein2007)."""
    ts = np.arange(0.0, 24 * 23 + 1e-9, 0.25)
    sim = npl.simulate(model, _daily("escitalopram", 10, 20), one_patient(model), saveat=ts)
    c, occ = sim.readouts["escitalopram_plasma"][0], sim.readouts["sert_occupancy"][0]
    day19 = (ts >= 24 * 19) & (ts <= 24 * 20)
    css = np.trapezoid(c[day19], ts[day19]) / 24.0
    assert css == pytest.approx(10_000 / (model.values["cl_esc"] * 24.0), rel=0.01)
    trough = lambda day: c[np.searchsorted(ts, 24.0 * day - 1e-9)]  # noqa: E731
    assert trough(10) == pytest.approx(trough(20), rel=0.05)
    assert abs(occ[np.searchsorted(ts, 24 * 19 + 6)] - 0.815) <= 2 * 0.054
    assert abs(occ[np.searchsorted(ts, 24 * 19 + 54)] - 0.633) <= 2 * 0.121


@pytest.mark.parametrize(
    "drug,label",
    [("escitalopram", (3.0, 7.0)), ("sertraline", (4.5, 8.4)), ("duloxetine", (5.5, 6.5)), ("venlafaxine", (5.0, 7.0))],
)
def test_oral_antidepressant_single_dose_tmax_uses_its_own_absorption_rate(model, drug, label):
    """One oral antidepressant dose: one-compartment with first-order absorption peaks at
    t_max = ln(ka/ke) / (ka - ke) (closed form) with the drug's own ``ka`` (not ketamine's oral one);
    the 5-min save grid bounds the error (0.1 h); the value lies in the label's range (lexapro: ~5 h;
    zoloft: 4.5-8.4 h; cymbalta: 6 h; venlafaxine XR: ~6 h, venlafaxine_er_swiss_fachinfo)."""
    short = SHORT[drug]
    ka, ke = model.values[f"ka_{short}"], math.log(2.0) / model.values[f"t_half_{short}"]
    closed = math.log(ka / ke) / (ka - ke)
    ts = np.arange(0.0, 24.0 + 1e-9, 1.0 / 12.0)
    reg = npl.build_regimen([{"drug": drug, "route": "oral", "amount": "20 mg"}])
    c = npl.simulate(model, reg, one_patient(model), saveat=ts).readouts[f"{drug}_plasma"][0]
    assert abs(ts[np.argmax(c)] - closed) <= 0.1
    assert label[0] <= closed <= label[1]


def test_venlafaxine_forms_odv_mole_for_mole(model):
    """Daily venlafaxine 75 mg: at steady state the mean concentrations over a dosing interval are the closed
    forms dose / (CL/F x tau) for venlafaxine and f x dose x (M_odv / M_vlx) / (CL_odv x tau) for ODV (a fraction
    ``f_odv`` of venlafaxine's clearance forms ODV, mole for mole); 2% for the trapezoid and the approach to steady
    state (ODV's half-life 11 h: 14 days are ~30 half-lives). ODV exceeds venlafaxine, as the label's trough ratios
    say (ejcp2002: 2.4-2.9 at 300 mg/day)."""
    v = model.values
    ts = np.arange(0.0, 24 * 15 + 1e-9, 0.25)
    ro = npl.simulate(model, _daily("venlafaxine", 75, 15), one_patient(model), saveat=ts).readouts
    day = (ts >= 24 * 14) & (ts <= 24 * 15)
    mean = lambda c: np.trapezoid(c[day], ts[day]) / 24.0  # noqa: E731
    assert mean(ro["venlafaxine_plasma"][0]) == pytest.approx(75_000 / (v["cl_vlx"] * 24.0), rel=0.02)
    odv = v["f_odv"] * 75_000 * NG_PER_UMOL["odv"] / NG_PER_UMOL["venlafaxine"] / (v["cl_odv"] * 24.0)
    assert mean(ro["odv_plasma"][0]) == pytest.approx(odv, rel=0.02)
    assert mean(ro["odv_plasma"][0]) > mean(ro["venlafaxine_plasma"][0])


def test_duloxetine_occupancy_on_treatment(model):
    """Duloxetine 60 mg/day: SERT occupancy 6 h after a dose at steady state against takano2006's 84 % (mean of
    [11C]DASB PET; its spread is not in the source read). Tolerance 0.08: the EC50's Emax is not stated there and the
    model's sert_emax (0.9, meyer2004) caps occupancy; the brain lag after stopping (abanades2011) is not modelled,
    so only the on-treatment value is a test."""
    ts = np.arange(0.0, 24 * 10 + 1e-9, 0.5)
    occ = npl.simulate(model, _daily("duloxetine", 60, 10), one_patient(model), saveat=ts).readouts["sert_occupancy"][0]
    assert abs(occ[np.searchsorted(ts, 24 * 9 + 6)] - 0.84) <= 0.08


def test_no_antidepressant_no_occupancy_and_each_alone(model):
    """Conservation of the channels: each oral antidepressant dosed alone fills its own plasma read-out (and ODV
    for venlafaxine) and no other; without one, every concentration and the occupancy are exactly zero."""
    ts = np.array([0.0, 6.0, 24.0])
    for drug in ORAL_DRUGS:
        ro = npl.simulate(model, _daily(drug, 10, 1), one_patient(model), saveat=ts).readouts
        filled = {s for s in ORAL_SPECIES if ro[f"{s}_plasma"].max() > 0.0}
        assert filled == ({drug, METABOLITES[drug]} if drug in METABOLITES else {drug}), (drug, filled)
    none = npl.simulate(model, _daily("placebo", 0, 1), one_patient(model), saveat=ts).readouts
    assert all(none[f"{s}_plasma"].max() == 0.0 for s in ORAL_SPECIES) and none["sert_occupancy"].max() == 0.0


def test_sertraline_minimum_dose_occupancy(model):
    """Sertraline 50 mg/day at steady state occupies 76-85% of SERT (meyer2004, minimum dose)."""
    ts = np.arange(0.0, 24 * 15 + 1e-9, 0.5)
    occ = npl.simulate(model, _daily("sertraline", 50, 15), one_patient(model), saveat=ts).readouts["sert_occupancy"][0]
    last = ts >= 24 * 14
    assert 0.76 <= occ[last].mean() <= 0.85


def test_allometric_scaling(model):
    """A heavier patient on a mg/kg dose has a similar peak (volumes scale with W/70, clearances W^0.75)."""
    reg = _regimen("ketamine", "iv", "0.5 mg/kg", "40 min")
    ts = np.linspace(0, 2, 121)
    light = npl.simulate(model, reg, one_patient(model, weight_kg=55.0), saveat=ts).readouts["ketamine_plasma"].max()
    heavy = npl.simulate(model, reg, one_patient(model, weight_kg=110.0), saveat=ts).readouts["ketamine_plasma"].max()
    assert heavy == pytest.approx(light, rel=0.15)


def test_enantiomer_clearances_average_to_the_racemate(model):
    """(S) and (R) clearances keep their published ratio (wang2019: 18.4/15.8) and average to the
    racemic clearance (A02)."""
    pk = _patient(model).ketamine
    assert float(pk.cl_s / pk.cl_r) == pytest.approx(18.4 / 15.8, rel=1e-12)
    assert float(pk.cl_s + pk.cl_r) / 2 == pytest.approx(model.values["cl_ket"], rel=1e-12)
    assert DRUG_CODES["esketamine"] != DRUG_CODES["arketamine"]
    assert math.isclose(sum(KETAMINE_FAMILY["ketamine"]), 1.0)

"""SBML export: the exported file, simulated by libRoadRunner, reproduces neuroplast's own trajectories.

Oracle: ``neuroplast.simulate`` (diffrax Tsit5) on the same patient and regimen, against an
independent reader and solver (libRoadRunner's SBML compiler and CVODE) of the exported file.
Both are run at rtol 1e-10, so they agree to about 1e-9 of each read-out's peak when the export
is right; the assertion allows 1e-6 of the peak (margin for the two error controllers), while a
wrong share, rate constant, event time or formula shows up at 1e-3 or more. Mass balance of the
exported reactions is checked against the dose given (conservation law).
"""

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.io.sbml import export_sbml

from .cli_run import invoke

roadrunner = pytest.importorskip("roadrunner")
libsbml = pytest.importorskip("libsbml")

TIGHT = npl.engine.Tsit5(rtol=1e-10, atol=1e-12)
TIMES = np.linspace(0.0, 54.0, 109)  # every 30 min over 2.25 days: absorption, distribution, second daily doses

REGIMENS = {
    # IV ketamine infusion, then IV midazolam (sedation read-out) later the same day
    "iv": [
        {"drug": "ketamine", "route": "iv", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 h"]},
        {"drug": "midazolam", "route": "iv", "amount": "0.045 mg/kg", "duration": "40 min", "at": ["6 h"]},
    ],
    # intranasal esketamine: three 28 mg devices 5 min apart (depot, F and first-pass norketamine), twice
    "intranasal": [{"drug": "esketamine", "route": "intranasal", "amount": "84 mg", "at": ["0 h", "1 d"]}],
    # oral ketamine (low F, large first-pass norketamine) and daily oral escitalopram (SERT occupancy)
    "oral": [
        {"drug": "ketamine", "route": "oral", "amount": "1 mg/kg", "at": ["0 h"]},
        {"drug": "escitalopram", "route": "oral", "amount": "10 mg", "start": "0 h", "every": "1 d", "count": 3},
    ],
}

PD = {
    "occupancy_pyramidal",
    "occupancy_interneuron",
    "sert_occupancy",
    "cadss",
    "sbp",
    "dbp",
    "heart_rate",
    "sedation",
    "ketamine_plasma",
    "norketamine_plasma",
}


def _roadrunner(sbml: str, selections, times=TIMES):
    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    rr.integrator.maximum_num_steps = 200_000
    out = rr.simulate(times=list(times), selections=["time", *selections])
    return np.asarray(out)[:, 1:]


@pytest.fixture(scope="module")
def patient(model):
    return npl.typical_patient(model.values, weight_kg=82.0, female=True, age_y=38.0)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(REGIMENS))
def test_roadrunner_matches_neuroplast(model, patient, case):
    regimen = npl.build_regimen(REGIMENS[case])
    exp = export_sbml(model, regimen, patient)
    assert PD <= set(exp.readouts), sorted(PD - set(exp.readouts))
    sim = npl.simulate(model, regimen, patient, saveat=TIMES, engine=TIGHT)
    assert sim.ok.all()
    rr = _roadrunner(exp.sbml, list(exp.readouts))
    active = 0
    for k, name in enumerate(exp.readouts):
        ours = sim.readouts[name][0]
        peak = np.max(np.abs(ours))
        np.testing.assert_allclose(rr[:, k], ours, rtol=0, atol=1e-6 * peak + 1e-12, err_msg=name)
        active += np.ptp(ours) > 0
    assert active >= 8  # the regimen moves most read-outs (the comparison is not of zeros)


def test_mass_balance_and_validity(model, patient):
    """Exported reactions conserve drug: PK amounts + depots = dose given (ketamine family and
    midazolam, whose modules keep an 'eliminated' accumulator). The document validates with no errors."""
    # both routes in one document: more ketamine-family drug in a day than a protocol gives, hence the override
    regimen = npl.build_regimen(REGIMENS["iv"] + REGIMENS["intranasal"], allow_high_dose=True)
    exp = export_sbml(model, regimen, patient)
    doc = libsbml.readSBMLFromString(exp.sbml)
    doc.checkConsistency()
    errors = [
        doc.getError(i).getMessage()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    assert not errors, errors[0]
    sm = doc.getModel()
    amounts = [s.getId() for s in sm.getListOfSpecies() if s.getCompartment() == "body"]
    assert set(exp.depots) <= set(amounts) and "eliminated" in amounts
    ts = np.array([0.0, 0.3, 1.0, 8.0, 30.0])
    rr = _roadrunner(exp.sbml, amounts, ts)
    ev = regimen.event_array(patient.table["weight_kg"].to_numpy())[0]
    given = np.array([sum(r[2] * max(0.0, min(t, r[1]) - r[0]) for r in ev if r[0] < 1e11) for t in ts])
    np.testing.assert_allclose(rr.sum(axis=1), given, rtol=1e-8, atol=1e-9)  # rtol: solver tolerance, 1e-10 per step
    assert given[-1] > 0


def test_slow_scales_left_out(model, patient):
    exp = export_sbml(model, npl.build_regimen(REGIMENS["iv"]), patient)
    assert "madrs_true" in exp.skipped_readouts and "spine_density" in exp.skipped_readouts
    assert not set(exp.readouts) & set(exp.skipped_readouts)
    # parameters carry their source ids (registry provenance) in the notes
    assert "source A" in exp.sbml and "Ki" not in exp.readouts


def test_cli_sbml(tmp_path):
    example = __import__("pathlib").Path(__file__).parents[1] / "examples" / "ketamine_vs_midazolam.toml"
    out = tmp_path / "model.xml"
    r = invoke("sbml", str(example), "--arm", "midazolam", "--weight", "60", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert libsbml.readSBMLFromString(out.read_text()).getModel().getSpecies("mdz_central") is not None
    bad = tmp_path / "bad.xml"
    r = invoke("sbml", str(example), "--arm", "nope", "--out", str(bad))
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "'nope'" in r.stderr and "--arm" in r.stderr
    assert not bad.exists() and not list(tmp_path.glob(".bad.xml.tmp-*"))

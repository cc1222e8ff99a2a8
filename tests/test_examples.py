"""Every preset is a test case: steady without a drug. (Every shipped example is run, checked finite and
non-negative, and compared with its golden summary in tests/test_golden.py.)"""

from pathlib import Path

import numpy as np
import pytest

import neuroplast as npl
from neuroplast.cohort import PRESETS
from neuroplast.trials import run_trial


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_steady_without_drug(name, model):
    m = model.with_values(expectancy_base=0.0, expectancy_felt=0.0)
    cohort = npl.sample_cohort(m.values, m.cvs, name, 16, seed=0)
    reg = npl.build_regimen([{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}])
    sim = npl.simulate(m, reg, cohort, saveat=np.linspace(0, 500, 11))
    madrs = sim.readouts["madrs_true"]
    if PRESETS[name].natural_course:  # non-resistant depression improves slowly by itself (the natural course)
        assert (np.diff(madrs, axis=1) <= 1e-9).all() and (madrs[:, -1] > 0.9 * madrs[:, 0]).all()
    else:
        assert np.allclose(madrs, madrs[:, :1])
    assert (cohort.table["baseline_madrs_true"] >= 0).all()


def test_hamd17_primary_scale():
    """HAM-D17 read-out: MADRS / 1.3 (leucht2018 linking), bounded 0-52, remission default <= 7."""
    text = (Path(__file__).parents[1] / "examples" / "ketamine_vs_midazolam.toml").read_text()
    import tomllib

    from neuroplast.trials import parse_spec

    data = tomllib.loads(text)
    data["trial"]["scale"] = "HAMD17"
    data["trial"]["inclusion"]["min_baseline"] = 17
    del data["trial"]["endpoints"]["remission"]
    spec = parse_spec(data)
    assert spec.remission_threshold() == 7.0
    r = run_trial(spec, n_per_arm=40)
    arm = r.arms["ketamine"]
    assert (arm.scores >= 0).all() and (arm.scores <= 52).all()
    assert (arm.baseline >= 17).mean() > 0.8  # screened on HAM-D17; a fresh baseline rating adds noise
    ratio = arm.baseline.mean() / (arm.simulation.readouts["madrs_true"][:, 0].mean())
    assert ratio == pytest.approx(1 / 1.3, rel=0.05)

"""An arm's patients depend on the seed, the arm's name and the patient's index, and on nothing else: not on
the order of the arms in the file, not on the other arms, not on the number of patients.

Oracles: the same trial with its arms in another order (each arm must be byte-identical), and the larger run
(a smaller one must be exactly its first patients). Exact equality throughout: the draws are the same
numbers, and the default engine solves each patient of a batch on its own steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neuroplast as npl
from neuroplast.cohort import BLOCK, Inclusion, arm_key
from neuroplast.trials import parse_spec, run_trial

KETAMINE = {
    "name": "ketamine",
    "dose": [{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 d"]}],
}
SALINE = {"name": "saline", "dose": [{"drug": "saline", "amount": "0 mg", "duration": "40 min", "at": ["0 d"]}]}
MIN_BASELINE = 32.0  # near the trd preset's mean: screening rejects a good share of candidates


def _spec(arms):
    return parse_spec(
        {
            "trial": {
                "id": "order-test",
                "population": "trd",
                "seed": 3,
                "inclusion": {"min_baseline": MIN_BASELINE},
                "endpoints": {"timepoints": ["4 h", "1 d"]},
            },
            "arm": arms,
        }
    )


def _arm_rows(result, name) -> pd.DataFrame:
    return result.patients[result.patients["arm"] == name].reset_index(drop=True)


@pytest.fixture(scope="module")
def in_order():
    return run_trial(_spec([KETAMINE, SALINE]), n_per_arm=8)


def test_swapping_arms_leaves_each_arm_unchanged(in_order):
    """Oracle: the same trial with the arms swapped. Every arm's summary and per-patient arrays (covariates,
    observed scores, states, read-outs) are byte-identical."""
    swapped = run_trial(_spec([SALINE, KETAMINE]), n_per_arm=8)
    assert list(swapped.arms) == ["saline", "ketamine"]
    for name in ("ketamine", "saline"):
        assert swapped.summary.arms[name] == in_order.summary.arms[name], name
        pd.testing.assert_frame_equal(_arm_rows(swapped, name), _arm_rows(in_order, name), check_exact=True)
        a, b = swapped.arms[name], in_order.arms[name]
        np.testing.assert_array_equal(a.scores, b.scores)
        np.testing.assert_array_equal(a.simulation.states, b.simulation.states)
        for k, v in b.simulation.readouts.items():
            np.testing.assert_array_equal(a.simulation.readouts[k], v, err_msg=k)
    # the two arms are different patients (their own streams), not one cohort twice
    assert not np.array_equal(
        in_order.arms["ketamine"].simulation.cohort.table["weight_kg"],
        in_order.arms["saline"].simulation.cohort.table["weight_kg"],
    )


def test_an_arm_alone_equals_the_arm_in_the_trial(in_order):
    """Oracle: the full trial. An arm simulated without the other (``only_arms``) has the same patients and
    scores."""
    alone = run_trial(_spec([KETAMINE, SALINE]), n_per_arm=8, only_arms=["saline"])
    pd.testing.assert_frame_equal(_arm_rows(alone, "saline"), _arm_rows(in_order, "saline"), check_exact=True)


def test_another_arm_draws_nothing_from_this_arm(in_order):
    """Oracle: the trial with its other arm replaced by one dosed again at 2 d. The ketamine arm keeps its
    patients and its observed scores at every time both runs save; its trajectories differ only by the
    round-off of the extra save times the other arm's doses add (the solver stops at each: rtol 1e-6 is
    far above that round-off, about 1e-7 here, and far below any effect; atol 1e-6 for values near zero, the
    plasma's tail days after the dose, where the same round-off is a larger share: 2e-9 ng/mL of 1e-4)."""
    twice = {"name": "twice", "dose": [{**KETAMINE["dose"][0], "at": ["0 d", "2 d"]}]}
    other = run_trial(_spec([KETAMINE, twice]), n_per_arm=8)
    a, b = in_order.arms["ketamine"], other.arms["ketamine"]
    pd.testing.assert_frame_equal(a.simulation.cohort.table, b.simulation.cohort.table, check_exact=True)
    shared = np.intersect1d(in_order.times_h, other.times_h)
    assert other.times_h.size > shared.size  # the other arm's second dose adds save times
    ia, ib = np.searchsorted(in_order.times_h, shared), np.searchsorted(other.times_h, shared)
    np.testing.assert_array_equal(a.scores[:, ia], b.scores[:, ib])
    for k in ("madrs_true", "ketamine_plasma", "sbp"):
        np.testing.assert_allclose(
            a.simulation.readouts[k][:, ia], b.simulation.readouts[k][:, ib], rtol=1e-6, atol=1e-6
        )


def test_fewer_patients_are_the_first_patients_of_more():
    """Oracle: the run with 13 patients per arm. With 6 per arm, each arm is exactly its first 6 patients
    (covariates, trajectories, observed scores), with a screening criterion that rejects candidates."""
    spec = _spec([KETAMINE])
    small, large = run_trial(spec, n_per_arm=6), run_trial(spec, n_per_arm=13)
    table = large.arms["ketamine"].simulation.cohort.table
    assert (table["screen_madrs"] >= MIN_BASELINE).all()
    # candidates were rejected: the enrolled ones are not the first candidates of the block
    model = npl.default_model()
    unscreened = npl.sample_cohort(model.values, model.cvs, "trd", 13, seed=3, arm="ketamine").table
    assert not np.array_equal(unscreened["weight_kg"], table["weight_kg"])
    pd.testing.assert_frame_equal(_arm_rows(small, "ketamine"), _arm_rows(large, "ketamine").iloc[:6], check_exact=True)
    a, b = small.arms["ketamine"], large.arms["ketamine"]
    np.testing.assert_array_equal(a.scores, b.scores[:6])
    np.testing.assert_array_equal(a.simulation.readouts["madrs_true"], b.simulation.readouts["madrs_true"][:6])


@pytest.mark.parametrize("population, inclusion", [("trd", Inclusion(min_baseline=30)), ("ptsd", Inclusion())])
def test_cohort_prefix_chunks_and_determinism(model, population, inclusion):
    """Oracle: a cohort of more than one block (``BLOCK`` candidates). A smaller cohort is its first rows, a chunk
    (``start``) is its rows from ``start`` on, and drawing again gives the same table."""
    v, cvs = model.values, model.cvs
    n = BLOCK + 300  # more candidates than one block, whatever the screening keeps
    whole = npl.sample_cohort(v, cvs, population, n, seed=5, arm="a", inclusion=inclusion).table
    assert np.array_equal(whole["patient"], np.arange(n))
    again = npl.sample_cohort(v, cvs, population, n, seed=5, arm="a", inclusion=inclusion).table
    pd.testing.assert_frame_equal(again, whole, check_exact=True)
    for k in (1, 6, 700):
        first = npl.sample_cohort(v, cvs, population, k, seed=5, arm="a", inclusion=inclusion).table
        pd.testing.assert_frame_equal(first, whole.iloc[:k], check_exact=True)
    chunk = npl.sample_cohort(v, cvs, population, 400, seed=5, arm="a", start=BLOCK - 100, inclusion=inclusion)
    pd.testing.assert_frame_equal(
        chunk.table, whole.iloc[BLOCK - 100 : BLOCK + 300].reset_index(drop=True), check_exact=True
    )
    # another arm name or another seed gives other patients
    for seed, arm in ((5, "b"), (6, "a"), (5, None)):
        drawn = npl.sample_cohort(v, cvs, population, 6, seed=seed, arm=arm, inclusion=inclusion).table
        assert not np.array_equal(drawn["weight_kg"], whole["weight_kg"][:6]), (seed, arm)


def test_arm_key_is_stable():
    """Oracle: the key's definition, written out (first 8 bytes of the name's SHA-256, big-endian). A changed
    key would silently give every arm of every trial other patients; Python's salted ``hash`` would change
    them from one process to the next."""
    assert arm_key("ketamine") == 0x9E0CC3AC15E85AC0  # sha256(b"ketamine") = 9e0cc3ac15e85ac0...
    assert arm_key(None) == 0 and arm_key("ketamine") != arm_key("saline")


def test_too_few_admitted_is_refused(model):
    """Criteria nobody meets stop with an error naming ``trial.inclusion`` (after a bounded screening)."""
    with pytest.raises(npl.NeuroplastInputError, match="too few") as exc:
        npl.sample_cohort(model.values, model.cvs, "trd", 5, seed=1, arm="a", inclusion=Inclusion(min_baseline=61))
    assert exc.value.field == "trial.inclusion"

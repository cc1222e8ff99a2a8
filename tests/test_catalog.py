"""The catalogue (neuroplast.catalog) is the one vocabulary: what the model computes, the regimen accepts and the
web draws is what it declares. Oracles: the model's own outputs and the state layout derived from the scales."""

import jax
import numpy as np

import neuroplast as npl
from neuroplast import catalog
from neuroplast.model import INPUTS, LAYOUT, STATE_NAMES, TABLE, Model
from neuroplast.regimen import DRUGS, ROUTES, THERAPIES
from neuroplast.web.library import group_of, readout_info


def test_every_readout_the_model_computes_is_declared_once(model):
    """The model's read-outs are exactly the catalogue's, in its order; every one has a unit, a label and a level
    of the chain the web and the report know."""
    cohort = npl.typical_patient(model.values)
    m = jax.tree_util.tree_map(lambda x: x[0], Model.build(model, cohort))
    out = m.readouts(np.zeros((2, len(STATE_NAMES))) + m.initial_state())
    assert list(out) == list(catalog.READOUTS)
    for r in catalog.READOUTS.values():
        assert r.unit and r.label and r.level in catalog.LEVELS
    assert set(readout_info()) == set(catalog.READOUTS)


def test_hippocampal_volume_is_drawn_with_structure_not_signalling():
    """The web's plot rows come from the catalogue's levels (they were once matched by substring, and
    "hippocampal" contains "ampa")."""
    assert group_of("hippocampal_volume") == "structure"
    assert group_of("glutamate") == "signalling"
    assert group_of("not_a_readout") == "other"


def test_codes_and_routes_are_one_vocabulary():
    """Event codes are unique; the regimen's drugs, routes and sessions are the catalogue's."""
    codes = list(catalog.DRUG_CODES.values())
    assert len(codes) == len(set(codes))
    assert set(DRUGS) == set(catalog.DRUGS)
    assert ROUTES == {name: d.routes for name, d in catalog.DRUGS.items()}
    assert set(THERAPIES) == set(catalog.THERAPIES) == set(catalog.KINDS)
    assert all(set(d.routes) <= set(catalog.ROUTE_CODES) for d in catalog.DRUGS.values())


def test_state_layout_and_input_table_are_named():
    """The state vector is the scales' states in the chain's order, each slice as long as its scale's names; the
    compiled input table has one column per named field, in order, with no gap."""
    assert LAYOUT.names == STATE_NAMES and len(set(STATE_NAMES)) == len(STATE_NAMES)
    covered = [i for name, _ in LAYOUT.scales for i in range(len(STATE_NAMES))[LAYOUT[name]]]
    assert covered == list(range(len(STATE_NAMES)))
    assert TABLE.into.stop - TABLE.into.start == len(INPUTS) and TABLE.therapy.start == TABLE.into.stop
    assert TABLE.width == TABLE.therapy.stop
    assert len(LAYOUT.units) == len(STATE_NAMES)

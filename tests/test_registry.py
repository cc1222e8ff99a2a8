"""Every number declares itself: value, unit, variability and a source that exists."""

import math

from neuroplast.evidence import source_ids
from neuroplast.parameters import all_parameters, fitted_values
from neuroplast.regimen.guardrails import CEILINGS_MG_PER_KG


def test_every_parameter_has_a_known_source():
    ids = source_ids()
    for p in all_parameters():
        assert p.unit, p.name
        assert math.isfinite(p.value), p.name
        assert p.cv >= 0, p.name
        assert p.source in ids or p.source in ("fit", "assumption"), f"{p.name}: unknown source {p.source!r}"
        if p.source == "assumption":
            assert len(p.note) > 10, f"{p.name}: an assumption needs its reason"


def test_names_are_unique():
    names = [p.name for p in all_parameters()]
    assert len(names) == len(set(names))


def test_fitted_values_are_registry_parameters():
    names = {p.name: p for p in all_parameters()}
    for k in fitted_values():
        # stage 1 solves two anchors in closed form from a published value (fit.stage1): they cite it
        assert k in names and names[k].source in ("fit", "A34", "wilkinson2018_cadss_ketamine"), k


def test_dose_ceilings_cover_every_active_drug():
    from neuroplast.regimen import DRUGS, ROUTES

    for drug in DRUGS:
        if drug not in ("saline", "placebo"):  # no drug in them
            for route in ROUTES[drug]:
                assert (drug, route) in CEILINGS_MG_PER_KG

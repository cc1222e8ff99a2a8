"""Bipolar depression on a mood stabiliser: depression on MADRS as for trd; a switch-to-mania read-out (YMRS).

Depression uses the depression scales (MADRS, HAM-D, ...: ``instruments.py`` lists the population)
with this preset. The YMRS read-out is a safety output::

    YMRS(t) = baseline + ymrs_per_cadss x CADSS(t)
              + ymrs_switch_gain x (1 - a(t)) x (1 - mood_stabiliser_protection x on_mood_stabiliser)

the acute activation of the infusion (resolves with the drug) and a switch term that grows with
fast mood relief (``a`` the prefrontal deficit, healthy 0, baseline 1), damped by lithium/valproate.
Every parameter is an assumption. The preset takes the design of diazgranados2010 (18 patients on
lithium or valproate, add-on ketamine; a trial outside the calibration set, whose outcomes are not used).
``summary.json`` gets the YMRS keys in each arm's ``safety`` block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _symptoms

NAME = "bipolar_depression"
POPULATIONS = (NAME,)
HYPOMANIA = 12.0  # YMRS >= 12: hypomanic symptoms (assumption: a commonly used threshold, not read)

PRESET = dict(
    name=NAME,
    description=(
        "Treatment-resistant bipolar I/II depression maintained on lithium or valproate "
        "(diazgranados2010: 18 patients, add-on ketamine)"
    ),
    weight_kg=(82.0, 17.0, 45.0, 150.0),  # assumption: as trd
    age_y=(47.0, 11.0, 18.0, 70.0),  # assumption (not read), as the NIMH TRD trials
    female=0.6,  # assumption (not read)
    p_on_antidepressant=0.0,  # diazgranados2010: mood stabiliser only (other drugs washed out; assumption)
    p_inpatient=1.0,  # NIMH Mood Disorders Research Unit: inpatients (assumption from the setting)
    failed_antidepressants_min=1,  # treatment-resistant (assumption: at least one failed trial)
    sources=("diazgranados2010_bipolar", "typical_trd_baseline_madrs"),
    madrs_baseline=None,  # the registry's trd baseline (the bipolar baseline was not read)
    illness_y=(20.0, 10.0, 2.0, 50.0),  # assumption: long illness in treatment-resistant bipolar disorder
    untreated_share=(0.3, 0.15),  # assumption
    baselines=(("baseline_ymrs_true", 4.0, 2.0, 0.0, 11.0),),  # assumption: euthymic-to-mild YMRS while depressed
    p_mood_stabiliser=1.0,  # diazgranados2010: all at therapeutic lithium or valproate levels
)

EVIDENCE = (
    "No bipolar outcome in the calibration set (the depression parameters are the trd fit); the population "
    "is diazgranados2010's design."
)


def ymrs(ro, table, v):
    """True YMRS (patients, times)."""
    base = _symptoms.baseline(table, "baseline_ymrs_true")
    cadss = np.asarray(ro["cadss"], dtype=float) if "cadss" in ro else 0.0
    relief = np.maximum(1.0 - _symptoms.subcircuit_activity(ro, "prefrontal", v), 0.0)
    on = table["on_mood_stabiliser"].to_numpy(dtype=float)[:, None] if "on_mood_stabiliser" in table else 0.0
    switch = v["ymrs_switch_gain"] * relief * (1.0 - v["mood_stabiliser_protection"] * on)
    return base + v["ymrs_per_cadss"] * cadss + switch


SCALES: list[dict[str, Any]] = [
    dict(
        name="YMRS",
        title="Young Mania Rating Scale (0-60), switch-to-mania read-out",
        max=60.0,
        remission=HYPOMANIA - 1,
        remission_source="assumption: below the hypomania threshold YMRS 12 (not read)",
        true=ymrs,
        noise_sd=lambda v: v["ymrs_noise_sd"],
        populations=POPULATIONS,
    ),
]

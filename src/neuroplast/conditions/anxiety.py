"""Anxiety disorders (generalised and social anxiety): HAM-A through the fear sub-circuit.

Model: as PTSD (fear sub-circuit under prefrontal control), with its own gain and baseline.
No anxiety trial is in the calibration set: every parameter is an assumption (``anxiety_gain`` = 1,
symptoms follow the sub-circuit as depression follows the mood circuit). The population follows the designs
of two trials outside the calibration set (conditions/sources.yaml; their outcomes are not used):
glue2017_anxiety (refractory GAD/SAD, ascending subcutaneous doses) and taylor2018_sad (IV 0.5 mg/kg vs
saline crossover).
"""

from __future__ import annotations

from typing import Any

from . import _symptoms

NAME = "anxiety"
POPULATIONS = (NAME,)

PRESET = dict(
    name=NAME,
    description="Treatment-refractory generalised and/or social anxiety disorder, not currently depressed (glue2017_anxiety)",
    weight_kg=(78.0, 16.0, 45.0, 150.0),  # assumption: adult outpatients
    age_y=(38.0, 12.0, 18.0, 70.0),  # assumption (ages not read)
    female=0.5,  # glue2018 maintenance study: 10 of 20 women (read); used as an estimate
    p_on_antidepressant=0.5,  # assumption: refractory patients often stay on an SSRI/SNRI
    p_inpatient=0.0,
    failed_antidepressants_min=1,  # refractory: at least one failed treatment (assumption)
    sources=("glue2017_anxiety", "taylor2018_sad"),
    madrs_baseline=(14.0, 6.0),  # assumption: 'not currently depressed' (glue2017): mild depressive symptoms
    illness_y=(15.0, 10.0, 1.0, 50.0),  # assumption: anxiety disorders start early and run a chronic course
    untreated_share=(0.3, 0.15),  # assumption
    baselines=(("baseline_hama_true", 24.0, 6.0, 8.0, 56.0),),  # assumption: moderate-severe HAM-A (not read)
)

EVIDENCE = (
    "No anxiety trial in the calibration set; the population follows glue2017_anxiety's and taylor2018_sad's designs."
)


def _hama(ro, table, v):
    return _symptoms.score(ro, table, "baseline_hama_true", "fear", v["anxiety_gain"], v["anxiety_expectancy_share"], v)


SCALES: list[dict[str, Any]] = [
    dict(
        name="HAMA",
        title="Hamilton Anxiety Rating Scale (0-56)",
        max=56.0,
        remission=7.0,
        remission_source="assumption: HAM-A <= 7 as commonly used for remission (not read)",
        true=_hama,
        noise_sd=lambda v: v["hama_noise_sd"],
        populations=POPULATIONS,
    ),
]

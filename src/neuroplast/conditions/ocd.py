"""OCD: the compulsion loop (OFC-striatum-thalamus) under prefrontal control; Y-BOCS.

Model: Y-BOCS follows the compulsion loop's activity with gain ``ocd_gain`` and a share
``ocd_expectancy_share`` of the expectancy process, both fitted jointly (binomial likelihood) to
rodriguez2013_ocd (response, >= 35% Y-BOCS reduction, at 1 week: ketamine 4/8, saline 0/7) and
bloch2012_ocd (open label: 0/10 responders on days 1-3). The two studies disagree (drug-free patients
with near-constant obsessions vs treatment-refractory patients, 7 of 10 depressed): the fit is a
compromise; ``python -m neuroplast.calibration.conditions`` also reports each study's own fit.
"""

from __future__ import annotations

from typing import Any

from . import _symptoms

NAME = "ocd"
POPULATIONS = (NAME,)
RESPONSE = 0.35  # Y-BOCS response: >= 35% reduction (rodriguez2013_ocd, bloch2012_ocd)

PRESET = dict(
    name=NAME,
    description="Adults with OCD as enrolled in the ketamine trials: drug-free (rodriguez2013_ocd) or SRI-refractory (bloch2012_ocd)",
    weight_kg=(78.0, 16.0, 45.0, 150.0),  # assumption: adult outpatients
    age_y=(35.0, 11.0, 18.0, 70.0),  # assumption (ages not read)
    female=0.5,  # assumption (not read)
    p_on_antidepressant=0.3,  # assumption: rodriguez drug-free, bloch on SRIs
    p_inpatient=0.0,
    failed_antidepressants_min=0,
    sources=("rodriguez2013_ocd", "bloch2012_ocd"),
    madrs_baseline=(18.0, 8.0),  # assumption: bloch2012: 7 of 10 with comorbid depression
    illness_y=(15.0, 9.0, 1.0, 50.0),  # assumption: OCD starts in youth and runs a chronic course
    untreated_share=(0.4, 0.2),  # assumption: long delays to treatment are typical
    baselines=(("baseline_ybocs_true", 26.0, 5.0, 12.0, 40.0),),  # assumption: severe OCD at entry (baseline NOT READ)
)

EVIDENCE = (
    "rodriguez2013_ocd (verified): Y-BOCS response at 1 week 4/8 ketamine vs 0/7 saline (first phase of a "
    "crossover). bloch2012_ocd (verified): 0/10 Y-BOCS responders days 1-3 after open-label ketamine. "
    "Baselines NOT READ in either."
)


def _ybocs(ro, table, v):
    return _symptoms.score(ro, table, "baseline_ybocs_true", "compulsion", v["ocd_gain"], v["ocd_expectancy_share"], v)


SCALES: list[dict[str, Any]] = [
    dict(
        name="YBOCS",
        title="Yale-Brown Obsessive Compulsive Scale (0-40)",
        max=40.0,
        remission=12.0,
        remission_source="assumption: the consensus Y-BOCS <= 12 (Mataix-Cols 2016; not read)",
        true=_ybocs,
        noise_sd=lambda v: v["ybocs_noise_sd"],
        populations=POPULATIONS,
    ),
]

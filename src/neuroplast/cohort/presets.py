"""Population presets: distributions over covariates and disease state, with sources.

Each preset is data: a mapping of covariate → distribution. Numbers that are not from the
parameter registry carry their source here.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    description: str
    weight_kg: tuple[float, float, float, float]  # mean, sd, min, max
    age_y: tuple[float, float, float, float]
    female: float
    p_on_antidepressant: float
    p_inpatient: float
    failed_antidepressants_min: int
    sources: tuple[str, ...]


PRESETS = {
    "trd": Preset(
        name="trd",
        description=("Unipolar treatment-resistant depression: >= 2 failed adequate antidepressant trials, "
                     "adult outpatients/inpatients as enrolled in IV ketamine RCTs"),
        weight_kg=(80.0, 16.0, 45.0, 150.0),  # assumption: US adult trial populations; not in the evidence table
        age_y=(46.7, 11.2, 18.0, 70.0),  # zarate2006 population: age 46.7 (SD 11.2)
        female=0.667,  # zarate2006: 66.7% female
        p_on_antidepressant=0.5,  # assumption: half of TRD candidates are on a stable antidepressant
        p_inpatient=0.3,  # assumption: share of inpatients across the NIMH/Mount Sinai trials
        failed_antidepressants_min=2,  # zarate2006 / murrough2013_ajp inclusion
        sources=("zarate2006", "murrough2013_ajp", "typical_trd_baseline_madrs"),
    ),
}

"""Population presets: distributions over covariates and disease state, with sources.

Each preset is data: a mapping of covariate → distribution. Numbers that are not from the
parameter registry carry their source here.
"""

from __future__ import annotations

import dataclasses

from ..conditions import CONDITION_PRESETS


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
    madrs_baseline: tuple[float, float] | None = (
        None  # mean, SD of the true baseline MADRS (None: the registry's trd values)
    )
    illness_y: tuple[float, float, float, float] = (12.0, 8.0, 1.0, 40.0)  # years since onset: mean, sd, min, max
    untreated_share: tuple[float, float] = (
        0.1,
        0.05,
    )  # share of the ill years without treatment: mean, sd (clipped 0-1)
    natural_course: bool = False  # spontaneous improvement over weeks (mdd); TRD is chronic by definition
    # conditions beyond depression (neuroplast.conditions): true baseline severities drawn as cohort columns,
    # (column, mean, sd, min, max) each, from their own random stream; share on lithium/valproate
    baselines: tuple[tuple[str, float, float, float, float], ...] = ()
    p_mood_stabiliser: float = 0.0


PRESETS = {
    "trd": Preset(
        name="trd",
        description=(
            "Unipolar treatment-resistant depression: >= 2 failed adequate antidepressant trials, "
            "adult outpatients/inpatients as enrolled in IV ketamine RCTs"
        ),
        weight_kg=(80.0, 16.0, 45.0, 150.0),  # assumption: US adult trial populations; not in the evidence table
        age_y=(46.7, 11.2, 18.0, 70.0),  # zarate2006 population: age 46.7 (SD 11.2)
        female=0.667,  # zarate2006: 66.7% female
        p_on_antidepressant=0.5,  # assumption: half of TRD candidates are on a stable antidepressant
        p_inpatient=0.3,  # assumption: share of inpatients across the NIMH/Mount Sinai trials
        failed_antidepressants_min=2,  # zarate2006 / murrough2013_ajp inclusion
        sources=("zarate2006", "murrough2013_ajp", "typical_trd_baseline_madrs"),
        # assumption: TRD cohorts report long illness (often > 10 years), mostly treated (>= 2 failed trials):
        # a tenth of it untreated, i.e. about 1.5 years, -6.6% hippocampal volume by the Sheline slope (G04)
        illness_y=(15.0, 9.0, 2.0, 45.0),
        untreated_share=(0.1, 0.05),
    ),
    "mdd": Preset(
        name="mdd",
        description=(
            "Major depressive disorder, outpatients as enrolled in antidepressant, psychotherapy and exercise "
            "trials (not treatment-resistant): STAR*D level 1, placebo-controlled SSRI trials"
        ),
        weight_kg=(80.0, 17.0, 45.0, 150.0),  # assumption: US adult outpatients, as for trd
        age_y=(40.8, 13.0, 18.0, 75.0),  # assumption: STAR*D level-1 mean age about 41 (not read in a stored source)
        female=0.64,  # assumption: STAR*D about two thirds women (not read in a stored source)
        p_on_antidepressant=0.0,  # enrolled medication-free or after washout
        p_inpatient=0.0,  # outpatients (trivedi2006_stard_level1)
        failed_antidepressants_min=0,
        sources=("trivedi2006_stard_level1", "furukawa2016_placebo", "rutherford2012_waitlist", "G01"),
        # assumption: HAM-D17 about 21-22 at entry in outpatient antidepressant RCTs (HAM-D >= 14 inclusion in STAR*D),
        # i.e. MADRS 28 (SD 6) through the 1.3 linking slope
        madrs_baseline=(28.0, 6.0),
        illness_y=(10.0, 8.0, 0.2, 45.0),  # assumption: about 80% chronic or recurrent (trivedi2006_stard_level1)
        # solved (Monte Carlo over this preset's illness years, SD half the mean) so that the mean starting volume is
        # ENIGMA's -1.24% (G01) with the Sheline slope (G04): see docs/model.md and tests/test_slow_scales.py
        untreated_share=(0.027, 0.0135),
        natural_course=True,
    ),
}


def _condition_presets() -> dict[str, Preset]:
    """The presets of the conditions beyond depression (data in ``neuroplast.conditions``, one module each)."""

    return {name: Preset(**kw) for name, kw in CONDITION_PRESETS.items()}


PRESETS.update(_condition_presets())

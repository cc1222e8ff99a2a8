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
        # zarate2006's 18 were NIMH inpatients, murrough2013_ajp's 73 outpatients admitted only for the infusion day
        # (wilkinson2018_ketamine_si_ipd_settings): 18 / 91 = 0.198
        p_inpatient=0.2,
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
        p_inpatient=0.0,  # outpatients (trivedi2006_stard_level1: 2,876 analysed outpatients)
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
    "mdd_suicidal_ideation": Preset(
        name="mdd_suicidal_ideation",
        description=(
            "Major depressive disorder with active suicidal ideation with intent, hospitalised, adults 18-64 as "
            "enrolled in the esketamine trials ASPIRE I/II and canuso2018; standard of care (a newly started or "
            "optimised oral antidepressant) is given by the trial's arms"
        ),
        weight_kg=(80.0, 16.0, 45.0, 150.0),  # assumption: adult trial populations, as trd (weights not read)
        # aspire_pooled_baseline: 40.1 (SD 13.00), ages 18-64 (ionescu2021_aspire2); the normal's mean and SD are
        # solved so that the draw, clipped to 18-64, has that mean and SD (tests/test_populations.py)
        age_y=(39.99, 14.42, 18.0, 64.0),
        female=0.608,  # aspire_pooled_baseline: 274 of 451
        # assumption: "newly initiated or optimized" (fu2020_aspire1): some enter on an antidepressant, some not;
        # the share was not read. The standard of care itself is the arms' antidepressant doses.
        p_on_antidepressant=0.5,
        p_inpatient=1.0,  # need for psychiatric hospitalisation (fu2020_aspire1), >= 5 days (ionescu2021_aspire2)
        failed_antidepressants_min=0,  # MDD, not treatment-resistant: the ASPIRE inclusion names no failed trial
        sources=("aspire_pooled_baseline", "fu2020_aspire1", "ionescu2021_aspire2", "canuso2018"),
        madrs_baseline=(40.4, 5.82),  # aspire_pooled_baseline, MADRS 40.4 (SD 5.82)
        # assumption: illness history as the mdd preset's outpatients (not read for these trials)
        illness_y=(10.0, 8.0, 0.2, 45.0),
        untreated_share=(0.027, 0.0135),
        natural_course=True,  # assumption: non-resistant depression improves by itself, as mdd
    ),
    "trd_older": Preset(
        name="trd_older",
        description=(
            "Treatment-resistant depression at 65 or older (>= 2 failed antidepressants in the episode), as "
            "enrolled in TRANSFORM-3: switched from a failed antidepressant to a new one, which the trial's arms give"
        ),
        weight_kg=(80.0, 16.0, 45.0, 150.0),  # assumption: as trd (weights not read)
        # ochsross2020_transform3_design: 70.0 (SD 4.52), >= 65; the normal's mean and SD solved so that the draw,
        # clipped to 65-90 (upper bound an assumption), has that mean and SD; it then puts 15% at 75 or older, as
        # the trial's 21 of 137 (tests/test_populations.py)
        age_y=(69.31, 5.52, 65.0, 90.0),
        female=0.62,  # ochsross2020_transform3_design: 85 of 137
        # ochsross2020_transform3_design: enrolled on an antidepressant they had not responded to, switched at
        # randomisation (the new one is the arms' antidepressant doses)
        p_on_antidepressant=1.0,
        p_inpatient=0.0,  # assumption: the esketamine phase-3 TRD trials dosed in clinic; the setting was not read
        failed_antidepressants_min=2,  # ochsross2020_transform3_design: nonresponse to >= 2 in the current episode
        sources=("ochsross2020_transform3_design", "perezruixo2021_esketamine_hepatic"),
        madrs_baseline=(35.2, 6.16),  # ochsross2020_transform3_design
        illness_y=(15.0, 9.0, 2.0, 45.0),  # assumption: as trd (illness years not read)
        untreated_share=(0.1, 0.05),
    ),
}


def _condition_presets() -> dict[str, Preset]:
    """The presets of the conditions beyond depression (data in ``neuroplast.conditions``, one module each)."""

    return {name: Preset(**kw) for name, kw in CONDITION_PRESETS.items()}


PRESETS.update(_condition_presets())

"""Dose ceilings per drug and route: a clear refusal above them, unless explicitly overridden."""

from __future__ import annotations

from .._errors import DoseCeilingError

REFERENCE_WEIGHT_KG = 70.0
"""Absolute doses (mg) are checked as mg per 70 kg."""

CEILINGS_MG_PER_KG = {
    # 1.5 mg/kg: three times the antidepressant dose; above it IV ketamine is an anaesthetic
    # induction range (A35: 1200-2400 ng/mL), not a depression treatment.
    ("ketamine", "iv"): 1.5,
    # 0.1 mg/kg: assumption, about twice the highest active-placebo dose in the calibration set
    # (0.045 mg/kg, murrough2013_ajp) and the upper end of procedural sedation.
    ("midazolam", "iv"): 0.1,
    # Other ketamine routes (assumptions): the same 1.5 mg/kg systemic ceiling scaled to what a
    # route delivers would be far above any psychiatric use, so the ceilings are set at about twice
    # the highest doses in depression studies of each route.
    ("ketamine", "im"): 2.0,
    ("ketamine", "intranasal"): 1.5,
    ("ketamine", "oral"): 3.0,
    ("ketamine", "sublingual"): 3.0,
    # esketamine is about twice as potent as the racemate at the NMDA receptor (B01, B02)
    ("esketamine", "iv"): 0.75,
    ("esketamine", "oral"): 1.5,
    ("esketamine", "intranasal"): 84.0 / REFERENCE_WEIGHT_KG,  # the label's maximum dose (three devices)
    ("arketamine", "iv"): 1.5,  # assumption: as the racemate
    # SSRIs: the label's maximum daily dose (escitalopram 20 mg, sertraline 200 mg), per dose
    ("escitalopram", "oral"): 20.0 / REFERENCE_WEIGHT_KG,
    ("sertraline", "oral"): 200.0 / REFERENCE_WEIGHT_KG,
    # SNRIs, per dose: venlafaxine XR the label's outpatient maximum, 225 mg/day (effexor_xr_label_dosing_mdd);
    # duloxetine 120 mg, twice the label's 60 mg/day (assumption: the label's maximum was not in the sources read)
    ("duloxetine", "oral"): 120.0 / REFERENCE_WEIGHT_KG,
    ("venlafaxine", "oral"): 225.0 / REFERENCE_WEIGHT_KG,
}


def check_ceiling(drug: str, route: str, amount: float, unit: str, *, field: str, allow_high_dose: bool):
    ceiling = CEILINGS_MG_PER_KG.get((drug, route))
    if ceiling is None or allow_high_dose:
        return
    per_kg = amount if unit == "mg/kg" else amount / REFERENCE_WEIGHT_KG
    if per_kg > ceiling:
        shown = f"{amount:g} {unit}"
        limit = f"{ceiling:g} mg/kg" if unit == "mg/kg" else f"{ceiling * REFERENCE_WEIGHT_KG:g} mg"
        raise DoseCeilingError(
            f"dose above the safety ceiling of {limit} for {route} {drug}; "
            "pass --allow-high-dose (allow_high_dose=True) to simulate it anyway",
            field=field,
            value=shown,
        )

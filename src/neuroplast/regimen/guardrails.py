"""Dose ceilings per drug and route: a clear refusal above them, unless explicitly overridden."""

from __future__ import annotations

from .._errors import DoseCeilingError

REFERENCE_WEIGHT_KG = 70.0
"""Absolute doses (mg) are checked as mg per 70 kg."""

CEILINGS_MG_PER_KG = {
    # 1.5 mg/kg: three times the antidepressant dose; above it IV ketamine is an anaesthetic
    # induction range (A35: 1200-2400 ng/mL), not a depression treatment (issue #2 spec).
    ("ketamine", "iv"): 1.5,
    # 0.1 mg/kg: assumption, about twice the highest active-placebo dose in the calibration set
    # (0.045 mg/kg, murrough2013_ajp) and the upper end of procedural sedation.
    ("midazolam", "iv"): 0.1,
}


def check_ceiling(drug: str, route: str, amount: float, unit: str, *, field: str, allow_high_dose: bool):
    ceiling = CEILINGS_MG_PER_KG.get((drug, route))
    if ceiling is None or allow_high_dose:
        return
    per_kg = amount if unit == "mg/kg" else amount / REFERENCE_WEIGHT_KG
    if per_kg > ceiling:
        shown = f"{amount:g} {unit}"
        raise DoseCeilingError(
            f"dose above the safety ceiling of {ceiling:g} mg/kg for {route} {drug} in depression; "
            "pass --allow-high-dose (allow_high_dose=True) to simulate it anyway",
            field=field, value=shown)

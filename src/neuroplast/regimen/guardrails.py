"""Dose ceilings per drug and route: a clear refusal above them, unless explicitly overridden.

A ceiling holds for what is given, not per row of a file: for each administration (:func:`check_ceiling`) and
for the sum over any 24 hours (:func:`check_window`), which holds a clinic session (esketamine's three devices,
doses listed twice at the same time, a repeat every few minutes) and a day of tablets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import DoseCeilingError
from ..catalog import KETAMINE_FAMILY

if TYPE_CHECKING:
    from .events import Dose

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


WINDOW_H = 24.0
"""The window a ceiling also bounds the sum over: any 24 hours. Assumption: the psychiatric protocols this
library models give ketamine at most once a day (a session) and antidepressants' ceilings are daily maxima, so
each drug's per-administration ceiling is also its ceiling per 24 hours."""

_TIE_H = 1e-6  # doses this close to 24 h apart are in different windows (daily dosing at "every = 1 d")


def _group(drug: str) -> str:
    """Drugs whose doses add up against one ceiling: the ketamine family (racemate and enantiomers) together."""
    return "ketamine" if drug in KETAMINE_FAMILY else drug


def _share(dose: Dose, weight_kg: float | None) -> float:
    """The share of its ceiling one dose uses (0 where the drug and route have none)."""
    ceiling = CEILINGS_MG_PER_KG.get((dose.drug, dose.route))
    if ceiling is None:
        return 0.0
    if dose.unit == "mg/kg":
        return dose.amount / ceiling
    kg = REFERENCE_WEIGHT_KG if weight_kg is None else weight_kg
    return dose.amount / (ceiling * kg)


def check_window(doses: Sequence[tuple[Dose, str]], *, allow_high_dose: bool, weight_kg: float | None = None) -> None:
    """Refuse doses of one drug (the ketamine family counted together) that add up to more than its ceiling
    within any 24 hours, each dose counted as the share of its own drug and route's ceiling.

    ``doses``: each dose with the field it came from (named in the error). ``weight_kg``: the patient's weight
    for absolute (mg) doses; without it they are counted per 70 kg, as :func:`check_ceiling` does."""
    if allow_high_dose:
        return
    by_group: dict[str, list[tuple[Dose, str]]] = {}
    for dose, field in doses:
        by_group.setdefault(_group(dose.drug), []).append((dose, field))
    for group, items in by_group.items():
        items.sort(key=lambda x: x[0].time_h)
        shares = [_share(d, weight_kg) for d, _ in items]
        total, first = 0.0, 0
        for last, (dose, field) in enumerate(items):
            total += shares[last]
            while dose.time_h - items[first][0].time_h >= WINDOW_H - _TIE_H:
                total -= shares[first]
                first += 1
            if total > 1.0 + 1e-9:
                window = [d for d, _ in items[first : last + 1]]
                raise DoseCeilingError(
                    f"the {group} doses given within 24 h (from {window[0].time_h:g} h to {dose.time_h:g} h) "
                    f"add up to {_sum_text(window, total)} (a ceiling holds per administration and per 24 h); "
                    "pass --allow-high-dose (allow_high_dose=True) to simulate them anyway",
                    field=field,
                    value=f"{dose.amount:g} {dose.unit}",
                )


def _sum_text(window: list[Dose], total: float) -> str:
    """The window's sum in the doses' own unit where they share drug, route and unit, else as shares of the
    ceilings."""
    d = window[0]
    if all((x.drug, x.route, x.unit) == (d.drug, d.route, d.unit) for x in window):
        ceiling = CEILINGS_MG_PER_KG[(d.drug, d.route)]
        limit = f"{ceiling:g} mg/kg" if d.unit == "mg/kg" else f"{ceiling * REFERENCE_WEIGHT_KG:g} mg"
        return f"{sum(x.amount for x in window):g} {d.unit}, above the safety ceiling of {limit} for {d.route} {d.drug}"
    return f"{total:.3g} times the safety ceiling (each dose counted against its own drug and route's ceiling)"


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

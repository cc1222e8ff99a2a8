"""Units at the boundary.

Users write quantities as strings ("0.5 mg/kg", "40 min", "3.5 d"); they are parsed once with
pint and converted to the internal system, after which the solver only sees plain floats.

Internal system (all scales):

======================  =========
time                    hour (h)
drug amount             micromole (umol) inside the model; doses enter as mg
dose per body weight    mg/kg
concentration           micromolar (uM = umol/L); reported as ng/mL
volume                  litre (L)
clearance               L/h
body weight             kg
======================  =========
"""

from __future__ import annotations

import functools

import pint

from ._errors import NeuroplastInputError


@functools.cache
def ureg() -> pint.UnitRegistry:
    return pint.UnitRegistry()


def parse_quantity(text: object, kind: str, *, field: str) -> float:
    """Parse a user quantity string and return its magnitude in the internal unit of ``kind``.

    ``kind`` is one of ``"time"`` (→ h), ``"mass"`` (→ mg), ``"mass_per_weight"`` (→ mg/kg).
    Raises :class:`NeuroplastInputError` naming ``field`` for a unit-less, unparsable or
    wrongly-dimensioned value.
    """
    if isinstance(text, bool) or not isinstance(text, str):
        raise NeuroplastInputError(
            'expected a quantity with a unit as a string, e.g. "40 min" or "0.5 mg/kg"', field=field, value=text
        )
    reg = ureg()
    try:
        q: pint.Quantity = reg.Quantity(text.strip())
    except Exception as exc:  # pint raises several unrelated types here
        raise NeuroplastInputError(
            f"cannot parse the quantity ({type(exc).__name__})", field=field, value=text
        ) from None
    if q.units == reg.dimensionless:
        raise NeuroplastInputError(
            'the quantity has no unit; write e.g. "40 min" or "0.5 mg/kg"', field=field, value=text
        )
    target = {"time": "h", "mass": "mg", "mass_per_weight": "mg/kg"}[kind]
    try:
        return float(q.to(target).magnitude)
    except pint.DimensionalityError:
        raise NeuroplastInputError(
            f"wrong unit: expected a {kind.replace('_', ' ')} (convertible to {target})", field=field, value=text
        ) from None


def parse_amount(text: object, *, field: str) -> tuple[float, str]:
    """A dose amount: returns ``(magnitude, "mg/kg")`` or ``(magnitude, "mg")``."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise NeuroplastInputError('the amount has no unit; write e.g. "0.5 mg/kg" or "35 mg"', field=field, value=text)
    if not isinstance(text, str):
        raise NeuroplastInputError('expected an amount such as "0.5 mg/kg"', field=field, value=text)
    reg = ureg()
    try:
        q: pint.Quantity = reg.Quantity(text.strip())
    except Exception as exc:
        raise NeuroplastInputError(f"cannot parse the amount ({type(exc).__name__})", field=field, value=text) from None
    if q.units == reg.dimensionless:
        raise NeuroplastInputError('the amount has no unit; write e.g. "0.5 mg/kg" or "35 mg"', field=field, value=text)
    if q.check("[mass]"):
        value, unit = float(q.to("mg").magnitude), "mg"
    elif q.dimensionless and "/" in text:  # mass per body mass, e.g. "0.5 mg/kg", "500 ug/kg"
        value, unit = float(q.to("mg/kg").magnitude), "mg/kg"
    else:
        raise NeuroplastInputError(
            "wrong unit for a dose: use a mass (mg) or a mass per body weight (mg/kg)", field=field, value=text
        )
    if value < 0:
        raise NeuroplastInputError("the amount must not be negative", field=field, value=text)
    return value, unit


NG_PER_UMOL = {
    "ketamine": 237.73,
    "esketamine": 237.73,
    "arketamine": 237.73,
    "norketamine": 223.70,
    "hnk": 239.70,
    "midazolam": 325.78,
    "escitalopram": 324.39,
    "sertraline": 306.24,
    "duloxetine": 297.41,  # molar_masses_snri (free bases, as the labels' doses)
    "venlafaxine": 277.41,
    "odv": 263.38,
}
"""Molar masses of the free bases (g/mol = ng/nmol; HNK = C12H14ClNO2) for converting uM to ng/mL (ng/mL = uM x g/mol / 1000 x 1000)."""


def um_to_ng_per_ml(conc_um, species: str):
    """uM → ng/mL: 1 umol/L x M g/mol = M ug/L = M ng/mL."""
    return conc_um * NG_PER_UMOL[species]

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
import math
import re

import pint

from ._errors import NeuroplastInputError


@functools.cache
def ureg() -> pint.UnitRegistry:
    return pint.UnitRegistry()


TIME_UNITS = {
    **dict.fromkeys(("s", "sec", "second", "seconds"), "second"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "minute"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hour"),
    **dict.fromkeys(("d", "day", "days"), "day"),
    **dict.fromkeys(("wk", "week", "weeks"), "week"),
    **dict.fromkeys(("month", "months"), "month"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "year"),
}
"""The time units a user may write, each to its pint name (pint's ``month`` is a twelfth of its ``year``, 365.25 d)."""

MASS_UNITS = {"ng": "nanogram", "ug": "microgram", "µg": "microgram", "μg": "microgram", "mcg": "microgram"}
MASS_UNITS |= {"mg": "milligram", "g": "gram"}
"""The mass units of a dose."""

WEIGHT_UNITS = {"kg": "kilogram", "g": "gram", "lb": "pound", "lbs": "pound"}
"""The mass units of a body weight."""

KINDS = {
    "time": (TIME_UNITS, "hour", "s, min, h, d, week, month, y", 'e.g. "40 min", "2 h" or "7 d"'),
    "weight": (WEIGHT_UNITS, "kilogram", "kg, g, lb", 'e.g. "70 kg"'),
}
"""Each kind of :func:`parse_quantity`: its units, the internal unit it is returned in (h, kg), the units named in
an error and an example (a dose's amount is :func:`parse_amount`'s)."""

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII digits: "５ mg", "٥ mg" refused
_TEXT = re.compile(rf"(?P<number>{_NUMBER})\s*(?P<unit>[^\s\d.,+-]\S*?(?:\s*/\s*\S+)?)")


def _split(text: object, *, field: str, example: str) -> tuple[float, str]:
    """A user's quantity text -> (finite number, unit text). Strict: one number in plain decimal notation (no
    locale commas, no ``nan``/``inf``/``∞``), then one unit (or ``a/b``), nothing after it."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise NeuroplastInputError(f"expected a quantity with a unit as a string, {example}", field=field, value=text)
    m = _TEXT.fullmatch(text.strip())
    if m is None:
        if text.strip() and _NUMBER_ONLY.fullmatch(text.strip()):
            raise NeuroplastInputError(
                f"the quantity has no unit; write it with one, {example}", field=field, value=text
            )
        comma = " (with a decimal point, not a comma)" if "," in text else ""
        raise NeuroplastInputError(
            f"cannot read this as a number and a unit, {example}{comma}", field=field, value=text
        )
    number = float(m["number"])
    if not math.isfinite(number):
        raise NeuroplastInputError("the number is too large", field=field, value=text)
    return number, re.sub(r"\s+", "", m["unit"])


_NUMBER_ONLY = re.compile(_NUMBER)


def parse_quantity(text: object, kind: str, *, field: str) -> float:
    """Parse a user quantity string and return its magnitude in the internal unit of ``kind``.

    ``kind`` is ``"time"`` (→ h) or ``"weight"`` (→ kg, a body weight); a dose's amount is :func:`parse_amount`.
    The text is one finite number and one unit of :data:`KINDS`'s list for that kind, nothing else; anything
    else raises :class:`NeuroplastInputError` naming ``field`` and the text as written.
    """
    units, target, named, example = KINDS[kind]
    number, unit = _split(text, field=field, example=example)
    if unit not in units:
        raise NeuroplastInputError(f"wrong unit: expected a {kind} ({named}), {example}", field=field, value=text)
    value = _convert(number, units[unit], target)
    if not math.isfinite(value):
        raise NeuroplastInputError("the number is too large", field=field, value=text)
    return value


def _convert(number: float, unit: str, target: str) -> float:
    return float(ureg().Quantity(number, unit).to(target).magnitude)


def parse_amount(text: object, *, field: str) -> tuple[float, str]:
    """A dose amount: returns ``(magnitude, "mg/kg")`` or ``(magnitude, "mg")``.

    Accepted: a dose mass (``"35 mg"``, ``"500 ug"``) or a dose per kilogram of body weight (``"0.5 mg/kg"``,
    ``"500 ug/kg"``); one finite, non-negative number, nothing else."""
    example = 'e.g. "0.5 mg/kg" or "35 mg"'
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        raise NeuroplastInputError(f"the amount has no unit; write it with one, {example}", field=field, value=text)
    number, unit = _split(text, field=field, example=example)
    mass, _, per = unit.partition("/")
    if mass not in MASS_UNITS or (per and per != "kg"):
        raise NeuroplastInputError(
            f"wrong unit for a dose: use a mass (ng, ug, mg, g) or a mass per kg of body weight, {example}",
            field=field,
            value=text,
        )
    value = _convert(number, MASS_UNITS[mass], "milligram")
    if not math.isfinite(value):
        raise NeuroplastInputError("the number is too large", field=field, value=text)
    if value < 0:
        raise NeuroplastInputError("the amount must not be negative", field=field, value=text)
    return value, ("mg/kg" if per else "mg")


def parse_number(value: object, *, field: str, what: str = "a number") -> float:
    """A plain number a user wrote (a TOML/JSON number, or a CSV/FHIR field's text): finite, in plain decimal
    notation; anything else raises :class:`NeuroplastInputError` naming ``field`` and the value."""
    if isinstance(value, bool):
        raise NeuroplastInputError(f"expected {what}", field=field, value=value)
    if isinstance(value, (int, float)):
        x = float(value)
    elif isinstance(value, str) and _NUMBER_ONLY.fullmatch(value.strip()):
        x = float(value.strip())
    else:
        raise NeuroplastInputError(f"expected {what} (decimal point, not comma)", field=field, value=value)
    if not math.isfinite(x):
        raise NeuroplastInputError(f"expected {what}: a finite number", field=field, value=value)
    return x


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

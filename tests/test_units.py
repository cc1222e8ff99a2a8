"""Units at the boundary (oracle: hand conversions)."""

import pytest

from neuroplast import NeuroplastInputError
from neuroplast._units import parse_amount, parse_quantity, um_to_ng_per_ml


@pytest.mark.parametrize("text, hours", [("40 min", 2 / 3), ("3.5 d", 84.0), ("90 s", 0.025), ("2 week", 336.0)])
def test_times(text, hours):
    assert parse_quantity(text, "time", field="f") == pytest.approx(hours)


@pytest.mark.parametrize(
    "text, value, unit",
    [("0.5 mg/kg", 0.5, "mg/kg"), ("500 ug/kg", 0.5, "mg/kg"), ("35 mg", 35.0, "mg"), ("0.035 g", 35.0, "mg")],
)
def test_amounts(text, value, unit):
    v, u = parse_amount(text, field="f")
    assert u == unit and v == pytest.approx(value)


def test_molar_conversion_matches_published_pair():
    """A34 gives 185 ng/mL = 0.78 uM for ketamine (molar mass 237.7 g/mol)."""
    assert um_to_ng_per_ml(0.78, "ketamine") == pytest.approx(185.0, rel=0.01)


@pytest.mark.parametrize("text", ["5 mL", "3 kg/mg/h", "1 h"])
def test_wrong_dimension_for_a_dose(text):
    with pytest.raises(NeuroplastInputError, match="wrong unit"):
        parse_amount(text, field="arm.dose.amount")

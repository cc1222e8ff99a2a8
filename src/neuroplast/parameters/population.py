"""The population model: every parameter's typical value and between-patient variability, with its unit."""

from __future__ import annotations

import dataclasses
import functools

import pint

from .._errors import NeuroplastInputError
from .._units import ureg


@dataclasses.dataclass(frozen=True)
class PopulationModel:
    """Typical parameter values and between-patient variability (CV of a log-normal), by name, from the registry.

    Values are in the registry's units (:attr:`units`); :meth:`quantity` converts one with pint, so that a
    scale's constructor never carries a unit factor of its own."""

    values: dict
    cvs: dict

    def with_values(self, **changes: float) -> PopulationModel:
        unknown = set(changes) - set(self.values)
        if unknown:
            raise NeuroplastInputError(f"unknown parameter(s) {sorted(unknown)}", field="model.values")
        return PopulationModel({**self.values, **changes}, self.cvs)

    def quantity(self, name: str, unit: str) -> float:
        """The typical value of ``name`` converted from its registry unit to ``unit`` (pint)."""
        return convert(self.values[name], registry_units().get(name, "1"), unit, name)


@functools.cache
def registry_units() -> dict[str, str]:
    from . import all_parameters

    return {p.name: p.unit for p in all_parameters()}


@functools.cache
def _factor(source: str, target: str, name: str) -> float:
    try:
        return float(ureg().Quantity(1.0, source).to(target).magnitude)
    except (pint.errors.UndefinedUnitError, pint.errors.DimensionalityError, ValueError) as exc:
        raise ValueError(f"parameter {name}: cannot convert its unit '{source}' to '{target}' ({exc})") from None


def convert(value, source: str, target: str, name: str = "?"):
    """``value`` in ``source`` units expressed in ``target`` units (pint; the same unit is returned as it is)."""
    if source == target:
        return value
    return value * _factor(source, target, name)

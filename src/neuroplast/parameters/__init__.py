"""The parameter registry (value, unit, variability, source for every number) and the population model."""

from __future__ import annotations

import dataclasses

from .population import PopulationModel
from .registry import (
    FITTED_PATH,
    IDENTIFIABILITY_PATH,
    STATUSES,
    Parameter,
    fitted_values,
    identifiability,
    resolved,
    status,
)
from .table import SCALES


def all_parameters() -> tuple[Parameter, ...]:
    """Every parameter, with its scale filled in and the fitted value resolved."""
    out = []
    for scale, params in SCALES.items():
        for p in params:
            out.append(dataclasses.replace(p, scale=scale, value=resolved(p)))
    return tuple(out)


def records() -> list[dict]:
    """Every parameter as ``neuroplast params --json`` prints it: ``name, scale, value, unit, source, status,
    interval, at_bound`` (``status``: :data:`STATUSES`; ``interval``: the 95% interval of a fitted parameter)."""
    out = []
    for p in all_parameters():
        st, interval, at_bound = status(p)
        out.append(
            {
                "name": p.name,
                "scale": p.scale,
                "value": p.value,
                "unit": p.unit,
                "source": p.source,
                "status": st,
                "interval": interval,
                "at_bound": at_bound,
            }
        )
    return out


def values() -> dict[str, float]:
    """name → value (fitted values applied)."""
    return {p.name: p.value for p in all_parameters()}


def table_values() -> dict[str, float]:
    """name → the parameter table's value, ``fitted.json`` ignored (for a fitted parameter: where the search starts)."""
    return {p.name: p.value for params in SCALES.values() for p in params}


def cvs() -> dict[str, float]:
    return {p.name: p.cv for p in all_parameters()}


def default_model() -> PopulationModel:
    """The calibrated model: registry values with the committed fitted values applied."""
    return PopulationModel(values(), cvs())


__all__ = [
    "FITTED_PATH",
    "IDENTIFIABILITY_PATH",
    "STATUSES",
    "Parameter",
    "PopulationModel",
    "all_parameters",
    "cvs",
    "default_model",
    "fitted_values",
    "identifiability",
    "records",
    "status",
    "table_values",
    "values",
]

"""Rodent dose and time mapped to a human regimen, declared with sources.

Dose: by body-surface area, ``human mg/kg = animal mg/kg × km_animal / km_human`` with the km factors of
``freireich1966_km_factors`` (evidence/extra_sources.yaml; the FDA's 2005 starting-dose guidance uses the same
factors). Time: a factor on the time after the dose (the packaged mapping keeps it at 1, an assumption stated in
``comparisons.yaml``: the compared points lie in the downstream phase, set by cellular kinetics rather than by drug
elimination). Route: an intraperitoneal or subcutaneous injection becomes a human depot route (IM). Every number
of a mapping carries a source: an evidence id or ``assumption: <reason>``; a mapping without one is refused.
"""

from __future__ import annotations

import dataclasses

from .._errors import NeuroplastInputError
from ..evidence import extra, source_ids


@dataclasses.dataclass(frozen=True)
class SpeciesMapping:
    """How one species' dose (mg/kg), route and time after the dose (h) become a human regimen's."""

    species: str
    km_animal: float  # kg/m2
    km_human: float  # kg/m2
    time_factor: float  # human h per animal h
    routes: dict[str, str]  # animal route -> human route
    sources: dict[str, str]  # "dose", "time", "route" -> evidence id or "assumption: ..."

    def dose_to_human(self, mg_per_kg: float) -> float:
        """Human-equivalent dose (mg/kg) of ``mg_per_kg`` in this species, by body-surface area."""
        return mg_per_kg * self.km_animal / self.km_human

    def dose_from_human(self, mg_per_kg: float) -> float:
        """The inverse of :meth:`dose_to_human`."""
        return mg_per_kg * self.km_human / self.km_animal

    def time_to_human(self, hours: float) -> float:
        return hours * self.time_factor

    def time_from_human(self, hours: float) -> float:
        return hours / self.time_factor

    def route_to_human(self, route: str, *, file: str, field: str) -> str:
        if route not in self.routes:
            raise NeuroplastInputError(
                f"no human route declared for this {self.species} route; declared: {', '.join(self.routes)}",
                field=field,
                value=route,
                file=file,
            )
        return self.routes[route]


def _source(text: object, *, file: str, field: str) -> str:
    """An evidence id or ``assumption: <reason>``; anything else is refused."""
    if isinstance(text, str):
        if text.startswith("assumption:") and len(text.split(":", 1)[1].strip()) > 0:
            return text
        if text in source_ids():
            return text
    raise NeuroplastInputError(
        "a species mapping needs a source: an evidence id (evidence/*.yaml) or 'assumption: <reason>'",
        field=field,
        value=text,
        file=file,
    )


def _km(table: dict, key: object, *, file: str, field: str) -> float:
    if key not in table:
        raise NeuroplastInputError(f"unknown km factor; known: {', '.join(table)}", field=field, value=key, file=file)
    return float(table[key])


def load_mappings(config: dict, *, file: str) -> dict[str, SpeciesMapping]:
    """The ``species`` section of a comparisons config: one :class:`SpeciesMapping` per species.

    ``dose.source`` names the evidence entry whose ``value`` holds the km factors (``dose.km_animal`` and
    ``dose.km_human`` are its keys); ``time.factor`` and ``routes`` carry a source each."""
    out = {}
    for sp, m in (config.get("species") or {}).items():
        f = f"species.{sp}"
        if not isinstance(m, dict):
            raise NeuroplastInputError("expected a mapping with dose, time and routes", field=f, value=m, file=file)
        dose, time = m.get("dose") or {}, m.get("time") or {}
        sources = {
            "dose": _source(dose.get("source"), file=file, field=f"{f}.dose.source"),
            "time": _source(time.get("source"), file=file, field=f"{f}.time.source"),
            "route": _source(m.get("route_source"), file=file, field=f"{f}.route_source"),
        }
        km_table = _km_table(sources["dose"], file=file, field=f"{f}.dose.source")
        factor = time.get("factor")
        if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
            raise NeuroplastInputError("the time factor must be a positive number", field=f"{f}.time.factor",
                                       value=factor, file=file)  # fmt: skip
        out[sp] = SpeciesMapping(
            species=sp,
            km_animal=_km(km_table, dose.get("km_animal"), file=file, field=f"{f}.dose.km_animal"),
            km_human=_km(km_table, dose.get("km_human"), file=file, field=f"{f}.dose.km_human"),
            time_factor=float(factor),
            routes=dict(m.get("routes") or {}),
            sources=sources,
        )
    return out


def _km_table(source: str, *, file: str, field: str) -> dict:
    """The km factors of the evidence entry ``source`` (its ``value``, a mapping of species to kg/m2)."""
    for s in extra()["sources"]:
        if s["id"] == source and isinstance(s.get("value"), dict):
            return s["value"]
    raise NeuroplastInputError(
        "the dose mapping's source must be an evidence entry whose value lists km factors by species",
        field=field,
        value=source,
        file=file,
    )


__all__ = ["SpeciesMapping", "load_mappings"]

"""Pharmacokinetics: linear compartment models; absorption by route in closed form."""

from .absorption import ROUTE_CODES, Absorption, depot_flux, event_flux, input_flux
from .antidepressants import AntidepressantPK
from .compartments import MidazolamPK, closed_form_linear, linear_system
from .ketamine import KetaminePK, age_clearance_factor

__all__ = [
    "AntidepressantPK",
    "Absorption",
    "KetaminePK",
    "MidazolamPK",
    "ROUTE_CODES",
    "age_clearance_factor",
    "closed_form_linear",
    "depot_flux",
    "event_flux",
    "input_flux",
    "linear_system",
]

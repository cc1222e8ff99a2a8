"""Dose tables: "0.5 mg/kg over 40 min, 6 times in 12 days" as a validated, sorted event table."""

from .events import DAILY_DRUGS, DRUGS, MAX_TRIAL_H, ROUTES, THERAPIES, Dose, Regimen, Session, build_regimen
from .guardrails import CEILINGS_MG_PER_KG, check_ceiling

__all__ = [
    "CEILINGS_MG_PER_KG",
    "DAILY_DRUGS",
    "DRUGS",
    "MAX_TRIAL_H",
    "THERAPIES",
    "Dose",
    "ROUTES",
    "Regimen",
    "Session",
    "build_regimen",
    "check_ceiling",
]

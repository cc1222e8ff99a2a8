"""Cocaine use disorder: the alcohol machinery (reward/habit sub-circuit) with its own preset.

Score ``PUD``: percent days of cocaine use (lower is better). No cocaine data is in the calibration
set: every number is an assumption (``cud_gain``, ``cud_expectancy_share``, the preset), stated so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _symptoms

NAME = "cocaine_use_disorder"
POPULATIONS = (NAME,)

PRESET = dict(
    name=NAME,
    description="Adults with cocaine use disorder seeking treatment (assumed population; no data in the calibration set)",
    weight_kg=(80.0, 15.0, 45.0, 150.0),  # assumption
    age_y=(45.0, 9.0, 21.0, 70.0),  # assumption
    female=0.25,  # assumption
    p_on_antidepressant=0.0,
    p_inpatient=0.0,
    failed_antidepressants_min=0,
    sources=(),
    madrs_baseline=(14.0, 7.0),  # assumption
    illness_y=(15.0, 8.0, 1.0, 45.0),  # assumption
    untreated_share=(0.6, 0.2),  # assumption
    baselines=(("baseline_pud_true", 55.0, 20.0, 10.0, 100.0),),  # assumption: use on about half the days
)

EVIDENCE = "No cocaine trial in the calibration set: no calibration; all parameters are assumptions."


def _pud(ro, table, v):
    pud = _symptoms.score(ro, table, "baseline_pud_true", "reward", v["cud_gain"], v["cud_expectancy_share"], v)
    return np.minimum(pud, 100.0)


SCALES: list[dict[str, Any]] = [
    dict(
        name="PUD",
        title="Percent days of cocaine use, 0-100",
        max=100.0,
        remission=0.0,
        remission_source="assumption: complete abstinence (no day of use)",
        true=_pud,
        noise_sd=lambda v: v["use_days_noise_sd"],
        populations=POPULATIONS,
    ),
]

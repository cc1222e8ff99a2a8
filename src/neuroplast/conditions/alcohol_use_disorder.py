"""Alcohol use disorder: drinking through the reward/habit sub-circuit (NAc/VTA under prefrontal control).

Model: the daily probability of drinking follows the reward sub-circuit with gain ``aud_gain`` and a
share ``aud_expectancy_share`` of the expectancy process; heavy drinking days are a fixed share of
drinking days per patient. Scores are *lower-is-better*, as every scale of the trial machinery:
``PDD`` percent drinking days (= 100 - percent days abstinent, PDA) and ``HDD`` percent heavy-drinking
days, each the patient's current rate (the noise of counting 28 diary days is the rater noise).

Calibration: dakwar2020_alcohol (ketamine + motivational enhancement therapy vs midazolam + MET)
reports only directions in what was read (abstinence, time to relapse and heavy drinking days all
better with ketamine; numeric estimates NOT READ). No parameter can be fitted to it: they are
assumptions, and its validate entry is a direction check. The MET course is not simulated
(motivational enhancement is not one of the modelled session kinds): the check compares the infusions alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _symptoms

NAME = "alcohol_use_disorder"
POPULATIONS = (NAME,)

PRESET = dict(
    name=NAME,
    description="Alcohol-dependent adults seeking treatment (dakwar2020_alcohol: 40 adults, mean age 53, about 5 drinks a day)",
    weight_kg=(82.0, 16.0, 45.0, 150.0),  # assumption: US adult outpatients
    age_y=(53.0, 10.0, 21.0, 75.0),  # dakwar2020_alcohol: mean age 53 (SD assumption)
    female=0.3,  # assumption: men predominate in AUD trials (not read)
    p_on_antidepressant=0.0,
    p_inpatient=0.0,  # dakwar2020_alcohol: outpatient
    failed_antidepressants_min=0,
    sources=("dakwar2020_alcohol",),
    madrs_baseline=(14.0, 7.0),  # assumption: mild depressive symptoms are common in AUD
    illness_y=(20.0, 10.0, 2.0, 50.0),  # assumption: long drinking histories at mean age 53
    untreated_share=(0.6, 0.2),  # assumption: most years of AUD go untreated
    baselines=(
        ("baseline_pdd_true", 80.0, 15.0, 20.0, 100.0),  # assumption: ~5 drinks/day means drinking most days
        ("heavy_day_share", 0.7, 0.15, 0.1, 1.0),
    ),  # assumption: share of drinking days that are heavy
)

EVIDENCE = (
    "dakwar2020_alcohol (calibration set): directions only (abstinence, relapse, heavy drinking days better "
    "with ketamine + MET than midazolam + MET); numeric estimates NOT READ."
)


def _pdd(ro, table, v):
    pdd = _symptoms.score(ro, table, "baseline_pdd_true", "reward", v["aud_gain"], v["aud_expectancy_share"], v)
    return np.minimum(pdd, 100.0)


def _hdd(ro, table, v):
    return _pdd(ro, table, v) * _symptoms.baseline(table, "heavy_day_share")


SCALES: list[dict[str, Any]] = [
    dict(
        name="PDD",
        title="Percent drinking days (= 100 - percent days abstinent), 0-100",
        max=100.0,
        remission=0.0,
        remission_source="assumption: complete abstinence (no drinking day)",
        true=_pdd,
        noise_sd=lambda v: v["use_days_noise_sd"],
        populations=POPULATIONS,
    ),
    dict(
        name="HDD",
        title="Percent heavy-drinking days, 0-100",
        max=100.0,
        remission=0.0,
        remission_source="assumption: no heavy drinking day (a common regulatory endpoint; not read)",
        true=_hdd,
        noise_sd=lambda v: v["use_days_noise_sd"],
        populations=POPULATIONS,
    ),
]

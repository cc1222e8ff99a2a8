"""Chronic pain: pain intensity on a 0-10 numerical rating scale (NRS) for ketamine infusions.

Model: an acute analgesic component tracking NMDA receptor block (``occupancy_pyramidal``; up to
``pain_acute_max`` of the pain at full block) times a sustained component following the prefrontal
control deficit (the affective, centrally sensitised part of chronic pain) with gain ``pain_gain``,
and the expectancy process::

    NRS(t) = baseline x (1 - share x expectancy) x (1 - pain_acute_max x block(t)) x max(0, 1 - gain (1 - a(t)))

No pain trial is in the calibration set: every parameter is an assumption. The population follows the
designs pooled by orhurhu2019 (7 RCTs, 211 patients, IV infusions; outside the calibration set, so its
outcome is not used).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _symptoms

NAME = "chronic_pain"
POPULATIONS = (NAME,)

PRESET = dict(
    name=NAME,
    description="Adults with refractory chronic pain (neuropathic, nociplastic or mixed) given IV ketamine (orhurhu2019)",
    weight_kg=(80.0, 17.0, 45.0, 150.0),  # assumption
    age_y=(48.0, 12.0, 18.0, 80.0),  # assumption (not read)
    female=0.6,  # assumption: chronic pain trials enrol more women (not read)
    p_on_antidepressant=0.3,  # assumption: antidepressants are common co-analgesics
    p_inpatient=0.0,
    failed_antidepressants_min=0,
    sources=("orhurhu2019_pain",),
    madrs_baseline=(16.0, 8.0),  # assumption: comorbid depressive symptoms are common in chronic pain
    illness_y=(8.0, 6.0, 0.5, 40.0),  # assumption: years with pain
    untreated_share=(0.2, 0.1),  # assumption
    baselines=(("baseline_nrs_true", 6.5, 1.5, 3.0, 10.0),),  # assumption: moderate-severe pain at entry (not read)
)

EVIDENCE = "No pain trial in the calibration set; the population follows the designs orhurhu2019 pooled."


def _nrs(ro, table, v):
    block = np.asarray(ro["occupancy_pyramidal"], dtype=float) if "occupancy_pyramidal" in ro else 0.0
    acute = 1.0 - v["pain_acute_max"] * np.clip(block, 0.0, 1.0)
    sustained = _symptoms.score(
        ro, table, "baseline_nrs_true", "prefrontal", v["pain_gain"], v["pain_expectancy_share"], v
    )
    return sustained * acute


SCALES: list[dict[str, Any]] = [
    dict(
        name="NRS",
        title="Pain intensity, 0-10 numerical rating scale",
        max=10.0,
        remission=3.0,
        remission_source="assumption: NRS <= 3 as mild pain (not read)",
        true=_nrs,
        noise_sd=lambda v: v["nrs_noise_sd"],
        populations=POPULATIONS,
    ),
]

"""Every number of the condition models (``neuroplast params --scale conditions``).

Plain keyword dicts of :class:`neuroplast.parameters.registry.Parameter` (the registry builds them,
so this module imports nothing of neuroplast). ``source`` is ``fit`` (set by
``python -m neuroplast.calibration.conditions``; the value below is then replaced by the one committed
in ``conditions_fitted.json`` beside this file), ``assumption`` (``note`` says why) or an evidence id.

Symptom model shared by the conditions (:mod:`neuroplast.conditions._symptoms`)::

    score(t) = baseline x (1 - expectancy_share x expectancy(t)) x max(0, 1 - gain x (1 - a(t)))

``a(t)`` is the condition's sub-circuit activity (healthy 0, untreated baseline 1), ``expectancy``
the model's placebo process (a fraction). ``gain`` says how strongly the condition's symptoms follow
the sub-circuit: 1 = in proportion, as depression follows its mood circuit.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

FITTED_PATH = Path(__file__).with_name("conditions_fitted.json")


def _p(name, value, unit, description, source, note="", cv=0.0):
    return {
        "name": name,
        "value": float(value),
        "unit": unit,
        "description": description,
        "source": source,
        "note": note,
        "cv": cv,
    }


_SAME_AS_DEPRESSION = (
    "the symptoms follow the sub-circuit one-to-one, as depression follows the mood circuit; "
    "no calibration data for this condition in the calibration set"
)
_SAME_PLACEBO = (
    "the model's expectancy process (fitted to the depression trials) applies unchanged; no placebo-arm "
    "data for this condition in the calibration set"
)

_TABLE = (
    # --- PTSD: fear sub-circuit (amygdala under vmPFC / hippocampal control) ---------------------------------
    _p(
        "ptsd_gain",
        1.0,
        "1",
        "PTSD symptoms per unit of fear sub-circuit relief",
        "fit",
        note="fitted to feder2014 (IES-R 12.7 lower with ketamine than midazolam at 24 h)",
    ),
    _p(
        "ptsd_expectancy_share",
        1.0,
        "1",
        "share of the expectancy (placebo) relief that reaches PTSD scales",
        "assumption",
        note=_SAME_PLACEBO,
    ),
    _p(
        "caps5_noise_sd",
        4.0,
        "CAPS-5 points",
        "SD of one CAPS-5 rating around the true score",
        "assumption",
        note="clinician interview; about 5% of the 0-80 range, as the MADRS noise is of its range",
    ),
    _p(
        "pcl5_noise_sd",
        6.0,
        "PCL-5 points",
        "SD of one PCL-5 self-report around the true score",
        "assumption",
        note="self-reports vary more than interviews (as QIDS-SR vs MADRS in the crosswalks)",
    ),
    _p(
        "iesr_noise_sd",
        6.6,
        "IES-R points",
        "SD of one IES-R self-report around the true score",
        "assumption",
        note="the PCL-5 noise scaled to the IES-R range (88 vs 80)",
    ),
    _p(
        "pcl5_per_caps5",
        1.0,
        "1",
        "PCL-5 total per CAPS-5 total at the same severity",
        "assumption",
        note="both rate the 20 DSM-5 PTSD symptoms 0-4 (range 0-80): the same item-mean severity is assumed",
    ),
    _p(
        "iesr_per_caps5",
        1.1,
        "1",
        "IES-R total per CAPS-5 total at the same severity",
        "assumption",
        note="IES-R: 22 items 0-4 (0-88) vs CAPS-5 20 items 0-4: equal item-mean severity (88/80); no linking study read",
    ),
    # --- anxiety: fear sub-circuit -----------------------------------------------------------------------------
    _p(
        "anxiety_gain",
        1.0,
        "1",
        "anxiety (HAM-A) per unit of fear sub-circuit relief",
        "assumption",
        note=_SAME_AS_DEPRESSION + " (glue2017/taylor2018 are outside it)",
    ),
    _p(
        "anxiety_expectancy_share",
        1.0,
        "1",
        "share of the expectancy relief that reaches HAM-A",
        "assumption",
        note=_SAME_PLACEBO,
    ),
    _p(
        "hama_noise_sd",
        3.0,
        "HAM-A points",
        "SD of one HAM-A rating around the true score",
        "assumption",
        note="about 5% of the 0-56 range, as for the MADRS",
    ),
    # --- OCD: compulsion loop (OFC-striatum-thalamus) -------------------------------------------------------
    _p(
        "ocd_gain",
        1.0,
        "1",
        "Y-BOCS per unit of compulsion-loop relief",
        "fit",
        note="joint binomial fit to rodriguez2013_ocd (4/8 vs 0/7 responders at 1 week) and bloch2012_ocd (0/10, days 1-3)",
    ),
    _p(
        "ocd_expectancy_share",
        0.5,
        "1",
        "share of the expectancy relief that reaches Y-BOCS",
        "fit",
        note="fitted with ocd_gain (rodriguez2013_ocd saline arm: 0/7 responders)",
    ),
    _p(
        "ybocs_noise_sd",
        2.5,
        "Y-BOCS points",
        "SD of one Y-BOCS rating around the true score",
        "assumption",
        note="about 6% of the 0-40 range; clinician interview",
    ),
    # --- addiction: reward/habit sub-circuit (NAc/VTA under prefrontal control) ------------------------------
    _p(
        "aud_gain",
        1.0,
        "1",
        "drinking days per unit of reward/habit sub-circuit relief",
        "assumption",
        note="dakwar2020_alcohol reports directions only (numbers NOT READ): no fit is possible; one-to-one as depression",
    ),
    _p(
        "aud_expectancy_share",
        0.5,
        "1",
        "share of the expectancy relief that reaches drinking",
        "assumption",
        note="behaviour counted from diaries and urine EtG is assumed half as placebo-sensitive as a rating",
    ),
    _p(
        "cud_gain",
        1.0,
        "1",
        "cocaine use days per unit of reward/habit sub-circuit relief",
        "assumption",
        note="no cocaine data in the calibration set; the same machinery and value as alcohol",
    ),
    _p(
        "cud_expectancy_share",
        0.5,
        "1",
        "share of the expectancy relief that reaches cocaine use",
        "assumption",
        note="as for alcohol",
    ),
    _p(
        "use_days_noise_sd",
        9.4,
        "percentage points",
        "SD of a percent-of-days count around the true rate",
        "assumption",
        note="binomial SD of a 28-day timeline follow-back window at a 50% rate: 100 sqrt(0.25/28)",
    ),
    # --- bipolar depression: switch-to-mania read-out (YMRS) --------------------------------------------------
    _p(
        "ymrs_noise_sd",
        2.0,
        "YMRS points",
        "SD of one YMRS rating around the true score",
        "assumption",
        note="about 3% of the 0-60 range: low scores are rated with little spread",
    ),
    _p(
        "ymrs_per_cadss",
        0.15,
        "YMRS points per CADSS point",
        "acute activation (YMRS items) with dissociation",
        "assumption",
        note="ketamine's acute psychotomimetic effect resolves with the drug, as its dissociation does; "
        "sized so a typical infusion adds about 1 point",
    ),
    _p(
        "ymrs_switch_gain",
        8.0,
        "YMRS points",
        "YMRS rise per unit of mood relief without a mood stabiliser",
        "assumption",
        note="switch risk grows with fast antidepressant relief (antidepressant-induced switching); "
        "no switching rate is in the calibration set",
    ),
    _p(
        "mood_stabiliser_protection",
        0.8,
        "1",
        "share of the switch term removed by lithium/valproate",
        "assumption",
        note="lithium and valproate are the standard protection against switching; its size is not in the "
        "calibration set",
    ),
    # --- chronic pain: NRS 0-10 --------------------------------------------------------------------------------
    _p(
        "pain_acute_max",
        0.5,
        "1",
        "largest acute analgesia (share of NRS) at full NMDA receptor block",
        "assumption",
        note="analgesia tracks block during and shortly after the infusion",
    ),
    _p(
        "pain_gain",
        1.0,
        "1",
        "pain (NRS) per unit of prefrontal control relief (sustained analgesia)",
        "assumption",
        note="the affective part of chronic pain follows the same prefrontal deficit as depression",
    ),
    _p(
        "pain_expectancy_share",
        1.0,
        "1",
        "share of the expectancy relief that reaches pain ratings",
        "assumption",
        note=_SAME_PLACEBO,
    ),
    _p(
        "nrs_noise_sd",
        1.0,
        "NRS points",
        "SD of one 0-10 pain rating around the true score",
        "assumption",
        note="a patient's repeated NRS ratings vary by about 1 point",
    ),
)


@functools.cache
def fitted_values() -> dict[str, float]:
    """The values committed by the condition calibration (empty before the first fit)."""
    if not FITTED_PATH.exists():
        return {}
    return dict(json.loads(FITTED_PATH.read_text())["values"])


def _resolved():
    fitted = fitted_values()
    return tuple({**p, "value": float(fitted.get(p["name"], p["value"]))} for p in _TABLE)


CONDITION_PARAMETERS = _resolved()
"""Parameter keyword dicts, fitted values applied (``parameters/table.py`` builds them)."""

FREE = ("ptsd_gain", "ocd_gain", "ocd_expectancy_share")
"""The parameters the condition calibration fits."""

__all__ = ["CONDITION_PARAMETERS", "FITTED_PATH", "FREE", "fitted_values"]

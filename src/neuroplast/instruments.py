"""Rating scales: range, remission cut-off, rater noise, and the true score from a simulation.

Every primary scale a trial may name (``trial.scale``) is one :class:`Instrument`. The depression scales
read the model's true MADRS (``madrs_true``) through published links: HAM-D17 by the registry's
linking slope (``leucht2018_madrs_hamd``), HAM-D6 by the ratio of maxima (Bobo 2016), QIDS-SR16 and
PHQ-9 by the crosswalks of :mod:`neuroplast.scales.symptoms.crosswalk` (Rush 2003 table; PHQ-9 by
aligned severity bands). Scales of other conditions register here too: a scale names the
populations it fits (``populations``; empty = the depression presets).

``true(readouts, table, values)`` returns the noise-free score, shape (patients, times);
``noise_sd(values)`` the SD of one rating. Observed scores add that noise, round and clip to the range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .conditions import CONDITION_SCALES
from .scales.symptoms import crosswalk

DEPRESSION_POPULATIONS = ("trd", "mdd", "mdd_suicidal_ideation", "trd_older", "bipolar_depression")


@dataclasses.dataclass(frozen=True)
class Instrument:
    name: str
    title: str
    max: float
    remission: float  # default remission cut-off (score <= this)
    remission_source: str
    true: Callable  # (readouts, table, values) -> (n, T)
    noise_sd: Callable  # values -> SD of one rating
    populations: tuple[str, ...] = DEPRESSION_POPULATIONS
    screen_column: str | None = None  # cohort column used for inclusion on this scale (None: derived here)

    def observe(self, readouts, table, values, z) -> np.ndarray:
        """Observed scores: the true score plus ``z`` (standard-normal draws, shape (patients, times)) times one
        rating's SD, rounded, within the scale. The caller owns the draws, so each patient keeps its own."""
        true = np.asarray(self.true(readouts, table, values))
        return np.clip(np.round(true + self.noise_sd(values) * z), 0.0, self.max)

    def screen(self, table, values, rng) -> np.ndarray:
        """Screening scores (true baseline + one rating's noise) for inclusion on this scale."""
        if self.screen_column is not None and self.screen_column in table:
            return table[self.screen_column].to_numpy()
        base = {"madrs_true": table["baseline_madrs_true"].to_numpy()[:, None]}
        true = np.asarray(self.true(base, table, values))[:, 0]
        return np.clip(true + rng.normal(0.0, self.noise_sd(values), true.shape), 0.0, self.max)


def _madrs(ro, table, values):
    return ro["madrs_true"]


def _hamd17(ro, table, values):
    return ro["madrs_true"] * values["hamd17_per_madrs"]


def _hamd6(ro, table, values):
    return ro["madrs_true"] * values["hamd17_per_madrs"] * values["hamd6_per_hamd17"]


def _crosswalk(instrument):
    return lambda ro, table, values: crosswalk.from_madrs(np.asarray(ro["madrs_true"]), instrument)


INSTRUMENTS: dict[str, Instrument] = {
    "MADRS": Instrument(
        "MADRS",
        "Montgomery-Asberg Depression Rating Scale",
        60.0,
        10.0,
        "conventional (MADRS <= 10)",
        _madrs,
        lambda v: v["madrs_noise_sd"],
        screen_column="screen_madrs",
    ),
    "HAMD17": Instrument(
        "HAMD17",
        "Hamilton Depression Rating Scale, 17 items",
        52.0,
        7.0,
        "conventional (HAM-D17 <= 7)",
        _hamd17,
        lambda v: v["hamd17_noise_sd"],
        screen_column="screen_hamd17",
    ),
    "HAMD6": Instrument(
        "HAMD6",
        "Hamilton Depression Rating Scale, 6-item melancholia subscale (Bech)",
        22.0,
        4.0,
        "assumption: the commonly cited cut-off, not verified in a source read (hamd6_scale_properties_and_linking)",
        _hamd6,
        lambda v: v["hamd6_noise_sd"],
        screen_column="screen_hamd6",
    ),
    "QIDS_SR16": Instrument(
        "QIDS_SR16",
        "Quick Inventory of Depressive Symptomatology, self-report, 16 items",
        27.0,
        5.0,
        "trivedi2006_stard_level1 (remission <= 5)",
        _crosswalk("QIDS_SR16"),
        lambda v: crosswalk.NOISE_SD["QIDS_SR16"],
    ),
    "PHQ9": Instrument(
        "PHQ9",
        "Patient Health Questionnaire, 9 items",
        27.0,
        4.0,
        "kroenke2001_phq9 (minimal symptoms 0-4)",
        _crosswalk("PHQ9"),
        lambda v: crosswalk.NOISE_SD["PHQ9"],
    ),
}
"""The scales a trial can use as its primary scale."""


def register(scale: Instrument) -> Instrument:
    """Add a scale (conditions register theirs on import)."""
    INSTRUMENTS[scale.name] = scale
    return scale


def _register_conditions() -> None:
    """The scales of the conditions beyond depression (data in ``neuroplast.conditions``)."""

    for kw in CONDITION_SCALES:
        register(Instrument(**kw))


_register_conditions()

__all__ = ["DEPRESSION_POPULATIONS", "INSTRUMENTS", "Instrument", "register"]

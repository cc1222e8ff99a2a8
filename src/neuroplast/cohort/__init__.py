"""Virtual patients: presets, covariates, between-patient variability, inclusion criteria.

A :class:`Cohort` is a table (pandas DataFrame, one row a patient) of covariates and the
patient's realised random effects (multiplicative factors, median 1). :meth:`neuroplast.model.Model.build`
turns the population model and a cohort into one batched model.

Every random number of a patient comes from a stream keyed by the seed, the arm's name and the patient's
candidate block (:func:`sample_cohort`, :func:`rating_noise`), so a trial arm's patients depend neither on
the other arms nor on how many patients are drawn.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import math

import numpy as np
import pandas as pd

from .._errors import NeuroplastInputError
from ..instruments import INSTRUMENTS
from .presets import PRESETS, Preset

RANDOM_EFFECTS = (
    "cl_ket",
    "v1_ket",
    "cl_nk",
    "cl_esc",
    "cl_ser",
    "cl_mdz",
    "cadss_per_100ng",
    "sbp_per_100ng",
    "stress_load",
    "expectancy_base",
)
"""Parameters with between-patient variability (log-normal; CV from the registry, except
``expectancy_base`` whose CV ``expectancy_cv`` is a calibrated value)."""

LATER_RANDOM_EFFECTS = ("cl_dlx", "cl_vlx")
"""Random effects added after the first cohorts were fixed: drawn from a stream of their own, so every draw of
:data:`RANDOM_EFFECTS` stays as it was."""

BLOCK = 1024
"""Candidates per block. A constant, never derived from the cohort size: which random numbers a patient
gets depends on the block it falls in, so a cohort of n patients is the first n of any larger one."""

NO_ARM = 0
"""The arm key of a cohort drawn outside a trial arm (``arm=None``: the conditions' calibration, NONMEM
export, benchmarks, the Python examples). An arm name's key is a 64-bit hash, so it is never this."""

FEWEST_ADMITTED = 1e-3
FEWEST_SCREENED = 16 * BLOCK
"""Screening gives up once this many candidates have been screened and fewer than
:data:`FEWEST_ADMITTED` of them met the inclusion criteria (criteria that admit almost no one)."""


class Stream(enum.IntEnum):
    """An arm's random streams (:func:`stream_rng`): one per group of draws, so adding a draw to one leaves
    the others as they were. The numbers are part of the streams' seeds: they never change."""

    COVARIATES = 0  # demographics, true baselines, vital signs, RANDOM_EFFECTS, screening visits
    SCREENING = 7  # a screening rating on a scale without a screening column
    HISTORY = 11  # years ill, the untreated part
    LEARNING = 12  # learning aptitude
    CONDITIONS = 13  # condition severities, mood-stabiliser use
    LATER_EFFECTS = 14  # LATER_RANDOM_EFFECTS
    RATINGS = 15  # rater noise of the observed scores (a stream per saved time: rating_noise)
    DROPOUT = 16  # whether and when a patient leaves the trial (dropout_draws)
    BP_READINGS = 17  # within-session variability of cuff readings (a stream per monitored session: trials.bp_readings)


def arm_key(arm: str | None) -> int:
    """A stable key of an arm's name: the first 8 bytes of its UTF-8 SHA-256 (Python's ``hash`` of a
    string changes from one process to the next); :data:`NO_ARM` for ``None``."""
    if arm is None:
        return NO_ARM
    return int.from_bytes(hashlib.sha256(arm.encode()).digest()[:8], "big")


def stream_rng(seed: int, key: int, stream: Stream, index: int) -> np.random.Generator:
    """The generator ``[seed, key, stream, index]`` of an arm (``key``: :func:`arm_key`): ``index`` is the
    candidate block for the cohort's streams, the saved time in ms for :attr:`Stream.RATINGS`."""
    return np.random.default_rng([seed, key, int(stream), index])


@dataclasses.dataclass(frozen=True)
class Inclusion:
    """Who a trial enrols on top of its preset."""

    min_baseline: float | None = None  # on the primary scale, at screening
    medication_free: bool | None = None
    on_stable_antidepressant: bool | None = None
    inpatient: bool | None = None


@dataclasses.dataclass(frozen=True)
class Cohort:
    population: str
    table: pd.DataFrame

    def __len__(self):
        return len(self.table)

    def take(self, idx) -> Cohort:
        return Cohort(self.population, self.table.iloc[idx].reset_index(drop=True))

    def told(self, open_label: bool) -> Cohort:
        """The same patients, told that they receive an active treatment (an open-label arm: column
        ``open_label`` = 1, read by the expectancy process) or not (blinded: unchanged)."""
        return Cohort(self.population, self.table.assign(open_label=1.0)) if open_label else self


def _lognormal(rng, cv, size):
    """Multiplicative factor with median 1 and coefficient of variation cv."""
    if cv <= 0:
        return np.ones(size)
    sigma = math.sqrt(math.log1p(cv * cv))
    return np.exp(rng.normal(0.0, sigma, size))


def _truncnormal(rng, mean, sd, lo, hi, size):
    x = rng.normal(mean, sd, size)
    return np.clip(x, lo, hi)


def sample_cohort(
    values: dict,
    cvs: dict,
    population: str,
    n: int,
    *,
    seed: int,
    arm: str | None = None,
    start: int = 0,
    inclusion: Inclusion = Inclusion(),
    scale: str = "MADRS",
) -> Cohort:
    """Patients ``start`` to ``start + n - 1`` of arm ``arm`` of a preset who meet ``inclusion``.

    Candidates are drawn in blocks of :data:`BLOCK` from streams keyed by ``seed``, the arm's name
    (:func:`arm_key`) and the block, and screened in candidate order; the accepted ones are numbered
    0, 1, 2, ... (column ``patient``). So a patient's draws depend on neither ``n`` nor any other arm:
    ``n`` patients are the first ``n`` of any larger cohort, and a chunk (``start``) is the same rows of
    the whole cohort.

    Screening applies the inclusion criteria to a scored screening visit (true baseline plus rater
    noise), so regression to the mean after enrolment arises as in real trials.
    """
    if population not in PRESETS:
        raise NeuroplastInputError(
            f"unknown population; known: {', '.join(sorted(PRESETS))}", field="trial.population", value=population
        )
    preset: Preset = PRESETS[population]
    key = arm_key(arm)
    blocks: list[pd.DataFrame] = []
    have = 0
    while have < start + n:
        drawn = len(blocks) * BLOCK
        if drawn >= FEWEST_SCREENED and have < FEWEST_ADMITTED * drawn:
            raise NeuroplastInputError(
                f"inclusion criteria admit too few patients of preset '{population}' "
                f"({have} of {drawn} candidates screened, fewer than {FEWEST_ADMITTED:.1%}; {start + n} needed)",
                field="trial.inclusion",
                value=dataclasses.asdict(inclusion),
            )
        t = _block(values, cvs, preset, seed, key, len(blocks))
        t = t[_admitted(t, values, inclusion, scale, stream_rng(seed, key, Stream.SCREENING, len(blocks)))]
        blocks.append(t)
        have += len(t)
    table = pd.concat(blocks, ignore_index=True).iloc[start : start + n].reset_index(drop=True)
    table.insert(0, "patient", np.arange(start, start + n))
    return Cohort(population, table)


def _block(values, cvs, preset: Preset, seed: int, key: int, b: int) -> pd.DataFrame:
    """Candidate block ``b``: every column of :data:`BLOCK` candidates, each group of columns from its own
    stream, so adding a covariate to one stream leaves every other draw as it was."""
    t = _draw(stream_rng(seed, key, Stream.COVARIATES, b), values, cvs, preset, BLOCK)
    t.update(_draw_condition(preset, stream_rng(seed, key, Stream.CONDITIONS, b), BLOCK))
    later = stream_rng(seed, key, Stream.LATER_EFFECTS, b)
    for name in LATER_RANDOM_EFFECTS:
        t[f"eta_{name}"] = _lognormal(later, cvs[name], BLOCK)
    hist = stream_rng(seed, key, Stream.HISTORY, b)  # years ill, and the untreated part of them
    t["illness_y"] = _truncnormal(hist, *preset.illness_y, BLOCK)
    t["untreated_y"] = t["illness_y"] * np.clip(hist.normal(*preset.untreated_share, BLOCK), 0.0, 1.0)
    # how fast this patient learns from therapy and experience (median 1)
    t["learning_aptitude"] = _lognormal(stream_rng(seed, key, Stream.LEARNING, b), values["learning_cv"], BLOCK)
    return pd.DataFrame(t)  # one frame per block: adding columns one by one costs more than drawing them


def _admitted(t: pd.DataFrame, values: dict, inclusion: Inclusion, scale: str, screen_rng) -> np.ndarray:
    """Which candidates of a block meet ``inclusion`` (boolean, one per row)."""
    keep = np.ones(len(t), bool)
    if inclusion.min_baseline is not None:
        keep &= INSTRUMENTS[scale].screen(t, values, screen_rng) >= inclusion.min_baseline
    if inclusion.medication_free:
        keep &= ~t["on_antidepressant"].to_numpy()
    if inclusion.on_stable_antidepressant:
        keep &= t["on_antidepressant"].to_numpy()
    if inclusion.inpatient is not None:
        keep &= t["inpatient"].to_numpy() == inclusion.inpatient
    return keep


def rating_noise(seed: int, arm: str | None, n: int, times_h) -> np.ndarray:
    """Standard-normal rater noise of patients 0 to n - 1 of an arm at ``times_h`` (h), shape (n, times).

    Each saved time has its own stream, keyed by the time itself (to the millisecond), whose draws go to the
    patients in order: a patient's noise at a time depends neither on ``n`` (the first ``n`` rows are the
    same for any larger ``n``) nor on which other times are saved (the arms of a trial share their save
    times, so another arm's doses add some).
    """
    key = arm_key(arm)
    ms = np.round(np.asarray(times_h, float) * 3_600_000.0).astype(np.int64)
    z = np.empty((n, ms.size))
    for j, t in enumerate(ms):
        z[:, j] = stream_rng(seed, key, Stream.RATINGS, int(t)).standard_normal(n)
    return z


DROPOUT_DRAWS = 3
"""Uniform draws per patient for dropout (``trials.dropout``): leaving after the first dose, the time of leaving
later (through an exponential), the reason. Fixed, whatever the trial's design, so a patient's draws never move."""


def dropout_draws(seed: int, arm: str | None, n: int) -> np.ndarray:
    """Uniform(0, 1) draws of patients 0 to n - 1 of an arm, shape (n, :data:`DROPOUT_DRAWS`).

    Patient ``i`` reads row ``i % BLOCK`` of the block ``i // BLOCK`` stream ``[seed, key, DROPOUT, block]``:
    a patient's draws depend neither on ``n`` nor on any other draw of the arm.
    """
    key = arm_key(arm)
    blocks = [stream_rng(seed, key, Stream.DROPOUT, b).random((BLOCK, DROPOUT_DRAWS)) for b in range(-(-n // BLOCK))]
    return np.concatenate(blocks)[:n] if blocks else np.empty((0, DROPOUT_DRAWS))


def _draw_condition(preset: Preset, rng, m: int) -> dict[str, np.ndarray]:
    """Condition columns (``neuroplast.conditions``): true baseline severities and mood-stabiliser use,
    from their own stream; none for presets without them (trd, mdd)."""
    if not preset.baselines and not preset.p_mood_stabiliser:
        return {}
    t = {column: _truncnormal(rng, mean, sd, lo, hi, m) for column, mean, sd, lo, hi in preset.baselines}
    t["on_mood_stabiliser"] = rng.random(m) < preset.p_mood_stabiliser
    return t


def _draw(rng, values, cvs, preset: Preset, m: int) -> dict[str, np.ndarray]:
    """The covariates, :data:`RANDOM_EFFECTS` and screening ratings of ``m`` candidates (one stream)."""
    baseline_madrs = preset.madrs_baseline or (values["madrs_baseline"], values["madrs_baseline_sd"])
    female = rng.random(m) < preset.female
    met = rng.random(m) < values["met_carrier_freq"]
    t = {
        "weight_kg": _truncnormal(rng, *preset.weight_kg, m),
        "age_y": _truncnormal(rng, *preset.age_y, m),
        "female": female,
        "bdnf_met_carrier": met,
        "on_antidepressant": rng.random(m) < preset.p_on_antidepressant,
        "inpatient": rng.random(m) < preset.p_inpatient,
        # assumption: about one failed trial beyond the inclusion minimum on average (recorded, no model effect yet)
        "failed_antidepressants": preset.failed_antidepressants_min + rng.poisson(1.0, m),
        "baseline_madrs_true": _truncnormal(rng, baseline_madrs[0], baseline_madrs[1], 0.0, 60.0, m),
        # clipped to a plausible resting range (assumption) so no tail draw is unphysiological
        "sbp_baseline": _truncnormal(rng, values["sbp_baseline"], values["sbp_baseline_sd"], 90.0, 200.0, m),
        "dbp_baseline": _truncnormal(rng, values["dbp_baseline"], values["dbp_baseline_sd"], 50.0, 120.0, m),
        "hr_baseline": _truncnormal(rng, values["hr_baseline"], values["hr_baseline_sd"], 45.0, 120.0, m),
        "responsiveness": _lognormal(rng, values["responsiveness_cv"], m)
        * np.where(met, values["met_plasticity_factor"], 1.0),
    }
    for name in RANDOM_EFFECTS:
        cv = values["expectancy_cv"] if name == "expectancy_base" else cvs[name]
        t[f"eta_{name}"] = _lognormal(rng, cv, m)
    true = t["baseline_madrs_true"]
    t["screen_madrs"] = np.clip(true + rng.normal(0, values["madrs_noise_sd"], m), 0, 60)
    t["screen_hamd17"] = np.clip(true * values["hamd17_per_madrs"] + rng.normal(0, values["hamd17_noise_sd"], m), 0, 52)
    t["screen_hamd6"] = np.clip(
        true * values["hamd17_per_madrs"] * values["hamd6_per_hamd17"] + rng.normal(0, values["hamd6_noise_sd"], m),
        0,
        22,
    )
    return t


def typical_patient(
    values: dict,
    *,
    weight_kg: float = 70.0,
    female: bool = False,
    age_y: float = 45.0,
    baseline_madrs: float | None = None,
    population: str = "trd",
) -> Cohort:
    """A one-row cohort with every random effect at its median (the typical patient)."""
    row = {
        "patient": 0,
        "weight_kg": weight_kg,
        "age_y": age_y,
        "female": female,
        "bdnf_met_carrier": False,
        "on_antidepressant": False,
        "inpatient": False,
        "failed_antidepressants": 2,
        "baseline_madrs_true": values["madrs_baseline"] if baseline_madrs is None else baseline_madrs,
        "sbp_baseline": values["sbp_baseline"],
        "dbp_baseline": values["dbp_baseline"],
        "hr_baseline": values["hr_baseline"],
        "responsiveness": 1.0,
    }
    preset = PRESETS[population]
    if baseline_madrs is None and preset.madrs_baseline is not None:
        row["baseline_madrs_true"] = preset.madrs_baseline[0]
    row["illness_y"] = preset.illness_y[0]
    row["untreated_y"] = preset.illness_y[0] * preset.untreated_share[0]
    row["learning_aptitude"] = 1.0
    row.update({c[0]: c[1] for c in preset.baselines})  # condition severities at their means
    if preset.baselines or preset.p_mood_stabiliser:
        row["on_mood_stabiliser"] = preset.p_mood_stabiliser >= 0.5
    row.update({f"eta_{n}": 1.0 for n in (*RANDOM_EFFECTS, *LATER_RANDOM_EFFECTS)})
    row["screen_madrs"] = row["baseline_madrs_true"]
    row["screen_hamd17"] = row["baseline_madrs_true"] * values["hamd17_per_madrs"]
    row["screen_hamd6"] = row["screen_hamd17"] * values["hamd6_per_hamd17"]
    return Cohort(population, pd.DataFrame([row]))


__all__ = [
    "BLOCK",
    "DROPOUT_DRAWS",
    "NO_ARM",
    "Cohort",
    "Inclusion",
    "PRESETS",
    "Stream",
    "arm_key",
    "dropout_draws",
    "rating_noise",
    "sample_cohort",
    "stream_rng",
    "typical_patient",
]

"""Virtual patients: presets, covariates, between-patient variability, inclusion criteria.

A :class:`Cohort` is a table (pandas DataFrame, one row a patient) of covariates and the
patient's realised random effects (multiplicative factors, median 1). :meth:`neuroplast.model.Model.build`
turns the population model and a cohort into one batched model.
"""

from __future__ import annotations

import dataclasses
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
:data:`RANDOM_EFFECTS` (and every cohort drawn before) stays as it was."""


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
    inclusion: Inclusion = Inclusion(),
    scale: str = "MADRS",
    max_draws: int = 50,
) -> Cohort:
    """Draw ``n`` virtual patients of a preset who meet ``inclusion`` (deterministic in ``seed``).

    Screening applies the inclusion criteria to a scored screening visit (true baseline plus
    rater noise), so regression to the mean after enrolment arises as in real trials.
    """
    if population not in PRESETS:
        raise NeuroplastInputError(
            f"unknown population; known: {', '.join(sorted(PRESETS))}", field="trial.population", value=population
        )
    preset: Preset = PRESETS[population]
    rng = np.random.default_rng(seed)
    chunks: list[pd.DataFrame] = []
    have = 0
    for _ in range(max_draws):
        m = max(2 * (n - have), 64)
        t = _draw(rng, values, cvs, preset, m)
        t = _draw_condition(t, preset, np.random.default_rng([seed, 13, len(chunks)]))  # own stream (conditions)
        later = np.random.default_rng([seed, 14, len(chunks)])  # own stream (LATER_RANDOM_EFFECTS)
        for name in LATER_RANDOM_EFFECTS:
            t[f"eta_{name}"] = _lognormal(later, cvs[name], m)
        keep = np.ones(m, bool)
        if inclusion.min_baseline is not None:
            screen_rng = np.random.default_rng([seed, 7, len(chunks)])  # its own stream: other draws stay as they were
            keep &= INSTRUMENTS[scale].screen(t, values, screen_rng) >= inclusion.min_baseline
        if inclusion.medication_free:
            keep &= ~t["on_antidepressant"].to_numpy()
        if inclusion.on_stable_antidepressant:
            keep &= t["on_antidepressant"].to_numpy()
        if inclusion.inpatient is not None:
            keep &= t["inpatient"].to_numpy() == inclusion.inpatient
        chunks.append(t[keep])
        have += int(keep.sum())
        if have >= n:
            break
    else:
        raise NeuroplastInputError(
            f"inclusion criteria admit too few patients of preset '{population}' "
            f"({have} of {n} after {max_draws} screening rounds)",
            field="trial.inclusion",
            value=dataclasses.asdict(inclusion),
        )
    table = pd.concat(chunks, ignore_index=True).iloc[:n].reset_index(drop=True)
    table.insert(0, "patient", np.arange(n))
    # Illness history (years ill, the untreated part): its own random stream, so the draws above stay as they were.
    hist = np.random.default_rng([seed, 11])
    table["illness_y"] = _truncnormal(hist, *preset.illness_y, n)
    table["untreated_y"] = table["illness_y"] * np.clip(hist.normal(*preset.untreated_share, n), 0.0, 1.0)
    # how fast this patient learns from therapy and experience (median 1): its own stream too
    table["learning_aptitude"] = _lognormal(np.random.default_rng([seed, 12]), values["learning_cv"], n)
    return Cohort(population, table)


def _draw_condition(t: pd.DataFrame, preset: Preset, rng) -> pd.DataFrame:
    """Condition columns (``neuroplast.conditions``): true baseline severities and mood-stabiliser use,
    from their own stream, so presets without them (trd, mdd) draw exactly as before."""
    if not preset.baselines and not preset.p_mood_stabiliser:
        return t
    m = len(t)
    for column, mean, sd, lo, hi in preset.baselines:
        t[column] = _truncnormal(rng, mean, sd, lo, hi, m)
    t["on_mood_stabiliser"] = rng.random(m) < preset.p_mood_stabiliser
    return t


def _draw(rng, values, cvs, preset: Preset, m: int) -> pd.DataFrame:
    baseline_madrs = preset.madrs_baseline or (values["madrs_baseline"], values["madrs_baseline_sd"])
    female = rng.random(m) < preset.female
    met = rng.random(m) < values["met_carrier_freq"]
    t = pd.DataFrame(
        {
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
    )
    for name in RANDOM_EFFECTS:
        cv = values["expectancy_cv"] if name == "expectancy_base" else cvs[name]
        t[f"eta_{name}"] = _lognormal(rng, cv, m)
    t["screen_madrs"] = np.clip(t["baseline_madrs_true"] + rng.normal(0, values["madrs_noise_sd"], m), 0, 60)
    t["screen_hamd17"] = np.clip(
        t["baseline_madrs_true"] * values["hamd17_per_madrs"] + rng.normal(0, values["hamd17_noise_sd"], m), 0, 52
    )
    t["screen_hamd6"] = np.clip(
        t["baseline_madrs_true"] * values["hamd17_per_madrs"] * values["hamd6_per_hamd17"]
        + rng.normal(0, values["hamd6_noise_sd"], m),
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


__all__ = ["Cohort", "Inclusion", "PRESETS", "sample_cohort", "typical_patient"]

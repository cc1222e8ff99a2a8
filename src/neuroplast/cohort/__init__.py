"""Virtual patients: presets, covariates, between-patient variability, inclusion criteria.

A :class:`Cohort` is a table (pandas DataFrame, one row a patient) of covariates and the
patient's realised random effects (multiplicative factors, median 1). :func:`individualize`
turns the population model's typical values and a cohort into one batched :class:`Model`.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import numpy as np
import pandas as pd

from .._errors import NeuroplastInputError
from .._units import NG_PER_UMOL
from ..model import DRUG_CODES, Model
from ..regimen.events import THERAPIES
from ..scales.neurogenesis import Neurogenesis
from ..scales.pk import ROUTE_CODES, SSRIPK, Absorption, KetaminePK, MidazolamPK
from ..scales.plasticity import Spines
from ..scales.receptors import HNKAction, NMDABlock, SERTOccupancy
from ..scales.safety import Safety
from ..scales.signalling import Cascade, Trophic
from ..scales.symptoms import KINDS, Learning, Mood
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
    chunks, have = [], 0
    for _ in range(max_draws):
        m = max(2 * (n - have), 64)
        t = _draw(rng, values, cvs, preset, m)
        t = _draw_condition(t, preset, np.random.default_rng([seed, 13, len(chunks)]))  # own stream (conditions)
        keep = np.ones(m, bool)
        if inclusion.min_baseline is not None:
            from ..trials.scales import SCALES

            screen_rng = np.random.default_rng([seed, 7, len(chunks)])  # its own stream: other draws stay as they were
            keep &= SCALES[scale].screen(t, values, screen_rng) >= inclusion.min_baseline
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
            "baseline_madrs_true": _truncnormal(
                rng, *(preset.madrs_baseline or (values["madrs_baseline"], values["madrs_baseline_sd"])), 0.0, 60.0, m
            ),
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


def _on_host(x):
    """A numpy leaf in JAX's dtype for it (float32 unless float64 is enabled), as ``jax.device_put`` would make it."""
    x = np.asarray(x)
    return x.astype(jax.dtypes.canonicalize_dtype(x.dtype), copy=False)


def individualize(values: dict, cohort: Cohort, *, host: bool = False) -> Model:
    """The batched :class:`Model` of a cohort: leaves have shape (n_patients,).

    Allometric scaling: clearances x (W/70)^0.75, volumes x W/70 (standard in population PK);
    women clear ketamine 20% faster (A46). ``host``: numpy leaves, for a caller that hands them to compiled
    kernels (which take numpy arrays as they are) or slices them on the host: the engines' batches. Putting the
    ~90 leaves on the device one by one costs ~5 ms of Python, and the batches took them back to the host.
    """
    put = _on_host if host else jax.device_put

    t = cohort.table
    v = values
    w = t["weight_kg"].to_numpy() / 70.0
    cl_scale, v_scale = w**0.75, w

    def arr(x):
        # device_put, not jnp.asarray: no eager conversion program to compile per shape (~5 ms each, cold)
        return put(np.broadcast_to(np.asarray(x, dtype=float), (len(t),)).copy())

    def eta(name):
        return t[f"eta_{name}"].to_numpy()

    sex_cl = np.where(t["female"].to_numpy(), v["female_cl_factor"], 1.0)
    ln2 = math.log(2.0)
    cl_ket = v["cl_ket"] * eta("cl_ket") * cl_scale * sex_cl
    ratio = v["s_to_r_clearance"]
    cl_s = 2.0 * cl_ket * ratio / (1.0 + ratio)  # the enantiomers' clearances average to the racemate's
    v_eta = eta("v1_ket") * v_scale  # one log-normal effect on every ketamine volume
    ketamine = KetaminePK(
        cl_s=arr(cl_s),
        cl_r=arr(2.0 * cl_ket - cl_s),
        v1=arr(v["v1_ket"] * v_eta),
        q2=arr(v["q2_ket"] * cl_scale),
        v2=arr(v["v2_ket"] * v_eta),
        q3=arr(v["q3_ket"] * cl_scale),
        v3=arr(v["v3_ket"] * v_eta),
        f_nk=arr(v["f_norket"]),
        cl_nk=arr(v["cl_nk"] * eta("cl_nk") * cl_scale * sex_cl),
        v1_nk=arr(v["v1_nk"] * v_scale),
        q_nk=arr(v["q_nk"] * cl_scale),
        v2_nk=arr(v["v2_nk"] * v_scale),
        f_hnk=arr(v["f_hnk"]),
        cl_hnk=arr(v["cl_hnk"] * cl_scale),
        v_hnk=arr(v["v_hnk"] * v_scale),
        ke0=arr(ln2 / (v["t_half_ke0"] / 60.0)),
    )
    rc = ROUTE_CODES

    def by_route(**kw):
        out = np.zeros((len(t), len(rc)))
        for name, val in kw.items():
            out[:, rc[name]] = val
        return put(out)

    def by_drug(**kw):
        out = np.zeros((len(t), len(DRUG_CODES)))
        for name, val in kw.items():
            out[:, DRUG_CODES[name]] = val
        return put(out)

    swallowed = v["fp_nk_swallowed"]
    absorption = Absorption(
        ka=by_route(
            iv=0.0, im=v["ka_im"], intranasal=v["ka_intranasal"], oral=v["ka_oral"], sublingual=v["ka_sublingual"]
        ),
        f_racemic=by_route(
            iv=1.0, im=v["f_im"], intranasal=v["f_intranasal_rac"], oral=v["f_oral_rac"], sublingual=v["f_sublingual"]
        ),
        f_esketamine=by_route(
            iv=1.0, im=v["f_im"], intranasal=v["f_intranasal_esk"], oral=v["f_oral_esk"], sublingual=v["f_sublingual"]
        ),
        # first-pass norketamine from the swallowed part: all of an oral dose, the non-absorbed
        # part of a sublingual or nasal dose (assumption: what is not absorbed there is swallowed)
        f_nk=by_route(
            iv=0.0,
            im=0.0,
            intranasal=swallowed * (1 - v["f_intranasal_esk"]),
            oral=swallowed * (1 - v["f_oral_rac"]),
            sublingual=swallowed * (1 - v["f_sublingual"]),
        ),
        ka_by_drug=by_drug(escitalopram=v["ka_esc"], sertraline=v["ka_ser"]),
    )
    ssri = SSRIPK(
        cl_esc=arr(v["cl_esc"] * eta("cl_esc") * cl_scale),
        v_esc=arr(v["cl_esc"] * v["t_half_esc"] / ln2 * v_scale),
        cl_ser=arr(v["cl_ser"] * eta("cl_ser") * cl_scale),
        v_ser=arr(v["cl_ser"] * v["t_half_ser"] / ln2 * v_scale),
    )
    midazolam = MidazolamPK(
        cl=arr(v["cl_mdz"] * eta("cl_mdz") * cl_scale),
        v1=arr(v["vss_mdz"] * v["frac_v1_mdz"] * v_scale),
        q=arr(v["q_mdz"] * cl_scale),
        v2=arr(v["vss_mdz"] * (1 - v["frac_v1_mdz"]) * v_scale),
        ke0=arr(ln2 / (v["t_half_ke0_mdz"] / 60.0)),
    )
    nmda = NMDABlock(
        ki_s_ket=arr(v["ki_s_ket"]),
        ki_r_ket=arr(v["ki_r_ket"]),
        ki_s_nk=arr(v["ki_s_nk"]),
        ki_r_nk=arr(v["ki_r_nk"]),
        fu=arr(v["fu_ket"]),
        interneuron_selectivity=arr(v["interneuron_selectivity"]),
    )
    ng = NG_PER_UMOL
    sert = SERTOccupancy(
        emax=arr(v["sert_emax"]),
        ec50_esc=arr(v["sert_ec50_esc"] / ng["escitalopram"]),
        ec50_ser=arr(v["sert_ec50_ser"] / ng["sertraline"]),
    )
    hnk = HNKAction(emax=arr(v["hnk_ampa_emax"]), ec50=arr(v["hnk_ampa_ec50"]))
    cascade = Cascade(
        disinhibition_gain=arr(v["disinhibition_gain"]),
        tau_glu=arr(v["tau_glu"]),
        w_eef2=arr(v["w_eef2"]),
        tau_bdnf=arr(v["tau_bdnf"]),
        tau_mtor=arr(v["tau_mtor"]),
    )
    spines = Spines(
        lifetime_h=arr(v["spine_lifetime"] * 24.0),
        gain=arr(v["spine_gain"]),
        potentiation_gain=arr(v["potentiation_gain"]),
        tau_potentiation=arr(v["tau_potentiation"]),
        stress=arr(v["stress_load"] * eta("stress_load")),
        responsiveness=arr(t["responsiveness"].to_numpy()),
        ssri_gain=arr(v["ssri_spine_gain"]),
        fitness_gain=arr(v["fitness_spine_gain"]),
    )
    mood = Mood(
        tau_mood=arr(v["tau_mood"]),
        expectancy_base=arr(v["expectancy_base"] * eta("expectancy_base")),
        expectancy_felt=arr(v["expectancy_felt"]),
        tau_expectancy=arr(v["tau_expectancy"]),
        k_expectancy=arr(v["k_expectancy"]),
        baseline_madrs=arr(t["baseline_madrs_true"].to_numpy()),
        pill_factor=arr(v["pill_factor"]),
        k_expectancy_pill=arr(v["k_expectancy_pill"]),
        ssri_mood_gain=arr(v["ssri_mood_gain"]),
    )
    trophic = Trophic(
        tau_trophic_h=arr(v["tau_trophic"]),
        tau_fitness_h=arr(v["tau_fitness"]),
        exercise_ref_h_per_week=arr(v["exercise_ref_h_per_week"]),
    )
    age = t["age_y"].to_numpy()
    hours_per_year = 365.25 * 24.0
    untreated = t["untreated_y"].to_numpy() if "untreated_y" in t else np.zeros(len(t))
    neurogenesis = Neurogenesis(
        tau_immature_h=arr(v["tau_immature"]),
        ssri_gain=arr(v["ssri_neurogenesis_gain"]),
        exercise_gain=arr(v["exercise_neurogenesis_gain"]),
        age_factor=arr(np.clip(1.0 - v["neurogenesis_age_decline"] * (age - 45.0) / 10.0, 0.2, 1.5)),
        stress=arr(v["stress_load"] * eta("stress_load")),
        volume_loss_per_h=arr(v["volume_loss_untreated"] / hours_per_year),
        volume_gain_per_h=arr(v["volume_gain_exercise"] / hours_per_year),
        volume0=arr(np.clip(1.0 - v["volume_loss_untreated"] * untreated, 0.7, 1.0)),
    )
    natural = PRESETS[cohort.population].natural_course if cohort.population in PRESETS else False
    session_h = [THERAPIES[k] for k in KINDS]
    aptitude = t["learning_aptitude"].to_numpy() if "learning_aptitude" in t else np.ones(len(t))
    learning = Learning(
        k_natural=arr((v["k_natural"] / 168.0 if natural else 0.0) * aptitude),
        k_session=arr(v["k_session"] * aptitude),
        efficacy=put(
            np.tile(
                [1.0, v["efficacy_mindfulness"], 0.0, v["efficacy_meditation"], v["efficacy_creative"]], (len(t), 1)
            )
        ),
        session_h=put(np.tile(session_h, (len(t), 1))),
        tau_forget_h=arr(v["tau_forget"]),
        window_gain=arr(v["window_gain"]),
        immature_weight=arr(v["window_immature_weight"]),
    )
    safety = Safety(
        cadss_per_100ng=arr(v["cadss_per_100ng"] * eta("cadss_per_100ng")),
        sbp_per_100ng=arr(v["sbp_per_100ng"] * eta("sbp_per_100ng")),
        sbp_baseline=arr(t["sbp_baseline"].to_numpy()),
        dbp_per_100ng=arr(v["dbp_per_100ng"] * eta("sbp_per_100ng")),  # one pressor sensitivity
        dbp_baseline=arr(t["dbp_baseline"].to_numpy()),
        hr_per_100ng=arr(v["hr_per_100ng"] * eta("sbp_per_100ng")),
        hr_baseline=arr(t["hr_baseline"].to_numpy()),
        mdz_sedation_ec50=arr(v["mdz_sedation_ec50"]),
        felt_cadss_ref=arr(v["felt_cadss_ref"]),
    )
    return Model(
        ketamine=ketamine,
        midazolam=midazolam,
        ssri=ssri,
        absorption=absorption,
        nmda=nmda,
        sert=sert,
        hnk=hnk,
        cascade=cascade,
        spines=spines,
        mood=mood,
        trophic=trophic,
        neurogenesis=neurogenesis,
        learning=learning,
        safety=safety,
        session_min_h=arr(v["session_min"] / 60.0),
        neurons_per_day=arr(v["neurons_per_day"]),
    )


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
    row.update({f"eta_{n}": 1.0 for n in RANDOM_EFFECTS})
    row["screen_madrs"] = row["baseline_madrs_true"]
    row["screen_hamd17"] = row["baseline_madrs_true"] * values["hamd17_per_madrs"]
    row["screen_hamd6"] = row["screen_hamd17"] * values["hamd6_per_hamd17"]
    return Cohort(population, pd.DataFrame([row]))


__all__ = ["Cohort", "Inclusion", "PRESETS", "individualize", "sample_cohort", "typical_patient"]

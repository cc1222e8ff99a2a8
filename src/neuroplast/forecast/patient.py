"""One patient as a function of a few latent numbers: the library's own model, individualised.

The patient is ``neuroplast.model.Model.build(values, cohort)`` for a one-row cohort made from
the history's covariates, with every random effect at its median except the :data:`LATENT`
ones, which the posterior learns. The latent vector ``z`` is standard normal under the prior;
:class:`Latent` maps it to the patient's value (log-normal around the population median with the
population CV, or normal for baseline severity).

How a latent value reaches the model's leaves is *read off the library*, not copied: the model is
built with each latent at its base value and again at twice and three times it; the leaves that
move, and the power law they follow (``leaf ∝ value^k``), are recorded (:func:`leaf_map`). If a
future model stops following a power law in one of these, building fails loudly.

Solves: see :class:`PatientModel` — the latent-independent states come from one reference solve by
the library's front door, the latent-dependent ones are integrated on a fixed grid with the
library's own right-hand side (fast enough for NUTS; checked against ``neuroplast.simulate``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from ..cohort import typical_patient
from ..engine.fixed_grid import rk4_partial
from ..model import Model
from ..scales.symptoms import crosswalk


@dataclasses.dataclass(frozen=True)
class Latent:
    """One learned patient parameter.

    ``column`` names a column of the cohort table (a random effect or covariate) or, if
    ``values_key`` is set, a population value scaled per patient. ``kind`` is ``lognormal``
    (median ``1`` x base, CV ``cv``) or ``normal`` (mean ``mean``, SD ``sd``).
    """

    name: str
    description: str
    kind: str
    column: str | None = None
    values_key: str | None = None
    cv: float = 0.0
    mean: float = 0.0
    sd: float = 0.0
    source: str = ""

    def value(self, z, base: float):
        """The latent's value (in the units of its column or population value) for standard-normal ``z``."""
        if self.kind == "lognormal":
            return base * jnp.exp(math.sqrt(math.log1p(self.cv**2)) * z)
        return jnp.clip(self.mean + self.sd * z, 1.0, 60.0)


def default_latents(values: dict, cvs: dict) -> tuple[Latent, ...]:
    """The random effects that shape a patient's mood trajectory, with the population prior."""
    return (
        Latent(
            "responsiveness",
            "plasticity responsiveness (how strongly a dose builds spines)",
            "lognormal",
            column="responsiveness",
            cv=values["responsiveness_cv"],
            source="registry responsiveness_cv (fit)",
        ),
        Latent(
            "expectancy",
            "expectancy (placebo) relief per session, relative to the population median",
            "lognormal",
            column="eta_expectancy_base",
            cv=values["expectancy_cv"],
            source="registry expectancy_cv (fit)",
        ),
        Latent(
            "stress_load",
            "chronic stress load, relative to the population median (sets baseline spine loss)",
            "lognormal",
            column="eta_stress_load",
            cv=cvs["stress_load"],
            source="registry stress_load CV",
        ),
        Latent(
            "baseline_madrs",
            "true baseline severity (MADRS points)",
            "normal",
            column="baseline_madrs_true",
            mean=values["madrs_baseline"],
            sd=values["madrs_baseline_sd"],
            source="registry madrs_baseline / madrs_baseline_sd (trd preset)",
        ),
        # assumption: a patient's spine lifetime (how fast a dose's gain fades, hence relapse speed) varies by
        # a CV of 30% around the fitted population value: the published range is 1-2 weeks (E03, E09).
        Latent(
            "spine_lifetime",
            "spine lifetime, days (how fast a dose's gain fades: relapse speed)",
            "lognormal",
            values_key="spine_lifetime",
            cv=0.3,
            source="assumption: CV 30%, published range 1-2 weeks (E03)",
        ),
    )


def _scalar(model):
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x)[0], model)


def _leaves(model):
    params, static = eqx.partition(model, eqx.is_array)
    leaves, treedef = jax.tree_util.tree_flatten(params)
    return leaves, treedef, static


def leaf_map(values: dict, cohort, latents: Sequence[Latent]) -> tuple[list, list[dict[int, float]], list[float]]:
    """Base leaves of the patient's model and, per latent, ``{leaf index: power k}`` with ``leaf ∝ value^k``."""

    def build(vals, table):
        from ..cohort import Cohort

        return _scalar(Model.build(vals, Cohort(cohort.population, table)))

    base_model = build(values, cohort.table)
    base, treedef, _ = _leaves(base_model)
    base_np = [np.asarray(x) for x in base]
    bases = [
        float(values[lat.values_key]) if lat.values_key else float(cohort.table[lat.column].iloc[0]) for lat in latents
    ]
    # which leaves a latent moves, and by which power, is a property of the model's equations and population
    # values, not of the patient's covariates: read off once per (structure, values, latents), then reused
    key = (str(treedef), repr(sorted(values.items())), tuple(latents))
    if key in _LEAF_MAPS:
        return base, _LEAF_MAPS[key], bases
    maps = []
    for lat, b in zip(latents, bases):
        powers = {}
        scaled = {}
        for f in (2.0, 3.0):
            if lat.values_key:
                m = build({**values, lat.values_key: b * f}, cohort.table)
            else:
                t = cohort.table.copy()
                t[lat.column] = b * f
                m = build(values, t)
            scaled[f] = [np.asarray(x) for x in _leaves(m)[0]]
        for i, (x0, x2, x3) in enumerate(zip(base_np, scaled[2.0], scaled[3.0])):
            if np.allclose(x0, x2, rtol=1e-12, atol=0.0):
                continue
            k = float(np.log(x2 / x0) / np.log(2.0))
            if not np.allclose(x3, x0 * 3.0**k, rtol=1e-9):
                raise RuntimeError(
                    f"latent {lat.name!r} does not enter the model as a power law; the forecast "
                    "needs updating for this model"
                )
            powers[i] = k
        if not powers:
            raise RuntimeError(f"latent {lat.name!r} changes nothing in the model")
        maps.append(powers)
    _LEAF_MAPS[key] = maps
    return base, maps, bases


_LEAF_MAPS: dict = {}


@dataclasses.dataclass(frozen=True)
class SolverSettings:
    """Step sizes of the fixed grid on which the latent-dependent states are integrated (RK4).

    ``fine_h`` during each infusion and for ``fine_for_h`` after its start, ``mid_h`` up to
    ``mid_for_h``, ``coarse_h`` elsewhere. The defaults keep the MADRS within 0.2 points of the
    library's own adaptive solve (test: against ``neuroplast.simulate``).
    """

    fine_h: float = 5.0 / 60.0
    fine_for_h: float = 1.5
    mid_h: float = 0.5
    mid_for_h: float = 8.0
    coarse_h: float = 2.0


def grid(
    t_end: float, jump_ts, extra, settings: SolverSettings = SolverSettings(), max_h: float = np.inf
) -> np.ndarray:
    """The integration grid (h): coarse steps, finer after every infusion start, plus ``extra`` times."""
    pts: list[npt.ArrayLike] = [
        np.arange(0.0, t_end, min(settings.coarse_h, max_h)),
        [t_end],
        np.asarray(jump_ts, float),
        np.asarray(extra, float),
    ]
    for t in np.asarray(jump_ts, float):
        pts.append(t + np.arange(0.0, settings.fine_for_h, settings.fine_h))
        pts.append(t + np.arange(settings.fine_for_h, settings.mid_for_h, settings.mid_h))
    g = np.unique(np.round(np.concatenate([np.ravel(p) for p in pts]), 9))
    return g[(g >= 0.0) & (g <= t_end)]


_STRUCTURE: dict = {}


class PatientModel(eqx.Module):
    """The patient's model as a function of the latent vector ``z`` (shape ``(n_latent,)``).

    Solving: the states that no latent can move (PK, receptors, signalling: found by probing, see
    :meth:`build`) are taken from one reference solve with the library's front door
    (:func:`neuroplast.simulate`, typical values of the latents); the latent-dependent states
    (spines, potentiation, mood, expectancy in this release) are integrated by RK4 on a fixed grid
    (:func:`neuroplast.engine.fixed_grid.rk4_partial`) with the library's own ``vector_field`` and ``readouts``. This is exact in structure (the same
    right-hand side), cheap (a few thousand small steps, ``vmap``-able over posterior draws) and
    differentiable by reverse and forward mode (``lax.scan``).
    """

    base: list
    treedef: object = eqx.field(static=True)
    static: object = eqx.field(static=True)
    maps: tuple = eqx.field(static=True)
    latents: tuple = eqx.field(static=True)
    bases: tuple = eqx.field(static=True)
    dependent: tuple = eqx.field(static=True)  # indices of latent-dependent states

    @classmethod
    def build(cls, values: dict, cvs: dict, cohort, latents: Sequence[Latent] | None = None) -> PatientModel:
        """The model of the one-row ``cohort`` (:func:`patient_cohort`) with ``latents`` learnable."""
        latents = tuple(default_latents(values, cvs) if latents is None else latents)
        base, maps, bases = leaf_map(values, cohort, latents)
        _, treedef, static = _leaves(_scalar(Model.build(values, cohort)))
        args = (
            [jnp.asarray(x) for x in base],
            treedef,
            static,
            tuple(tuple(sorted(m.items())) for m in maps),
            latents,
            tuple(bases),
        )
        # the dependence structure is a property of the model's equations, not of the numbers: probe once
        key = (str(treedef), args[3], latents)
        if key not in _STRUCTURE:
            probe = cls(*args, ())
            dep = probe._probe_dependent()
            _STRUCTURE[key] = (dep, cls(*args, dep).max_step_h())
        return cls(*args, _STRUCTURE[key][0])

    def _probe_dependent(self) -> tuple:
        """Indices of the states a latent can move, read off the right-hand side's Jacobians.

        A state depends on the latents if its initial value or its derivative does, or if its
        derivative depends on a state that does (closure). Jacobians are taken at random states,
        during and outside an infusion, near the initial state and far from it, so no structural dependence is
        missed by an accidental zero (a saturated coupling far from the initial state is flat there).
        """
        from ..regimen import build_regimen

        reg = build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 h"]}])
        ev = jnp.asarray(reg.event_array(np.array([70.0]), 8)[0])
        z0 = jnp.zeros(self.n_latent)
        y_init = self.model(z0).initial_state()
        n_states = y_init.shape[0]
        rng = np.random.default_rng(0)
        jz = jnp.abs(jax.jit(jax.jacfwd(lambda z: self.model(z).initial_state()))(z0)).sum(axis=1)
        dz = np.asarray(jz) > 0
        dy = np.zeros((n_states, n_states), bool)
        jac_z = jax.jit(jax.jacfwd(lambda q, t, y: self.model(q).vector_field(t, y, ev)))
        jac_y = jax.jit(jax.jacfwd(lambda q, t, z: self.model(z).vector_field(t, q, ev)))
        # states near the model's own initial state (the physiological region, where clipped or saturating
        # couplings are live) and random ones: a dependence that is flat in one region is seen in the other
        near = [
            y_init * jnp.asarray(rng.uniform(0.8, 1.25, n_states)) + jnp.asarray(rng.uniform(0.0, 0.05, n_states))
            for _ in range(2)
        ]
        for t in (0.3, 30.0):
            for y in near + [jnp.asarray(rng.uniform(0.1, 2.0, n_states)) for _ in range(2)]:
                z = jnp.asarray(rng.normal(0.0, 0.5, self.n_latent))
                dz |= np.asarray(jnp.abs(jac_z(z, t, y)).sum(1)) > 0
                dy |= np.asarray(jnp.abs(jac_y(y, t, z))) > 0
        dep = dz.copy()
        while True:
            grown = dep | dy[:, dep].any(axis=1)
            if (grown == dep).all():
                break
            dep = grown
        return tuple(int(i) for i in np.flatnonzero(dep))

    def stable_step_h(self) -> float:
        """Largest stable RK4 step (h) of the coarse grid, from the probe (cached per model structure)."""
        return _STRUCTURE[(str(self.treedef), self.maps, self.latents)][1]

    def max_step_h(self) -> float:
        """Largest stable RK4 step (h) for the latent-dependent states outside infusions (|λ| h < 2.5)."""
        from ..regimen import build_regimen

        reg = build_regimen([{"drug": "ketamine", "amount": "0.5 mg/kg", "duration": "40 min", "at": ["0 h"]}])
        ev = jnp.asarray(reg.event_array(np.array([70.0]), 8)[0])
        dep = np.asarray(self.dependent)
        lam = 0.0
        rng = np.random.default_rng(1)
        jac = jax.jit(
            lambda z: jax.jacfwd(lambda q: self.model(z).vector_field(30.0, q, ev))(self.model(z).initial_state())
        )
        for _ in range(3):
            J = np.asarray(jac(jnp.asarray(rng.normal(0.0, 1.0, self.n_latent))))[np.ix_(dep, dep)]
            lam = max(lam, float(np.max(np.abs(np.linalg.eigvals(J)))))
        return 2.5 / lam if lam > 0 else np.inf

    @property
    def n_latent(self) -> int:
        return len(self.latents)

    def latent_values(self, z):
        """Each latent's value in its own units (e.g. baseline MADRS points, responsiveness factor)."""
        return jnp.stack([lat.value(z[..., j], b) for j, (lat, b) in enumerate(zip(self.latents, self.bases))], -1)

    def model(self, z):
        leaves = list(self.base)
        vals = self.latent_values(z)
        for j, powers in enumerate(self.maps):
            ratio = vals[j] / self.bases[j]
            for i, k in powers:
                leaves[i] = leaves[i] * ratio**k
        params = jax.tree_util.tree_unflatten(self.treedef, leaves)
        return eqx.combine(params, self.static)

    def madrs(self, z, ref, events, ts):
        """True MADRS on the grid ``ts`` (h, sorted, from 0) for latent ``z``.

        ``ref`` (T, n_states): the reference solve on the same grid (:func:`reference`); its
        latent-independent states are used as they are.
        """
        m = self.model(z)
        dep = jnp.asarray(self.dependent)
        table = m.input_table(events)  # once, outside the loop (Model.input_table)

        def f(t, yd, yref):
            return m.rhs(t, yref.at[dep].set(yd), table)[dep]

        ys = ref.at[:, dep].set(rk4_partial(f, m.initial_state()[dep], ts, ref))
        return m.readouts(ys)["madrs_true"]


def patient_cohort(values: dict, *, weight_kg: float, female: bool, age_y: float | None):
    """The one-row cohort of a patient with these covariates, every random effect at its median."""
    return typical_patient(values, weight_kg=weight_kg, female=female, age_y=45.0 if age_y is None else age_y)


def reference(population_model, cohort, regimen, ts: np.ndarray) -> np.ndarray:
    """Every state (T, n_states) on the grid ``ts`` for the cohort's patient with the latents at their base,
    solved by the library's front door :func:`neuroplast.simulate` (adaptive Tsit5, rtol 1e-6)."""
    from ..engine import Tsit5
    from ..regimen import Regimen
    from ..simulation import simulate

    sim = simulate(
        population_model, regimen if regimen is not None else Regimen(()), cohort, saveat=ts, engine=Tsit5(batch=1)
    )
    if not sim.ok[0]:
        raise RuntimeError("the reference solve failed for this history")
    return sim.states[0]


def score_on(madrs, codes):
    """Expected observed score on each element's instrument (codes: crosswalk.code)."""
    return crosswalk.from_madrs_coded(madrs, codes)


def noise_sd(codes):
    """Rating error SD plus the rounding of integer totals (variance 1/12) for each instrument code."""
    sd = jnp.asarray([crosswalk.NOISE_SD[i] for i in crosswalk.INSTRUMENTS])
    return jnp.sqrt(sd[codes] ** 2 + 1.0 / 12.0)


__all__ = [
    "Latent",
    "PatientModel",
    "SolverSettings",
    "default_latents",
    "grid",
    "leaf_map",
    "noise_sd",
    "patient_cohort",
    "reference",
    "score_on",
]

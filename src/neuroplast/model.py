"""The coupled model: one vector field over every scale of the chain.

dose (by route) → PK ((S)/(R)-ketamine, their norketamines, (2R,6R)-HNK; midazolam; the oral antidepressants:
escitalopram, sertraline, duloxetine, venlafaxine and its metabolite ODV) → NMDA block (pyramidal, interneuron),
SERT occupancy, HNK's AMPA action
→ glutamate / BDNF / mTORC1 (hours), slow SSRI trophic signalling and exercise fitness (weeks)
→ spines and fast potentiation; dentate neurogenesis and hippocampal volume (weeks to years)
→ learning from therapy sessions, faster inside the plasticity window → mood and expectancy
→ rating scales and safety read-outs (algebraic, after the solve).

:class:`Model` is an immutable pytree whose leaves are one patient's numbers (scalars) or a
cohort's (arrays with a leading patient axis: ``vmap`` turns one into the other). It is built one way,
:meth:`Model.build`: each scale builds itself from the parameter registry and the patients
(:mod:`neuroplast.scales.patients`). The state vector's layout (:data:`LAYOUT`) and the compiled input
table's columns (:data:`TABLE`) are named, derived from the scales and the catalogue; nothing reads them
by position.

Regimen input is the event table of :data:`neuroplast.catalog.EVENT`; padding rows never switch on.
Therapy and lifestyle sessions are events too (their code is the kind; the rate is 1 while the session is
on). Input starts and stops are passed to the solver as jump times (doses are discontinuities; nothing is
smoothed). Extravascular doses are absorbed from depots in closed form
(:mod:`neuroplast.scales.pk.absorption`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import equinox as eqx
import jax.numpy as jnp

from ._arrays import sum_rows
from ._types import PerPatient
from ._units import NG_PER_UMOL
from .catalog import (
    CLINIC_DRUGS,
    DRUG_CODES,
    EVENT,
    KETAMINE_FAMILY,
    KINDS,
    ORAL_DRUGS,
    ORAL_SPECIES,
    PILLS,
    READOUT_UNITS,
    ROUTE_CODES,
)
from .cohort import Cohort
from .cohort.presets import PRESETS
from .parameters import PopulationModel
from .scales.neurogenesis import Neurogenesis
from .scales.patients import Patients
from .scales.pk import Absorption, AntidepressantPK, KetaminePK, MidazolamPK, event_flux
from .scales.plasticity import Spines
from .scales.receptors import HNKAction, NMDABlock, SERTOccupancy
from .scales.safety import Safety
from .scales.signalling import Cascade, Trophic
from .scales.symptoms import Learning, Mood


@dataclasses.dataclass(frozen=True)
class StateLayout:
    """Where each scale's states sit in the state vector: derived from the scales' ``names`` and ``units``."""

    scales: tuple[tuple[str, Any], ...]  # (name, scale class with ``names``, ``units`` and ``build``)

    @property
    def slices(self) -> dict[str, slice]:
        out, i = {}, 0
        for name, cls in self.scales:
            out[name] = slice(i, i + len(cls.names))
            i += len(cls.names)
        return out

    def __getitem__(self, scale: str) -> slice:
        return self.slices[scale]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for _, cls in self.scales for n in cls.names)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(u for _, cls in self.scales for u in cls.units)

    def index(self, state: str) -> int:
        """The position of the state named ``state``."""
        return self.names.index(state)

    def indices(self, *states: str) -> tuple[int, ...]:
        return tuple(self.index(s) for s in states)

    def of(self, *scales: str) -> tuple[int, ...]:
        """Every state of the named scales, in order."""
        return tuple(i for s in scales for i in range(len(self.names))[self[s]])


LAYOUT = StateLayout(
    (
        ("ketamine", KetaminePK),
        ("midazolam", MidazolamPK),
        ("antidepressants", AntidepressantPK),
        ("cascade", Cascade),
        ("spines", Spines),
        ("mood", Mood),
        ("trophic", Trophic),
        ("neurogenesis", Neurogenesis),
        ("learning", Learning),
    )
)
"""The state vector, scale by scale, in the chain's order."""

PK_SCALES = ("ketamine", "midazolam", "antidepressants")
"""The scales whose states form the linear pharmacokinetic block (constant coefficients; checked numerically by
the fast engine)."""

PK_READ = LAYOUT.indices(*KetaminePK.names[KetaminePK.effect_start : KetaminePK.effect_start + 5],
                         MidazolamPK.names[MidazolamPK.effect_index], *AntidepressantPK.names)  # fmt: skip
"""The PK states the rest of the model reads (:meth:`Model.field`): the ketamine family's five effect
sites, midazolam's effect site and the oral antidepressants' central amounts. The fast engine needs only their derivatives
(checked there against the Jacobian)."""

STATE_NAMES = LAYOUT.names
STATE_UNITS = LAYOUT.units

INPUTS = ("s_ketamine", "r_ketamine", "s_norketamine", "r_norketamine", "lost", "midazolam", *ORAL_DRUGS)
"""The dose input channels (umol/h), in the order the PK scales take them."""


class TableColumns:
    """The columns of a compiled input table (:meth:`Model.input_table`): one row per event."""

    start: int = 0
    end: int = 1
    rate: int = 2
    is_iv: int = 3
    ka: int = 4
    clinic_end: int = 5
    pill_end: int = 6
    into: slice = slice(7, 7 + len(INPUTS))  # the share of the row's rate entering each input channel
    therapy: slice = slice(7 + len(INPUTS), 7 + len(INPUTS) + len(KINDS))  # 1 for the row's session kind
    width: int = 7 + len(INPUTS) + len(KINDS)


TABLE = TableColumns()


class Model(eqx.Module):
    ketamine: KetaminePK
    midazolam: MidazolamPK
    antidepressants: AntidepressantPK
    absorption: Absorption
    nmda: NMDABlock
    sert: SERTOccupancy
    hnk: HNKAction
    cascade: Cascade
    spines: Spines
    mood: Mood
    trophic: Trophic
    neurogenesis: Neurogenesis
    learning: Learning
    safety: Safety
    session_min_h: PerPatient  # a clinic session lasts at least this long (expectancy)
    neurons_per_day: PerPatient  # healthy adult birth rate (F01), for the read-out

    @classmethod
    def build(cls, population: PopulationModel | Mapping[str, float], cohort: Cohort, *, host: bool = False) -> Model:
        """The model of ``cohort``'s patients: leaves have shape (n_patients,). Each scale builds itself from the
        registry (units converted by pint) and the patients' covariates and random effects. ``population``: the
        population model, or its typical values by name (in the registry's units).

        ``host``: numpy leaves, for a caller that hands them to compiled kernels (which take numpy arrays as they
        are) or slices them on the host: the engines' batches. Putting the ~90 leaves on the device one by one
        costs ~5 ms of Python, and the batches took them back to the host."""
        if not isinstance(population, PopulationModel):
            population = PopulationModel(dict(population), {})
        preset = PRESETS.get(cohort.population)
        p = Patients(population, cohort.table, natural_course=bool(preset and preset.natural_course), host=host)
        scales = {name: scale.build(p) for name, scale in LAYOUT.scales}
        return cls(
            **scales,
            absorption=Absorption.build(p),
            nmda=NMDABlock.build(p),
            sert=SERTOccupancy.build(p),
            hnk=HNKAction.build(p),
            safety=Safety.build(p),
            session_min_h=p.leaf(p.q("session_min", "h")),
            neurons_per_day=p.leaf(p.q("neurons_per_day", "neurons/day")),
        )

    def initial_state(self):
        """Drug-free steady state: no drug, signalling at baseline, spines at 1/(1+stress), mood 1,
        neurogenesis at its depressed rate, hippocampal volume as the illness history left it, nothing learned."""
        y = jnp.zeros(len(STATE_NAMES))
        y = y.at[LAYOUT.index("spines")].set(self.spines.baseline())
        y = y.at[LAYOUT["neurogenesis"]].set(self.neurogenesis.baseline())
        return y.at[LAYOUT.index("mood")].set(1.0)

    def input_table(self, events):
        """The regimen's event table (:data:`neuroplast.catalog.EVENT`) compiled for this patient: one row per
        event with the columns of :data:`TABLE`: start, end, rate, is_iv, the absorption rate constant, when its
        clinic session and its pill expectancy end, the share of the rate entering each input channel
        (:data:`INPUTS`) and the session kind (one column per kind).

        Everything that depends only on the event (route, drug, bioavailability, absorption rate, how long
        its clinic session or pill expectancy lasts) is worked out here, once per solve, so that the
        right-hand side (:meth:`rhs`) only evaluates what depends on time. Rows stay sorted by start (the
        event window reads them as it reads the raw table). ``clinic_end``/``pill_end`` equal the start
        for events that are not a clinic session or a pill (never on).
        """
        start, end, rate = events[:, EVENT.start], events[:, EVENT.end], events[:, EVENT.rate]
        code, route = events[:, EVENT.code], events[:, EVENT.route].astype(jnp.int32)
        esk = code == DRUG_CODES["esketamine"]
        f_parent = jnp.where(esk, self.absorption.f_esketamine[route], self.absorption.f_racemic[route])
        f_nk = self.absorption.f_nk[route]
        family = [code == DRUG_CODES[d] for d in KETAMINE_FAMILY]
        s_share = jnp.select(family, [v[0] for v in KETAMINE_FAMILY.values()], 0.0)
        r_share = jnp.select(family, [v[1] for v in KETAMINE_FAMILY.values()], 0.0)
        fam = s_share + r_share
        one = jnp.ones_like(rate)
        # the oral antidepressants' clearances and volumes are apparent oral values (CL/F, V/F): the dose enters whole
        into = {
            "s_ketamine": f_parent * s_share,
            "r_ketamine": f_parent * r_share,
            "s_norketamine": f_nk * s_share,
            "r_norketamine": f_nk * r_share,
            "lost": (1.0 - f_parent - f_nk) * fam,
            **{d: jnp.where(code == DRUG_CODES[d], one, 0.0) for d in ("midazolam", *ORAL_DRUGS)},
        }
        clinic = jnp.any(jnp.stack([code == DRUG_CODES[d] for d in CLINIC_DRUGS]), axis=0)
        pill = jnp.any(jnp.stack([code == DRUG_CODES[d] for d in PILLS]), axis=0)
        clinic_end = jnp.where(clinic, jnp.maximum(end, start + self.session_min_h), start)
        pill_end = jnp.where(pill, start + self.session_min_h, start)
        kinds = [jnp.where(code == DRUG_CODES[k], one, 0.0) for k in KINDS]
        is_iv = jnp.where(route == ROUTE_CODES["iv"], one, 0.0)
        ka = self.absorption.rate_constants(events)
        columns = [start, end, rate, is_iv, ka, clinic_end, pill_end, *(into[c] for c in INPUTS), *kinds]
        return jnp.stack(columns, axis=1)

    def table_inputs(self, t, table):
        """``(into, session, pill, therapy)`` at ``t`` from a compiled :meth:`input_table`: the dose input
        into each channel of :data:`INPUTS` (umol/h), whether a clinic session is on and whether a pill was just
        taken (0/1), the therapy sessions on, by kind (:data:`neuroplast.catalog.KINDS`)."""
        start, end, rate = table[:, TABLE.start], table[:, TABLE.end], table[:, TABLE.rate]
        on = (t >= start) & (t < end)
        flux = event_flux(t, start, end, rate, table[:, TABLE.is_iv] > 0.0, table[:, TABLE.ka])
        shares = table[:, TABLE.into]
        into = sum_rows(lambda i: flux[i] * shares[i], table.shape[0],  # multiply-and-sum: no tiny dot
                         lambda: jnp.sum(flux[:, None] * shares, axis=0))  # fmt: skip
        session = jnp.any((t >= start) & (t < table[:, TABLE.clinic_end])).astype(table.dtype)
        pill_on = jnp.any((t >= start) & (t < table[:, TABLE.pill_end])).astype(table.dtype)
        therapy = jnp.max(jnp.where(on[:, None], table[:, TABLE.therapy], 0.0), axis=0)
        return into, session, pill_on, therapy

    def window(self, y):
        """The plasticity window (multiplier of learning rates, 1 = the depressed baseline)."""
        sp = LAYOUT["spines"]
        connectivity = y[..., sp.start] + y[..., sp.start + 1]
        immature = y[..., LAYOUT.index("immature_neurons")]
        return self.learning.window(connectivity, self.spines.baseline(), immature, self.neurogenesis.birth(0.0, 0.0))

    def vector_field(self, t, y, events):
        """dy/dt at time ``t`` for the raw event table ``events`` (n_events, 5)."""
        return self.rhs(t, y, self.input_table(events))

    def rhs(self, t, y, table):
        """dy/dt from a compiled :meth:`input_table` (what the solvers call: the table is built once per solve)."""
        return self.field(y, *self.table_inputs(t, table))

    def field(self, y, into, session, pill, therapy):
        """dy/dt given the inputs of :meth:`table_inputs` (the PK rows are linear in ``into``)."""
        ket_in, mdz_in, oral_in = (
            tuple(into[i] for i in range(5)),
            into[5],
            tuple(into[6 + i] for i in range(len(ORAL_DRUGS))),
        )
        k, m, r = y[LAYOUT["ketamine"]], y[LAYOUT["midazolam"]], y[LAYOUT["antidepressants"]]
        s_e, r_e, snk_e, rnk_e, hnk_e = self.ketamine.effect(k)
        occ_pyr, occ_in = self.nmda.occupancy(s_e, r_e, snk_e, rnk_e)
        sig, pl, trophic_state = y[LAYOUT["cascade"]], y[LAYOUT["spines"]], y[LAYOUT["trophic"]]
        ket_eq_ng = self.nmda.racemic_equivalent(s_e, r_e) * NG_PER_UMOL["ketamine"]
        felt = self.safety.felt(ket_eq_ng, m[MidazolamPK.effect_index] * NG_PER_UMOL["midazolam"])
        connectivity = pl[0] + pl[1]
        trophic, fitness = trophic_state[0], trophic_state[1]
        learning = y[LAYOUT.index("learning")]
        sert = self.sert.occupancy(*self.antidepressants.plasma(r))
        exercise = therapy[KINDS.index("exercise")]
        mood = y[LAYOUT["mood"]]
        return jnp.concatenate(
            [
                self.ketamine.rhs(k, ket_in),
                self.midazolam.rhs(m, mdz_in),
                self.antidepressants.rhs(r, oral_in),
                self.cascade.rhs(sig, occ_pyr, occ_in, self.hnk.ampa_drive(hnk_e)),
                self.spines.rhs(pl, sig[0], sig[2], trophic, fitness, 1.0 - mood[0] * (1.0 - mood[1])),
                self.mood.rhs(mood, connectivity, self.spines.baseline(), session, felt, learning, pill, trophic),
                self.trophic.rhs(trophic_state, sert, exercise),
                self.neurogenesis.rhs(y[LAYOUT["neurogenesis"]], trophic, fitness, mood[0]),
                self.learning.rhs(y[LAYOUT["learning"]], therapy, self.window(y)),
            ]
        )

    def readouts(self, ys):
        """Every read-out of :data:`neuroplast.catalog.READOUTS` from saved states ``ys`` (..., n_states), for
        one patient."""
        k, m, r = ys[..., LAYOUT["ketamine"]], ys[..., LAYOUT["midazolam"]], ys[..., LAYOUT["antidepressants"]]
        state = lambda name: ys[..., LAYOUT.index(name)]
        pos = lambda x: jnp.maximum(x, 0.0)  # clip solver round-off at the bounds of the states
        s_p, r_p, snk_p, rnk_p, hnk_p = self.ketamine.plasma(k)
        s_e, r_e, snk_e, rnk_e, hnk_e = self.ketamine.effect(k)
        ng = NG_PER_UMOL
        ket_eq_ng = self.nmda.racemic_equivalent(s_e, r_e) * ng["ketamine"]
        mdz_e_ng = pos(m[..., MidazolamPK.effect_index]) * ng["midazolam"]
        occ_pyr, occ_in = self.nmda.occupancy(s_e, r_e, snk_e, rnk_e)
        oral = self.antidepressants.plasma(r)
        mood = pos(state("mood"))
        expectancy = jnp.clip(state("expectancy"), 0.0, 1.0)
        trophic, fitness = state("trophic"), state("fitness")
        out = {
            "ketamine_plasma": pos(s_p + r_p) * ng["ketamine"],
            "s_ketamine_plasma": pos(s_p) * ng["ketamine"],
            "r_ketamine_plasma": pos(r_p) * ng["ketamine"],
            "norketamine_plasma": pos(snk_p + rnk_p) * ng["norketamine"],
            "hnk_plasma": pos(hnk_p) * ng["hnk"],
            "ketamine_effect_site": pos(s_e + r_e) * ng["ketamine"],
            "midazolam_plasma": pos(self.midazolam.plasma(m)) * ng["midazolam"],
            **{f"{s}_plasma": pos(c) * ng[s] for s, c in zip(ORAL_SPECIES, oral, strict=True)},
            "occupancy_pyramidal": occ_pyr,
            "occupancy_interneuron": occ_in,
            "sert_occupancy": self.sert.occupancy(*oral),
            "hnk_ampa_drive": self.hnk.ampa_drive(hnk_e),
            "glutamate": state("glutamate"),
            "bdnf": state("bdnf"),
            "mtorc1": state("mtor"),
            "spine_density": state("spines"),
            "potentiation": state("potentiation"),
            "mood": mood,
            "expectancy": expectancy,
            "madrs_true": self.mood.madrs(mood, expectancy),
            "cadss": self.safety.cadss(ket_eq_ng),
            "sbp": self.safety.sbp(ket_eq_ng),
            "dbp": self.safety.dbp(ket_eq_ng),
            "heart_rate": self.safety.heart_rate(ket_eq_ng),
            "sedation": self.safety.sedation(mdz_e_ng),
            "trophic": trophic,
            "fitness": fitness,
            "neurogenesis": self.neurogenesis.birth(trophic, fitness) * self.neurons_per_day,
            "immature_neurons": state("immature_neurons"),
            "hippocampal_volume": state("hippocampal_volume"),
            "learning": state("learning"),
            "plasticity_window": self.window(ys),
        }
        return {name: out[name] for name in READOUT_UNITS}  # the catalogue's order


__all__ = ["INPUTS", "LAYOUT", "Model", "PK_READ", "PK_SCALES", "READOUT_UNITS", "STATE_NAMES", "STATE_UNITS",
           "TABLE", "StateLayout", "TableColumns"]  # fmt: skip

"""The coupled model: one vector field over every scale of the chain.

dose (by route) → PK ((S)/(R)-ketamine, their norketamines, (2R,6R)-HNK; midazolam; escitalopram,
sertraline) → NMDA block (pyramidal, interneuron), SERT occupancy, HNK's AMPA action
→ glutamate / BDNF / mTORC1 (hours), slow SSRI trophic signalling and exercise fitness (weeks)
→ spines and fast potentiation; dentate neurogenesis and hippocampal volume (weeks to years)
→ learning from therapy sessions, faster inside the plasticity window → mood and expectancy
→ rating scales and safety read-outs (algebraic, after the solve).

:class:`Model` is an immutable pytree whose leaves are one patient's numbers (scalars) or a
cohort's (arrays with a leading patient axis: ``vmap`` turns one into the other).
Regimen input is an event table ``(n_events, 5)``: ``[t_start_h, t_end_h, rate_umol_per_h,
drug_code, route_code]``; padding rows never switch on. Therapy and lifestyle sessions are events
too (their code is the kind; the rate is 1 while the session is on). Input starts and stops are passed to
the solver as jump times (doses are discontinuities; nothing is smoothed). Extravascular doses
are absorbed from depots in closed form (:mod:`neuroplast.scales.pk.absorption`).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._units import NG_PER_UMOL
from .scales.neurogenesis import Neurogenesis
from .scales.pk import ROUTE_CODES, SSRIPK, Absorption, KetaminePK, MidazolamPK, event_flux
from .scales.plasticity import Spines
from .scales.receptors import HNKAction, NMDABlock, SERTOccupancy
from .scales.safety import Safety
from .scales.signalling import Cascade, Trophic
from .scales.symptoms import KINDS, Learning, Mood

DRUG_CODES = {
    "ketamine": 0,
    "midazolam": 1,
    "saline": 2,
    "esketamine": 3,
    "arketamine": 4,
    "escitalopram": 5,
    "sertraline": 6,
    "placebo": 7,
    "cbt": 8,
    "mindfulness": 9,
    "exercise": 10,
    "meditation": 11,
    "creative": 12,
}
"""Event codes. Saline and placebo pills carry no drug (rate 0); codes 8-12 are session kinds."""

PILLS = ("escitalopram", "sertraline", "placebo")
"""Taken daily at home: each pill builds expectancy (scaled by ``pill_factor``)."""

KETAMINE_FAMILY = {"ketamine": (0.5, 0.5), "esketamine": (1.0, 0.0), "arketamine": (0.0, 1.0)}
"""(S, R) shares of each ketamine-family drug."""

CLINIC_DRUGS = ("ketamine", "esketamine", "arketamine", "midazolam", "saline")
"""Drugs given in a monitored session (which builds expectancy); SSRIs are taken at home."""

STATE_NAMES = (
    KetaminePK.names
    + MidazolamPK.names
    + SSRIPK.names
    + Cascade.names
    + Spines.names
    + Mood.names
    + Trophic.names
    + Neurogenesis.names
    + Learning.names
)
STATE_UNITS = (
    KetaminePK.units
    + ("umol", "umol", "uM", "umol")
    + SSRIPK.units
    + ("1", "1", "1")
    + ("fraction of healthy", "1")
    + ("1", "1")
    + Trophic.units
    + Neurogenesis.units
    + Learning.units
)
_K = slice(0, 17)
_M = slice(17, 21)
_R = slice(21, 23)
_S = slice(23, 26)
_P = slice(26, 28)
_Y = slice(28, 30)
_T = slice(30, 32)
_N = slice(32, 34)
_L = slice(34, 35)
SPINES_INDEX, MOOD_INDEX = 26, 28
UNROLL_MAX_EVENTS = 32
"""Event tables up to this many rows have their dose-input sum unrolled (:func:`sum_rows`); longer ones (a year of
daily pills read whole by the fast engine) keep one reduction, so compile does not grow with them."""


def sum_rows(term, n, whole):
    """``term(0) + ... + term(n - 1)`` over an event table's ``n`` rows, unrolled up to :data:`UNROLL_MAX_EVENTS`
    rows: XLA's CPU backend runs the same sum written as multiply-and-sum as a reduction fusion several times slower
    on these small shapes (docs/scale.md). A longer table: ``whole()``, the sum as one reduction."""
    if n > UNROLL_MAX_EVENTS:
        return whole()
    acc = term(0)
    for i in range(1, n):
        acc = acc + term(i)
    return acc


_KE = _K.start + KetaminePK.effect_start
PK_READ = (*range(_KE, _KE + 5), _M.start + MidazolamPK.effect_index, *range(_R.start, _R.stop))
"""The PK states the rest of the model reads (:meth:`Model.field`): the ketamine family's five effect
sites, midazolam's effect site and the SSRIs' central amounts. The fast engine needs only their derivatives
(``engine.fast``; checked there against the Jacobian)."""


class Model(eqx.Module):
    ketamine: KetaminePK
    midazolam: MidazolamPK
    ssri: SSRIPK
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
    session_min_h: Float[Array, ""]  # a clinic session lasts at least this long (expectancy)
    neurons_per_day: Float[Array, ""]  # healthy adult birth rate (F01), for the read-out

    def initial_state(self):
        """Drug-free steady state: no drug, signalling at baseline, spines at 1/(1+stress), mood 1,
        neurogenesis at its depressed rate, hippocampal volume as the illness history left it, nothing learned."""
        y = jnp.zeros(len(STATE_NAMES))
        y = y.at[SPINES_INDEX].set(self.spines.baseline())
        y = y.at[_N].set(self.neurogenesis.baseline())
        return y.at[MOOD_INDEX].set(1.0)

    def input_table(self, events):
        """The regimen's event table ``(n_events, 5)`` compiled for this patient: ``(n_events, 20)`` rows of
        ``[start, end, rate, is_iv, ka, clinic_end, pill_end, into S, R, S-nk, R-nk, lost, midazolam,
        escitalopram, sertraline, therapy kinds (5)]``.

        Everything that depends only on the event (route, drug, bioavailability, absorption rate, how long
        its clinic session or pill expectancy lasts) is worked out here, once per solve, so that the
        right-hand side (:meth:`rhs`) only evaluates what depends on time. Rows stay sorted by start (the
        event window reads them as it reads the raw table). ``clinic_end``/``pill_end`` equal the start
        for events that are not a clinic session or a pill (never on).
        """
        start, end, rate = events[:, 0], events[:, 1], events[:, 2]
        code, route = events[:, 3], events[:, 4].astype(jnp.int32)
        esk = code == DRUG_CODES["esketamine"]
        f_parent = jnp.where(esk, self.absorption.f_esketamine[route], self.absorption.f_racemic[route])
        f_nk = self.absorption.f_nk[route]
        s_share = jnp.select(
            [code == DRUG_CODES[d] for d in KETAMINE_FAMILY], [v[0] for v in KETAMINE_FAMILY.values()], 0.0
        )
        r_share = jnp.select(
            [code == DRUG_CODES[d] for d in KETAMINE_FAMILY], [v[1] for v in KETAMINE_FAMILY.values()], 0.0
        )
        fam = s_share + r_share
        one = jnp.ones_like(rate)
        # SSRI clearances and volumes are apparent oral values (CL/F, V/F): the dose enters whole
        into = [
            f_parent * s_share,
            f_parent * r_share,
            f_nk * s_share,
            f_nk * r_share,
            (1.0 - f_parent - f_nk) * fam,
            jnp.where(code == DRUG_CODES["midazolam"], one, 0.0),
            jnp.where(code == DRUG_CODES["escitalopram"], one, 0.0),
            jnp.where(code == DRUG_CODES["sertraline"], one, 0.0),
        ]
        clinic = jnp.any(jnp.stack([code == DRUG_CODES[d] for d in CLINIC_DRUGS]), axis=0)
        pill = jnp.any(jnp.stack([code == DRUG_CODES[d] for d in PILLS]), axis=0)
        clinic_end = jnp.where(clinic, jnp.maximum(end, start + self.session_min_h), start)
        pill_end = jnp.where(pill, start + self.session_min_h, start)
        kinds = [jnp.where(code == DRUG_CODES[k], one, 0.0) for k in KINDS]
        is_iv = jnp.where(route == ROUTE_CODES["iv"], one, 0.0)
        return jnp.stack(
            [start, end, rate, is_iv, self.absorption.rate_constants(events), clinic_end, pill_end, *into, *kinds],
            axis=1,
        )

    def iv_rows(self, table):
        """For a compiled :meth:`input_table` whose rows are all IV infusions: each row's ``(start, end, into)``,
        ``into`` (n_events, 8) the input into the PK entry points while the row is on, in the order of
        :meth:`table_inputs`'s ``into`` (which is their sum over the rows on at ``t``). For an engine that knows
        its regimen is IV only and evaluates the inputs itself (the fast engine, once per batch)."""
        return table[:, 0], table[:, 1], table[:, 2:3] * table[:, 7:15]

    def table_inputs(self, t, table):
        """``(into, session, pill, therapy)`` at ``t`` from a compiled :meth:`input_table`: the dose input
        into each PK entry point (8,) in the table's order (umol/h: ketamine family S, R, S-nk, R-nk, lost;
        midazolam; escitalopram, sertraline), whether a clinic session is on and
        whether a pill was just taken (0/1), the therapy sessions on, by kind (5,)."""
        start, end, rate, is_iv, ka = table[:, 0], table[:, 1], table[:, 2], table[:, 3], table[:, 4]
        on = (t >= start) & (t < end)
        flux = event_flux(t, start, end, rate, is_iv > 0.0, ka)
        into = sum_rows(
            lambda i: flux[i] * table[i, 7:15],
            table.shape[0],  # multiply-and-sum: no tiny dot
            lambda: jnp.sum(flux[:, None] * table[:, 7:15], axis=0),
        )
        session = jnp.any((t >= start) & (t < table[:, 5])).astype(table.dtype)
        pill_on = jnp.any((t >= start) & (t < table[:, 6])).astype(table.dtype)
        therapy = jnp.max(jnp.where(on[:, None], table[:, 15:20], 0.0), axis=0)
        return into, session, pill_on, therapy

    def window(self, y):
        """The plasticity window (multiplier of learning rates, 1 = the depressed baseline)."""
        connectivity = y[..., SPINES_INDEX] + y[..., SPINES_INDEX + 1]
        return self.learning.window(
            connectivity, self.spines.baseline(), y[..., _N.start], self.neurogenesis.birth(0.0, 0.0)
        )

    def vector_field(self, t, y, events):
        """dy/dt at time ``t`` for the raw event table ``events`` (n_events, 5)."""
        return self.rhs(t, y, self.input_table(events))

    def rhs(self, t, y, table):
        """dy/dt from a compiled :meth:`input_table` (what the solvers call: the table is built once per solve)."""
        return self.field(y, *self.table_inputs(t, table))

    def field(self, y, into, session, pill, therapy):
        """dy/dt given the inputs of :meth:`table_inputs` (the PK rows are linear in ``into``)."""
        ket_in, mdz_in, ssri_in = tuple(into[i] for i in range(5)), into[5], (into[6], into[7])
        k, m = y[_K], y[_M]
        s_e, r_e, snk_e, rnk_e, hnk_e = self.ketamine.effect(k)
        occ_pyr, occ_in = self.nmda.occupancy(s_e, r_e, snk_e, rnk_e)
        sig = y[_S]
        pl = y[_P]
        ket_eq_ng = self.nmda.racemic_equivalent(s_e, r_e) * NG_PER_UMOL["ketamine"]
        felt = self.safety.felt(ket_eq_ng, m[MidazolamPK.effect_index] * NG_PER_UMOL["midazolam"])
        connectivity = pl[0] + pl[1]
        trophic, fitness = y[_T.start], y[_T.start + 1]
        learning = y[_L.start]
        sert = self.sert.occupancy(*self.ssri.plasma(y[_R]))
        exercise = therapy[KINDS.index("exercise")]
        return jnp.concatenate(
            [
                self.ketamine.rhs(k, ket_in),
                self.midazolam.rhs(m, mdz_in),
                self.ssri.rhs(y[_R], ssri_in),
                self.cascade.rhs(sig, occ_pyr, occ_in, self.hnk.ampa_drive(hnk_e)),
                self.spines.rhs(pl, sig[0], sig[2], trophic, fitness),
                self.mood.rhs(y[_Y], connectivity, self.spines.baseline(), session, felt, learning, pill, trophic),
                self.trophic.rhs(y[_T], sert, exercise),
                self.neurogenesis.rhs(y[_N], trophic, fitness, y[MOOD_INDEX]),
                self.learning.rhs(y[_L], therapy, self.window(y)),
            ]
        )

    def readouts(self, ys):
        """Every scale's read-out from saved states ``ys`` (..., n_states), for one patient."""
        k, m, r = ys[..., _K], ys[..., _M], ys[..., _R]
        pos = lambda x: jnp.maximum(x, 0.0)  # noqa: E731 - clip solver round-off at the bounds of the states
        s_p, r_p, snk_p, rnk_p, hnk_p = self.ketamine.plasma(k)
        s_e, r_e, snk_e, rnk_e, hnk_e = self.ketamine.effect(k)
        ket_eq_ng = self.nmda.racemic_equivalent(s_e, r_e) * NG_PER_UMOL["ketamine"]
        mdz_e_ng = pos(m[..., MidazolamPK.effect_index]) * NG_PER_UMOL["midazolam"]
        occ_pyr, occ_in = self.nmda.occupancy(s_e, r_e, snk_e, rnk_e)
        esc_p, ser_p = self.ssri.plasma(r)
        mood = pos(ys[..., MOOD_INDEX])
        expectancy = jnp.clip(ys[..., MOOD_INDEX + 1], 0.0, 1.0)
        madrs = self.mood.madrs(mood, expectancy)
        ng = NG_PER_UMOL
        return {
            "ketamine_plasma": pos(s_p + r_p) * ng["ketamine"],
            "s_ketamine_plasma": pos(s_p) * ng["ketamine"],
            "r_ketamine_plasma": pos(r_p) * ng["ketamine"],
            "norketamine_plasma": pos(snk_p + rnk_p) * ng["norketamine"],
            "hnk_plasma": pos(hnk_p) * ng["hnk"],
            "ketamine_effect_site": pos(s_e + r_e) * ng["ketamine"],
            "midazolam_plasma": pos(self.midazolam.plasma(m)) * ng["midazolam"],
            "escitalopram_plasma": pos(esc_p) * ng["escitalopram"],
            "sertraline_plasma": pos(ser_p) * ng["sertraline"],
            "occupancy_pyramidal": occ_pyr,
            "occupancy_interneuron": occ_in,
            "sert_occupancy": self.sert.occupancy(esc_p, ser_p),
            "hnk_ampa_drive": self.hnk.ampa_drive(hnk_e),
            "glutamate": ys[..., _S.start],
            "bdnf": ys[..., _S.start + 1],
            "mtorc1": ys[..., _S.start + 2],
            "spine_density": ys[..., SPINES_INDEX],
            "potentiation": ys[..., SPINES_INDEX + 1],
            "mood": mood,
            "expectancy": expectancy,
            "madrs_true": madrs,
            "cadss": self.safety.cadss(ket_eq_ng),
            "sbp": self.safety.sbp(ket_eq_ng),
            "dbp": self.safety.dbp(ket_eq_ng),
            "heart_rate": self.safety.heart_rate(ket_eq_ng),
            "sedation": self.safety.sedation(mdz_e_ng),
            "trophic": ys[..., _T.start],
            "fitness": ys[..., _T.start + 1],
            "neurogenesis": self.neurogenesis.birth(ys[..., _T.start], ys[..., _T.start + 1]) * self.neurons_per_day,
            "immature_neurons": ys[..., _N.start],
            "hippocampal_volume": ys[..., _N.start + 1],
            "learning": ys[..., _L.start],
            "plasticity_window": self.window(ys),
        }


READOUT_UNITS = {
    "ketamine_plasma": "ng/mL",
    "s_ketamine_plasma": "ng/mL",
    "r_ketamine_plasma": "ng/mL",
    "norketamine_plasma": "ng/mL",
    "hnk_plasma": "ng/mL",
    "ketamine_effect_site": "ng/mL",
    "midazolam_plasma": "ng/mL",
    "escitalopram_plasma": "ng/mL",
    "sertraline_plasma": "ng/mL",
    "occupancy_pyramidal": "fraction",
    "occupancy_interneuron": "fraction",
    "sert_occupancy": "fraction",
    "hnk_ampa_drive": "relative to the surge",
    "glutamate": "relative to baseline",
    "bdnf": "relative to baseline",
    "mtorc1": "relative to baseline",
    "spine_density": "fraction of healthy",
    "potentiation": "fraction of healthy connectivity",
    "mood": "fraction of baseline depression",
    "expectancy": "fraction",
    "madrs_true": "MADRS points",
    "cadss": "CADSS points",
    "sbp": "mmHg",
    "dbp": "mmHg",
    "heart_rate": "beats/min",
    "sedation": "probability",
    "trophic": "fraction (follows SERT occupancy over weeks)",
    "fitness": "guideline exercise doses",
    "neurogenesis": "new neurons per day (one hippocampus)",
    "immature_neurons": "fraction of healthy",
    "hippocampal_volume": "fraction of healthy",
    "learning": "fraction of the negative state unlearned",
    "plasticity_window": "learning-rate multiplier (1 = depressed baseline)",
}

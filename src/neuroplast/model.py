"""The coupled model: one vector field over every scale of the chain.

dose → PK (ketamine + norketamine, midazolam) → NMDA block (pyramidal, interneuron)
→ glutamate / BDNF / mTORC1 → spines and fast potentiation → mood and expectancy
→ rating scales and safety read-outs (algebraic, after the solve).

:class:`Model` is an immutable pytree whose leaves are one patient's numbers (scalars) or a
cohort's (arrays with a leading patient axis: ``vmap`` turns one into the other).
Regimen input is an event table ``(n_events, 4)``: ``[t_start_h, t_end_h, rate_umol_per_h,
drug_code]``; padding rows never switch on. Infusion starts and stops are passed to the
solver as jump times (doses are discontinuities; nothing is smoothed).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ._units import NG_PER_UMOL
from .scales.pk import KetaminePK, MidazolamPK
from .scales.plasticity import Spines
from .scales.receptors import NMDABlock
from .scales.safety import Safety
from .scales.signalling import Cascade
from .scales.symptoms import Mood

DRUG_CODES = {"ketamine": 0, "midazolam": 1, "saline": 2}
"""Drug codes in the event table. Saline is a session with no drug (rate 0)."""

STATE_NAMES = (KetaminePK.names + MidazolamPK.names + Cascade.names + Spines.names + Mood.names)
STATE_UNITS = ("umol",) * 5 + ("uM", "uM", "umol", "umol") + ("umol", "umol", "uM", "umol") \
    + ("1", "1", "1") + ("fraction of healthy", "1") + ("1", "1")
_K = slice(0, 9)
_M = slice(9, 13)
_S = slice(13, 16)
_P = slice(16, 18)
_Y = slice(18, 20)


class Model(eqx.Module):
    ketamine: KetaminePK
    midazolam: MidazolamPK
    nmda: NMDABlock
    cascade: Cascade
    spines: Spines
    mood: Mood
    safety: Safety

    def initial_state(self):
        """Drug-free steady state: no drug, signalling at baseline, spines at 1/(1+stress), mood 1."""
        y = jnp.zeros(len(STATE_NAMES))
        y = y.at[16].set(self.spines.baseline())
        return y.at[18].set(1.0)

    def vector_field(self, t, y, events):
        active = (t >= events[:, 0]) & (t < events[:, 1])
        code = events[:, 3]
        rate_k = jnp.sum(jnp.where(active & (code == 0), events[:, 2], 0.0))
        rate_m = jnp.sum(jnp.where(active & (code == 1), events[:, 2], 0.0))
        session = jnp.any(active).astype(y.dtype)

        k, m = y[_K], y[_M]
        occ_pyr, occ_in = self.nmda.occupancy(k[5], k[6])
        sig = y[_S]
        pl = y[_P]
        felt = self.safety.felt(k[5] * NG_PER_UMOL["ketamine"], m[2] * NG_PER_UMOL["midazolam"])
        connectivity = pl[0] + pl[1]
        return jnp.concatenate([
            self.ketamine.rhs(k, rate_k),
            self.midazolam.rhs(m, rate_m),
            self.cascade.rhs(sig, occ_pyr, occ_in),
            self.spines.rhs(pl, sig[0], sig[2]),
            self.mood.rhs(y[_Y], connectivity, self.spines.baseline(), session, felt),
        ])

    def readouts(self, ys):
        """Every scale's read-out from saved states ``ys`` (..., n_states), for one patient."""
        k, m = ys[..., _K], ys[..., _M]
        ket_p, nk_p = self.ketamine.plasma(k)
        ket_e_ng = jnp.maximum(k[..., 5], 0.0) * NG_PER_UMOL["ketamine"]
        mdz_e_ng = jnp.maximum(m[..., 2], 0.0) * NG_PER_UMOL["midazolam"]
        occ_pyr, occ_in = self.nmda.occupancy(k[..., 5], k[..., 6])
        mood = jnp.maximum(ys[..., 18], 0.0)  # clip solver round-off at the bounds of the states
        expectancy = jnp.clip(ys[..., 19], 0.0, 1.0)
        madrs = self.mood.madrs(mood, expectancy)
        return {
            "ketamine_plasma": jnp.maximum(ket_p, 0.0) * NG_PER_UMOL["ketamine"],
            "norketamine_plasma": jnp.maximum(nk_p, 0.0) * NG_PER_UMOL["norketamine"],
            "ketamine_effect_site": ket_e_ng,
            "midazolam_plasma": jnp.maximum(self.midazolam.plasma(m), 0.0) * NG_PER_UMOL["midazolam"],
            "occupancy_pyramidal": occ_pyr,
            "occupancy_interneuron": occ_in,
            "glutamate": ys[..., 13],
            "bdnf": ys[..., 14],
            "mtorc1": ys[..., 15],
            "spine_density": ys[..., 16],
            "potentiation": ys[..., 17],
            "mood": mood,
            "expectancy": expectancy,
            "madrs_true": madrs,
            "cadss": self.safety.cadss(ket_e_ng),
            "sbp": self.safety.sbp(ket_e_ng),
            "sedation": self.safety.sedation(mdz_e_ng),
        }


READOUT_UNITS = {
    "ketamine_plasma": "ng/mL", "norketamine_plasma": "ng/mL", "ketamine_effect_site": "ng/mL",
    "midazolam_plasma": "ng/mL", "occupancy_pyramidal": "fraction", "occupancy_interneuron": "fraction",
    "glutamate": "relative to baseline", "bdnf": "relative to baseline", "mtorc1": "relative to baseline",
    "spine_density": "fraction of healthy", "potentiation": "fraction of healthy connectivity",
    "mood": "fraction of baseline depression", "expectancy": "fraction", "madrs_true": "MADRS points",
    "cadss": "CADSS points", "sbp": "mmHg", "sedation": "probability",
}

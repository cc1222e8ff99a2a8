"""Glutamate surge → BDNF → mTORC1, hour-scale (states relative to the drug-free baseline, 0).

Disinhibition: interneuron block lowers GABA release, pyramidal block lowers their own NMDA
drive; the net excitation drive is ``(1 - occ_pyr)(1 + gain occ_in) - 1``. It is positive at
subanaesthetic block and negative at anaesthetic block — the inverted-U dose relation of
prefrontal glutamate (Moghaddam 1997, C01).
BDNF is driven by the surge (AMPA throughput) and by resting NMDA block via eEF2
de-suppression (Autry 2011, D02) and by HNK's NMDA-independent AMPA action; mTORC1 follows BDNF through TrkB (Li 2010, D01).
States: ``glutamate, bdnf, mtor``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..patients import Patients


class Cascade(eqx.Module):
    disinhibition_gain: PerPatient
    tau_glu: PerPatient
    w_eef2: PerPatient
    tau_bdnf: PerPatient
    tau_mtor: PerPatient

    @classmethod
    def build(cls, p: Patients) -> Cascade:
        return cls(
            disinhibition_gain=p.leaf(p.q("disinhibition_gain")),
            tau_glu=p.leaf(p.q("tau_glu", "h")),
            w_eef2=p.leaf(p.q("w_eef2")),
            tau_bdnf=p.leaf(p.q("tau_bdnf", "h")),
            tau_mtor=p.leaf(p.q("tau_mtor", "h")),
        )

    n_states = 3
    names = ("glutamate", "bdnf", "mtor")
    units = ("1", "1", "1")

    def excitation(self, occ_pyr, occ_in):
        return (1.0 - occ_pyr) * (1.0 + self.disinhibition_gain * occ_in) - 1.0

    def rhs(self, x, occ_pyr, occ_in, ampa=0.0):
        """``ampa``: NMDA-independent AMPA drive (HNK), in units of the surge."""
        glu, bdnf, mtor = x[0], x[1], x[2]
        d_glu = (self.excitation(occ_pyr, occ_in) - glu) / self.tau_glu
        drive = jnp.maximum(glu, 0.0) + ampa + self.w_eef2 * occ_pyr
        d_bdnf = (drive - bdnf) / self.tau_bdnf
        d_mtor = (bdnf - mtor) / self.tau_mtor
        return jnp.stack([d_glu, d_bdnf, d_mtor])

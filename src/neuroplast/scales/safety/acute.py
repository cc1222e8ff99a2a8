"""Dissociation (CADSS), blood pressure, heart rate and sedation: algebraic in effect-site levels.

Ketamine's effects are driven by its racemic-equivalent effect-site concentration (the racemic
level with the same NMDA block, :meth:`NMDABlock.racemic_equivalent`), so esketamine is more
potent per ng/mL than the racemate, as observed.

Dissociation rises linearly with ketamine concentration over 50-200 ng/mL (Bowdle 1998, I07)
and peaks at the end of a 40-min infusion (I09); systolic BP rises with ketamine and returns
to baseline after the infusion (rivaposse2018_bp); sedation follows midazolam by an Emax
relation (barr2001). All are read from the saved trajectory, never inside the solver.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from ..._types import PerPatient
from ..patients import Patients


class Safety(eqx.Module):
    cadss_per_100ng: PerPatient
    sbp_per_100ng: PerPatient
    sbp_baseline: PerPatient
    dbp_per_100ng: PerPatient
    dbp_baseline: PerPatient
    hr_per_100ng: PerPatient
    hr_baseline: PerPatient
    mdz_sedation_ec50: PerPatient  # ng/mL
    felt_cadss_ref: PerPatient

    @classmethod
    def build(cls, p: Patients) -> Safety:
        """One pressor sensitivity (the SBP random effect) scales the rises in SBP, DBP and heart rate."""
        pressor = p.eta("sbp_per_100ng")
        return cls(
            cadss_per_100ng=p.leaf(p.q("cadss_per_100ng", "points per 100 ng/mL") * p.eta("cadss_per_100ng")),
            sbp_per_100ng=p.leaf(p.q("sbp_per_100ng", "mmHg per 100 ng/mL") * pressor),
            sbp_baseline=p.leaf(p.column("sbp_baseline")),
            dbp_per_100ng=p.leaf(p.q("dbp_per_100ng", "mmHg per 100 ng/mL") * pressor),
            dbp_baseline=p.leaf(p.column("dbp_baseline")),
            hr_per_100ng=p.leaf(p.q("hr_per_100ng", "beats/min per 100 ng/mL") * pressor),
            hr_baseline=p.leaf(p.column("hr_baseline")),
            mdz_sedation_ec50=p.leaf(p.q("mdz_sedation_ec50", "ng/mL")),
            felt_cadss_ref=p.leaf(p.q("felt_cadss_ref", "points")),
        )

    def cadss(self, ket_ngml):
        return jnp.clip(self.cadss_per_100ng * ket_ngml / 100.0, 0.0, 92.0)  # CADSS max 92 (23 items x 4)

    def sbp(self, ket_ngml):
        return self.sbp_baseline + self.sbp_per_100ng * ket_ngml / 100.0

    def dbp(self, ket_ngml):
        return self.dbp_baseline + self.dbp_per_100ng * ket_ngml / 100.0

    def heart_rate(self, ket_ngml):
        return self.hr_baseline + self.hr_per_100ng * ket_ngml / 100.0

    def sedation(self, mdz_ngml):
        return mdz_ngml / (mdz_ngml + self.mdz_sedation_ec50)

    def felt(self, ket_ngml, mdz_ngml):
        """How strongly a drug effect is felt (0-1): the larger of sedation and scaled dissociation."""
        return jnp.maximum(self.sedation(mdz_ngml), jnp.minimum(self.cadss(ket_ngml) / self.felt_cadss_ref, 1.0))

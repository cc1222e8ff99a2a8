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
from jaxtyping import Array, Float


class Safety(eqx.Module):
    cadss_per_100ng: Float[Array, ""]
    sbp_per_100ng: Float[Array, ""]
    sbp_baseline: Float[Array, ""]
    dbp_per_100ng: Float[Array, ""]
    dbp_baseline: Float[Array, ""]
    hr_per_100ng: Float[Array, ""]
    hr_baseline: Float[Array, ""]
    mdz_sedation_ec50: Float[Array, ""]  # ng/mL
    felt_cadss_ref: Float[Array, ""]

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

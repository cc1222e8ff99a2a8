"""Routes of administration: where a dose enters and how it is absorbed (closed form).

Every dose is a zero-order input of ``rate`` (umol/h) over ``[start, end)`` into its route's
entry point. IV enters the central compartment directly. Extravascular routes (IM, intranasal,
oral, sublingual) enter a first-order depot with rate constant ``ka``; the depot is linear and
fed by a known input, so its outflow has a closed form and needs no state:

    flux(t) = rate (exp(-ka max(t - end, 0)) - exp(-ka max(t - start, 0)))

(zero before ``start``; ``rate (1 - exp(-ka (t - start)))`` during the input), and the amount
still in the depot is ``flux / ka``. Of what leaves the depot a fraction ``F`` reaches the
systemic circulation as parent drug, ``f_nk`` arrives as norketamine (first-pass metabolism in
gut wall and liver), and the rest is lost (unabsorbed or other metabolites). A bolus is a short
input (an IV push over 60 s, as the Ketalar label asks; a nasal spray or a swallowed tablet
over 1 min); over absorption times of 10-60 min the difference is negligible.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..._types import PerCode, PerRoute
from ...catalog import DRUG_CODES, EVENT, ORAL_DRUGS, ROUTE_CODES
from ..patients import Patients
from .antidepressants import SHORT


def depot_flux(t, start, end, rate, ka):
    """Outflow (umol/h) at time ``t`` of a first-order depot fed ``rate`` over ``[start, end)``."""
    tau_start = jnp.maximum(t - start, 0.0)
    tau_end = jnp.maximum(t - end, 0.0)
    return rate * (jnp.exp(-ka * tau_end) - jnp.exp(-ka * tau_start))


def event_flux(t, start, end, rate, iv, ka):
    """Per-event flux (umol/h) leaving the route's entry point at time ``t``: the infusion rate while an
    IV row (``iv`` true) is on, else the row's depot outflow with absorption rate constant ``ka`` (1/h)."""
    return jnp.where(iv, jnp.where((t >= start) & (t < end), rate, 0.0), depot_flux(t, start, end, rate, ka))


def input_flux(t, events, ka):
    """Per-event flux (umol/h) leaving the route's entry point at time ``t`` for a raw event table
    (:func:`event_flux`; ``ka`` per event, see :meth:`Absorption.rate_constants`)."""
    start, end, rate = events[:, EVENT.start], events[:, EVENT.end], events[:, EVENT.rate]
    route = events[:, EVENT.route].astype(jnp.int32)
    return event_flux(t, start, end, rate, route == ROUTE_CODES["iv"], ka)


class Absorption(eqx.Module):
    """Absorption rate constants (1/h) and fractions by route, for the ketamine family.

    ``f_racemic`` (racemic ketamine and arketamine) and ``f_esketamine`` (esketamine) are the
    systemic bioavailabilities indexed by route code; ``f_nk`` the fraction of the dose that
    reaches the circulation as norketamine after first-pass metabolism, by route code.
    ``ka_by_drug`` (indexed by drug code) overrides the route's rate constant for a drug with its
    own (the oral antidepressants' absorption); 0 means "the route's".
    """

    ka: PerRoute
    f_racemic: PerRoute
    f_esketamine: PerRoute
    f_nk: PerRoute
    ka_by_drug: PerCode

    @classmethod
    def build(cls, p: Patients) -> Absorption:
        n_routes, n_codes = len(ROUTE_CODES), len(DRUG_CODES)

        def by_route(**kw):
            out = np.zeros((len(p), n_routes))
            for name, val in kw.items():
                out[:, ROUTE_CODES[name]] = val
            return p.table_leaf(out)

        def by_drug(**kw):
            out = np.zeros((len(p), n_codes))
            for name, val in kw.items():
                out[:, DRUG_CODES[name]] = val
            return p.table_leaf(out)

        f_im, f_sl, swallowed = p.q("f_im"), p.q("f_sublingual"), p.q("fp_nk_swallowed")
        ka = {r: p.q(f"ka_{r}", "1/h") for r in ("im", "intranasal", "oral", "sublingual")}
        return cls(
            ka=by_route(iv=0.0, **ka),
            f_racemic=by_route(
                iv=1.0, im=f_im, intranasal=p.q("f_intranasal_rac"), oral=p.q("f_oral_rac"), sublingual=f_sl
            ),  # fmt: skip
            f_esketamine=by_route(
                iv=1.0, im=f_im, intranasal=p.q("f_intranasal_esk"), oral=p.q("f_oral_esk"), sublingual=f_sl
            ),  # fmt: skip
            # first-pass norketamine from the swallowed part: all of an oral dose, the non-absorbed part of a
            # sublingual or nasal dose (assumption: what is not absorbed there is swallowed)
            f_nk=by_route(
                iv=0.0,
                im=0.0,
                intranasal=swallowed * (1 - p.q("f_intranasal_esk")),
                oral=swallowed * (1 - p.q("f_oral_rac")),
                sublingual=swallowed * (1 - f_sl),
            ),  # fmt: skip
            ka_by_drug=by_drug(**{d: p.q(f"ka_{SHORT[d]}", "1/h") for d in ORAL_DRUGS}),
        )

    def rate_constants(self, events):
        """Absorption rate constant (1/h) of each event row: the drug's own, else the route's."""
        code, route = events[:, EVENT.code].astype(jnp.int32), events[:, EVENT.route].astype(jnp.int32)
        own = self.ka_by_drug[code]
        return jnp.where(own > 0.0, own, self.ka[route])

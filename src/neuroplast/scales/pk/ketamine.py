"""Stereoselective PK of the ketamine family: (S)- and (R)-ketamine, their norketamines and
(2R,6R)-hydroxynorketamine, with effect sites.

Racemic ketamine is half (S), half (R); esketamine is (S) only, arketamine (R) only. Each
enantiomer has its own clearance (lower above 60 years: :func:`age_clearance_factor`) and shares
the three-compartment distribution (central V1, shallow V2, deep V3; Kamp 2020 structure, A03;
esketamine peripheral volumes and
intercompartmental clearances of Perez-Ruixo 2021, A09-A12). A fraction ``f_nk`` of each
enantiomer's clearance forms its norketamine (two compartments, A20-A23); a fraction
``f_hnk`` of (R)-norketamine clearance forms (2R,6R)-HNK (one compartment). Effect-site
compartments (ke0, A47) hold concentrations (uM) for the receptor models. ``eliminated``
collects everything that leaves the family (other metabolites, excretion, first-pass loss), so
the sum of the amount states plus what is still in the depots equals the dose (mass balance).

Amounts in umol, volumes in L, clearances in L/h, time in h; concentrations in uM. States::

    0 s_central  1 s_shallow  2 s_deep  3 r_central  4 r_shallow  5 r_deep
    6 snk_central  7 snk_peripheral  8 rnk_central  9 rnk_peripheral  10 hnk_central
    11 s_effect  12 r_effect  13 snk_effect  14 rnk_effect  15 hnk_effect (uM)  16 eliminated
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ..._types import PerPatient
from ..patients import Patients
from .compartments import linear_system

AMOUNT_STATES = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 16)
"""States holding mass (umol); effect sites hold concentrations."""


def age_clearance_factor(age_y, *, qh: float, clint: float, slope: float, from_y: float) -> np.ndarray:
    """Ketamine clearance at age ``age_y`` (years) over its value at ``from_y`` or younger (exactly 1 there).

    Esketamine population PK (Perez-Ruixo 2021, ``perezruixo2021_esketamine_hepatic``): plasma clearance is hepatic,
    well-stirred, ``CL = Qh CLint / (Qh + CLint)``, and hepatic blood flow falls linearly above 60 years,
    ``Qh(age) = Qh - slope max(0, age - from_y)``. So the factor is
    ``Qh(age) (Qh + CLint) / (Qh (Qh(age) + CLint))``: 0.89 at 70 and 0.77 at 80 years (Qh 151 L/h, CLint
    392 L/h, slope 2.19 L/h per year). Clearances in L/h; the popPK data span 18-86 years, so beyond that it
    extrapolates. Only the ratio is used: the typical clearance below 60 stays the registry's ``cl_ket``. The
    first pass of a swallowed dose is not recomputed (bioavailabilities are fixed per route)."""
    q = qh - slope * np.maximum(np.asarray(age_y, dtype=float) - from_y, 0.0)
    return q * (qh + clint) / (qh * (q + clint))


class KetaminePK(eqx.Module):
    cl_s: PerPatient  # L/h, (S)-ketamine clearance
    cl_r: PerPatient  # L/h, (R)-ketamine clearance
    v1: PerPatient
    q2: PerPatient
    v2: PerPatient
    q3: PerPatient
    v3: PerPatient
    f_nk: PerPatient  # fraction of ketamine clearance forming norketamine
    cl_nk: PerPatient
    v1_nk: PerPatient
    q_nk: PerPatient
    v2_nk: PerPatient
    f_hnk: PerPatient  # fraction of (R)-norketamine clearance forming (2R,6R)-HNK
    cl_hnk: PerPatient
    v_hnk: PerPatient
    ke0: PerPatient  # 1/h

    @classmethod
    def build(cls, p: Patients) -> KetaminePK:
        """From the registry: clearances x (W/70)^0.75, volumes x W/70; women clear ketamine 20 % faster (A46);
        above 60 years ketamine clears more slowly as hepatic blood flow falls (:func:`age_clearance_factor`;
        norketamine's clearance has no age effect); the enantiomers' clearances average to the racemate's; one
        log-normal effect on every ketamine volume."""
        sex_cl = np.where(p.column("female"), p.q("female_cl_factor"), 1.0)
        age_cl = age_clearance_factor(
            p.column("age_y"),
            qh=p.q("qh_ket", "L/h"),
            clint=p.q("clint_ket", "L/h"),
            slope=p.q("qh_age_slope", "L/h/year"),
            from_y=p.q("qh_age_from", "year"),
        )
        cl_ket = p.q("cl_ket", "L/h") * p.eta("cl_ket") * p.cl_scale * sex_cl * age_cl
        ratio = p.q("s_to_r_clearance")
        cl_s = 2.0 * cl_ket * ratio / (1.0 + ratio)
        v_eta = p.eta("v1_ket") * p.v_scale
        cl, v = p.cl_scale, p.v_scale
        return cls(
            cl_s=p.leaf(cl_s),
            cl_r=p.leaf(2.0 * cl_ket - cl_s),
            v1=p.leaf(p.q("v1_ket", "L") * v_eta),
            q2=p.leaf(p.q("q2_ket", "L/h") * cl),
            v2=p.leaf(p.q("v2_ket", "L") * v_eta),
            q3=p.leaf(p.q("q3_ket", "L/h") * cl),
            v3=p.leaf(p.q("v3_ket", "L") * v_eta),
            f_nk=p.leaf(p.q("f_norket")),
            cl_nk=p.leaf(p.q("cl_nk", "L/h") * p.eta("cl_nk") * cl * sex_cl),
            v1_nk=p.leaf(p.q("v1_nk", "L") * v),
            q_nk=p.leaf(p.q("q_nk", "L/h") * cl),
            v2_nk=p.leaf(p.q("v2_nk", "L") * v),
            f_hnk=p.leaf(p.q("f_hnk")),
            cl_hnk=p.leaf(p.q("cl_hnk", "L/h") * cl),
            v_hnk=p.leaf(p.q("v_hnk", "L") * v),
            ke0=p.leaf(math.log(2.0) / p.q("t_half_ke0", "h")),
        )

    n_states = 17
    names = (
        "s_central",
        "s_shallow",
        "s_deep",
        "r_central",
        "r_shallow",
        "r_deep",
        "snk_central",
        "snk_peripheral",
        "rnk_central",
        "rnk_peripheral",
        "hnk_central",
        "s_effect",
        "r_effect",
        "snk_effect",
        "rnk_effect",
        "hnk_effect",
        "eliminated",
    )
    units = ("umol",) * 11 + ("uM",) * 5 + ("umol",)
    effect_start = 11  # the first effect site (s_effect); the five follow in :meth:`plasma`'s order

    def _parent(self, x, cl):
        c1, c2, c3 = x[0] / self.v1, x[1] / self.v2, x[2] / self.v3
        cleared = cl * c1
        return (
            jnp.stack([-cleared - self.q2 * (c1 - c2) - self.q3 * (c1 - c3), self.q2 * (c1 - c2), self.q3 * (c1 - c3)]),
            cleared,
            c1,
        )

    def _metabolite(self, x, formed):
        n1, n2 = x[0] / self.v1_nk, x[1] / self.v2_nk
        cleared = self.cl_nk * n1
        return jnp.stack([formed - cleared - self.q_nk * (n1 - n2), self.q_nk * (n1 - n2)]), cleared, n1

    def rhs(self, x, inputs):
        """dx/dt for amounts x; ``inputs`` = (S, R, S-norketamine, R-norketamine, lost) in umol/h."""
        in_s, in_r, in_snk, in_rnk, lost = inputs
        ds, cleared_s, cs = self._parent(x[0:3], self.cl_s)
        dr, cleared_r, cr = self._parent(x[3:6], self.cl_r)
        dsn, cleared_sn, csn = self._metabolite(x[6:8], self.f_nk * cleared_s)
        drn, cleared_rn, crn = self._metabolite(x[8:10], self.f_nk * cleared_r)
        ch = x[10] / self.v_hnk
        cleared_h = self.cl_hnk * ch
        d_h = self.f_hnk * cleared_rn - cleared_h
        conc = jnp.stack([cs, cr, csn, crn, ch])
        d_eff = self.ke0 * (conc - x[11:16])
        d_elim = (
            (1.0 - self.f_nk) * (cleared_s + cleared_r)
            + cleared_sn
            + (1.0 - self.f_hnk) * cleared_rn
            + cleared_h
            + lost
        )
        return jnp.concatenate(
            [
                ds.at[0].add(in_s),
                dr.at[0].add(in_r),
                dsn.at[0].add(in_snk),
                drn.at[0].add(in_rnk),
                d_h[None],
                d_eff,
                d_elim[None],
            ]
        )

    def plasma(self, x):
        """Plasma concentrations (uM): (S)-ketamine, (R)-ketamine, (S)-norketamine, (R)-norketamine, HNK."""
        return (
            x[..., 0] / self.v1,
            x[..., 3] / self.v1,
            x[..., 6] / self.v1_nk,
            x[..., 8] / self.v1_nk,
            x[..., 10] / self.v_hnk,
        )

    def effect(self, x):
        """Effect-site concentrations (uM) in the same order as :meth:`plasma`."""
        return tuple(x[..., self.effect_start + i] for i in range(5))

    def system(self):
        """(A, B) of the linear system as NumPy arrays for one patient (scalar leaves);
        columns of B are the five inputs of :meth:`rhs`."""

        return linear_system(self, self.n_states, 5)

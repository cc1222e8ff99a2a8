"""Linear compartment PK of midazolam, and the linear-system tools shared by every PK module.

Amounts are in umol, volumes in L, clearances in L/h, time in h, so concentrations are uM
(the unit of the receptor Ki values). Each model is linear, ``dx/dt = A x + b u(t)`` with
``u`` the infusion rate; :func:`closed_form_linear` gives the exact solution for piecewise
constant infusions and is both a fast path and the oracle of the integrated model.

The ketamine family lives in :mod:`.ketamine`, the oral antidepressants in :mod:`.antidepressants`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ..._types import PerPatient
from ..patients import Patients


class MidazolamPK(eqx.Module):
    """Two-compartment midazolam with an effect site. States: central, peripheral, effect (uM), eliminated."""

    cl: PerPatient
    v1: PerPatient
    q: PerPatient
    v2: PerPatient
    ke0: PerPatient

    @classmethod
    def build(cls, p: Patients) -> MidazolamPK:
        cl, v = p.cl_scale, p.v_scale
        vss, frac = p.q("vss_mdz", "L"), p.q("frac_v1_mdz")
        return cls(
            cl=p.leaf(p.q("cl_mdz", "L/h") * p.eta("cl_mdz") * cl),
            v1=p.leaf(vss * frac * v),
            q=p.leaf(p.q("q_mdz", "L/h") * cl),
            v2=p.leaf(vss * (1 - frac) * v),
            ke0=p.leaf(math.log(2.0) / p.q("t_half_ke0_mdz", "h")),
        )

    n_states = 4
    names = ("mdz_central", "mdz_peripheral", "mdz_effect", "mdz_eliminated")
    units = ("umol", "umol", "uM", "umol")
    effect_index = 2  # mdz_effect

    def rhs(self, x, rate):
        c1 = x[0] / self.v1
        c2 = x[1] / self.v2
        return jnp.stack(
            [rate - self.cl * c1 - self.q * (c1 - c2), self.q * (c1 - c2), self.ke0 * (c1 - x[2]), self.cl * c1]
        )

    def plasma(self, x):
        return x[..., 0] / self.v1

    def system(self):
        """(A, b) of the linear system as NumPy arrays, for one patient (scalar leaves)."""
        return linear_system(self, self.n_states)


def linear_system(pk, n, n_inputs=1):
    """Read A and B off a module's (linear) right-hand side by evaluating it on unit vectors.

    ``pk.rhs(x, u)`` takes a scalar input when ``n_inputs == 1``, else a tuple of inputs.
    Returns ``A`` (n, n) and ``B`` (n, n_inputs); for one input ``B`` is the vector ``b``.
    """

    def f(x, u):
        u = u[0] if n_inputs == 1 else tuple(u)
        return np.asarray(pk.rhs(jnp.asarray(x), u), dtype=float)

    zero_u = np.zeros(n_inputs)
    b = np.stack([f(np.zeros(n), np.eye(n_inputs)[j]) for j in range(n_inputs)], axis=1)
    a = np.stack([f(np.eye(n)[i], zero_u) for i in range(n)], axis=1)
    return a, (b[:, 0] if n_inputs == 1 else b)


def closed_form_linear(a, b, infusions, ts):
    """Exact solution of ``x' = A x + b u(t)``, x(0) = 0, for piecewise-constant infusions.

    ``infusions`` is a sequence of ``(t_start, t_end, rate)``; ``ts`` the output times (h).
    Between breakpoints the input is constant, so ``x(t+h) = e^{Ah} x(t) + int_0^h e^{As} ds b u``,
    both evaluated exactly with the block-matrix exponential of ``[[A, b u], [0, 0]]``
    (Van Loan 1978). Returns an array (len(ts), n).
    """
    ts = np.asarray(ts, dtype=float)
    n = a.shape[0]
    breaks = sorted({0.0, *[float(t) for s, e, _ in infusions for t in (s, e)], *ts.tolist()})
    x = np.zeros(n)
    out = {}
    t_prev = 0.0
    if 0.0 in set(ts.tolist()):
        out[0.0] = x.copy()
    for t in breaks[1:]:
        h = t - t_prev
        mid = 0.5 * (t_prev + t)
        u = sum(r for s, e, r in infusions if s <= mid < e)
        m = np.zeros((n + 1, n + 1))
        m[:n, :n] = a * h
        m[:n, n] = b * u * h
        e = scipy.linalg.expm(m)
        x = e[:n, :n] @ x + e[:n, n]
        out[t] = x.copy()
        t_prev = t
    return np.stack([out[float(t)] for t in ts])

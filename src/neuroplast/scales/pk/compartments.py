"""Linear compartment PK of racemic ketamine (+ norketamine) and midazolam.

Amounts are in umol, volumes in L, clearances in L/h, time in h, so concentrations are uM
(the unit of the receptor Ki values). Each model is linear, ``dx/dt = A x + b u(t)`` with
``u`` the infusion rate; :func:`closed_form_linear` gives the exact solution for piecewise
constant infusions and is both a fast path and the oracle of the integrated model.

Ketamine (Kamp 2020, A03: one central + two peripheral compartments), with a metabolite
chain to a two-compartment norketamine model (Perez-Ruixo 2021, A20-A23) and effect-site
compartments for both (t1/2 ke0, A47). States::

    0 ket_central  1 ket_shallow  2 ket_deep  3 nk_central  4 nk_peripheral
    5 ket_effect (uM)  6 nk_effect (uM)  7 ket_eliminated  8 nk_eliminated

``ket_eliminated`` collects ketamine cleared by routes other than norketamine and
``nk_eliminated`` norketamine cleared: the sum of the amount states equals the dose
(mass balance). Effect-site compartments hold concentration, not mass.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from jaxtyping import Array, Float


class KetaminePK(eqx.Module):
    cl: Float[Array, ""]  # L/h, total ketamine clearance
    v1: Float[Array, ""]  # L
    q2: Float[Array, ""]
    v2: Float[Array, ""]
    q3: Float[Array, ""]
    v3: Float[Array, ""]
    f_nk: Float[Array, ""]  # fraction of clearance to norketamine
    cl_nk: Float[Array, ""]
    v1_nk: Float[Array, ""]
    q_nk: Float[Array, ""]
    v2_nk: Float[Array, ""]
    ke0: Float[Array, ""]  # 1/h

    n_states = 9
    names = ("ket_central", "ket_shallow", "ket_deep", "nk_central", "nk_peripheral",
             "ket_effect", "nk_effect", "ket_eliminated", "nk_eliminated")

    def rhs(self, x, rate):
        """dx/dt for amounts x (umol) and infusion rate into the central compartment (umol/h)."""
        c1 = x[0] / self.v1
        c2 = x[1] / self.v2
        c3 = x[2] / self.v3
        n1 = x[3] / self.v1_nk
        n2 = x[4] / self.v2_nk
        cleared = self.cl * c1
        d0 = rate - cleared - self.q2 * (c1 - c2) - self.q3 * (c1 - c3)
        d1 = self.q2 * (c1 - c2)
        d2 = self.q3 * (c1 - c3)
        d3 = self.f_nk * cleared - self.cl_nk * n1 - self.q_nk * (n1 - n2)
        d4 = self.q_nk * (n1 - n2)
        d5 = self.ke0 * (c1 - x[5])
        d6 = self.ke0 * (n1 - x[6])
        d7 = (1.0 - self.f_nk) * cleared
        d8 = self.cl_nk * n1
        return jnp.stack([d0, d1, d2, d3, d4, d5, d6, d7, d8])

    def plasma(self, x):
        """Plasma (central) concentrations (uM) of ketamine and norketamine."""
        return x[..., 0] / self.v1, x[..., 3] / self.v1_nk

    def system(self):
        """(A, b) of the linear system as NumPy arrays, for one patient (scalar leaves)."""
        return _linear_system(self, self.n_states)


class MidazolamPK(eqx.Module):
    """Two-compartment midazolam with an effect site. States: central, peripheral, effect (uM), eliminated."""

    cl: Float[Array, ""]
    v1: Float[Array, ""]
    q: Float[Array, ""]
    v2: Float[Array, ""]
    ke0: Float[Array, ""]

    n_states = 4
    names = ("mdz_central", "mdz_peripheral", "mdz_effect", "mdz_eliminated")

    def rhs(self, x, rate):
        c1 = x[0] / self.v1
        c2 = x[1] / self.v2
        return jnp.stack([rate - self.cl * c1 - self.q * (c1 - c2), self.q * (c1 - c2),
                          self.ke0 * (c1 - x[2]), self.cl * c1])

    def plasma(self, x):
        return x[..., 0] / self.v1

    def system(self):
        """(A, b) of the linear system as NumPy arrays, for one patient (scalar leaves)."""
        return _linear_system(self, self.n_states)


def _linear_system(pk, n):
    """Read A and b off the model's own (linear) right-hand side by evaluating it on unit vectors."""

    def f(x, rate):
        return np.asarray(pk.rhs(jnp.asarray(x), rate), dtype=float)

    b = f(np.zeros(n), 1.0)
    a = np.stack([f(np.eye(n)[i], 0.0) for i in range(n)], axis=1)
    return a, b


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

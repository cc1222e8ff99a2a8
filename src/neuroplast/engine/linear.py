"""Exact propagators of the linear PK block ``x' = A x + b(t)`` for steps of ``base_h * 2**k``.

Over one step of length ``h`` the exact solution is

    x(t + h) = E(h) x(t) + int_0^h e^{A (h - s)} b(t + s) ds,           E(h) = e^{A h}.

``b(t)`` (the dose input: infusion rates, depot outflows) is interpolated on each step by the
quadratic through its values at the three Gauss-Legendre nodes; the integral of ``e^{A(h-s)}``
against each Lagrange basis polynomial is a fixed matrix ``W_j(h)``, so a step costs
``E x + sum_j W_j b(t + s_j h)``. The interpolation is exact for piecewise-constant inputs (IV
infusions: the grid puts every start and end on a step boundary) and third-order accurate for the
smooth depot outflows of extravascular routes. ``E`` handles any stiffness exactly.

With ``F_k(h) = int_0^h e^{A(h-s)} s^k / k! ds`` (``k = 0, 1, 2``),

    W_j(h) = sum_k L[j, k] k! h^{-k} F_k(h)       (L: the Lagrange basis in powers of s / h)

and the doubling rules (split the integral at ``h``, expand ``(h + s)^k`` binomially)

    E(2h) = E(h)^2,    F_k(2h) = E(h) F_k(h) + sum_{j <= k} h^{k-j} / (k-j)! F_j(h)

give every class from a Taylor series at a step short enough (``||A tau|| <= 1/8``) that 14
terms are exact to rounding. Only the columns of ``F`` on the rows that receive input are kept.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

GAUSS = np.array([0.5 - math.sqrt(15.0) / 10.0, 0.5, 0.5 + math.sqrt(15.0) / 10.0])
"""Gauss-Legendre nodes on [0, 1] (the quadrature nodes, as fractions of the step)."""

LAGRANGE = np.linalg.inv(np.vander(GAUSS, 3, increasing=True).T)
"""``LAGRANGE[j, k]``: coefficient of ``sigma**k`` in the Lagrange basis polynomial of node ``j``."""

TAYLOR_TERMS = 14


def substeps(a_norm: float, base_h: float) -> int:
    """Halvings of ``base_h`` that bring ``||A|| tau`` to at most 1/8 (``a_norm``: a bound on ||A||_1, 1/h)."""
    x = a_norm * base_h * 8.0
    return max(0, int(math.ceil(math.log2(x)))) if x > 1.0 else 0


def propagators(a, cols, base_h, n_classes: int, n_sub: int):
    """``E`` (n_classes + 1, n, n) and ``W`` (n_classes + 1, 3, n, len(cols)) for one patient.

    Class ``k`` is the step ``base_h * 2**k``; the last class is the zero-length (padding) step:
    ``E = I``, ``W = 0``.
    """
    n = a.shape[0]
    dtype = a.dtype
    tau = base_h / (2.0**n_sub)
    ta = tau * a
    eye = jnp.eye(n, dtype=dtype)
    e = eye
    power = eye
    f = [jnp.zeros((n, cols.shape[0]), dtype=dtype) for _ in range(3)]
    for i in range(TAYLOR_TERMS + 1):
        if i > 0:
            power = power @ ta / i  # (tau A)^i / i!
            e = e + power
        # (tau A)^i / (i + k + 1)! = power * i! / (i + k + 1)!
        pc = power[:, cols]
        for k in range(3):
            f[k] = f[k] + pc * (
                tau ** (k + 1) * (math.factorial(i) / math.factorial(i + k + 1))
            )  # a Python float: no int overflow in float32
    # the doublings as one scan (an unrolled loop over ~20 classes was most of the engine's XLA compile time)
    lag = jnp.asarray(LAGRANGE * np.array([math.factorial(k) for k in range(3)])[None, :], dtype=dtype)  # (j, k)
    kk = np.arange(3)
    inv_fact = np.array([[1.0 / math.factorial(k - j) if k >= j else 0.0 for j in range(3)] for k in range(3)])
    power_of = np.maximum(kk[:, None] - kk[None, :], 0)  # k - j where k >= j

    def double(carry, _):
        e, f, h = carry  # f: (3, n, r), F_k(h) for k = 0, 1, 2
        w = jnp.einsum("jk,knr->jnr", lag * h ** (-jnp.asarray(kk, dtype=dtype))[None, :], f)
        mix = jnp.asarray(inv_fact, dtype=dtype) * h ** jnp.asarray(power_of, dtype=dtype)  # h^(k-j)/(k-j)!, k >= j
        f2 = e @ f + jnp.einsum("kj,jnr->knr", mix, f)
        return (e @ e, f2, 2.0 * h), (e, w)

    _, (es, ws) = jax.lax.scan(double, (e, jnp.stack(f), jnp.asarray(tau, dtype=dtype)), None, length=n_sub + n_classes)
    es, ws = es[n_sub:], ws[n_sub:]
    return jnp.concatenate([es, eye[None]]), jnp.concatenate([ws, jnp.zeros_like(ws[:1])])
